import { ErrorCode } from '@mlops/schema';
import { createPubSub } from '@mlops/runtime';
import type { PubSub } from '@mlops/runtime';
import type { Client } from 'graphql-ws';
import type { BusinessMetricsService } from '../src';
import type { CountingPubSub, Recorded, TestDatabase } from './support';
import {
  TEST_REDIS_URL,
  available,
  backends,
  connectWs,
  createCountingPubSub,
  createTestDatabase,
  data,
  eventually,
  record,
  silentLogger,
  startReplica,
  uniqueChannel,
} from './support';

const SUBSCRIBE = `subscription($n: String!, $from: DateTimeISO) {
  strategyPerformance(name: $n, from: $from) {
    strategy { name }
    points { at equity volume }
    summary { from to count pnl totalReturn volume maxDrawdown sharpe }
  }
}`;
const RECORD = `mutation($s: String!, $p: [PerformancePointInput!]!) { recordPerformance(strategy: $s, points: $p) { recorded } }`;
/** The errors the subscription answered instead of a stream (one result carrying them, then complete). */
const errorsOf = (stream: Recorded) =>
  (stream.results[0]?.errors ?? []) as { message: string; extensions?: Record<string, unknown> }[];
const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 5);
const day = (i: number) => new Date(START + i * DAY).toISOString();

describe.each(backends())('the strategyPerformance subscription on %s', (kind) => {
  let database: TestDatabase;
  let service: BusinessMetricsService;
  let pubsub: CountingPubSub;
  let ws: Client;
  let counter = 0;
  const unique = (prefix: string) => `${prefix}-${kind}-${++counter}`;
  const strategy = async () => {
    const name = unique('trend');
    await data(service.url, `mutation($n: String!) { createStrategy(input: { name: $n }) { id } }`, {
      n: name,
    });
    return name;
  };

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    pubsub = createCountingPubSub();
    service = await startReplica({ database: database.config, pubsub });
    ws = connectWs(service.url);
  });
  afterAll(async () => {
    await ws?.dispose();
    await service?.close();
    await pubsub?.close();
    await database?.drop();
  });

  /** Subscribes and waits until the server holds the pub/sub subscription, so no update can be missed. */
  async function subscribe(variables: Record<string, unknown>) {
    const before = pubsub.subscriptions();
    const stream = record(ws, SUBSCRIBE, variables);
    await eventually(() => pubsub.subscriptions() > before);
    return stream;
  }

  it('should emit the stored points and the updated summary after each recordPerformance', async () => {
    const name = await strategy();
    await data(service.url, RECORD, { s: name, p: [{ at: day(0), equity: 100, volume: 10 }] });
    const stream = await subscribe({ n: name });
    await data(service.url, RECORD, { s: name, p: [{ at: day(1), equity: 110, volume: 20 }] });
    const [first] = await stream.waitFor(1);
    expect(first).toEqual({
      data: {
        strategyPerformance: {
          strategy: { name },
          points: [{ at: day(1), equity: 110, volume: 20 }],
          summary: {
            from: day(0),
            to: day(1),
            count: 2,
            pnl: 10,
            totalReturn: expect.closeTo(0.1, 12),
            volume: 30,
            maxDrawdown: 0,
            sharpe: null,
          },
        },
      },
    });
    // An idempotent re-send stores nothing and emits nothing; the next real batch is the next update.
    await data(service.url, RECORD, { s: name, p: [{ at: day(1), equity: 110, volume: 20 }] });
    await data(service.url, RECORD, {
      s: name,
      p: [
        { at: day(3), equity: 121, volume: 0 },
        { at: day(2), equity: 99, volume: 5 },
      ],
    });
    const results = await stream.waitFor(2);
    expect(results).toHaveLength(2);
    const second = results[1]!.data!.strategyPerformance;
    expect(second.points).toEqual([
      { at: day(2), equity: 99, volume: 5 },
      { at: day(3), equity: 121, volume: 0 },
    ]);
    expect(second.summary).toMatchObject({ count: 4, pnl: 21, volume: 35 });
    expect(second.summary.sharpe).toBeCloseTo(2 * Math.sqrt(252 / 19.29), 10);
    expect(second.summary.maxDrawdown).toBeCloseTo(0.1, 12);
    stream.dispose();
  });

  it('should start the summary at `from` when asked', async () => {
    const name = await strategy();
    await data(service.url, RECORD, { s: name, p: [{ at: day(0), equity: 50, volume: 0 }] });
    const stream = await subscribe({ n: name, from: day(1) });
    await data(service.url, RECORD, {
      s: name,
      p: [
        { at: day(1), equity: 100, volume: 0 },
        { at: day(2), equity: 90, volume: 0 },
      ],
    });
    const [update] = await stream.waitFor(1);
    expect(update!.data!.strategyPerformance.summary).toMatchObject({ from: day(1), count: 2, pnl: -10 });
    stream.dispose();
  });

  it('should complete when the strategy is deleted', async () => {
    const name = await strategy();
    const stream = await subscribe({ n: name });
    await data(service.url, RECORD, { s: name, p: [{ at: day(0), equity: 100, volume: 0 }] });
    await stream.waitFor(1);
    await data(service.url, `mutation($n: String!) { deleteStrategy(name: $n) { name } }`, { n: name });
    expect(await stream.completed).toEqual({ complete: true });
  });

  it('should answer NOT_FOUND naming name for an unknown strategy', async () => {
    const stream = record(ws, SUBSCRIBE, { n: 'nobody' });
    expect(await stream.completed).toEqual({ complete: true });
    expect(errorsOf(stream)[0]?.extensions).toMatchObject({ code: ErrorCode.NOT_FOUND, field: 'name' });
  });
});

