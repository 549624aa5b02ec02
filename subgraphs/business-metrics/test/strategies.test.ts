import { ErrorCode } from '@mlops/schema';
import { createDatabase } from '@mlops/runtime/database';
import type { BusinessMetricsService } from '../src';
import { readWindow } from '../src/store/performance';
import type { TestDatabase } from './support';
import { backends, createTestClock, createTestDatabase, data, errorOf, gql, startReplica } from './support';

const STRATEGY = 'id name description deploymentName createdAt deployment { name }';
const CREATE = `mutation($i: CreateStrategyInput!) { createStrategy(input: $i) { ${STRATEGY} } }`;
const RECORD = `mutation($s: String!, $p: [PerformancePointInput!]!) { recordPerformance(strategy: $s, points: $p) { strategy { name } recorded unchanged } }`;
const SUMMARY =
  'from to count totalReturn pnl volume sharpe maxDrawdown periodsPerYear points { at equity volume }';
const PERFORMANCE = `query($n: String!, $from: DateTimeISO, $to: DateTimeISO, $y: Float) { strategy(name: $n) { performance(from: $from, to: $to, periodsPerYear: $y) { ${SUMMARY} } } }`;

const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 5);
const day = (i: number) => new Date(START + i * DAY).toISOString();
/** Points on consecutive days from START. */
const points = (equities: readonly number[], volumes: readonly number[] = [], offset = 0) =>
  equities.map((equity, i) => ({ at: day(offset + i), equity, volume: volumes[i] ?? 0 }));

