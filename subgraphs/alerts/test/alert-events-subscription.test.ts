import { parse, subscribe } from 'graphql';
import type { ExecutionResult } from 'graphql';
import type { Client } from 'graphql-ws';
import type { DomainError } from '@mlops/runtime';
import { createDatabase } from '@mlops/runtime/database';
import { buildAlertsSchema } from '../src';
import { openAlertEventStream } from '../src/events/alert-event-stream';
import type { AlertsService } from '../src';
import type { ControlledPubSub, TestClock, TestDatabase } from './support';
import {
  EVENT_FIELDS,
  backends,
  callerHeaders,
  connectWs,
  createControlledPubSub,
  createTestClock,
  createTestDatabase,
  data,
  eventually,
  record,
  silentLogger,
  startReplica,
  startVerifiedReplica,
} from './support';

const SUBSCRIBE = `subscription($after: ID, $f: AlertEventFilter) { alertEvents(after: $after, filter: $f) { ${EVENT_FIELDS} } }`;
const RECORD = `mutation($s: [MetricSampleInput!]!) { recordMetrics(samples: $s) }`;

interface Event {
  cursor: string;
  type: string;
  state: string;
  silenced: boolean;
  severity: string;
  deployment: { name: string };
  alert: { id: string; state: string };
}

const cursorsOf = (events: { cursor: string }[]) => events.map((e) => Number(e.cursor));
const expectStrictlyIncreasing = (cursors: number[]) => {
  for (let i = 1; i < cursors.length; i++) expect(cursors[i]).toBeGreaterThan(cursors[i - 1]!);
};

