// The load client of `python -m bench.run versus`: the same client for the BFF and the
// Yoga peer. Driven over stdin/stdout, one JSON object a line each way:
//
//   {"cmd":"open","port":P,"query":Q,"subs":[[token, variables, tag, session], ...],
//    "concurrency":50}
//       graphql-transport-ws subscriptions on `ws`, one per socket: connection_init with
//       the token, subscribe, wait for the first `next`. -> {opened, failed, sample}
//   {"cmd":"reset"}   start counting deliveries (latency, order, repeats) from now
//   {"cmd":"stats"}   what arrived since reset: latencies (s), per session tag
//                     [distinct, repeats, out of order], a raw payload per tag
//   {"cmd":"close"}   close every socket
//   {"cmd":"http","port":P,"body":B,"token":T,"connections":C,"seconds":S,"max":N}
//       a closed loop of C keep-alive connections posting B for S seconds (at most N
//       requests): -> {count, errors, p50, p99 (ms), body (the first answer)}
//
// A delivery's order key is its session's energy (`energy.wattHours`), which the
// benchmark's publisher raises with every update: a socket must see it grow strictly.
// Latency is now minus the payload's `updatedAt` (the time the update was sent).

import net from 'node:net';
import readline from 'node:readline';
import WebSocket from 'ws';

const socks = [];
let counting = false;
let latencies = [];
let perTag = new Map(); // tag -> {distinct, repeats, reordered, max, seen:Set}
let samples = new Map(); // tag -> raw payload text

function payloadText(raw) {
  // {"id":"1","type":"next","payload":{...}} (either key order): the payload's own bytes.
  const at = raw.indexOf('"payload":');
  if (at < 0) return null;
  const start = at + 10;
  let depth = 0;
  let inStr = false;
  for (let i = start; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (inStr) {
      if (c === 92) i++;
      else if (c === 34) inStr = false;
    } else if (c === 34) inStr = true;
    else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) {
      depth--;
      if (depth === 0) return raw.slice(start, i + 1);
    }
  }
  return null;
}

function onNext(conn, raw, msg, at) {
  if (!counting) return;
  const data = msg.payload?.data;
  const node = data ? Object.values(data)[0] : null;
  if (!node || !node.updatedAt) return;
  latencies.push(at - Date.parse(node.updatedAt) / 1000);
  const key = node.energy?.wattHours ?? node.updatedAt;
  let t = perTag.get(conn.tag);
  if (!t) {
    t = { distinct: 0, repeats: 0, reordered: 0, max: null, seen: new Set() };
    perTag.set(conn.tag, t);
  }
  if (t.seen.has(key)) t.repeats++;
  else {
    t.seen.add(key);
    t.distinct++;
    if (t.max !== null && key < t.max) t.reordered++;
    if (t.max === null || key > t.max) t.max = key;
  }
  if (!samples.has(conn.session)) samples.set(conn.session, payloadText(raw));
}

function openOne(port, token, variables, query, tag, session, seconds) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws', {
      perMessageDeflate: false,
    });
    const conn = { ws, tag, session, first: false };
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('timed out'));
    }, seconds * 1000);
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    });
    ws.on('message', (data) => {
      const raw = data.toString();
      const msg = JSON.parse(raw);
      if (msg.type === 'next') {
        if (!conn.first) {
          conn.first = true;
          clearTimeout(timer);
          resolve(conn);
        }
        onNext(conn, raw, msg, Date.now() / 1000);
      } else if (msg.type === 'connection_ack') {
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
      } else if (msg.type === 'ping') {
        ws.send('{"type":"pong"}');
      } else if (msg.type === 'error' || msg.type === 'complete') {
        clearTimeout(timer);
        reject(new Error(`${msg.type}: ${JSON.stringify(msg.payload)}`));
      }
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.on('close', (code) => {
      conn.closed = true;
      clearTimeout(timer);
      reject(new Error(`closed ${code}`));
    });
  });
}

