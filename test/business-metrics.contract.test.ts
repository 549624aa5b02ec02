import { ErrorCode } from '@mlops/schema';
import { backends } from './support/databases';
import { startBusinessMetricsStack } from './support/business-metrics-stack';
import type { BusinessMetricsStack } from './support/business-metrics-stack';
import type { GraphQLHttpResponse } from './support/graphql-http';
import { postGraphQL } from './support/graphql-http';
import { connectGraphQLWs, recordSubscription } from './support/graphql-ws-client';
import { bearerHeaders } from './support/jwt';

const CREATE = `mutation($i: CreateStrategyInput!) { createStrategy(input: $i) { id name deploymentName } }`;
const RECORD = `mutation($s: String!, $p: [PerformancePointInput!]!) { recordPerformance(strategy: $s, points: $p) { recorded unchanged } }`;
const DELETE = `mutation($n: String!) { deleteStrategy(name: $n) { name } }`;
const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 5);
const day = (i: number) => new Date(START + i * DAY).toISOString();
/** Equity 100 → 110 → 99 → 121: Sharpe 2 × sqrt(252 / 19.29), drawdown 10% (see the maths suite). */
const WORKED = [100, 110, 99, 121].map((equity, i) => ({ at: day(i), equity, volume: 1_000 }));

const codeOf = (response: GraphQLHttpResponse) => response.body.errors?.[0]?.extensions?.code;
const fieldOf = (response: GraphQLHttpResponse) => response.body.errors?.[0]?.extensions?.field;

