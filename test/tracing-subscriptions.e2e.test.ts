import { createCapturingLogger } from '@mlops/runtime';
import type { CapturingLogger } from '@mlops/runtime';
import WebSocket from 'ws';
import { freePort } from './support/fake-stack';
import type { TestSubgraph } from './support/federation-subgraph';
import { connectGraphQLWs, recordSubscription } from './support/graphql-ws-client';
import { SERVER, newSpanId, newTraceId, startOtlpReceiver } from './support/otlp-receiver';
import type { OtlpReceiver, ReceivedSpan } from './support/otlp-receiver';
import { startServiceProcess } from './support/service-process';
import type { ServiceProcess } from './support/service-process';
import { writeSupergraphFile } from './support/supergraph-file';
import type { SupergraphFile } from './support/supergraph-file';
import { TickTopic, startCatalog, startTicker } from './support/ticker-federation';

/**
 * Subscriptions through a gateway process (its own tracer provider, exporting to a real OTLP
 * receiver, its JSON logs on stdout) over two real subgraphs served in the test process: `ticker`
 * streams ticks over graphql-ws (its logs captured), `catalog` resolves each tick's quote (it
 * records the `x-request-id` and `traceparent` of every fetch it answers).
 */

const TICKS_WITH_QUOTE = `subscription Ticks($symbol: String!) {
  ticks(symbol: $symbol) { seq quote { symbol name } }
}`;
// No field beyond the ticker's own: its events need no entity fetch.
const SEQUENCE = 'subscription Sequence($symbol: String!) { ticks(symbol: $symbol) { seq } }';

/** A graphql-ws socket whose upgrade request carries `headers`, as a browser's proxy or a backend client may send. */
function socketWithHeaders(headers: Record<string, string>) {
  return class extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  };
}

type LogLine = Record<string, unknown>;

/** Waits until the process has logged a line with every field of `fields` (the log is read as it grows). */
async function loggedLine(process: ServiceProcess, fields: LogLine): Promise<LogLine> {
  const matches = (line: LogLine) => Object.entries(fields).every(([key, value]) => line[key] === value);
  for (let attempt = 0; attempt < 250; attempt++) {
    const line = process.logLines().find(matches);
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`No log line like ${JSON.stringify(fields)} within 5 s`);
}

/** The parent id a `traceparent` header names. */
const parentOf = (traceparent: string | undefined): string | undefined => traceparent?.split('-')[2];

/**
 * The ticker and catalog subgraphs and a gateway process in front of them, for one `describe`;
 * `env(url)` is what the gateway gets besides its own settings, given the receiver's URL.
 */
function useSubscriptionStack(env: (receiverUrl: string) => Record<string, string>) {
  const fixture = {} as {
    receiver: OtlpReceiver;
    topic: TickTopic;
    tickerLogs: CapturingLogger;
    ticker: TestSubgraph;
    catalog: TestSubgraph;
    supergraph: SupergraphFile;
    gateway: ServiceProcess;
    gatewayUrl: string;
  };
  beforeAll(async () => {
    fixture.receiver = await startOtlpReceiver();
    fixture.topic = new TickTopic();
    fixture.tickerLogs = createCapturingLogger('ticker');
    fixture.ticker = await startTicker(fixture.topic, fixture.tickerLogs.logger);
    fixture.catalog = await startCatalog();
    fixture.supergraph = await writeSupergraphFile([fixture.ticker.definition, fixture.catalog.definition]);
    const port = await freePort();
    fixture.gatewayUrl = `http://127.0.0.1:${port}/graphql`;
    fixture.gateway = await startServiceProcess(
      'gateway/dist/main.js',
      {
        ...env(fixture.receiver.url),
        GATEWAY_PORT: String(port),
        SUPERGRAPH_PATH: fixture.supergraph.path,
        SUBGRAPH_TICKER_URL: fixture.ticker.url,
        SUBGRAPH_CATALOG_URL: fixture.catalog.url,
        // The subscription log lines (debug) are under test.
        LOG_LEVEL: 'debug',
      },
      `http://127.0.0.1:${port}/ready`,
    );
  });
  afterAll(async () => {
    await fixture.gateway?.stop();
    await fixture.ticker?.close();
    await fixture.catalog?.close();
    await fixture.supergraph?.remove();
    await fixture.receiver?.close();
  });
  return fixture;
}

