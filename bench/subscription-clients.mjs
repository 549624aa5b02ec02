// @ts-check
// One process of subscribers for the subscription benchmark: opens `count` graphql-ws connections
// (the real client) to the gateway, one subscription each on topic `index % topics`, and records the
// delay from each event's publish time to its receipt. IPC with the parent:
// in { start: { url, count, offset, topics } } → out { subscribed } once every subscription has
// received one event; in { reset } clears the figures; in { report } → out { report: { latencies, errors, closed } }.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const QUERY = `subscription Ticks($topic: Int!) {
  ticks(topic: $topic) { seq publishedAt quote { name } }
}`;

/** @type {import('graphql-ws').Client[]} */
const clients = [];
/** @type {number[]} */
let latencies = [];
let errors = 0;
let closed = 0;
let firstEvents = 0;
let expected = 0;

function subscribe(url, topic) {
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    on: { closed: () => (closed += 1) },
  });
  clients.push(client);
  let first = true;
  client.subscribe(
    { query: QUERY, variables: { topic } },
    {
      next(result) {
        const now = performance.timeOrigin + performance.now();
        const tick = /** @type {any} */ (result.data)?.ticks;
        if (result.errors || !tick?.quote?.name) errors += 1;
        else latencies.push(now - tick.publishedAt);
        if (first) {
          first = false;
          firstEvents += 1;
          if (firstEvents === expected) process.send?.({ subscribed: firstEvents });
        }
      },
      error: () => (errors += 1),
      complete: () => {},
    },
  );
}

process.on('message', async (/** @type {any} */ message) => {
  if (message.start) {
    const { url, count, offset, topics } = message.start;
    expected = count;
    // In batches, so the gateway's accept backlog is never the limit.
    for (let i = 0; i < count; i++) {
      subscribe(url, (offset + i) % topics);
      if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    process.send?.({ connecting: count });
  }
  if (message.reset) {
    latencies = [];
    errors = 0;
  }
  if (message.report) process.send?.({ report: { latencies, errors, closed } });
  if (message.stop) {
    await Promise.all(clients.map((c) => c.dispose()));
    process.exit(0);
  }
});
