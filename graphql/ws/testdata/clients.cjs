// Subscribes with the real npm clients, graphql-ws (graphql-transport-ws)
// and subscriptions-transport-ws (Apollo's graphql-ws), to a rowguard
// server, makes a change over the socket as admin, and prints one JSON
// object: what each client received and the close each saw when refused.
// Usage: node clients.cjs <dir with node_modules> <ws url>
const path = require('path');
const mods = path.join(process.argv[2], 'node_modules');
const WebSocket = require(path.join(mods, 'ws'));
const { createClient } = require(path.join(mods, 'graphql-ws'));
const { SubscriptionClient } = require(path.join(mods, 'subscriptions-transport-ws'));
const url = process.argv[3];

const user = { 'X-Hasura-Role': 'user', 'X-Hasura-User-Id': '1' };
const sub = 'subscription { note(order_by: {id: asc}) { owner body } }';
const insert = (body) => `mutation { insert_note_one(object: {owner: 1, body: "${body}"}) { body } }`;
const withTimeout = (p, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error('timeout: ' + what)), 10000))]);

async function transportWS() {
  const out = {};
  const client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { headers: user } });
  const admin = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0 });
  const results = [];
  let updated;
  const done = new Promise((resolve, reject) => {
    client.subscribe({ query: sub }, {
      next: async (r) => {
        results.push(r);
        if (results.length === 1) {
          out.first = r;
          admin.subscribe({ query: insert('from graphql-ws') }, { next: (m) => { out.mutation = m; }, error: reject, complete: () => { out.mutationCompleted = true; } });
        } else if (JSON.stringify(r).includes('from graphql-ws')) {
          out.updated = r;
          resolve();
        }
      },
      error: reject,
      complete: () => reject(new Error('a live subscription completed')),
    });
  });
  await withTimeout(done, 'graphql-ws update');
  await client.dispose();
  await admin.dispose();
  // Refused credentials: the client sees close 4403.
  out.refused = await withTimeout(new Promise((resolve) => {
    const bad = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { headers: { 'X-Hasura-Role': 'forbidden' } },
      on: { closed: (e) => resolve({ code: e.code, reason: e.reason }) } });
    bad.subscribe({ query: sub }, { next: () => {}, error: () => {}, complete: () => {} });
  }), 'graphql-ws refusal');
  return out;
}

async function apollo() {
  const out = {};
  const client = new SubscriptionClient(url, { reconnect: false, connectionParams: { headers: user } }, WebSocket);
  const admin = new SubscriptionClient(url, { reconnect: false }, WebSocket);
  let n = 0;
  await withTimeout(new Promise((resolve, reject) => {
    client.request({ query: sub }).subscribe({
      next: (r) => {
        n++;
        if (n === 1) {
          out.first = r;
          admin.request({ query: insert('from subscriptions-transport-ws') }).subscribe({ next: (m) => { out.mutation = m; }, error: reject, complete: () => { out.mutationCompleted = true; } });
        } else if (JSON.stringify(r).includes('from subscriptions-transport-ws')) {
          out.updated = r;
          resolve();
        }
      },
      error: reject,
    });
  }), 'subscriptions-transport-ws update');
  client.close();
  admin.close();
  out.refused = await withTimeout(new Promise((resolve) => {
    const res = {};
    const bad = new SubscriptionClient(url, {
      reconnect: false, connectionParams: { headers: { 'X-Hasura-Role': 'forbidden' } },
      connectionCallback: (err) => { res.connectionError = err; },
    }, WebSocket);
    bad.client.addEventListener('close', (e) => { res.code = e.code; res.reason = e.reason; resolve(res); });
  }), 'subscriptions-transport-ws refusal');
  return out;
}

(async () => {
  try {
    const result = { graphqlWs: await transportWS(), apollo: await apollo() };
    console.log(JSON.stringify(result));
    process.exit(0);
  } catch (e) {
    console.log(JSON.stringify({ error: String(e && e.stack || e) }));
    process.exit(1);
  }
})();
