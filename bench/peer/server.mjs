// The GraphQL Yoga peer of the BFF's benchmarks (`python -m bench.run versus`).
//
// GraphQL Yoga 5 over HTTP and graphql-ws (graphql-transport-ws) on `ws`, on one port,
// serving the `SessionLive` shape of a live session from the same Redis keys and
// channels the BFF uses (bff/store/keys.py), in the same JSON the BFF writes
// (bff/live/codec.py):
//   snap:{ROAMING:<id>}        the stored snapshot {v, driver_id, changed_at, session}
//   rec:{ROAMING:<id>}         the session's record {driver_id, abandoned_at, ...}
//   ch:session:{ROAMING:<id>}  every change: the snapshot with its record spliced in
// `node(id)` reads snapshot and record with one MGET; `sessionUpdated(id)` answers that
// first state, then every newer version published on the session's channel. One ioredis
// subscriber for the process, a channel subscribed while a socket watches its session.
// The HS256 driver token is checked on every HTTP request and once per socket (at
// connection_init), with node's crypto and no cache.
//
// Floats are written as Python writes them (`1.0`, not `1`) through JSON.rawJSON (node
// is started with --harmony-json-parse-with-source), and datetimes as Python's
// isoformat(), so that both servers' answers can be compared byte for byte.
//
// Usage: node --harmony-json-parse-with-source server.mjs  (env: PORT, REDIS_URL,
// JWT_SECRET, START_TIMEOUT_SECONDS)

import crypto from 'node:crypto';
import http from 'node:http';
import { GraphQLError, GraphQLScalarType } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import Redis from 'ioredis';
import { WebSocketServer } from 'ws';

const PORT = Number(process.env.PORT || 4100);
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379/0';
const SECRET = process.env.JWT_SECRET || 'dev-secret-change-me-0123456789abcdef';
const START_TIMEOUT = Number(process.env.START_TIMEOUT_SECONDS || 120);

// -- auth -------------------------------------------------------------------------------

function b64urlJson(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

/** The driver id of a valid HS256 token (an `Authorization` value), else null. */
function verify(value) {
  if (typeof value !== 'string' || !value.startsWith('Bearer ')) return null;
  const token = value.slice(7);
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const header = b64urlJson(parts[0]);
    if (header.alg !== 'HS256') return null;
    const mac = crypto.createHmac('sha256', SECRET).update(`${parts[0]}.${parts[1]}`).digest();
    const sig = Buffer.from(parts[2], 'base64url');
    if (sig.length !== mac.length || !crypto.timingSafeEqual(sig, mac)) return null;
    const claims = b64urlJson(parts[1]);
    const now = Date.now() / 1000;
    if (typeof claims.exp !== 'number' || claims.exp < now) return null;
    if (typeof claims.nbf === 'number' && claims.nbf > now) return null;
    return typeof claims.sub === 'string' && claims.sub ? claims.sub : null;
  } catch {
    return null;
  }
}

// -- ids and keys (bff/ids.py, bff/store/keys.py) ----------------------------------------

function encodeId(type, provider, id) {
  return Buffer.from(JSON.stringify([type, provider, id])).toString('base64url');
}

function decodeSessionId(value) {
  try {
    const parts = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (!Array.isArray(parts) || parts.length !== 3 || parts[0] !== 'ChargingSession') return null;
    if (!['PLUGSURFING', 'PLUGCHOICE', 'ROAMING'].includes(parts[1])) return null;
    if (typeof parts[2] !== 'string' || !parts[2]) return null;
    return { provider: parts[1], id: parts[2] };
  } catch {
    return null;
  }
}

const escapeKey = (s) => s.replace(/[%:{}]/g, (c) => ({ '%': '%25', ':': '%3A', '{': '%7B', '}': '%7D' })[c]);
const sessionKey = (gid) => `${gid.provider}:${escapeKey(gid.id)}`;
const snapKey = (k) => `snap:{${k}}`;
const recKey = (k) => `rec:{${k}}`;
const channelOf = (k) => `ch:session:{${k}}`;