describe('gateway subscriptions with tracing on (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  const fixture = useSubscriptionStack((url) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: url }));

  it('should trace each subscription start and each event needing entity fetches, and log the shared ids', async () => {
    const { topic, gateway, gatewayUrl, catalog, receiver } = fixture;
    const traceId = newTraceId();
    const callerSpanId = newSpanId();
    const first = connectGraphQLWs(gatewayUrl, {
      webSocketImpl: socketWithHeaders({
        'x-request-id': 'sub-client-1',
        traceparent: `00-${traceId}-${callerSpanId}-01`,
      }),
    });
    const second = connectGraphQLWs(gatewayUrl, {
      webSocketImpl: socketWithHeaders({ 'x-request-id': 'sub-client-2' }),
    });
    try {
      const quotes = recordSubscription(first, TICKS_WITH_QUOTE, { symbol: 'ACME' });
      await topic.waitForSubscribers(1);
      // The same operation from another client joins the running stream: no second upstream.
      const shared = recordSubscription(second, TICKS_WITH_QUOTE, { symbol: 'ACME' });
      await loggedLine(gateway, { msg: 'subscription joined its stream', requestId: 'sub-client-2' });
      const sequence = recordSubscription(first, SEQUENCE, { symbol: 'INIT' });
      await topic.waitForSubscribers(2);

      topic.publish({ seq: 1, symbol: 'ACME' });
      topic.publish({ seq: 2, symbol: 'ACME' });
      topic.publish({ seq: 3, symbol: 'INIT' });
      const expected = [1, 2].map((seq) => ({
        data: { ticks: { seq, quote: { symbol: 'ACME', name: 'Acme Corp' } } },
      }));
      expect(await quotes.waitFor(2)).toEqual(expected);
      expect(await shared.waitFor(2)).toEqual(expected);
      expect(await sequence.waitFor(1)).toEqual([{ data: { ticks: { seq: 3 } } }]);
      for (const stream of [quotes, shared, sequence]) stream.dispose();
      await topic.waitForSubscribers(0);
    } finally {
      await Promise.all([first.dispose(), second.dispose()]);
    }
    await gateway.stop();

    // Logs: each client subscription names the stream and upstream subscription it rides.
    const logs = gateway.logLines();
    const joinedFirst = logs.find(
      (line) => line.msg === 'subscription joined its stream' && line.requestId === 'sub-client-1',
    );
    expect(joinedFirst).toMatchObject({
      subscriptionId: expect.any(String),
      operationName: 'Ticks',
      subgraph: 'ticker',
      sharedStream: false,
    });
    const { streamId, upstreamId } = joinedFirst as { streamId: string; upstreamId: string };
    expect(logs).toContainEqual(
      expect.objectContaining({
        msg: 'subscription joined its stream',
        requestId: 'sub-client-2',
        sharedStream: true,
        streamId,
        upstreamId,
      }),
    );
    expect(logs).toContainEqual(
      expect.objectContaining({
        msg: 'subscription started',
        requestId: 'sub-client-1',
        subscriptionId: joinedFirst!.subscriptionId,
      }),
    );
    // The ticker logs the upstream subscription under the gateway's id for it, on a socket whose
    // own request id the gateway logged when opening it.
    const upstream = fixture.tickerLogs.lines.find(
      (line) => line.msg === 'subscription started' && line.subscriptionId === upstreamId,
    );
    expect(upstream).toBeDefined();
    expect(logs).toContainEqual(
      expect.objectContaining({
        msg: 'upstream socket opening',
        subgraph: 'ticker',
        upstreamRequestId: upstream!.requestId,
      }),
    );
    // The entity fetches of the shared stream's events go as the stream, not as either client.
    const fetches = catalog.requestIds.flatMap((id, i) =>
      id === streamId ? [{ traceparent: catalog.traceparents[i] }] : [],
    );
    expect(fetches).toHaveLength(2);

    // Spans: the first client's connection carried its traceparent, so its trace holds both its
    // subscriptions' starts and the events of the ACME stream it started.
    const trace = receiver.spans.filter((span) => span.traceId === traceId);
    const starts = trace.filter((span) => span.name === 'gateway.subscribe');
    const subscribe = starts.find((span) => span.attributes['graphql.operation.name'] === 'Ticks')!;
    expect(starts.map((span) => span.attributes['graphql.operation.name']).sort()).toEqual([
      'Sequence',
      'Ticks',
    ]);
    expect(starts.every((span) => span.parentSpanId === callerSpanId)).toBe(true);
    expect(subscribe).toMatchObject({
      serviceName: 'gateway',
      kind: SERVER,
      parentSpanId: callerSpanId,
      attributes: {
        'graphql.operation.name': 'Ticks',
        'graphql.operation.type': 'subscription',
        'graphql.subgraph': 'ticker',
        'gateway.subscription.stream_id': streamId,
        'gateway.subscription.upstream_id': upstreamId,
        'gateway.subscription.shared': false,
      },
    });
    const events = trace.filter((span) => span.name === 'gateway.subscription.event');
    expect(events).toHaveLength(2);
    for (const event of events) {
      expect(event).toMatchObject({
        parentSpanId: subscribe.spanId,
        attributes: { 'graphql.subgraph': 'ticker', 'gateway.subscription.stream_id': streamId },
      });
    }
    const catalogFetches = trace.filter(
      (span) => span.name === 'gateway.fetch' && span.attributes.service === 'catalog',
    );
    expect(catalogFetches).toHaveLength(2);
    const eventIds = new Set(events.map((event) => event.spanId));
    for (const fetch of catalogFetches) expect(eventIds.has(ancestorIn(trace, fetch, eventIds))).toBe(true);
    // Each entity fetch continued its gateway.fetch span at the catalog.
    expect(new Set(fetches.map((f) => f.traceparent?.split('-')[1]))).toEqual(new Set([traceId]));
    expect(new Set(fetches.map((f) => parentOf(f.traceparent)))).toEqual(
      new Set(catalogFetches.map((fetch) => fetch.spanId)),
    );

    // The second client's start is its own trace (it sent no traceparent), naming the shared stream.
    const subscribes = receiver.spans.filter((span) => span.name === 'gateway.subscribe');
    expect(subscribes).toHaveLength(3);
    expect(subscribes.find((span) => span.attributes['gateway.subscription.shared'] === true)).toMatchObject({
      parentSpanId: '',
      attributes: {
        'gateway.subscription.stream_id': streamId,
        'gateway.subscription.upstream_id': upstreamId,
      },
    });
    // The INIT event (no entity fetch) left no span at all, not even @apollo/gateway's own: every
    // execution span anywhere belongs to one of the two ACME events.
    expect(receiver.spans.filter((span) => span.name === 'gateway.subscription.event')).toHaveLength(2);
    const executions = receiver.spans.filter((span) => span.name === 'gateway.execute');
    expect(executions).toHaveLength(2);
    for (const execution of executions) expect(ancestorIn(trace, execution, eventIds)).not.toBe('');
  });
});

