import type { AlertsService } from '../src';
import type { TestDatabase } from './support';
import { RULE_FIELDS, backends, createTestDatabase, data, errorOf, gql, startReplica } from './support';

const CREATE = `mutation($input: CreateAlertRuleInput!) { createAlertRule(input: $input) { ${RULE_FIELDS} } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateAlertRuleInput!) { updateAlertRule(id: $id, input: $input) { ${RULE_FIELDS} } }`;
const RECORD = `mutation($s: [MetricSampleInput!]!) { recordMetrics(samples: $s) }`;

describe.each(backends())('alert rules on %s', (kind) => {
  let database: TestDatabase;
  let service: AlertsService;
  let counter = 0;
  const unique = (prefix: string) => `${prefix}-${++counter}`;
  const valid = (overrides: Record<string, unknown> = {}) => ({
    name: unique('rule'),
    deployment: 'prices',
    metric: 'latency_p99_ms',
    comparison: 'GT',
    threshold: 250,
    forSeconds: 60,
    severity: 'CRITICAL',
    labels: [{ name: 'team', value: 'quant' }],
    ...overrides,
  });

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    service = await startReplica({ database: database.config });
  });
  afterAll(async () => {
    await service?.close();
    await database?.drop();
  });

  it('should create a rule and read it back by id and in the list, labels sorted by name', async () => {
    const input = valid({
      labels: [
        { name: 'team', value: 'quant' },
        { name: 'desk', value: 'fx' },
      ],
    });
    const { createAlertRule: rule } = await data(service.url, CREATE, { input });
    expect(rule).toMatchObject({
      name: input.name,
      metric: 'latency_p99_ms',
      comparison: 'GT',
      threshold: 250,
      forSeconds: 60,
      severity: 'CRITICAL',
      labels: [
        { name: 'desk', value: 'fx' },
        { name: 'team', value: 'quant' },
      ],
      deployment: { name: 'prices' },
    });
    const { alertRule } = await data(
      service.url,
      `query($id: ID!) { alertRule(id: $id) { ${RULE_FIELDS} } }`,
      {
        id: rule.id,
      },
    );
    expect(alertRule).toEqual(rule);
    const { alertRules } = await data(service.url, `{ alertRules { id } }`);
    expect(alertRules.map((r: { id: string }) => r.id)).toContain(rule.id);
  });

  it('should accept business metrics with dots and underscores', async () => {
    for (const metric of ['sharpe', 'drawdown', 'pnl.daily_usd', 'drift_score']) {
      const response = await gql(service.url, CREATE, { input: valid({ metric }) });
      expect(response.errors).toBeUndefined();
    }
  });

  it.each([
    ['name', { name: '   ' }],
    ['name', { name: 'x'.repeat(251) }],
    ['deployment', { deployment: '' }],
    ['metric', { metric: 'Latency' }],
    ['metric', { metric: '9lives' }],
    ['metric', { metric: 'latency-p99' }],
    ['metric', { metric: `m${'x'.repeat(128)}` }],
    ['forSeconds', { forSeconds: -1 }],
    ['forSeconds', { forSeconds: 7 * 24 * 3600 + 1 }],
    ['labels[0].name', { labels: [{ name: 'bad-name', value: 'x' }] }],
    [
      'labels[1].name',
      {
        labels: [
          { name: 'ok', value: 'x' },
          { name: 'deployment', value: 'other' },
        ],
      },
    ],
    ['labels[0].value', { labels: [{ name: 'ok', value: 'v'.repeat(1025) }] }],
    [
      'labels',
      {
        labels: [
          { name: 'a', value: '1' },
          { name: 'a', value: '2' },
        ],
      },
    ],
  ])('should refuse a bad %s with BAD_USER_INPUT naming it (case %#)', async (field, overrides) => {
    const before = (await data(service.url, `{ alertRules { id } }`)).alertRules.length;
    const response = await gql(service.url, CREATE, { input: valid(overrides) });
    expect(errorOf(response)).toEqual({ code: 'BAD_USER_INPUT', field });
    expect((await data(service.url, `{ alertRules { id } }`)).alertRules).toHaveLength(before);
  });

  it('should refuse an unknown comparison at validation, before any resolver runs', async () => {
    const response = await gql(service.url, CREATE, { input: valid({ comparison: 'ABOVE' }) });
    expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('should answer CONFLICT naming name for a taken name, on create and on rename', async () => {
    const first = valid();
    await data(service.url, CREATE, { input: first });
    expect(errorOf(await gql(service.url, CREATE, { input: valid({ name: first.name }) }))).toEqual({
      code: 'CONFLICT',
      field: 'name',
    });
    const { createAlertRule: other } = await data(service.url, CREATE, { input: valid() });
    expect(errorOf(await gql(service.url, UPDATE, { id: other.id, input: { name: first.name } }))).toEqual({
      code: 'CONFLICT',
      field: 'name',
    });
  });

  it('should update only the given fields and validate them as on create', async () => {
    const { createAlertRule: rule } = await data(service.url, CREATE, { input: valid() });
    const { updateAlertRule: updated } = await data(service.url, UPDATE, {
      id: rule.id,
      input: { threshold: 500, labels: [] },
    });
    expect(updated).toMatchObject({ ...rule, threshold: 500, labels: [] });
    expect(errorOf(await gql(service.url, UPDATE, { id: rule.id, input: { metric: 'Bad' } }))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'metric',
    });
  });

  it('should answer NOT_FOUND naming id for unknown rules on read, update and delete', async () => {
    const id = '00000000-0000-0000-0000-000000000000';
    const expected = { code: 'NOT_FOUND', field: 'id' };
    expect(errorOf(await gql(service.url, `query($id: ID!) { alertRule(id: $id) { id } }`, { id }))).toEqual(
      expected,
    );
    expect(errorOf(await gql(service.url, UPDATE, { id, input: { threshold: 1 } }))).toEqual(expected);
    expect(
      errorOf(await gql(service.url, `mutation($id: ID!) { deleteAlertRule(id: $id) { id } }`, { id })),
    ).toEqual(expected);
  });

  it('should delete a rule', async () => {
    const { createAlertRule: rule } = await data(service.url, CREATE, { input: valid() });
    await data(service.url, `mutation($id: ID!) { deleteAlertRule(id: $id) { id } }`, { id: rule.id });
    const response = await gql(service.url, `query($id: ID!) { alertRule(id: $id) { id } }`, { id: rule.id });
    expect(errorOf(response).code).toBe('NOT_FOUND');
  });

  describe('recordMetrics', () => {
    const sample = (overrides: Record<string, unknown> = {}) => ({
      deployment: 'prices',
      metric: 'error_rate',
      value: 0.01,
      ...overrides,
    });

    it('should answer the number of samples recorded', async () => {
      expect(
        (await data(service.url, RECORD, { s: [sample(), sample({ metric: 'sharpe', value: 1.2 })] }))
          .recordMetrics,
      ).toBe(2);
      expect((await data(service.url, RECORD, { s: [] })).recordMetrics).toBe(0);
    });

    it('should refuse a batch over 1000 samples with LIMIT_EXCEEDED and the exact counts', async () => {
      const response = await gql(service.url, RECORD, { s: Array.from({ length: 1001 }, () => sample()) });
      expect(response.errors?.[0]).toMatchObject({
        message: 'A batch may hold at most 1000 samples; got 1001',
        extensions: { code: 'LIMIT_EXCEEDED', field: 'samples', count: 1001, limit: 1000 },
      });
    });

    it.each([
      ['samples[1].metric', [sample(), sample({ metric: 'Bad Metric' })]],
      ['samples[0].deployment', [sample({ deployment: ' ' })]],
    ])('should refuse a bad %s with BAD_USER_INPUT naming it', async (field, samples) => {
      expect(errorOf(await gql(service.url, RECORD, { s: samples }))).toEqual({
        code: 'BAD_USER_INPUT',
        field,
      });
    });
  });
});
