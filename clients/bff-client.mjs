// The BFF as the React Native app talks to it: Apollo Client (core, no React) over HTTP for
// queries and mutations, graphql-ws (graphql-transport-ws) for subscriptions, the driver's
// JWT in the Authorization header and in the websocket's connection_init payload.
import { readFileSync } from "node:fs";

import { ApolloClient, HttpLink, InMemoryCache, from, split } from "@apollo/client/core/index.js";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries/index.js";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions/index.js";
import { getMainDefinition } from "@apollo/client/utilities/index.js";
import { Kind, buildSchema, isAbstractType, parse, visit } from "graphql";
import { generatePersistedQueryIdsFromManifest } from "@apollo/persisted-query-lists";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

/** Each named operation of a contract file as its own document, with the fragments it
 * spreads (directly or through other fragments) and no others: a document with unused
 * fragments is invalid GraphQL. */
export function loadOperations(path) {
  const doc = parse(readFileSync(path, "utf8"));
  const fragments = new Map(
    doc.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  const spreads = (node) => {
    const names = [];
    visit(node, { FragmentSpread: (s) => { names.push(s.name.value); } });
    return names;
  };
  const operations = new Map();
  for (const op of doc.definitions) {
    if (op.kind !== Kind.OPERATION_DEFINITION || !op.name) continue;
    const used = [];
    const pending = [op];
    while (pending.length) {
      for (const name of spreads(pending.pop())) {
        if (!used.includes(name) && fragments.has(name)) {
          used.push(name);
          pending.push(fragments.get(name));
        }
      }
    }
    operations.set(op.name.value, {
      kind: Kind.DOCUMENT,
      definitions: [op, ...used.map((n) => fragments.get(n))],
    });
  }
  return operations;
}

/** Apollo's ``possibleTypes`` from the SDL (schema.graphql): which types each union and
 * interface stands for, so the cache matches ``... on UserError`` (and unions' members)
 * as the server does. */
export function possibleTypesOf(sdlPath) {
  const schema = buildSchema(readFileSync(sdlPath, "utf8"));
  return Object.fromEntries(
    Object.values(schema.getTypeMap())
      .filter((t) => isAbstractType(t) && !t.name.startsWith("__"))
      .map((t) => [t.name, schema.getPossibleTypes(t).map((p) => p.name)]),
  );
}

/** An Apollo client for one driver; ``close()`` ends its websocket.
 *
 * With ``manifest`` (an Apollo persisted-query manifest, as the app's build writes it with
 * ``generate-persisted-query-manifest``) it sends operations as a production app does:
 * by their manifest id, over HTTP without the query text. ``sent`` counts the HTTP
 * requests that carried a query text and those that did not. */
export function connect({ url, token, possibleTypes = {}, manifest = null }) {
  const authorization = `Bearer ${token}`;
  const ws = createClient({
    url: url.replace(/^http/, "ws") + "/graphql",
    webSocketImpl: WebSocket,
    connectionParams: { authorization },
    lazy: true,
    retryAttempts: 3,
  });
  const sent = { withText: 0, idOnly: 0 };
  const counting = async (uri, options) => {
    const body = typeof options.body === "string" ? JSON.parse(options.body) : {};
    if (body.query) sent.withText += 1;
    else sent.idOnly += 1;
    return fetch(uri, options);
  };
  const http = new HttpLink({ uri: `${url}/graphql`, headers: { authorization }, fetch: counting });
  const transport = split(
    ({ query }) => {
      const def = getMainDefinition(query);
      return def.kind === Kind.OPERATION_DEFINITION && def.operation === "subscription";
    },
    new GraphQLWsLink(ws),
    http,
  );
  const link = manifest
    ? from([
        createPersistedQueryLink(generatePersistedQueryIdsFromManifest({ loadManifest: () => manifest })),
        transport,
      ])
    : transport;
  const apollo = new ApolloClient({
    link,
    // A session's parts have no id of their own: a newer payload updates them in place.
    cache: new InMemoryCache({
      possibleTypes,
      typePolicies: Object.fromEntries(
        ["Payment", "Receipt", "Cost", "Energy", "ChargingProfile", "Tariff", "GeoPoint"]
          .map((type) => [type, { merge: true }]),
      ),
    }),
    // Every call reaches the server: these tests are about the server, not the cache.
    defaultOptions: {
      query: { fetchPolicy: "network-only" },
      watchQuery: { fetchPolicy: "network-only" },
    },
  });
  return {
    apollo,
    sent,
    close: async () => {
      apollo.stop();
      await ws.dispose();
    },
  };
}