async function open(cmd) {
  const failed = [];
  let opened = 0;
  let next = 0;
  const subs = cmd.subs;
  async function worker() {
    while (next < subs.length) {
      const [token, variables, tag, session] = subs[next++];
      try {
        socks.push(await openOne(cmd.port, token, variables, cmd.query, tag, session ?? tag, cmd.timeout ?? 60));
        opened++;
      } catch (err) {
        failed.push(String(err));
      }
    }
  }
  await Promise.all(Array.from({ length: cmd.concurrency ?? 50 }, worker));
  return { opened, failed: failed.length, sample: failed.slice(0, 3) };
}

function stats() {
  const tags = {};
  for (const [tag, t] of perTag) tags[tag] = [t.distinct, t.repeats, t.reordered];
  return {
    received: latencies.length,
    latencies,
    per_tag: tags,
    samples: Object.fromEntries(samples),
    closed: socks.filter((c) => c.closed).length,
  };
}

// -- HTTP: a closed loop on raw keep-alive sockets --------------------------------------

function httpLoad(cmd) {
  const body = Buffer.from(cmd.body);
  const request = Buffer.concat([
    Buffer.from(
      `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:${cmd.port}\r\nContent-Type: application/json\r\n` +
        `Accept: application/json\r\nAuthorization: Bearer ${cmd.token}\r\n` +
        `Content-Length: ${body.length}\r\n\r\n`,
    ),
    body,
  ]);
  const until = Date.now() + cmd.seconds * 1000;
  const max = cmd.max ?? 1e9;
  const lat = [];
  let count = 0;
  let errors = 0;
  let first = null;
  let started = 0;
  return new Promise((resolve) => {
    let open = cmd.connections;
    const done = () => {
      if (--open === 0) {
        lat.sort((a, b) => a - b);
        const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : NaN);
        resolve({ count, errors, p50: q(0.5), p99: q(0.99), body: first });
      }
    };
    for (let i = 0; i < cmd.connections; i++) {
      const s = net.connect(cmd.port, '127.0.0.1');
      s.setNoDelay(true);
      let buf = Buffer.alloc(0);
      let sent = 0;
      let over = false;
      const finish = () => {
        if (!over) {
          over = true;
          done();
        }
      };
      const send = () => {
        if (Date.now() >= until || started >= max) {
          s.end();
          finish();
          return;
        }
        started++;
        sent = performance.now();
        s.write(request);
      };
      s.on('connect', send);
      s.on('data', (chunk) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buf.subarray(0, end).toString('latin1');
          const m = /content-length:\s*(\d+)/i.exec(head);
          if (!m) {
            errors++;
            s.destroy();
            finish();
            return;
          }
          const total = end + 4 + Number(m[1]);
          if (buf.length < total) return;
          const status = head.slice(9, 12);
          if (status !== '200') errors++;
          else count++;
          if (first === null) first = buf.subarray(end + 4, total).toString();
          buf = buf.subarray(total);
          lat.push(performance.now() - sent);
          send();
        }
      });
      s.on('error', () => {
        errors++;
        finish();
      });
    }
  });
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (!line.trim()) continue;
  const cmd = JSON.parse(line);
  let reply;
  if (cmd.cmd === 'open') reply = await open(cmd);
  else if (cmd.cmd === 'reset') {
    latencies = [];
    perTag = new Map();
    samples = new Map();
    counting = true;
    reply = { ok: true };
  } else if (cmd.cmd === 'stats') reply = stats();
  else if (cmd.cmd === 'http') reply = await httpLoad(cmd);
  else {
    for (const c of socks) c.ws.terminate();
    reply = { closed: socks.length };
    socks.length = 0;
  }
  process.stdout.write(`${JSON.stringify(reply)}\n`);
  if (cmd.cmd === 'close' && cmd.exit) break;
}
process.exit(0);