describe.each(backends())('strategies and their performance on %s', (kind) => {
  let database: TestDatabase;
  let service: BusinessMetricsService;
  const clock = createTestClock();
  let counter = 0;
  const unique = (prefix: string) => `${prefix}-${kind}-${++counter}`;
  const strategy = async (overrides: Record<string, unknown> = {}) =>
    (await data(service.url, CREATE, { i: { name: unique('momentum'), ...overrides } })).createStrategy as {
      id: string;
      name: string;
    };
  const performance = async (name: string, variables: Record<string, unknown> = {}) =>
    (await data(service.url, PERFORMANCE, { n: name, ...variables })).strategy.performance;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    service = await startReplica({ database: database.config, clock });
  });
  afterAll(async () => {
    await service?.close();
    await database?.drop();
  });

  describe('createStrategy', () => {
    it('should create a strategy and read it back by name', async () => {
      const name = unique('mean-reversion');
      const { createStrategy } = await data(service.url, CREATE, {
        i: { name: `  ${name} `, description: 'Buys the dip', deploymentName: 'prices' },
      });
      expect(createStrategy).toEqual({
        id: expect.any(String),
        name,
        description: 'Buys the dip',
        deploymentName: 'prices',
        createdAt: new Date(clock.now()).toISOString(),
        deployment: { name: 'prices' },
      });
      const { strategy: found } = await data(
        service.url,
        `query($n: String!) { strategy(name: $n) { ${STRATEGY} } }`,
        {
          n: name,
        },
      );
      expect(found).toEqual(createStrategy);
    });

    it('should answer CONFLICT naming name for a taken name, creating nothing', async () => {
      const { name } = await strategy();
      const response = await gql(service.url, CREATE, { i: { name } });
      expect(errorOf(response)).toEqual({
        code: ErrorCode.CONFLICT,
        field: 'name',
        message: `A strategy named '${name}' already exists`,
      });
    });

    it.each([
      ['name', { name: '   ' }],
      ['name', { name: 'x'.repeat(251) }],
      ['name', { name: 'tab\there' }],
      ['deploymentName', { deploymentName: '' }],
      ['description', { description: 'x'.repeat(2001) }],
    ])('should answer BAD_USER_INPUT naming %s', async (field, overrides) => {
      const response = await gql(service.url, CREATE, { i: { name: unique('bad'), ...overrides } });
      expect(errorOf(response)).toMatchObject({ code: ErrorCode.BAD_USER_INPUT, field });
    });

    it('should answer NOT_FOUND naming name for an unknown strategy', async () => {
      const response = await gql(service.url, `{ strategy(name: "nobody") { id } }`);
      expect(errorOf(response)).toMatchObject({ code: ErrorCode.NOT_FOUND, field: 'name' });
    });
  });

  describe('strategies', () => {
    it('should page newest first with a cursor bound to the query', async () => {
      const created: string[] = [];
      for (let i = 0; i < 3; i++) {
        clock.advance(1_000);
        created.unshift((await strategy()).name);
      }
      const page = async (first: number, after?: string) =>
        (
          await data(
            service.url,
            `query($f: Int, $a: String) { strategies(first: $f, after: $a) { nodes { name } pageInfo { hasNextPage endCursor } } }`,
            { f: first, a: after },
          )
        ).strategies as { nodes: { name: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
      const all: string[] = [];
      let after: string | undefined;
      for (;;) {
        const { nodes, pageInfo } = await page(2, after);
        all.push(...nodes.map((n) => n.name));
        if (!pageInfo.hasNextPage) break;
        after = pageInfo.endCursor;
      }
      const { strategies } = await data(service.url, `{ strategies(first: 1000) { nodes { name } } }`);
      expect(all).toEqual(strategies.nodes.map((n: { name: string }) => n.name));
      expect(new Set(all).size).toBe(all.length);
      expect(all.slice(0, 3)).toEqual(created);

      const bad = await gql(service.url, `{ strategies(after: "not-a-cursor") { nodes { id } } }`);
      expect(errorOf(bad)).toMatchObject({ code: ErrorCode.BAD_USER_INPUT, field: 'after' });
      const tooMany = await gql(service.url, `{ strategies(first: 1001) { nodes { id } } }`);
      expect(errorOf(tooMany)).toMatchObject({ code: ErrorCode.LIMIT_EXCEEDED, field: 'first' });
    });
  });

  describe('recordPerformance and performance', () => {
    it('should store a batch and summarize it as computed by hand', async () => {
      const { name } = await strategy();
      // Sent out of order: the series is ordered by time.
      const batch = points([100, 110, 99, 121], [0, 1_000, 2_500, 500]);
      const recorded = await data(service.url, RECORD, {
        s: name,
        p: [batch[2], batch[0], batch[3], batch[1]],
      });
      expect(recorded.recordPerformance).toEqual({ strategy: { name }, recorded: 4, unchanged: 0 });

      const summary = await performance(name);
      expect(summary).toMatchObject({
        from: day(0),
        to: day(3),
        count: 4,
        pnl: 21,
        volume: 4_000,
        periodsPerYear: 252,
        points: batch,
      });
      expect(summary.totalReturn).toBeCloseTo(0.21, 12);
      expect(summary.sharpe).toBeCloseTo(2 * Math.sqrt(252 / 19.29), 10);
      expect(summary.maxDrawdown).toBeCloseTo(0.1, 12);
      expect((await performance(name, { y: 12 })).sharpe).toBeCloseTo(2 * Math.sqrt(12 / 19.29), 10);
    });

    it('should summarize only the window asked for, bounds inclusive, and report what it covered', async () => {
      const { name } = await strategy();
      await data(service.url, RECORD, { s: name, p: points([100, 110, 99, 121, 133.1]) });

      const middle = await performance(name, { from: day(1), to: day(3) });
      expect(middle).toMatchObject({ from: day(1), to: day(3), count: 3, pnl: 11 });
      expect(middle.totalReturn).toBeCloseTo(0.1, 12);
      // Bounds between points: covered is what the window actually holds.
      const between = await performance(name, {
        from: new Date(START + 1.5 * DAY).toISOString(),
        to: new Date(START + 10 * DAY).toISOString(),
      });
      expect(between).toMatchObject({ from: day(2), to: day(4), count: 3, maxDrawdown: 0 });
      expect(await performance(name, { from: day(5) })).toBeNull();
    });

    it('should answer null for a strategy without points', async () => {
      const { name } = await strategy();
      expect(await performance(name)).toBeNull();
    });

    it('should treat an identical re-sent point as done and answer CONFLICT for another value, storing nothing of that batch', async () => {
      const { name } = await strategy();
      const batch = points([100, 105]);
      await data(service.url, RECORD, { s: name, p: batch });

      const again = await data(service.url, RECORD, { s: name, p: [...batch, ...points([107], [], 2)] });
      expect(again.recordPerformance).toEqual({ strategy: { name }, recorded: 1, unchanged: 2 });

      const conflicting = await gql(service.url, RECORD, {
        s: name,
        p: [...points([108], [], 3), { at: day(1), equity: 106, volume: 0 }],
      });
      expect(errorOf(conflicting)).toMatchObject({ code: ErrorCode.CONFLICT, field: 'points[1].at' });
      expect(String(errorOf(conflicting).message)).toContain('write-once');
      const after = await performance(name);
      expect(after.points.map((p: { equity: number }) => p.equity)).toEqual([100, 105, 107]);
    });

    /** A point per entry, on consecutive days unless `sameDayAs` names an earlier entry's day. */
    type PointSpec = { equity: number; volume?: number; sameDayAs?: number };
    it.each<[string, PointSpec[]]>([
      ['points[1].equity', [{ equity: 100 }, { equity: 0 }]],
      ['points[0].equity', [{ equity: -5 }]],
      ['points[1].volume', [{ equity: 100 }, { equity: 101, volume: -1 }]],
      ['points[2].at', [{ equity: 100 }, { equity: 101 }, { equity: 102, sameDayAs: 0 }]],
    ])('should answer BAD_USER_INPUT naming %s and store nothing of the batch', async (field, specs) => {
      const { name } = await strategy();
      const batch = specs.map((s, i) => ({
        at: day(s.sameDayAs ?? i),
        equity: s.equity,
        volume: s.volume ?? 0,
      }));
      const response = await gql(service.url, RECORD, { s: name, p: batch });
      expect(errorOf(response)).toMatchObject({ code: ErrorCode.BAD_USER_INPUT, field });
      expect(await performance(name)).toBeNull();
    });

    it('should keep a point repeated with the same values in one batch once', async () => {
      const { name } = await strategy();
      const [first] = points([100]);
      const response = await data(service.url, RECORD, { s: name, p: [first, first] });
      expect(response.recordPerformance).toMatchObject({ recorded: 1, unchanged: 0 });
    });

    it('should answer LIMIT_EXCEEDED past 1000 points, storing nothing', async () => {
      const { name } = await strategy();
      const response = await gql(service.url, RECORD, {
        s: name,
        p: Array.from({ length: 1001 }, (_, i) => ({ at: day(i), equity: 100 + i })),
      });
      expect(errorOf(response)).toEqual({
        code: ErrorCode.LIMIT_EXCEEDED,
        field: 'points',
        message: 'A batch may hold at most 1000 points; got 1001',
      });
      expect(await performance(name)).toBeNull();
    });

    it('should answer NOT_FOUND naming strategy for an unknown strategy', async () => {
      const response = await gql(service.url, RECORD, { s: 'nobody', p: points([100]) });
      expect(errorOf(response)).toMatchObject({ code: ErrorCode.NOT_FOUND, field: 'strategy' });
    });

    it('should refuse a window that ends before it starts, and a bad periodsPerYear', async () => {
      const { name } = await strategy();
      await data(service.url, RECORD, { s: name, p: points([100, 101]) });
      const backwards = await gql(service.url, PERFORMANCE, { n: name, from: day(2), to: day(1) });
      expect(errorOf(backwards)).toMatchObject({ code: ErrorCode.BAD_USER_INPUT, field: 'to' });
      const zero = await gql(service.url, PERFORMANCE, { n: name, y: 0 });
      expect(errorOf(zero)).toMatchObject({ code: ErrorCode.BAD_USER_INPUT, field: 'periodsPerYear' });
    });

    it('should refuse a window over its bound with LIMIT_EXCEEDED, reading one row past it', async () => {
      const { id, name } = await strategy();
      await data(service.url, RECORD, { s: name, p: points([100, 101, 102, 103]) });
      const db = createDatabase(service.orm, kind);
      await expect(readWindow(db.knex, id, { from: null, to: null }, 4)).resolves.toHaveLength(4);
      await expect(readWindow(db.knex, id, { from: null, to: null }, 3)).rejects.toMatchObject({
        code: ErrorCode.LIMIT_EXCEEDED,
        details: { field: 'from', limit: 3 },
      });
      await expect(readWindow(db.knex, id, { from: START + DAY, to: null }, 3)).resolves.toHaveLength(3);
    });
  });

  describe('deleteStrategy', () => {
    it('should delete the strategy with its series, so the name can start afresh', async () => {
      const { name } = await strategy({ deploymentName: 'prices' });
      await data(service.url, RECORD, { s: name, p: points([100, 90]) });
      const { deleteStrategy } = await data(
        service.url,
        `mutation($n: String!) { deleteStrategy(name: $n) { name } }`,
        { n: name },
      );
      expect(deleteStrategy).toEqual({ name });
      expect(
        errorOf(await gql(service.url, `query($n: String!) { strategy(name: $n) { id } }`, { n: name })),
      ).toMatchObject({
        code: ErrorCode.NOT_FOUND,
      });
      await data(service.url, CREATE, { i: { name } });
      expect(await performance(name)).toBeNull();
      const again = await gql(service.url, `mutation { deleteStrategy(name: "nobody") { name } }`);
      expect(errorOf(again)).toMatchObject({ code: ErrorCode.NOT_FOUND, field: 'name' });
    });
  });

  describe('Deployment.strategies', () => {
    it('should resolve the strategies trading a deployment through the entity reference', async () => {
      const deployment = unique('dep');
      const a = await strategy({ deploymentName: deployment });
      const b = await strategy({ deploymentName: deployment });
      await strategy({ deploymentName: unique('other') });
      const { _entities } = await data(
        service.url,
        `query($r: [_Any!]!) { _entities(representations: $r) { ... on Deployment { name strategies { name } } } }`,
        { r: [{ __typename: 'Deployment', name: deployment }] },
      );
      expect(_entities).toEqual([
        {
          name: deployment,
          strategies: [{ name: a.name }, { name: b.name }].sort((x, y) => x.name.localeCompare(y.name)),
        },
      ]);
    });
    it('should read the strategies of every deployment in one query, however many the gateway asks for', async () => {
      const deployments = [unique('dep'), unique('dep'), unique('dep')];
      const first = await strategy({ deploymentName: deployments[0] });
      const second = await strategy({ deploymentName: deployments[2] });
      const knex = service.orm.em.getConnection().getKnex();
      const reads: string[] = [];
      const count = (query: { sql: string }) => {
        if (/from\s+["`]?strategies["`]?/i.test(query.sql)) reads.push(query.sql);
      };
      knex.on('query', count);
      try {
        const { _entities } = await data(
          service.url,
          `query($r: [_Any!]!) { _entities(representations: $r) { ... on Deployment { name strategies { name } } } }`,
          { r: deployments.map((name) => ({ __typename: 'Deployment', name })) },
        );
        expect(_entities).toEqual([
          { name: deployments[0], strategies: [{ name: first.name }] },
          { name: deployments[1], strategies: [] },
          { name: deployments[2], strategies: [{ name: second.name }] },
        ]);
      } finally {
        knex.off('query', count);
      }
      expect(reads).toHaveLength(1);
    });
  });
});
