import { backends } from './support/databases';
import { startAlertsStack } from './support/alerts-stack';
import type { AlertsStack } from './support/alerts-stack';
import type { GraphQLHttpResponse } from './support/graphql-http';
import { postGraphQL } from './support/graphql-http';
import { connectGraphQLWs, recordSubscription } from './support/graphql-ws-client';
import { bearerHeaders } from './support/jwt';

const RULE = `id name metric comparison threshold forSeconds severity labels { name value } deployment { name }`;
const ALERT = `id fingerprint state value silenced activeAt firedAt resolvedAt acknowledgedBy labels { name value } rule { id name } deployment { name status pool { name } }`;
const CREATE_RULE = `mutation($i: CreateAlertRuleInput!) { createAlertRule(input: $i) { ${RULE} } }`;
const RECORD = `mutation($s: [MetricSampleInput!]!) { recordMetrics(samples: $s) }`;

const codeOf = (response: GraphQLHttpResponse) => response.body.errors?.[0]?.extensions?.code;
const fieldOf = (response: GraphQLHttpResponse) => response.body.errors?.[0]?.extensions?.field;

describe.each(backends())('alerts through the gateway on %s', (kind) => {
  let stack: AlertsStack;
  let counter = 0;
  const unique = (prefix: string) => `${prefix}-${kind}-${++counter}`;

  beforeAll(async () => {
    stack = await startAlertsStack(kind);
    await stack.data(`mutation { createServingPool(name: "alerts-pool") { name } }`);
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  /** A deployment in the deployments subgraph (its rollout fails: the pool has no sidecar). */
  async function deployment(): Promise<string> {
    const name = unique('prices');
    await stack.data(`mutation($i: CreateDeploymentInput!) { createDeployment(input: $i) { name } }`, {
      i: { name, pool: 'alerts-pool', models: [{ modelName: 'stock-predictor', version: 1, weight: 100 }] },
    });
    return name;
  }
  const rule = (deploymentName: string, overrides: Record<string, unknown> = {}) =>
    stack.data(CREATE_RULE, {
      i: {
        name: unique('rule'),
        deployment: deploymentName,
        metric: 'drawdown',
        comparison: 'GTE',
        threshold: 0.1,
        forSeconds: 0,
        severity: 'CRITICAL',
        labels: [{ name: 'desk', value: 'equities' }],
        ...overrides,
      },
    });

  it('should create a rule and fire an alert whose deployment resolves from the deployments subgraph', async () => {
    const name = await deployment();
    const { createAlertRule } = await rule(name);
    expect(createAlertRule).toMatchObject({ metric: 'drawdown', deployment: { name } });
    expect(await stack.data(RECORD, { s: [{ deployment: name, metric: 'drawdown', value: 0.15 }] })).toEqual({
      recordMetrics: 1,
    });
    const { alerts } = await stack.data(`query($f: AlertFilter) { alerts(filter: $f) { ${ALERT} } }`, {
      f: { deployment: name },
    });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      state: 'FIRING',
      value: 0.15,
      silenced: false,
      rule: { id: createAlertRule.id },
      deployment: { name, status: 'FAILED', pool: { name: 'alerts-pool' } },
    });
  });

  it("should extend Deployment with its open alerts, queried from the deployments subgraph's root field", async () => {
    const name = await deployment();
    await rule(name);
    await stack.data(RECORD, { s: [{ deployment: name, metric: 'drawdown', value: 0.5 }] });
    const { deployment: found } = await stack.data(
      `query($n: String!) { deployment(name: $n) { name openAlerts { state deployment { name } } } }`,
      { n: name },
    );
    expect(found).toEqual({ name, openAlerts: [{ state: 'FIRING', deployment: { name } }] });
  });

  it('should answer the deployment key of a rule whose deployment does not exist (a reference, not a check)', async () => {
    const missing = unique('missing');
    const { createAlertRule } = await rule(missing);
    const response = await stack.gql(`query($id: ID!) { alertRule(id: $id) { deployment { name } } }`, {
      id: createAlertRule.id,
    });
    expect(response.body).toEqual({ data: { alertRule: { deployment: { name: missing } } } });
  });

  it('should pass coded errors through the gateway, naming the field', async () => {
    const bad = await stack.gql(CREATE_RULE, {
      i: { name: unique('r'), deployment: 'x', metric: 'Not A Metric', comparison: 'GT', threshold: 1 },
    });
    expect([codeOf(bad), fieldOf(bad)]).toEqual(['BAD_USER_INPUT', 'metric']);
    const missing = await stack.gql(`{ alert(id: "none") { id } }`);
    expect([codeOf(missing), fieldOf(missing)]).toEqual(['NOT_FOUND', 'id']);
    const limit = await stack.gql(RECORD, {
      s: Array.from({ length: 1001 }, () => ({ deployment: 'x', metric: 'pnl', value: 1 })),
    });
    expect(codeOf(limit)).toBe('LIMIT_EXCEEDED');
    expect(limit.body.errors?.[0]?.message).toBe('A batch may hold at most 1000 samples; got 1001');
  });

  it('should acknowledge, silence and page events through the gateway', async () => {
    const name = await deployment();
    await rule(name);
    await stack.data(RECORD, { s: [{ deployment: name, metric: 'drawdown', value: 0.2 }] });
    const { alerts } = await stack.data(`query($f: AlertFilter) { alerts(filter: $f) { id } }`, {
      f: { deployment: name },
    });
    const acknowledged = await postGraphQL(
      stack.gatewayUrl,
      `mutation($id: ID!) { acknowledgeAlert(id: $id, comment: "on it") { acknowledgedBy state } }`,
      { variables: { id: alerts[0].id }, headers: bearerHeaders(['viewer'], { sub: 'ada' }) },
    );
    expect(acknowledged.body).toEqual({
      data: { acknowledgeAlert: { acknowledgedBy: 'ada', state: 'FIRING' } },
    });
    await stack.data(`mutation($i: CreateSilenceInput!) { createSilence(input: $i) { id } }`, {
      i: {
        matchers: [{ name: 'deployment', value: name }],
        endsAt: new Date(stack.clock.now() + 3_600_000).toISOString(),
      },
    });
    await stack.data(RECORD, { s: [{ deployment: name, metric: 'drawdown', value: 0 }] });
    const { alertEventsPage } = await stack.data(
      `query($f: AlertEventFilter) { alertEventsPage(filter: $f) { events { type silenced acknowledgedBy alert { id } deployment { name } } hasMore } }`,
      { f: { deployment: name, includeSilenced: true } },
    );
    expect(alertEventsPage).toEqual({
      hasMore: false,
      events: [
        {
          type: 'FIRING',
          silenced: false,
          acknowledgedBy: null,
          alert: { id: alerts[0].id },
          deployment: { name },
        },
        {
          type: 'ACKNOWLEDGED',
          silenced: false,
          acknowledgedBy: 'ada',
          alert: { id: alerts[0].id },
          deployment: { name },
        },
        {
          type: 'RESOLVED',
          silenced: true,
          acknowledgedBy: null,
          alert: { id: alerts[0].id },
          deployment: { name },
        },
      ],
    });
  });

  it('should stream alert events through the gateway over graphql-ws, replay first', async () => {
    const name = await deployment();
    await rule(name);
    await stack.data(RECORD, { s: [{ deployment: name, metric: 'drawdown', value: 0.2 }] });
    const client = connectGraphQLWs(stack.gatewayUrl);
    try {
      const stream = recordSubscription(
        client,
        `subscription($f: AlertEventFilter) { alertEvents(after: "0", filter: $f) { cursor type deployment { name status } } }`,
        { f: { deployment: name } },
      );
      await stream.waitFor(1);
      await stack.data(RECORD, { s: [{ deployment: name, metric: 'drawdown', value: 0 }] });
      const results = await stream.waitFor(2);
      expect(results.map((r) => r.errors)).toEqual([undefined, undefined]);
      expect(results.map((r) => (r.data as { alertEvents: { type: string } }).alertEvents)).toMatchObject([
        { type: 'FIRING', deployment: { name, status: 'FAILED' } },
        { type: 'RESOLVED', deployment: { name, status: 'FAILED' } },
      ]);
      stream.dispose();
    } finally {
      await client.dispose();
    }
  });

  describe('who may change alerting', () => {
    const as = (headers: Record<string, string>, query: string, variables: Record<string, unknown>) =>
      postGraphQL(stack.gatewayUrl, query, { variables, headers });
    const ruleInput = (name: string, deploymentName: string) => ({
      i: { name, deployment: deploymentName, metric: 'pnl', comparison: 'LT', threshold: 0 },
    });

    it('should refuse rule changes to a viewer (FORBIDDEN) and an anonymous caller (UNAUTHENTICATED)', async () => {
      const target = await deployment();
      for (const [headers, code] of [
        [bearerHeaders(['viewer', 'data-scientist']), 'FORBIDDEN'],
        [{}, 'UNAUTHENTICATED'],
      ] as const) {
        const refused = await as(headers, CREATE_RULE, ruleInput(unique('refused'), target));
        expect(codeOf(refused)).toBe(code);
      }
      const { alertRules } = await stack.data('{ alertRules { name } }');
      expect((alertRules as { name: string }[]).some((r) => r.name.startsWith('refused'))).toBe(false);
    });

    it('should let a producer holding metrics:write record samples, and no viewer', async () => {
      const target = await deployment();
      const samples = { s: [{ deployment: target, metric: 'pnl', value: 1 }] };

      expect((await as(bearerHeaders([], { scope: 'metrics:write' }), RECORD, samples)).body).toEqual({
        data: { recordMetrics: 1 },
      });
      expect(codeOf(await as(bearerHeaders(['viewer']), RECORD, samples))).toBe('FORBIDDEN');
    });
  });

  describe('who acknowledges', () => {
    const ACKNOWLEDGE = `mutation($id: ID!, $by: String) { acknowledgeAlert(id: $id, by: $by) { acknowledgedBy } }`;
    const acknowledge = (headers: Record<string, string>, id: string, by?: string) =>
      postGraphQL(stack.gatewayUrl, ACKNOWLEDGE, { variables: { id, by }, headers });
    const grace = bearerHeaders(['viewer'], { sub: 'grace' });

    async function firingAlert(): Promise<string> {
      const name = await deployment();
      await rule(name);
      await stack.data(RECORD, { s: [{ deployment: name, metric: 'drawdown', value: 0.2 }] });
      const { alerts } = await stack.data(`query($f: AlertFilter) { alerts(filter: $f) { id state } }`, {
        f: { deployment: name },
      });
      expect(alerts).toEqual([{ id: expect.any(String), state: 'FIRING' }]);
      return alerts[0].id as string;
    }
    const acknowledgedBy = async (id: string) =>
      (await stack.data(`query($id: ID!) { alert(id: $id) { acknowledgedBy } }`, { id })).alert
        .acknowledgedBy;

    it('should record the verified subject when by is omitted', async () => {
      const id = await firingAlert();

      const response = await acknowledge(grace, id);

      expect(response.body).toEqual({ data: { acknowledgeAlert: { acknowledgedBy: 'grace' } } });
      expect(await acknowledgedBy(id)).toBe('grace');
    });

    it('should accept a by that repeats the verified subject', async () => {
      const id = await firingAlert();

      const response = await acknowledge(grace, id, 'grace');

      expect(response.body).toEqual({ data: { acknowledgeAlert: { acknowledgedBy: 'grace' } } });
    });

    it('should refuse a by naming anyone else with FORBIDDEN, acknowledging nothing', async () => {
      const id = await firingAlert();

      const response = await acknowledge(grace, id, 'ada');

      expect(codeOf(response)).toBe('FORBIDDEN');
      expect(fieldOf(response)).toBe('by');
      expect(response.body.errors?.[0]?.message).toBe(
        "'by' must be the verified caller 'grace' when given; got 'ada' (omit it: the caller is recorded)",
      );
      expect(await acknowledgedBy(id)).toBeNull();
    });

    it('should refuse an anonymous caller with UNAUTHENTICATED, acknowledging nothing', async () => {
      const id = await firingAlert();

      expect(codeOf(await acknowledge({}, id, 'ada'))).toBe('UNAUTHENTICATED');
      expect(await acknowledgedBy(id)).toBeNull();
    });
  });

  describe('who creates a silence', () => {
    const CREATE_SILENCE = `mutation($i: CreateSilenceInput!) { createSilence(input: $i) { id createdBy } }`;
    /** An operator whose verified subject is grace. */
    const grace = bearerHeaders(['ml-engineer'], { sub: 'grace' });
    const createSilence = (headers: Record<string, string>, matcher: string, createdBy?: string) =>
      postGraphQL(stack.gatewayUrl, CREATE_SILENCE, {
        variables: {
          i: {
            matchers: [{ name: 'team', value: matcher }],
            endsAt: new Date(stack.clock.now() + 3_600_000).toISOString(),
            createdBy,
          },
        },
        headers,
      });
    /** The creators of the silences matching `matcher`: each test matches on a value of its own. */
    const creatorsOf = async (matcher: string) =>
      (
        (await stack.data(`{ silences { createdBy matchers { value } } }`)).silences as {
          createdBy: string;
          matchers: { value: string }[];
        }[]
      )
        .filter((s) => s.matchers.some((m) => m.value === matcher))
        .map((s) => s.createdBy);

    it('should record the verified subject when createdBy is omitted', async () => {
      const matcher = unique('omitted');

      const response = await createSilence(grace, matcher);

      expect(response.body).toEqual({
        data: { createSilence: { id: expect.any(String), createdBy: 'grace' } },
      });
      expect(await creatorsOf(matcher)).toEqual(['grace']);
    });

    it('should accept a createdBy that repeats the verified subject', async () => {
      const matcher = unique('repeated');

      const response = await createSilence(grace, matcher, 'grace');

      expect(response.body).toEqual({
        data: { createSilence: { id: expect.any(String), createdBy: 'grace' } },
      });
    });

    it('should refuse a createdBy naming anyone else with FORBIDDEN, creating nothing', async () => {
      const matcher = unique('forged');

      const response = await createSilence(grace, matcher, 'ada');

      expect(codeOf(response)).toBe('FORBIDDEN');
      expect(fieldOf(response)).toBe('createdBy');
      expect(response.body.errors?.[0]?.message).toBe(
        "'createdBy' must be the verified caller 'grace' when given; got 'ada' (omit it: the caller is recorded)",
      );
      expect(await creatorsOf(matcher)).toEqual([]);
    });

    it('should refuse an anonymous caller with UNAUTHENTICATED, creating nothing', async () => {
      const matcher = unique('anonymous');

      expect(codeOf(await createSilence({}, matcher, 'ada'))).toBe('UNAUTHENTICATED');
      expect(await creatorsOf(matcher)).toEqual([]);
    });
  });
});