describe.each(backends())('the alertEvents subscription on %s', (kind) => {
  let database: TestDatabase;
  let service: AlertsService;
  let pubsub: ControlledPubSub;
  let clock: TestClock;
  let ws: Client;
  let counter = 0;
  const unique = (prefix: string) => `${prefix}-${kind}-${++counter}`;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    clock = createTestClock();
    pubsub = createControlledPubSub();
    service = await startReplica({ database: database.config, clock, pubsub });
    ws = connectWs(service.url);
  });
  afterAll(async () => {
    await ws?.dispose();
    await service?.close();
    await pubsub?.close();
    await database?.drop();
  });

  /** `rules` rules (forSeconds 0) on a new deployment; `flip()` raises one event per rule (FIRING, RESOLVED, …). */
  async function deploymentWithRules(rules = 1, severity = 'CRITICAL') {
    const deployment = unique('dep');
    for (let i = 0; i < rules; i++) {
      await data(service.url, `mutation($i: CreateAlertRuleInput!) { createAlertRule(input: $i) { id } }`, {
        i: {
          name: unique('rule'),
          deployment,
          metric: 'drift_score',
          comparison: 'GT',
          threshold: 0.5,
          severity,
        },
      });
    }
    let high = false;
    return {
      deployment,
      async flip(times = 1) {
        for (let i = 0; i < times; i++) {
          high = !high;
          clock.advance(1_000);
          await data(service.url, RECORD, {
            s: [{ deployment, metric: 'drift_score', value: high ? 0.9 : 0.1 }],
          });
        }
      },
    };
  }
  /** Every stored cursor of the deployment, read page by page. */
  const storedCursors = async (deployment: string) => {
    const cursors: number[] = [];
    let after: string | null = null;
    for (;;) {
      const { alertEventsPage: page } = await data(
        service.url,
        `query($after: ID, $f: AlertEventFilter) { alertEventsPage(after: $after, first: 1000, filter: $f) { events { cursor } endCursor hasMore } }`,
        { after, f: { deployment, includeSilenced: true } },
      );
      cursors.push(...cursorsOf(page.events));
      if (!page.hasMore) return cursors;
      after = page.endCursor;
    }
  };

  it('should replay every event after the cursor, then go live, in order', async () => {
    const { deployment, flip } = await deploymentWithRules();
    await flip(5);
    const stream = record<Event>(ws, SUBSCRIBE, { after: '0', f: { deployment } });
    const replayed = await stream.waitFor(5);
    expect(replayed.map((e) => e.type)).toEqual(['FIRING', 'RESOLVED', 'FIRING', 'RESOLVED', 'FIRING']);
    expect(replayed.every((e) => e.deployment.name === deployment)).toBe(true);
    await flip(3);
    const all = await stream.waitFor(8);
    expect(cursorsOf(all)).toEqual(await storedCursors(deployment));
    expect(all[7]).toMatchObject({ type: 'RESOLVED', state: 'RESOLVED', alert: { state: 'RESOLVED' } });
    stream.dispose();
  });

  it('should deliver events committed during a multi-page replay exactly once, in cursor order', async () => {
    const { deployment, flip } = await deploymentWithRules(150);
    await flip(4); // 600 events: two pages of replay
    const stream = record<Event>(ws, SUBSCRIBE, { after: '0', f: { deployment } });
    await Promise.all([flip(4), stream.waitFor(1)]); // 600 more while the replay runs
    const all = await stream.waitFor(1200, 30_000);
    const cursors = cursorsOf(all);
    expect(new Set(cursors).size).toBe(1200);
    expectStrictlyIncreasing(cursors);
    expect(cursors).toEqual(await storedCursors(deployment));
    stream.dispose();
  }, 60_000);

  it('should start from now when after is omitted', async () => {
    const { deployment, flip } = await deploymentWithRules();
    await flip(1);
    const [before] = await storedCursors(deployment);
    const listeners = pubsub.listenerCount();
    const stream = record<Event>(ws, SUBSCRIBE, { f: { deployment } });
    await eventually(() => pubsub.listenerCount() > listeners);
    await flip(2);
    await eventually(() => stream.items.some((e) => e.type === 'FIRING'));
    const cursors = cursorsOf(stream.items);
    expect(cursors).not.toContain(before);
    expect(cursors[cursors.length - 1]).toBe((await storedCursors(deployment))[2]);
    stream.dispose();
  });

  it('should recover an event whose message was lost from the database when the next one arrives', async () => {
    const { deployment, flip } = await deploymentWithRules();
    const stream = record<Event>(ws, SUBSCRIBE, { after: '0', f: { deployment } });
    await flip(1);
    await stream.waitFor(1);
    pubsub.dropNext(1);
    await flip(1); // RESOLVED: committed, never published
    await flip(1); // FIRING: published; its cursor reveals the gap
    const all = await stream.waitFor(3);
    expect(all.map((e) => e.type)).toEqual(['FIRING', 'RESOLVED', 'FIRING']);
    expect(cursorsOf(all)).toEqual(await storedCursors(deployment));
    stream.dispose();
  });

  it("should deliver only the filtered deployment's events while others interleave", async () => {
    const noisy = await deploymentWithRules();
    const quiet = await deploymentWithRules();
    const stream = record<Event>(ws, SUBSCRIBE, { after: '0', f: { deployment: quiet.deployment } });
    await quiet.flip(1);
    await noisy.flip(3);
    await quiet.flip(1);
    const all = await stream.waitFor(2);
    expect(all.map((e) => e.deployment.name)).toEqual([quiet.deployment, quiet.deployment]);
    stream.dispose();
  });

  it('should catch up from the database when the pub/sub reports a reconnect', async () => {
    const { deployment, flip } = await deploymentWithRules();
    const stream = record<Event>(ws, SUBSCRIBE, { after: '0', f: { deployment } });
    await flip(1);
    await stream.waitFor(1);
    pubsub.dropNext(1);
    await flip(1);
    // Nothing live reveals the loss; the reconnect does.
    pubsub.reconnect();
    expect((await stream.waitFor(2)).map((e) => e.type)).toEqual(['FIRING', 'RESOLVED']);
    stream.dispose();
  });

  it('should leave out silenced events unless includeSilenced, and filter by type and severity', async () => {
    const { deployment, flip } = await deploymentWithRules(1, 'INFO');
    await flip(1);
    // Creating a silence records its verified caller: only a replica given the gateway's keys knows one.
    const verified = await startVerifiedReplica({ database: database.config, clock });
    const silence = await data(
      verified.url,
      `mutation($i: CreateSilenceInput!) { createSilence(input: $i) { id } }`,
      {
        i: {
          matchers: [{ name: 'deployment', value: deployment }],
          endsAt: new Date(clock.now() + 3_600_000).toISOString(),
        },
      },
      callerHeaders('ada'),
    ).finally(() => verified.close());
    await flip(2); // RESOLVED and FIRING while silenced
    await data(service.url, `mutation($id: ID!) { expireSilence(id: $id) { id } }`, {
      id: silence.createSilence.id,
    });
    await flip(1); // RESOLVED, not silenced
    const quiet = record<Event>(ws, SUBSCRIBE, { after: '0', f: { deployment } });
    const loud = record<Event>(ws, SUBSCRIBE, { after: '0', f: { deployment, includeSilenced: true } });
    const firing = record<Event>(ws, SUBSCRIBE, {
      after: '0',
      f: { deployment, includeSilenced: true, types: ['FIRING'] },
    });
    const critical = record<Event>(ws, SUBSCRIBE, { after: '0', f: { deployment, severity: 'CRITICAL' } });
    expect((await loud.waitFor(4)).map((e) => [e.type, e.silenced])).toEqual([
      ['FIRING', false],
      ['RESOLVED', true],
      ['FIRING', true],
      ['RESOLVED', false],
    ]);
    expect((await quiet.waitFor(2)).map((e) => e.type)).toEqual(['FIRING', 'RESOLVED']);
    expect((await firing.waitFor(2)).map((e) => e.silenced)).toEqual([false, true]);
    // One more event after all of them proves the earlier ones were left out, not late.
    await flip(1);
    expect((await quiet.waitFor(3)).length).toBe(3);
    expect(quiet.items.length).toBe(3);
    expect(critical.items).toEqual([]);
    for (const stream of [quiet, loud, firing, critical]) stream.dispose();
  });

  it('should unsubscribe from the pub/sub when the client completes', async () => {
    const { deployment, flip } = await deploymentWithRules();
    await flip(1);
    // Every earlier test disposed its subscriptions: each has let go of the pub/sub by now.
    await eventually(() => pubsub.listenerCount() === 0);
    const stream = record<Event>(ws, SUBSCRIBE, { after: '0', f: { deployment } });
    await eventually(() => pubsub.listenerCount() === 1);
    await stream.waitFor(1);
    stream.dispose();
    await eventually(() => pubsub.listenerCount() === 0);
  });

  it('should unsubscribe from the pub/sub when the client disconnects without completing', async () => {
    const { deployment, flip } = await deploymentWithRules();
    await flip(1);
    await eventually(() => pubsub.listenerCount() === 0);
    const client = connectWs(service.url);
    const stream = record<Event>(client, SUBSCRIBE, { after: '0', f: { deployment } });
    await stream.waitFor(1);
    expect(pubsub.listenerCount()).toBe(1);
    await client.terminate();
    await eventually(() => pubsub.listenerCount() === 0);
  });

  it('should refuse a malformed cursor with BAD_USER_INPUT naming after', async () => {
    const stream = record<Event>(ws, SUBSCRIBE, { after: 'yesterday' });
    await eventually(() => stream.errors.length > 0);
    expect(JSON.stringify(stream.errors)).toContain('"code":"BAD_USER_INPUT"');
    expect(JSON.stringify(stream.errors)).toContain('"field":"after"');
    expect(stream.items).toEqual([]);
  });

  it('should stop its timer and unsubscribe on return() when run through graphql-js subscribe()', async () => {
    const { deployment, flip } = await deploymentWithRules();
    await flip(2);
    const schema = await buildAlertsSchema();
    const listeners = pubsub.listenerCount();
    const db = createDatabase(service.orm, kind, clock);
    const result = (await subscribe({
      schema,
      document: parse(
        `subscription($f: AlertEventFilter) { alertEvents(after: "0", filter: $f) { cursor type } }`,
      ),
      variableValues: { f: { deployment } },
      contextValue: {
        db,
        pubsub,
        channel: 'mlops:alerts:events',
        catchupIntervalMs: 50,
        logger: silentLogger(),
        activeSilences: async () => [],
      },
    })) as AsyncIterableIterator<ExecutionResult>;
    expect(pubsub.listenerCount()).toBe(listeners + 1);
    const first = await result.next();
    const second = await result.next();
    expect([first.value?.data?.alertEvents, second.value?.data?.alertEvents]).toMatchObject([
      { type: 'FIRING' },
      { type: 'RESOLVED' },
    ]);
    const pending = result.next();
    await result.return?.();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(pubsub.listenerCount()).toBe(listeners);
  });

  it('should recover a lost message on the periodic catch-up when nothing else reveals it', async () => {
    const { deployment, flip } = await deploymentWithRules();
    await flip(1);
    const [after] = await storedCursors(deployment);
    const result = (await subscribe({
      schema: await buildAlertsSchema(),
      document: parse(
        `subscription($a: ID, $f: AlertEventFilter) { alertEvents(after: $a, filter: $f) { cursor type } }`,
      ),
      variableValues: { a: String(after), f: { deployment } },
      contextValue: {
        db: createDatabase(service.orm, kind, clock),
        pubsub,
        channel: 'mlops:alerts:events',
        catchupIntervalMs: 100,
        logger: silentLogger(),
        activeSilences: async () => [],
      },
    })) as AsyncIterableIterator<ExecutionResult>;
    pubsub.dropNext(1);
    await flip(1);
    const started = Date.now();
    const next = await result.next();
    expect(next.value?.data?.alertEvents).toMatchObject({ type: 'RESOLVED' });
    expect(Date.now() - started).toBeLessThan(2_000);
    await result.return?.();
  });

  it('should lose nothing when a slow consumer overflows the live buffer: it reads the rest from the database', async () => {
    const { deployment, flip } = await deploymentWithRules();
    await flip(1);
    const [after] = await storedCursors(deployment);
    const stream = await openAlertEventStream({
      knex: createDatabase(service.orm, kind, clock).knex,
      pubsub,
      channel: 'mlops:alerts:events',
      after: after!,
      filter: { deployment, includeSilenced: true },
      catchupIntervalMs: 0,
      logger: silentLogger(),
      maxBufferedLive: 2,
    });
    try {
      await flip(6); // nobody pulls meanwhile: the live buffer overflows
      const received: number[] = [];
      for (let i = 0; i < 6; i++) received.push((await stream.next()).value!.cursor);
      expect(received).toEqual((await storedCursors(deployment)).slice(1));
    } finally {
      await stream.return?.();
    }
  });

  it('should fail with UNAVAILABLE when the pub/sub cannot be reached', async () => {
    const broken = {
      ...pubsub,
      subscribe: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      },
    };
    const result = (await subscribe({
      schema: await buildAlertsSchema(),
      document: parse(`subscription { alertEvents(after: "0") { cursor } }`),
      contextValue: {
        db: createDatabase(service.orm, kind, clock),
        pubsub: broken,
        channel: 'mlops:alerts:events',
        catchupIntervalMs: 100,
        logger: silentLogger(),
        activeSilences: async () => [],
      },
    })) as ExecutionResult;
    // The code becomes `extensions.code` at the server boundary (the shared error formatter).
    expect(result.errors?.map((e) => [(e.originalError as DomainError).code, e.message])).toEqual([
      [
        'UNAVAILABLE',
        'The alert event stream is unavailable (the pub/sub broker cannot be reached); subscribe again later',
      ],
    ]);
  });

  it('should deliver once an event committed after the pub/sub subscription and before the replay read', async () => {
    const { deployment, flip } = await deploymentWithRules();
    await flip(1);
    // The event lands in the window: published live (buffered) and also found by the replay.
    const racing = {
      ...pubsub,
      subscribe: async (channel: string, listener: (message: string) => void) => {
        const unsubscribe = await pubsub.subscribe(channel, listener);
        await flip(1); // answered after its publish: the live message is already buffered
        return unsubscribe;
      },
    };
    const stream = await openAlertEventStream({
      knex: createDatabase(service.orm, kind, clock).knex,
      pubsub: racing,
      channel: 'mlops:alerts:events',
      after: 0,
      filter: { deployment, includeSilenced: true },
      catchupIntervalMs: 0,
      logger: silentLogger(),
    });
    try {
      const first = (await stream.next()).value!;
      const second = (await stream.next()).value!;
      expect([first.type, second.type]).toEqual(['FIRING', 'RESOLVED']);
      await flip(1);
      const third = (await stream.next()).value!;
      expect(third).toMatchObject({ type: 'FIRING' });
      expect([first.cursor, second.cursor, third.cursor]).toEqual(await storedCursors(deployment));
    } finally {
      await stream.return?.();
    }
  });
});