// -- values as Python writes them ---------------------------------------------------------

/** Python's repr of a float: shortest round trip, `.0` on integral values, exponent
 * below 1e-4 and from 1e16. */
function pyFloat(x) {
  if (!Number.isFinite(x)) throw new TypeError('not a finite float');
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    let [m, e] = x.toExponential().split('e');
    if (!m.includes('.')) m = `${m}`;
    const n = Number(e);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const s = String(x);
  return Number.isInteger(x) ? `${s}.0` : s;
}

const PyFloat = new GraphQLScalarType({
  name: 'Float',
  serialize: (v) => JSON.rawJSON(pyFloat(Number(v))),
});

/** Python's datetime.isoformat() of a pydantic UTC datetime ("...Z" or "+00:00"). */
function isoformat(value) {
  if (value == null) return null;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(value);
  if (!m) return value;
  const frac = m[2] ? m[2].padEnd(6, '0').slice(0, 6) : '';
  const zone = m[3] === 'Z' ? '+00:00' : m[3];
  return `${m[1]}${frac && Number(frac) ? `.${frac}` : ''}${zone}`;
}

const EXPONENTS = { JPY: 0, KRW: 0, ISK: 0, KWD: 3, BHD: 3, JOD: 3, OMR: 3, TND: 3 };