describe('gateway subscriptions with tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  // The receiver is reachable under the non-standard name only: nothing may find it by accident.
  const fixture = useSubscriptionStack((url) => ({ MLOPS_UNUSED_COLLECTOR: url }));

  it('should serve subscriptions with request ids in logs and fetches, and never export', async () => {
    const { topic, gateway, gatewayUrl, catalog, receiver } = fixture;
    const client = connectGraphQLWs(gatewayUrl, {
      webSocketImpl: socketWithHeaders({
        'x-request-id': 'untraced-client',
        traceparent: `00-${newTraceId()}-${newSpanId()}-01`,
      }),
    });
    try {
      const quotes = recordSubscription(client, TICKS_WITH_QUOTE, { symbol: 'INIT' });
      await topic.waitForSubscribers(1);
      topic.publish({ seq: 7, symbol: 'INIT' });
      expect(await quotes.waitFor(1)).toEqual([
        { data: { ticks: { seq: 7, quote: { symbol: 'INIT', name: 'Initech' } } } },
      ]);
      quotes.dispose();
      await topic.waitForSubscribers(0);
    } finally {
      await client.dispose();
    }
    const joined = await loggedLine(gateway, {
      msg: 'subscription joined its stream',
      requestId: 'untraced-client',
    });
    const fetched = catalog.requestIds.indexOf(joined.streamId as string);
    expect(fetched).toBeGreaterThanOrEqual(0);
    expect(catalog.traceparents[fetched]).toBeUndefined();
    await gateway.stop();
    expect(receiver.requests).toBe(0);
  });
});

/** The first of `span`'s ancestors (itself excluded) whose id is in `ids`; '' when none is. */
function ancestorIn(trace: readonly ReceivedSpan[], span: ReceivedSpan, ids: ReadonlySet<string>): string {
  const byId = new Map(trace.map((s) => [s.spanId, s]));
  for (let parent = byId.get(span.parentSpanId); parent; parent = byId.get(parent.parentSpanId)) {
    if (ids.has(parent.spanId)) return parent.spanId;
  }
  return '';
}