const redisMissing = !available('redis') ? 'Redis is not reachable' : undefined;
if (redisMissing) console.warn(`Skipping the business-metrics Redis suite: ${redisMissing}`);

(redisMissing ? describe.skip : describe)('strategyPerformance across replicas through Redis', () => {
  let database: TestDatabase;
  let replicas: BusinessMetricsService[] = [];
  let ws: Client;

  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
    const config = { redisUrl: TEST_REDIS_URL, eventsChannel: uniqueChannel() };
    const first = await startReplica({ database: database.config, config });
    const second = await startReplica({
      database: database.config,
      config: { ...config, migrateOnStart: false },
    });
    replicas = [first, second];
    ws = connectWs(first.url);
  });
  afterAll(async () => {
    await ws?.dispose();
    for (const replica of replicas) await replica.close();
    await database?.drop();
  });

  it('should deliver points recorded on one replica to a subscriber of another', async () => {
    const [a, b] = replicas as [BusinessMetricsService, BusinessMetricsService];
    await data(b.url, `mutation { createStrategy(input: { name: "pairs" }) { id } }`);
    const stream = record(ws, SUBSCRIBE, { n: 'pairs' });
    // The subscriber on `a` may not have subscribed to Redis yet: re-send (idempotent) until an update lands.
    const deadline = Date.now() + 10_000;
    let i = 0;
    while (stream.results.length === 0 && Date.now() < deadline) {
      await data(b.url, RECORD, { s: 'pairs', p: [{ at: day(i++), equity: 100 + i, volume: 1 }] });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const [update] = await stream.waitFor(1);
    expect(update!.data!.strategyPerformance.strategy).toEqual({ name: 'pairs' });
    expect(update!.data!.strategyPerformance.points).toHaveLength(1);
    expect(a.url).not.toBe(b.url);
    stream.dispose();
  });
});

describe('strategyPerformance without a pub/sub broker', () => {
  it('should answer UNAVAILABLE when the broker cannot be reached', async () => {
    // A broker that refuses every subscription, as Redis does while it is down (past the client's retries).
    const inner = createPubSub({ redisUrl: undefined, logger: silentLogger() });
    const pubsub: PubSub = {
      ...inner,
      subscribe: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')),
    };
    const isolated = await createTestDatabase('sqlite');
    const replica = await startReplica({ database: isolated.config, pubsub });
    const client = connectWs(replica.url);
    try {
      await data(replica.url, `mutation { createStrategy(input: { name: "lonely" }) { id } }`);
      const stream = record(client, SUBSCRIBE, { n: 'lonely' });
      expect(await stream.completed).toEqual({ complete: true });
      expect(errorsOf(stream)[0]?.extensions).toMatchObject({ code: ErrorCode.UNAVAILABLE });
    } finally {
      await client.dispose();
      await replica.close();
      await pubsub.close();
      await isolated.drop();
    }
  }, 30_000);
});
