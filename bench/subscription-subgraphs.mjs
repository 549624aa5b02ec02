// @ts-check
// The subgraphs behind the subscription benchmark, in one process: `ticker` owns
// `Subscription.ticks(topic:)` and publishes at the rate the parent asks for; `catalog` resolves
// each tick's `quote.name` as an entity, so every event runs a real entity fetch at the gateway.
// Talks to its parent over IPC: { ready: { tickerUrl, catalogUrl } }, then { publish: { rate, seconds, topics } }.
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import runtime from '@mlops/runtime';

const FEDERATION = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])';
const logger = runtime.createLogger({ service: 'bench-subgraphs', level: 'warn' });

/** @type {Set<{ topic: number, queue: import('@mlops/runtime').EventQueue<object> }>} */
const subscribers = new Set();

function open(topic) {
  const entry = {
    topic,
    queue: runtime.createEventQueue({ capacity: 100_000, onClose: () => subscribers.delete(entry) }),
  };
  subscribers.add(entry);
  return entry.queue;
}

const TICKER_SDL = `${FEDERATION}
  type Query { tickerStatus: String }
  type Subscription { ticks(topic: Int!): Tick! }
  type Tick { seq: Int!  topic: Int!  publishedAt: Float!  quote: Quote! }
  type Quote @key(fields: "symbol") { symbol: String! }`;

const CATALOG_SDL = `${FEDERATION}
  type Query { catalogStatus: String }
  type Quote @key(fields: "symbol") { symbol: String!  name: String! }`;

async function start(sdl, resolvers) {
  const service = await runtime.startGraphQLService({
    schema: buildSubgraphSchema({ typeDefs: parse(sdl), resolvers }),
    logger,
    production: true,
    readinessChecks: [],
    redisUrl: undefined,
    context: async (base) => base,
    port: 0,
    host: '127.0.0.1',
  });
  return service;
}

const ticker = await start(TICKER_SDL, {
  Query: { tickerStatus: () => 'ok' },
  Subscription: {
    ticks: {
      subscribe: (_, { topic }) => {
        const queue = open(topic);
        return {
          [Symbol.asyncIterator]: () => ({
            next: async () => {
              const step = await queue.next();
              return step.done ? step : { done: false, value: { ticks: step.value } };
            },
            return: () => queue.return(),
          }),
        };
      },
    },
  },
  Tick: { quote: (tick) => ({ symbol: `SYM${tick.topic}` }) },
});
const catalog = await start(CATALOG_SDL, {
  Query: { catalogStatus: () => 'ok' },
  Quote: { __resolveReference: ({ symbol }) => ({ symbol, name: `Company ${symbol}` }) },
});

let seq = 0;
function publish(topics) {
  seq += 1;
  const topic = seq % topics;
  const tick = { seq, topic, publishedAt: performance.timeOrigin + performance.now() };
  for (const subscriber of subscribers) if (subscriber.topic === topic) subscriber.queue.push(tick);
}

process.on('message', (/** @type {any} */ message) => {
  if (message.publish) {
    const { rate, seconds, topics } = message.publish;
    const total = Math.round(rate * seconds);
    const started = performance.now();
    let sent = 0;
    // Paced against the clock so a late timer does not lower the rate.
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
      while (sent < due) {
        publish(topics);
        sent += 1;
      }
      if (sent < total) setTimeout(tick, Math.max(0, (sent / rate) * 1000 - (performance.now() - started)));
      else process.send?.({ published: sent });
    };
    tick();
  }
  if (message.upstreams) process.send?.({ upstreams: subscribers.size });
  if (message.stop) {
    void Promise.all([ticker.close(), catalog.close()]).then(() => process.exit(0));
  }
});

process.send?.({
  ready: { tickerUrl: ticker.url, catalogUrl: catalog.url, tickerSdl: TICKER_SDL, catalogSdl: CATALOG_SDL },
});
