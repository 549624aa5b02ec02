import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createGateway } from '@mlops/gateway';
import type { GatewayHandle, GatewayOptions } from '@mlops/gateway';
import { ErrorCode, WebSocketCloseCode, composeSupergraph } from '@mlops/schema';
import WebSocket from 'ws';
import { silentLogger, startTestSubgraph } from './support/federation-subgraph';
import type { TestSubgraph } from './support/federation-subgraph';
import { connectGraphQLWs, recordSubscription } from './support/graphql-ws-client';
import { postGraphQL } from './support/graphql-http';
import { writeSupergraphFile } from './support/supergraph-file';
import { FEDERATION, PRICES, TickTopic, startCatalog, startTicker } from './support/ticker-federation';
import type { SupergraphFile } from './support/supergraph-file';

function startPricing(port = 0): Promise<TestSubgraph> {
  return startTestSubgraph({
    name: 'pricing',
    port,
    sdl: `${FEDERATION}
      type Query { currency: String }
      type Quote @key(fields: "symbol") { symbol: String!  price: Float }`,
    resolvers: {
      Query: { currency: () => 'USD' },
      Quote: { __resolveReference: ({ symbol }: { symbol: string }) => ({ symbol, price: PRICES[symbol] }) },
    },
  });
}

interface Federation {
  readonly topic: TickTopic;
  readonly ticker: TestSubgraph;
  readonly catalog: TestSubgraph;
  pricing: TestSubgraph;
  readonly supergraph: SupergraphFile;
  startGateway(options?: GatewayOptions): Promise<GatewayHandle>;
  close(): Promise<void>;
}

async function startFederation(): Promise<Federation> {
  const topic = new TickTopic();
  const [ticker, catalog, pricing] = await Promise.all([startTicker(topic), startCatalog(), startPricing()]);
  const supergraph = await writeSupergraphFile([ticker.definition, catalog.definition, pricing.definition]);
  const gateways: GatewayHandle[] = [];
  const federation: Federation = {
    topic,
    ticker,
    catalog,
    pricing,
    supergraph,
    async startGateway(options = {}) {
      const gateway = await createGateway({
        env: {},
        logger: silentLogger(),
        port: 0,
        supergraph: { kind: 'file', path: supergraph.path },
        ...options,
        subgraphUrls: {
          ticker: ticker.url,
          catalog: catalog.url,
          pricing: federation.pricing.url,
          ...options.subgraphUrls,
        },
      });
      gateways.push(gateway);
      return gateway;
    },
    async close() {
      await Promise.all(gateways.map((g) => g.close()));
      await Promise.all([ticker.close(), catalog.close(), federation.pricing.close()]);
      await supergraph.remove();
    },
  };
  return federation;
}

const TICKS_WITH_QUOTE = `subscription Ticks($symbol: String!) {
  ticks(symbol: $symbol) { seq quote { symbol name price } }
}`;

