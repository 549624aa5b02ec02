import type { Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import { createPubSub } from '@mlops/runtime';
import type { PubSub } from '@mlops/runtime';
import type { AlertsService } from '../src';
import type { TestClock, TestDatabase } from './support';
import {
  EVENT_FIELDS,
  TEST_REDIS_URL,
  available,
  connectWs,
  createTestClock,
  createTestDatabase,
  data,
  eventually,
  record,
  silentLogger,
  startReplica,
  uniqueChannel,
} from './support';

const ready = available('postgres') && available('redis');
if (!ready)
  console.warn(
    'Skipping the alerts replica suite: it needs PostgreSQL and Redis (see the jest global setup)',
  );

/** Two replicas of the alerts subgraph sharing one PostgreSQL database and one Redis. */
(ready ? describe : describe.skip)('alerts replicas sharing PostgreSQL and Redis', () => {
  let database: TestDatabase;
  let clock: TestClock;
  let a: AlertsService;
  let b: AlertsService;
  let ws: Client;
  let aPubSub: PubSub;
  let dropped = 0;
  let channel: string;
  let admin: Redis;
  let counter = 0;
  const unique = (prefix: string) => `${prefix}-${++counter}`;

  beforeAll(async () => {
    database = await createTestDatabase('postgresql');
    clock = createTestClock();
    channel = uniqueChannel();
    admin = new Redis(TEST_REDIS_URL);
    const config = { redisUrl: TEST_REDIS_URL, eventsChannel: channel, evaluateOnRecord: false };
    // A publishes through Redis like B, but a test can make its next publishes fail (Redis down).
    const redis = createPubSub({
      redisUrl: TEST_REDIS_URL,
      logger: silentLogger(),
      clientName: 'mlops-alerts-test-a',
    });
    aPubSub = {
      ...redis,
      publish: (channel, message) => {
        if (dropped > 0) {
          dropped -= 1;
          return Promise.reject(new Error('Connection is closed.'));
        }
        return redis.publish(channel, message);
      },
    };
    a = await startReplica({ database: database.config, clock, pubsub: aPubSub, config });
    b = await startReplica({
      database: database.config,
      clock,
      config: { ...config, migrateOnStart: false },
    });
    ws = connectWs(b.url);
  });
  afterAll(async () => {
    await ws?.dispose();
    await a?.close();
    await aPubSub?.close();
    admin?.disconnect();
    await b?.close();
    await database?.drop();
  });

  async function rules(count: number, forSeconds: number) {
    const deployment = unique('dep');
    for (let i = 0; i < count; i++)
      await data(a.url, `mutation($i: CreateAlertRuleInput!) { createAlertRule(input: $i) { id } }`, {
        i: {
          name: unique('rule'),
          deployment,
          metric: 'latency_p99_ms',
          comparison: 'GT',
          threshold: 250,
          forSeconds,
        },
      });
    return deployment;
  }
  const sample = (url: string, deployment: string, value: number) =>
    data(url, `mutation($s: [MetricSampleInput!]!) { recordMetrics(samples: $s) }`, {
      s: [{ deployment, metric: 'latency_p99_ms', value }],
    });

  it('should deliver an event raised on replica A to a subscriber on replica B through Redis', async () => {
    const deployment = await rules(1, 0);
    const stream = record<{ type: string; cursor: string }>(
      ws,
      `subscription($f: AlertEventFilter) { alertEvents(after: "0", filter: $f) { ${EVENT_FIELDS} } }`,
      { f: { deployment } },
    );
    // The deployment is new, so the replay is empty; once Redis holds B's SUBSCRIBE the event below
    // can only reach B through Redis (or, had the message been lost, B's database catch-up).
    await eventually(
      async () => Number(((await admin.call('PUBSUB', 'NUMSUB', channel)) as [string, number])[1]) === 1,
    );
    await sample(a.url, deployment, 900);
    const { events } = await a.evaluateNow();
    expect(events.map((e) => e.type)).toEqual(['FIRING']);
    const [received] = await stream.waitFor(1);
    expect(received).toMatchObject({ type: 'FIRING', cursor: String(events[0]!.cursor) });
    stream.dispose();
  });

  it('should open, fire and resolve each alert exactly once when both replicas evaluate at once', async () => {
    const deployment = await rules(20, 30);
    const both = async () => {
      const [fromA, fromB] = await Promise.all([a.evaluateNow(), b.evaluateNow()]);
      return [...fromA.events, ...fromB.events].filter((e) => e.deployment === deployment);
    };
    await sample(a.url, deployment, 900);
    const opened = await both();
    expect(opened.map((e) => e.type)).toEqual(Array(20).fill('PENDING'));
    expect(new Set(opened.map((e) => e.alertId)).size).toBe(20);
    expect(await both()).toEqual([]);
    clock.advance(30_000);
    const fired = await both();
    expect(fired.map((e) => e.type)).toEqual(Array(20).fill('FIRING'));
    expect(new Set(fired.map((e) => e.alertId))).toEqual(new Set(opened.map((e) => e.alertId)));
    expect(await both()).toEqual([]);
    await sample(b.url, deployment, 10);
    const resolved = await both();
    expect(resolved.map((e) => e.type)).toEqual(Array(20).fill('RESOLVED'));
    const { alerts } = await data(b.url, `query($f: AlertFilter) { alerts(filter: $f) { id state } }`, {
      f: { deployment },
    });
    expect(alerts).toHaveLength(20);
    expect(alerts.every((x: { state: string }) => x.state === 'RESOLVED')).toBe(true);
  });

  it('should give cursors in commit order across replicas, so a subscriber sees every event once', async () => {
    const deployment = await rules(10, 0);
    const stream = record<{ cursor: string }>(
      ws,
      `subscription($f: AlertEventFilter) { alertEvents(after: "0", filter: $f) { cursor } }`,
      {
        f: { deployment },
      },
    );
    for (let round = 0; round < 6; round++) {
      await sample(round % 2 === 0 ? a.url : b.url, deployment, round % 2 === 0 ? 900 : 10);
      await Promise.all([a.evaluateNow(), b.evaluateNow()]);
    }
    const received = await stream.waitFor(60);
    const cursors = received.map((e) => Number(e.cursor));
    expect(new Set(cursors).size).toBe(60);
    expect(cursors).toEqual([...cursors].sort((x, y) => x - y));
    // Ten more events after them: had any of the first 60 come twice, it would show up by now.
    await sample(a.url, deployment, 900);
    await Promise.all([a.evaluateNow(), b.evaluateNow()]);
    const all = (await stream.waitFor(70)).map((e) => Number(e.cursor));
    expect(all).toEqual([...new Set(all)].sort((x, y) => x - y));
    expect(stream.items).toHaveLength(70);
    stream.dispose();
  });

  it('should recover on B, from PostgreSQL, an event A could not publish to Redis', async () => {
    const deployment = await rules(1, 0);
    const stream = record<{ type: string; cursor: string }>(
      ws,
      `subscription($f: AlertEventFilter) { alertEvents(after: "0", filter: $f) { cursor type } }`,
      { f: { deployment } },
    );
    await sample(a.url, deployment, 900);
    await a.evaluateNow();
    await stream.waitFor(1);
    dropped = 1;
    await sample(a.url, deployment, 10);
    const lost = await a.evaluateNow(); // RESOLVED: committed, its publish failed
    expect(lost.events.map((e) => e.type)).toEqual(['RESOLVED']);
    await sample(a.url, deployment, 900);
    await a.evaluateNow(); // FIRING: published; B sees the gap and reads the log
    const received = await stream.waitFor(3);
    expect(received.map((e) => e.type)).toEqual(['FIRING', 'RESOLVED', 'FIRING']);
    expect(received[1]!.cursor).toBe(String(lost.events[0]!.cursor));
    stream.dispose();
  });
});