function money(m) {
  if (m == null) return null;
  const exponent = EXPONENTS[m.currency] ?? 2;
  const neg = m.amount_minor < 0;
  let digits = String(Math.abs(m.amount_minor));
  let text = digits;
  if (exponent > 0) {
    digits = digits.padStart(exponent + 1, '0');
    text = `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  }
  return {
    amountMinor: m.amount_minor,
    currency: m.currency,
    exponent,
    formatted: `${m.currency} ${neg ? '-' : ''}${text}`,
  };
}

const FINAL = new Set(['COMPLETED', 'REFUNDED', 'ABANDONED']);
const ENDED = new Set(['STOPPED', 'COMPLETED', 'REFUNDED', 'ABANDONED']);
const RUNNING = new Set(['CHARGING', 'STOPPING']);

function status(src) {
  const { session: s, record: r } = src;
  return r && r.abandoned_at != null && !FINAL.has(s.status) ? 'ABANDONED' : s.status;
}

// -- schema -------------------------------------------------------------------------------

const typeDefs = /* GraphQL */ `
  scalar DateTime
  interface Node { id: ID! }
  enum Provider { PLUGSURFING PLUGCHOICE ROAMING }
  enum SessionStatus { STARTING CHARGING STOPPING STOPPED COMPLETED FAILED ABANDONED REFUNDED }
  type Money { amountMinor: Int! currency: String! exponent: Int! formatted: String! }
  type Energy { wattHours: Int! kilowattHours: Float! }
  type Cost { total: Money! exclVat: Money vatPercent: Float estimated: Boolean! }
  type ChargingSession implements Node {
    id: ID!
    provider: Provider!
    providerSessionId: String!
    status: SessionStatus!
    providerStatus: String!
    startedAt: DateTime
    endedAt: DateTime
    updatedAt: DateTime!
    durationSeconds: Int
    energy: Energy
    powerKw: Float
    cost: Cost
    canStop: Boolean!
    canAbandon: Boolean!
    stopFailed: Boolean!
    failureReason: String
  }
  type Query { node(id: ID!): Node }
  type Subscription { sessionUpdated(id: ID!): ChargingSession! }
`;

function unauthenticated() {
  return new GraphQLError('not signed in', { extensions: { code: 'UNAUTHENTICATED' } });
}

/** Snapshot and record of a session the driver owns ({session, record, v}), else null. */
async function load(redis, gid, driver) {
  const key = sessionKey(gid);
  const [snap, rec] = await redis.mget(snapKey(key), recKey(key));
  if (snap == null) return null;
  const env = JSON.parse(snap);
  const record = rec == null ? null : JSON.parse(rec);
  const owner = record?.driver_id ?? env.driver_id;
  if (owner !== driver) return null;
  return { session: env.session, record, v: env.v };
}

/** A push queue as an async iterator: the newest version wins while the reader is busy. */
class Feed {
  constructor(channel, driver, onEnd) {
    this.channel = channel;
    this.driver = driver;
    this.onEnd = onEnd;
    this.pending = null;
    this.waiting = null;
    this.done = false;
    this.lastV = -1;
  }

  push(raw) {
    const env = JSON.parse(raw);
    if (env.v <= this.lastV) return; // a repeat or an older state
    const owner = env.record?.driver_id ?? env.driver_id;
    if (owner !== this.driver) return;
    this.lastV = env.v;
    const item = { session: env.session, record: env.record ?? null, v: env.v };
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w({ value: item, done: false });
    } else {
      this.pending = item; // conflated: only the newest is kept
    }
  }

  next() {
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    if (this.pending) {
      const value = this.pending;
      this.pending = null;
      return Promise.resolve({ value, done: false });
    }
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return() {
    if (!this.done) {
      this.done = true;
      this.onEnd(this);
      if (this.waiting) this.waiting({ value: undefined, done: true });
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(err) {
    this.return();
    return Promise.reject(err);
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

function makeResolvers(redis, bus) {
  return {
    Float: PyFloat,
    DateTime: new GraphQLScalarType({ name: 'DateTime', serialize: (v) => v }),
    Node: { __resolveType: () => 'ChargingSession' },
    Query: {
      async node(_, { id }, ctx) {
        if (!ctx.driver) throw unauthenticated();
        const gid = decodeSessionId(id);
        if (!gid) {
          throw new GraphQLError('id is not a valid ID', { extensions: { code: 'INVALID_INPUT' } });
        }
        return load(redis, gid, ctx.driver);
      },
    },
    Subscription: {
      sessionUpdated: {
        async *subscribe(_, { id }, ctx) {
          if (!ctx.driver) throw unauthenticated();
          const gid = decodeSessionId(id);
          if (!gid) {
            throw new GraphQLError('id is not a valid ID', { extensions: { code: 'INVALID_INPUT' } });
          }
          const key = sessionKey(gid);
          const feed = bus.open(channelOf(key), ctx.driver); // before the read: nothing lost
          try {
            const first = await load(redis, gid, ctx.driver);
            if (!first) {
              throw new GraphQLError('session not found', { extensions: { code: 'NOT_FOUND' } });
            }
            if (first.v > feed.lastV) {
              feed.lastV = first.v;
              if (feed.pending && feed.pending.v <= first.v) feed.pending = null;
              yield first;
            }
            for await (const item of feed) yield item;
          } finally {
            feed.return();
          }
        },
        resolve: (item) => item,
      },
    },
    ChargingSession: {
      id: (src) => encodeId('ChargingSession', src.session.provider, src.session.id),
      provider: (src) => src.session.provider,
      providerSessionId: (src) => src.session.id,
      status,
      providerStatus: (src) => src.session.provider_status,
      startedAt: (src) => isoformat(src.session.started_at),
      endedAt: (src) => isoformat(src.session.ended_at),
      updatedAt: (src) => isoformat(src.session.observed_at),
      // As the BFF's ChargingSession.durationSeconds: endedAt - startedAt (now - startedAt
      // while charging), the provider's own figure only without timestamps.
      durationSeconds: (src) => {
        const s = src.session;
        if (s.started_at != null) {
          const start = Date.parse(s.started_at);
          if (s.ended_at != null) return Math.max(0, Math.trunc((Date.parse(s.ended_at) - start) / 1000));
          if (RUNNING.has(s.status)) return Math.max(0, Math.trunc((Date.now() - start) / 1000));
        }
        return s.duration_seconds ?? null;
      },
      energy: (src) =>
        src.session.energy_wh == null
          ? null
          : { wattHours: src.session.energy_wh, kilowattHours: src.session.energy_wh / 1000 },
      powerKw: (src) => src.session.power_kw,
      cost: (src) => {
        const c = src.session.cost;
        if (c == null) return null;
        return {
          total: money(c.total),
          exclVat: money(c.excl_vat),
          vatPercent: c.vat_percent == null ? null : Number(c.vat_percent),
          estimated: c.estimated,
        };
      },
      canStop: (src) => {
        const s = src.session;
        return !FINAL.has(status(src)) && s.remote && (RUNNING.has(s.status) || s.stop_failed);
      },
      canAbandon: (src) => {
        const s = src.session;
        if (status(src) === 'ABANDONED' || ENDED.has(s.status)) return false;
        if (s.status === 'STARTING') {
          const since = Date.parse(s.created_at ?? s.started_at ?? s.observed_at);
          if ((Date.now() - since) / 1000 > START_TIMEOUT) return true;
        }
        if (s.stop_failed) return true;
        return src.record?.stop_requested_at != null && RUNNING.has(s.status);
      },
      stopFailed: (src) => src.session.stop_failed,
      failureReason: (src) => src.session.failure_reason ?? null,
    },
  };
}

/** One subscriber connection; a channel is subscribed while a feed watches it. */
class Bus {
  constructor(url) {
    this.sub = new Redis(url, { connectionName: `yoga-pubsub:${process.pid}` });
    this.feeds = new Map(); // channel -> Set<Feed>
    this.sub.on('message', (channel, message) => {
      const set = this.feeds.get(channel);
      if (set) for (const f of set) f.push(message);
    });
  }

  open(channel, driver) {
    const feed = new Feed(channel, driver, (f) => this.close(f));
    let set = this.feeds.get(channel);
    if (!set) {
      set = new Set();
      this.feeds.set(channel, set);
      this.sub.subscribe(channel).catch(() => {});
    }
    set.add(feed);
    return feed;
  }

  close(feed) {
    const set = this.feeds.get(feed.channel);
    if (!set) return;
    set.delete(feed);
    if (set.size === 0) {
      this.feeds.delete(feed.channel);
      this.sub.unsubscribe(feed.channel).catch(() => {});
    }
  }
}

// -- server -------------------------------------------------------------------------------

const redis = new Redis(REDIS_URL, { connectionName: `yoga:${process.pid}` });
const bus = new Bus(REDIS_URL);
const schema = createSchema({ typeDefs, resolvers: makeResolvers(redis, bus) });

const yoga = createYoga({
  schema,
  graphqlEndpoint: '/graphql',
  graphiql: false,
  landingPage: false,
  logging: 'warn',
  maskedErrors: false,
  context: ({ request, driver }) =>
    driver !== undefined ? { driver } : { driver: verify(request?.headers.get('authorization')) },
});

const server = http.createServer((req, res) => {
  if (req.url === '/readyz') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    return;
  }
  yoga(req, res);
});
server.keepAliveTimeout = 120_000;
const wss = new WebSocketServer({ server, path: '/graphql', perMessageDeflate: false });

useServer(
  {
    execute: (args) => args.rootValue.execute(args),
    subscribe: (args) => args.rootValue.subscribe(args),
    onConnect: (ctx) => {
      const driver = verify(ctx.connectionParams?.authorization);
      if (!driver) return false; // 4403 Forbidden
      ctx.extra.driver = driver;
      return true;
    },
    onSubscribe: async (ctx, _id, params) => {
      const { schema: s, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
        ...ctx,
        req: ctx.extra.request,
        socket: ctx.extra.socket,
        params,
        driver: ctx.extra.driver,
      });
      const args = {
        schema: s,
        operationName: params.operationName,
        document: parse(params.query),
        variableValues: params.variables,
        contextValue: await contextFactory(),
        rootValue: { execute, subscribe },
      };
      const errors = validate(args.schema, args.document);
      if (errors.length) return errors;
      return args;
    },
  },
  wss,
);

server.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`yoga peer on http://127.0.0.1:${PORT}/graphql (pid ${process.pid})\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    for (const c of wss.clients) c.terminate();
    server.close();
    redis.disconnect();
    bus.sub.disconnect();
    process.exit(0);
  });
}