describe('gateway subscriptions over graphql-ws', () => {
  let federation: Federation;
  let gateway: GatewayHandle;

  beforeAll(async () => {
    federation = await startFederation();
    gateway = await federation.startGateway();
  });
  afterAll(() => federation.close());

  it('should resolve fields of three subgraphs on every event', async () => {
    const client = connectGraphQLWs(gateway.url);
    try {
      const stream = recordSubscription(client, TICKS_WITH_QUOTE, { symbol: 'ACME' });
      await federation.topic.waitForSubscribers(1);
      federation.topic.publish({ seq: 1, symbol: 'ACME' });
      federation.topic.publish({ seq: 2, symbol: 'ACME' });

      const results = await stream.waitFor(2);

      expect(results).toEqual([
        { data: { ticks: { seq: 1, quote: { symbol: 'ACME', name: 'Acme Corp', price: 101.5 } } } },
        { data: { ticks: { seq: 2, quote: { symbol: 'ACME', name: 'Acme Corp', price: 101.5 } } } },
      ]);
      stream.dispose();
      await federation.topic.waitForSubscribers(0);
    } finally {
      await client.dispose();
    }
  });

  it('should keep serving queries over HTTP on the same port', async () => {
    const { status, body } = await postGraphQL(gateway.url, '{ tickerStatus catalogSize currency }');

    expect(status).toBe(200);
    expect(body).toEqual({ data: { tickerStatus: 'ok', catalogSize: 2, currency: 'USD' } });
  });

  it('should point a subscription sent over HTTP to the WebSocket endpoint', async () => {
    const { status, body } = await postGraphQL(gateway.url, 'subscription { ticks(symbol: "ACME") { seq } }');

    expect(status).toBe(400);
    expect(body).toEqual({
      errors: [
        expect.objectContaining({ extensions: expect.objectContaining({ code: ErrorCode.BAD_USER_INPUT }) }),
      ],
    });
    expect((body as { errors: { message: string }[] }).errors[0]?.message).toMatch(/WebSocket/);
  });

  it('should share one upstream subscription between identical client subscriptions', async () => {
    const clients = [connectGraphQLWs(gateway.url), connectGraphQLWs(gateway.url)];
    try {
      const before = federation.topic.started;
      const streams = [
        recordSubscription(clients[0]!, TICKS_WITH_QUOTE, { symbol: 'INIT' }),
        recordSubscription(clients[0]!, TICKS_WITH_QUOTE, { symbol: 'INIT' }),
        recordSubscription(clients[1]!, TICKS_WITH_QUOTE, { symbol: 'INIT' }),
        // Another selection whose ticker part is the same: its own result, the same upstream stream.
        recordSubscription(
          clients[1]!,
          'subscription Ticks($symbol: String!) { ticks(symbol: $symbol) { seq quote { name } } }',
          { symbol: 'INIT' },
        ),
      ];
      await waitUntil(() => gateway.stats().subscriptions === 4);
      await federation.topic.waitForSubscribers(1);
      federation.topic.publish({ seq: 7, symbol: 'INIT' });

      const received = await Promise.all(streams.map((s) => s.waitFor(1)));

      expect(federation.topic.started - before).toBe(1);
      expect(received.slice(0, 3)).toEqual(
        Array(3).fill([
          { data: { ticks: { seq: 7, quote: { symbol: 'INIT', name: 'Initech', price: 7.25 } } } },
        ]),
      );
      expect(received[3]).toEqual([{ data: { ticks: { seq: 7, quote: { name: 'Initech' } } } }]);
      expect(gateway.stats()).toMatchObject({ subscriptions: 4, streams: 2, upstreams: 1 });
      for (const s of streams) s.dispose();
      await federation.topic.waitForSubscribers(0);
    } finally {
      await Promise.all(clients.map((c) => c.dispose()));
    }
  });

  it('should start separate upstream subscriptions for different variables', async () => {
    const client = connectGraphQLWs(gateway.url);
    try {
      const acme = recordSubscription(client, TICKS_WITH_QUOTE, { symbol: 'ACME' });
      const init = recordSubscription(client, TICKS_WITH_QUOTE, { symbol: 'INIT' });
      await federation.topic.waitForSubscribers(2);
      federation.topic.publish({ seq: 1, symbol: 'INIT' });
      federation.topic.publish({ seq: 2, symbol: 'ACME' });

      expect((await acme.waitFor(1))[0]).toMatchObject({
        data: { ticks: { seq: 2, quote: { symbol: 'ACME' } } },
      });
      expect((await init.waitFor(1))[0]).toMatchObject({
        data: { ticks: { seq: 1, quote: { symbol: 'INIT' } } },
      });
      expect(acme.results).toHaveLength(1);
      expect(init.results).toHaveLength(1);
    } finally {
      await client.dispose();
      await federation.topic.waitForSubscribers(0);
    }
  });

  it('should deliver the events received before the subgraph completes the subscription, then complete', async () => {
    const client = connectGraphQLWs(gateway.url);
    try {
      const stream = recordSubscription(client, TICKS_WITH_QUOTE, { symbol: 'ACME' });
      await federation.topic.waitForSubscribers(1);

      for (const { queue } of federation.topic.subscribers) {
        queue.push({ seq: 1, symbol: 'ACME' });
        queue.push({ seq: 2, symbol: 'ACME' });
        queue.end();
      }

      expect(await stream.ended).toEqual({ kind: 'complete' });
      expect(stream.results.map((r) => (r.data as { ticks: { seq: number } }).ticks.seq)).toEqual([1, 2]);
    } finally {
      await client.dispose();
      await federation.topic.waitForSubscribers(0);
    }
  });

  it('should answer a validation error with its code and keep the connection', async () => {
    const client = connectGraphQLWs(gateway.url);
    try {
      const bad = recordSubscription(client, 'subscription { ticks(symbol: "ACME") { nope } }');
      const end = await bad.ended;

      expect(end).toMatchObject({
        kind: 'errors',
        errors: [{ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }],
      });
      const good = recordSubscription(client, TICKS_WITH_QUOTE, { symbol: 'ACME' });
      await federation.topic.waitForSubscribers(1);
      federation.topic.publish({ seq: 3, symbol: 'ACME' });
      expect(await good.waitFor(1)).toHaveLength(1);
    } finally {
      await client.dispose();
      await federation.topic.waitForSubscribers(0);
    }
  });

  it('should refuse queries over the socket with a coded error', async () => {
    const client = connectGraphQLWs(gateway.url);
    try {
      const end = await recordSubscription(client, '{ tickerStatus }').ended;

      expect(end).toMatchObject({
        kind: 'errors',
        errors: [{ extensions: { code: ErrorCode.BAD_USER_INPUT } }],
      });
    } finally {
      await client.dispose();
    }
  });
});