/** Waits until `check` holds: for server-side effects with no event to wait on. */
async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.each(backends())('business metrics through the gateway on %s', (kind) => {
  let stack: BusinessMetricsStack;
  let counter = 0;
  const unique = (prefix: string) => `${prefix}-${kind}-${++counter}`;

  beforeAll(async () => {
    stack = await startBusinessMetricsStack(kind);
    await stack.data(`mutation { createServingPool(name: "metrics-pool") { name } }`);
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  /** A deployment in the deployments subgraph (its rollout fails: the pool has no sidecar). */
  async function deployment(): Promise<string> {
    const name = unique('prices');
    await stack.data(`mutation($i: CreateDeploymentInput!) { createDeployment(input: $i) { name } }`, {
      i: { name, pool: 'metrics-pool', models: [{ modelName: 'stock-predictor', version: 1, weight: 100 }] },
    });
    return name;
  }

  it("should answer a deployment's strategies and their performance in one query, from two subgraphs", async () => {
    const target = await deployment();
    const name = unique('momentum');
    await stack.data(CREATE, { i: { name, deploymentName: target } });
    expect((await stack.data(RECORD, { s: name, p: WORKED })).recordPerformance).toEqual({
      recorded: 4,
      unchanged: 0,
    });

    const { deployment: found } = await stack.data(
      `query($n: String!) { deployment(name: $n) { name status strategies { name performance { sharpe maxDrawdown totalReturn pnl volume } } } }`,
      { n: target },
    );

    expect(found).toMatchObject({ name: target, status: 'FAILED', strategies: [{ name }] });
    const performance = found.strategies[0].performance;
    expect(performance.sharpe).toBeCloseTo(2 * Math.sqrt(252 / 19.29), 10);
    expect(performance).toMatchObject({ pnl: 21, volume: 4_000 });
    expect(performance.maxDrawdown).toBeCloseTo(0.1, 12);
    expect(performance.totalReturn).toBeCloseTo(0.21, 12);
  });

  it("should resolve a strategy's deployment from the deployments subgraph", async () => {
    const target = await deployment();
    const name = unique('carry');
    await stack.data(CREATE, { i: { name, deploymentName: target } });
    const { strategy } = await stack.data(
      `query($n: String!) { strategy(name: $n) { name deployment { name status pool { name } } } }`,
      { n: name },
    );
    expect(strategy).toEqual({
      name,
      deployment: { name: target, status: 'FAILED', pool: { name: 'metrics-pool' } },
    });
    const { strategies } = await stack.data(
      `{ strategies(first: 1000) { nodes { name } pageInfo { hasNextPage } } }`,
    );
    expect(strategies.nodes.map((n: { name: string }) => n.name)).toContain(name);
  });

  it('should pass coded errors through the gateway, naming the field', async () => {
    const name = unique('errors');
    await stack.data(CREATE, { i: { name } });
    const taken = await stack.gql(CREATE, { i: { name } });
    expect([codeOf(taken), fieldOf(taken)]).toEqual([ErrorCode.CONFLICT, 'name']);
    const badName = await stack.gql(CREATE, { i: { name: ' ' } });
    expect([codeOf(badName), fieldOf(badName)]).toEqual([ErrorCode.BAD_USER_INPUT, 'name']);
    const badEquity = await stack.gql(RECORD, {
      s: name,
      p: [
        { at: day(0), equity: 100 },
        { at: day(1), equity: 0 },
      ],
    });
    expect([codeOf(badEquity), fieldOf(badEquity)]).toEqual([ErrorCode.BAD_USER_INPUT, 'points[1].equity']);
    const tooMany = await stack.gql(RECORD, {
      s: name,
      p: Array.from({ length: 1001 }, (_, i) => ({ at: day(i), equity: 100 })),
    });
    expect(codeOf(tooMany)).toBe(ErrorCode.LIMIT_EXCEEDED);
    expect(tooMany.body.errors?.[0]?.message).toBe('A batch may hold at most 1000 points; got 1001');
    await stack.data(RECORD, { s: name, p: [{ at: day(0), equity: 100 }] });
    const rewritten = await stack.gql(RECORD, { s: name, p: [{ at: day(0), equity: 101 }] });
    expect([codeOf(rewritten), fieldOf(rewritten)]).toEqual([ErrorCode.CONFLICT, 'points[0].at']);
    const missing = await stack.gql(`{ strategy(name: "nobody") { id } }`);
    expect([codeOf(missing), fieldOf(missing)]).toEqual([ErrorCode.NOT_FOUND, 'name']);
  });

  describe('who may change strategies', () => {
    const as = (headers: Record<string, string>, query: string, variables: Record<string, unknown>) =>
      postGraphQL(stack.gatewayUrl, query, { variables, headers });

    it('should refuse a viewer (FORBIDDEN) and an anonymous caller (UNAUTHENTICATED), changing nothing', async () => {
      const existing = unique('guarded');
      await stack.data(CREATE, { i: { name: existing } });
      for (const [headers, code] of [
        [bearerHeaders(['viewer']), ErrorCode.FORBIDDEN],
        [{}, ErrorCode.UNAUTHENTICATED],
      ] as const) {
        const refusedName = unique('refused');
        expect(codeOf(await as(headers, CREATE, { i: { name: refusedName } }))).toBe(code);
        expect(codeOf(await as(headers, RECORD, { s: existing, p: WORKED }))).toBe(code);
        expect(codeOf(await as(headers, DELETE, { n: existing }))).toBe(code);
        const lookup = await stack.gql(`query($n: String!) { strategy(name: $n) { id } }`, {
          n: refusedName,
        });
        expect(codeOf(lookup)).toBe(ErrorCode.NOT_FOUND);
      }
      const { strategy } = await stack.data(
        `query($n: String!) { strategy(name: $n) { name performance { count } } }`,
        {
          n: existing,
        },
      );
      expect(strategy).toEqual({ name: existing, performance: null });
    });

    it('should let the registry writers and a trading job holding business-metrics:write record, and anyone read', async () => {
      const name = unique('writers');
      expect(
        (await as(bearerHeaders(['data-scientist']), CREATE, { i: { name } })).body.errors,
      ).toBeUndefined();
      const job = await as(bearerHeaders([], { scope: 'business-metrics:write' }), RECORD, {
        s: name,
        p: WORKED,
      });
      expect(job.body).toEqual({ data: { recordPerformance: { recorded: 4, unchanged: 0 } } });
      const engineer = await as(bearerHeaders(['ml-engineer']), RECORD, { s: name, p: WORKED });
      expect(engineer.body).toEqual({ data: { recordPerformance: { recorded: 0, unchanged: 4 } } });
      const read = await as({}, `query($n: String!) { strategy(name: $n) { performance { count } } }`, {
        n: name,
      });
      expect(read.body).toEqual({ data: { strategy: { performance: { count: 4 } } } });
      expect((await as(bearerHeaders(['admin']), DELETE, { n: name })).body).toEqual({
        data: { deleteStrategy: { name } },
      });
    });
  });

  it('should stream a recorded point and the updated summary through the gateway over graphql-ws', async () => {
    const target = await deployment();
    const name = unique('live');
    await stack.data(CREATE, { i: { name, deploymentName: target } });
    await stack.data(RECORD, { s: name, p: WORKED.slice(0, 3) });
    const client = connectGraphQLWs(stack.gatewayUrl);
    try {
      const before = stack.subscriptions();
      const stream = recordSubscription(
        client,
        `subscription($n: String!) { strategyPerformance(name: $n) { strategy { name deployment { name status } } points { at equity volume } summary { count pnl sharpe maxDrawdown } } }`,
        { n: name },
      );
      await eventually(() => stack.subscriptions() > before);
      await stack.data(RECORD, { s: name, p: WORKED.slice(3) });

      const [event] = await stream.waitFor(1);
      expect(event!.errors).toBeUndefined();
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary response shapes
      const update = (event!.data as { strategyPerformance: Record<string, any> }).strategyPerformance;
      expect(update).toMatchObject({
        strategy: { name, deployment: { name: target, status: 'FAILED' } },
        points: [{ at: day(3), equity: 121, volume: 1_000 }],
        summary: { count: 4, pnl: 21 },
      });
      expect(update.summary.sharpe).toBeCloseTo(2 * Math.sqrt(252 / 19.29), 10);
      stream.dispose();
    } finally {
      await client.dispose();
    }
  });
});