describe('gateway subscription limits', () => {
  let federation: Federation;

  beforeAll(async () => {
    federation = await startFederation();
  });
  afterAll(() => federation.close());

  it('should answer LIMIT_EXCEEDED past the per-connection maximum and keep the others', async () => {
    const gateway = await federation.startGateway({ subscriptions: { maxPerConnection: 2 } });
    const client = connectGraphQLWs(gateway.url);
    try {
      const first = recordSubscription(client, TICKS_WITH_QUOTE, { symbol: 'ACME' });
      const second = recordSubscription(client, TICKS_WITH_QUOTE, { symbol: 'INIT' });
      await waitUntil(() => gateway.stats().subscriptions === 2);

      const third = await recordSubscription(client, TICKS_WITH_QUOTE, { symbol: 'ACME' }).ended;

      expect(third).toMatchObject({
        kind: 'errors',
        errors: [{ extensions: { code: ErrorCode.LIMIT_EXCEEDED } }],
      });
      await federation.topic.waitForSubscribers(2);
      federation.topic.publish({ seq: 1, symbol: 'ACME' });
      expect(await first.waitFor(1)).toHaveLength(1);
      second.dispose();
      await waitUntil(() => gateway.stats().subscriptions === 1);
      const fourth = recordSubscription(client, TICKS_WITH_QUOTE, { symbol: 'INIT' });
      await federation.topic.waitForSubscribers(2);
      federation.topic.publish({ seq: 2, symbol: 'INIT' });
      expect(await fourth.waitFor(1)).toHaveLength(1);
    } finally {
      await client.dispose();
      await gateway.close();
      await federation.topic.waitForSubscribers(0);
    }
  });

  it('should answer LIMIT_EXCEEDED past the per-gateway maximum', async () => {
    const gateway = await federation.startGateway({ subscriptions: { maxTotal: 1 } });
    const clients = [connectGraphQLWs(gateway.url), connectGraphQLWs(gateway.url)];
    try {
      recordSubscription(clients[0]!, TICKS_WITH_QUOTE, { symbol: 'ACME' });
      await waitUntil(() => gateway.stats().subscriptions === 1);

      const refused = await recordSubscription(clients[1]!, TICKS_WITH_QUOTE, { symbol: 'ACME' }).ended;

      expect(refused).toMatchObject({
        kind: 'errors',
        errors: [{ extensions: { code: ErrorCode.LIMIT_EXCEEDED } }],
      });
    } finally {
      await Promise.all(clients.map((c) => c.dispose()));
      await gateway.close();
      await federation.topic.waitForSubscribers(0);
    }
  });

  it('should close a connection that sends no connection_init in time with 4408', async () => {
    const gateway = await federation.startGateway({ subscriptions: { connectionInitTimeoutMs: 200 } });
    try {
      const socket = new WebSocket(gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
      const [code] = (await once(socket, 'close')) as [number];

      expect(code).toBe(4408);
    } finally {
      await gateway.close();
    }
  });

  it('should drop a client that stops answering pings and keep one that answers', async () => {
    const gateway = await federation.startGateway({ subscriptions: { keepAliveMs: 50 } });
    const mute = new WebSocket(gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws', {
      autoPong: false,
    });
    const client = connectGraphQLWs(gateway.url);
    try {
      await once(mute, 'open');
      mute.send(JSON.stringify({ type: 'connection_init' }));
      const stream = recordSubscription(client, TICKS_WITH_QUOTE, { symbol: 'ACME' });

      const [code] = (await once(mute, 'close')) as [number];

      expect(code).toBe(1006); // terminated: no closing handshake with a peer that does not answer
      await new Promise((resolve) => setTimeout(resolve, 200)); // several more ping intervals
      await federation.topic.waitForSubscribers(1);
      federation.topic.publish({ seq: 1, symbol: 'ACME' });
      expect(await stream.waitFor(1)).toHaveLength(1);
      expect(gateway.stats().connections).toBe(1);
    } finally {
      mute.terminate();
      await client.dispose();
      await gateway.close();
      await federation.topic.waitForSubscribers(0);
    }
  });

  it('should close a slow consumer with 4508 instead of buffering without bound', async () => {
    const gateway = await federation.startGateway({ subscriptions: { queueCapacity: 4 } });
    const socket = new WebSocket(gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    try {
      await once(socket, 'open');
      socket.send(JSON.stringify({ type: 'connection_init' }));
      const [ack] = (await once(socket, 'message')) as [Buffer];
      expect(JSON.parse(ack.toString())).toEqual({ type: 'connection_ack' });
      socket.send(
        JSON.stringify({
          id: '1',
          type: 'subscribe',
          payload: { query: 'subscription { ticks(symbol: "ACME") { seq note } }' },
        }),
      );
      await federation.topic.waitForSubscribers(1);
      // Stop reading: the kernel buffers fill, the gateway's sends stop completing, its queue fills.
      socket.pause();
      const note = 'x'.repeat(64 * 1024);
      for (let seq = 0; seq < 2_000 && federation.topic.subscribers.size > 0; seq++) {
        federation.topic.publish({ seq, symbol: 'ACME', note });
        if (seq % 50 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      // The gateway dropped its queue and left the upstream stream, though the client has not read.
      await federation.topic.waitForSubscribers(0);
      expect(gateway.stats()).toMatchObject({ streams: 0, upstreams: 0 });
      const closed = once(socket, 'close');
      socket.resume();
      const [code] = (await closed) as [number];

      expect(code).toBe(WebSocketCloseCode.SLOW_CONSUMER);
      await waitUntil(() => gateway.stats().subscriptions === 0);
    } finally {
      socket.terminate();
      await gateway.close();
    }
  });
});

describe('gateway subscriptions when things fail', () => {
  let federation: Federation;

  beforeAll(async () => {
    federation = await startFederation();
  });
  afterAll(() => federation.close());

  it('should deliver partial data with coded errors while an entity subgraph is down, then recover', async () => {
    const gateway = await federation.startGateway();
    const client = connectGraphQLWs(gateway.url);
    const pricingUrl = federation.pricing.url;
    try {
      const stream = recordSubscription(client, TICKS_WITH_QUOTE, { symbol: 'ACME' });
      await federation.topic.waitForSubscribers(1);
      await federation.pricing.close();

      federation.topic.publish({ seq: 1, symbol: 'ACME' });
      const [partial] = await stream.waitFor(1);

      expect(partial?.data).toEqual({
        ticks: { seq: 1, quote: { symbol: 'ACME', name: 'Acme Corp', price: null } },
      });
      expect(partial?.errors).toEqual([
        expect.objectContaining({ extensions: expect.objectContaining({ code: ErrorCode.UNAVAILABLE }) }),
      ]);

      federation.pricing = await restartPricingAt(pricingUrl);
      federation.topic.publish({ seq: 2, symbol: 'ACME' });
      const [, recovered] = await stream.waitFor(2);
      expect(recovered).toEqual({
        data: { ticks: { seq: 2, quote: { symbol: 'ACME', name: 'Acme Corp', price: 101.5 } } },
      });
    } finally {
      await client.dispose();
      await gateway.close();
      await federation.topic.waitForSubscribers(0);
    }
  });

  it('should end subscriptions with 1001 when the gateway shuts down', async () => {
    const gateway = await federation.startGateway();
    const client = connectGraphQLWs(gateway.url);
    try {
      const stream = recordSubscription(client, TICKS_WITH_QUOTE, { symbol: 'ACME' });
      await federation.topic.waitForSubscribers(1);

      await gateway.close();

      expect(await stream.ended).toMatchObject({ kind: 'closed', code: WebSocketCloseCode.GOING_AWAY });
      await federation.topic.waitForSubscribers(0);
    } finally {
      await client.dispose();
    }
  });

  it('should end subscriptions with SUBSCRIPTION_RESTART when the supergraph file changes, then serve the new one', async () => {
    const gateway = await federation.startGateway({ supergraphPollMs: 20 });
    const client = connectGraphQLWs(gateway.url);
    try {
      const stream = recordSubscription(client, TICKS_WITH_QUOTE, { symbol: 'ACME' });
      await federation.topic.waitForSubscribers(1);
      const catalogWithSector = {
        ...federation.catalog.definition,
        sdl: federation.catalog.definition.sdl.replace('name: String!', 'name: String!  sector: String'),
      };
      const outcome = composeSupergraph([
        federation.ticker.definition,
        catalogWithSector,
        federation.pricing.definition,
      ]);
      if (!outcome.ok) throw new Error(outcome.errors.join('\n'));

      await writeFile(federation.supergraph.path, outcome.supergraphSdl);

      expect(await stream.ended).toMatchObject({
        kind: 'errors',
        errors: [{ extensions: { code: ErrorCode.SUBSCRIPTION_RESTART } }],
      });
      await federation.topic.waitForSubscribers(0);
      const renewed = recordSubscription(client, TICKS_WITH_QUOTE, { symbol: 'ACME' });
      await federation.topic.waitForSubscribers(1);
      federation.topic.publish({ seq: 9, symbol: 'ACME' });
      expect(await renewed.waitFor(1)).toEqual([
        { data: { ticks: { seq: 9, quote: { symbol: 'ACME', name: 'Acme Corp', price: 101.5 } } } },
      ]);
    } finally {
      await client.dispose();
      await gateway.close();
      await federation.topic.waitForSubscribers(0);
    }
  });

  it('should end subscriptions with UNAVAILABLE when the owning subgraph goes away', async () => {
    const topic = new TickTopic();
    const ticker = await startTicker(topic);
    const gateway = await federation.startGateway({ subgraphUrls: { ticker: ticker.url } });
    const client = connectGraphQLWs(gateway.url);
    try {
      const stream = recordSubscription(client, TICKS_WITH_QUOTE, { symbol: 'ACME' });
      await topic.waitForSubscribers(1);

      await ticker.close();

      expect(await stream.ended).toMatchObject({
        kind: 'errors',
        errors: [{ extensions: { code: ErrorCode.UNAVAILABLE, subgraph: 'ticker' } }],
      });
      expect(gateway.stats().subscriptions).toBe(0);
    } finally {
      await client.dispose();
      await gateway.close();
    }
  });
});

/** Starts the pricing subgraph again on the port it had (retrying while the port is released). */
async function restartPricingAt(url: string): Promise<TestSubgraph> {
  const port = Number(new URL(url).port);
  for (let attempt = 0; ; attempt++) {
    try {
      return await startPricing(port);
    } catch (error) {
      if (attempt > 20) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`Condition not met within ${timeoutMs} ms: ${condition.toString()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
