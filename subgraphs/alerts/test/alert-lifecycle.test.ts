import type { AlertsService } from '../src';
import type { TestClock, TestDatabase } from './support';
import {
  ALERT_FIELDS,
  backends,
  callerHeaders,
  createTestClock,
  createTestDatabase,
  data,
  errorOf,
  eventually,
  gql,
  startReplica,
  startVerifiedReplica,
} from './support';

const CREATE = `mutation($input: CreateAlertRuleInput!) { createAlertRule(input: $input) { id } }`;
const RECORD = `mutation($s: [MetricSampleInput!]!) { recordMetrics(samples: $s) }`;
const ALERTS = `query($f: AlertFilter) { alerts(filter: $f) { ${ALERT_FIELDS} } }`;
const EVENTS = `query($after: ID, $f: AlertEventFilter) { alertEventsPage(after: $after, first: 1000, filter: $f) { events { cursor type state value silenced ruleId acknowledgedBy comment alert { id } } endCursor hasMore } }`;

describe.each(backends())('the alert lifecycle on %s', (kind) => {
  let database: TestDatabase;
  let service: AlertsService;
  /** A replica given the gateway's keys: it knows who calls, from the signed identity. */
  let verified: AlertsService;
  let clock: TestClock;
  let counter = 0;
  const unique = (prefix: string) => `${prefix}-${++counter}`;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    clock = createTestClock();
    service = await startReplica({
      database: database.config,
      clock,
      config: { sampleStalenessMs: 300_000 },
    });
    verified = await startVerifiedReplica({ database: database.config, clock });
  });
  afterAll(async () => {
    await verified?.close();
    await service?.close();
    await database?.drop();
  });

  /** A rule on its own deployment, so that tests do not see each other's alerts. */
  async function rule(overrides: Record<string, unknown> = {}) {
    const deployment = unique('dep');
    const input = {
      name: unique('rule'),
      deployment,
      metric: 'error_rate',
      comparison: 'GT',
      threshold: 0.05,
      forSeconds: 60,
      severity: 'CRITICAL',
      labels: [{ name: 'team', value: 'serving' }],
      ...overrides,
    };
    const { createAlertRule } = await data(service.url, CREATE, { input });
    return { id: createAlertRule.id as string, deployment: input.deployment as string, name: input.name };
  }
  const record = (deployment: string, value: number, metric = 'error_rate') =>
    data(service.url, RECORD, { s: [{ deployment, metric, value }] });
  const alertsOf = async (deployment: string) =>
    (await data(service.url, ALERTS, { f: { deployment } })).alerts;
  const eventsOf = async (alertIds: string[], after?: string) => {
    const { alertEventsPage } = await data(service.url, EVENTS, { after, f: { includeSilenced: true } });
    return alertEventsPage.events.filter((e: { alert: { id: string } }) => alertIds.includes(e.alert.id));
  };

  it('should go PENDING, then FIRING after forSeconds, then RESOLVED, raising one event each', async () => {
    const { deployment, id: ruleId } = await rule();
    await record(deployment, 0.2);
    const [pending] = await alertsOf(deployment);
    expect(pending).toMatchObject({
      state: 'PENDING',
      value: 0.2,
      activeAt: new Date(clock.now()).toISOString(),
      firedAt: null,
      resolvedAt: null,
      deployment: { name: deployment },
      rule: { id: ruleId },
      labels: [
        { name: 'deployment', value: deployment },
        { name: 'metric', value: 'error_rate' },
        { name: 'team', value: 'serving' },
      ],
    });

    clock.advance(59_000);
    await service.evaluateNow();
    expect((await alertsOf(deployment))[0]).toMatchObject({ state: 'PENDING' });

    clock.advance(1_000);
    await record(deployment, 0.3);
    const [firing] = await alertsOf(deployment);
    expect(firing).toMatchObject({
      id: pending.id,
      state: 'FIRING',
      value: 0.3,
      firedAt: new Date(clock.now()).toISOString(),
    });

    clock.advance(15_000);
    await record(deployment, 0.01);
    const [resolved] = await alertsOf(deployment);
    expect(resolved).toMatchObject({
      id: pending.id,
      state: 'RESOLVED',
      value: 0.01,
      resolvedAt: new Date(clock.now()).toISOString(),
    });

    const events = await eventsOf([pending.id]);
    expect(events.map((e: { type: string }) => e.type)).toEqual(['PENDING', 'FIRING', 'RESOLVED']);
    expect(events.map((e: { state: string }) => e.state)).toEqual(['PENDING', 'FIRING', 'RESOLVED']);
    expect(events.every((e: { ruleId: string }) => e.ruleId === ruleId)).toBe(true);
  });

  it('should not fire twice while the condition stays true, and open a new alert for a new incident', async () => {
    const { deployment } = await rule({ forSeconds: 0 });
    await record(deployment, 0.5);
    for (let i = 0; i < 3; i++) {
      clock.advance(15_000);
      await record(deployment, 0.5 + i);
      await service.evaluateNow();
    }
    const [first] = await alertsOf(deployment);
    expect(first).toMatchObject({ state: 'FIRING', value: 2.5 });
    expect((await eventsOf([first.id])).map((e: { type: string }) => e.type)).toEqual(['FIRING']);

    clock.advance(15_000);
    await record(deployment, 0);
    clock.advance(15_000);
    await record(deployment, 0.9);
    const alerts = await alertsOf(deployment);
    expect(alerts).toHaveLength(2);
    const [second, again] = alerts;
    expect(again.id).toBe(first.id);
    expect(again.state).toBe('RESOLVED');
    expect(second).toMatchObject({ state: 'FIRING', fingerprint: first.fingerprint });
    expect(second.id).not.toBe(first.id);
    expect((await eventsOf([first.id, second.id])).map((e: { type: string }) => e.type)).toEqual([
      'FIRING',
      'RESOLVED',
      'FIRING',
    ]);
  });

  it('should resolve a PENDING alert whose condition clears before forSeconds, with firedAt null', async () => {
    const { deployment } = await rule({ forSeconds: 300 });
    await record(deployment, 0.2);
    clock.advance(10_000);
    await record(deployment, 0.01);
    const [alert] = await alertsOf(deployment);
    expect(alert).toMatchObject({ state: 'RESOLVED', firedAt: null });
    expect((await eventsOf([alert.id])).map((e: { type: string }) => e.type)).toEqual([
      'PENDING',
      'RESOLVED',
    ]);
  });

  it('should resolve when the latest sample goes stale, and evaluate nothing without a sample', async () => {
    const { deployment } = await rule({ forSeconds: 0 });
    await service.evaluateNow();
    expect(await alertsOf(deployment)).toEqual([]);
    await record(deployment, 0.2);
    clock.advance(300_000);
    await service.evaluateNow();
    expect((await alertsOf(deployment))[0].state).toBe('FIRING');
    clock.advance(1);
    await service.evaluateNow();
    expect((await alertsOf(deployment))[0]).toMatchObject({ state: 'RESOLVED', value: null });
  });

  it('should keep the newest sample: an older one recorded later does not replace it', async () => {
    const { deployment } = await rule({ forSeconds: 0 });
    await record(deployment, 0.2);
    const earlier = new Date(clock.now() - 60_000).toISOString();
    await data(service.url, RECORD, { s: [{ deployment, metric: 'error_rate', value: 0, at: earlier }] });
    await service.evaluateNow();
    expect((await alertsOf(deployment))[0]).toMatchObject({ state: 'FIRING', value: 0.2 });
  });

  it.each([
    ['GTE', 1, 1, true],
    ['GT', 1, 1, false],
    ['LT', 0.5, 1, true],
    ['LTE', 1, 1, true],
    ['EQ', 1, 1, true],
    ['NE', 1, 1, false],
  ])('should compare with %s (value %d, threshold %d → %s)', async (comparison, value, threshold, fires) => {
    const { deployment } = await rule({ comparison, threshold, forSeconds: 0, metric: 'sharpe' });
    await record(deployment, value as number, 'sharpe');
    expect((await alertsOf(deployment)).length).toBe(fires ? 1 : 0);
  });

  it('should resolve the open alert when its rule is deleted, keeping the alert with rule null', async () => {
    const { deployment, id } = await rule({ forSeconds: 0 });
    await record(deployment, 0.2);
    await data(service.url, `mutation($id: ID!) { deleteAlertRule(id: $id) { id } }`, { id });
    const [alert] = await alertsOf(deployment);
    expect(alert).toMatchObject({ state: 'RESOLVED', rule: null });
    expect((await eventsOf([alert.id])).map((e: { type: string }) => e.type)).toEqual(['FIRING', 'RESOLVED']);
  });

  it('should resolve the old identity and open a new one when the rule labels change', async () => {
    const { deployment, id } = await rule({ forSeconds: 0 });
    await record(deployment, 0.2);
    const [before] = await alertsOf(deployment);
    await data(
      service.url,
      `mutation($id: ID!) { updateAlertRule(id: $id, input: { labels: [{ name: "team", value: "oncall" }] }) { id } }`,
      {
        id,
      },
    );
    await service.evaluateNow();
    const alerts = await alertsOf(deployment);
    expect(alerts.map((a: { state: string }) => a.state).sort()).toEqual(['FIRING', 'RESOLVED']);
    const now = alerts.find((a: { state: string }) => a.state === 'FIRING');
    expect(now.fingerprint).not.toBe(before.fingerprint);
  });

  describe('acknowledgeAlert', () => {
    const ACK = `mutation($id: ID!, $by: String, $c: String) { acknowledgeAlert(id: $id, by: $by, comment: $c) { ${ALERT_FIELDS} } }`;
    const ack = (subject: string, variables: Record<string, unknown>) =>
      gql(verified.url, ACK, variables, callerHeaders(subject));

    async function firingAlert(): Promise<{ id: string; deployment: string }> {
      const { deployment } = await rule({ forSeconds: 0 });
      await record(deployment, 0.2);
      const [alert] = await alertsOf(deployment);
      return { id: alert.id, deployment };
    }

    it('should record the verified caller as the acknowledger, with an ACKNOWLEDGED event', async () => {
      const alert = await firingAlert();
      const { acknowledgeAlert } = await data(
        verified.url,
        ACK,
        { id: alert.id, c: 'looking' },
        callerHeaders('ada'),
      );
      expect(acknowledgeAlert).toMatchObject({
        state: 'FIRING',
        acknowledgedBy: 'ada',
        acknowledgedAt: new Date(clock.now()).toISOString(),
      });
      const events = await eventsOf([alert.id]);
      expect(events[events.length - 1]).toMatchObject({
        type: 'ACKNOWLEDGED',
        state: 'FIRING',
        acknowledgedBy: 'ada',
        comment: 'looking',
      });
    });

    it('should answer CONFLICT when already acknowledged, INVALID_STATE when resolved, NOT_FOUND when unknown', async () => {
      const alert = await firingAlert();
      expect((await ack('ada', { id: alert.id, by: 'ada' })).errors).toBeUndefined();
      const again = await ack('bob', { id: alert.id });
      expect(errorOf(again)).toEqual({ code: 'CONFLICT', field: 'id' });
      expect(again.errors?.[0]?.extensions?.acknowledgedBy).toBe('ada');
      await record(alert.deployment, 0);
      expect(errorOf(await ack('bob', { id: alert.id }))).toEqual({ code: 'INVALID_STATE', field: 'id' });
      expect(errorOf(await ack('bob', { id: 'nope' }))).toEqual({ code: 'NOT_FOUND', field: 'id' });
      expect(
        (await eventsOf([alert.id])).filter((e: { type: string }) => e.type === 'ACKNOWLEDGED'),
      ).toHaveLength(1);
    });

    it('should refuse a by naming anyone but the verified caller (FORBIDDEN), and a caller it cannot verify (UNAUTHENTICATED)', async () => {
      const alert = await firingAlert();

      expect(errorOf(await ack('bob', { id: alert.id, by: 'ada' }))).toEqual({
        code: 'FORBIDDEN',
        field: 'by',
      });
      expect(errorOf(await ack('bob', { id: alert.id, by: '  ' }))).toEqual({
        code: 'FORBIDDEN',
        field: 'by',
      });
      // The replica without keys trusts every caller but knows none: nobody to record.
      expect(errorOf(await gql(service.url, ACK, { id: alert.id, by: 'ada' }))).toMatchObject({
        code: 'UNAUTHENTICATED',
      });
      const [after] = await alertsOf(alert.deployment);
      expect(after.acknowledgedBy).toBeNull();
    });
  });

  describe('silences', () => {
    const SILENCE = `mutation($i: CreateSilenceInput!) { createSilence(input: $i) { id active startsAt endsAt createdBy matchers { name value isRegex isEqual } } }`;
    const inOneHour = () => new Date(clock.now() + 3_600_000).toISOString();
    /** Creates a silence as the verified caller `subject`. */
    const silence = (input: Record<string, unknown>, subject = 'ada') =>
      gql(verified.url, SILENCE, { i: input }, callerHeaders(subject));
    const created = async (input: Record<string, unknown>, subject = 'ada') => {
      const response = await silence(input, subject);
      if (response.errors) throw new Error(`GraphQL errors: ${JSON.stringify(response.errors)}`);
      return response.data!.createSilence;
    };
    /** The silences whose matchers include `value`: each test below matches on a value of its own. */
    const silencesMatching = async (value: string) =>
      (await data(service.url, `{ silences { id matchers { value } } }`)).silences.filter(
        (s: { matchers: { value: string }[] }) => s.matchers.some((m) => m.value === value),
      );

    it('should persist state changes while silenced, mark their events silenced and the alert silenced', async () => {
      const { deployment } = await rule({ forSeconds: 0 });
      const createSilence = await created({
        matchers: [{ name: 'deployment', value: deployment }],
        endsAt: inOneHour(),
        comment: 'maintenance',
      });
      expect(createSilence).toMatchObject({
        active: true,
        createdBy: 'ada',
        matchers: [{ name: 'deployment', value: deployment, isRegex: false, isEqual: true }],
      });
      await record(deployment, 0.2);
      const [alert] = await alertsOf(deployment);
      expect(alert).toMatchObject({ state: 'FIRING', silenced: true });
      const [firing] = await eventsOf([alert.id]);
      expect(firing).toMatchObject({ type: 'FIRING', silenced: true });
      const { alertEventsPage } = await data(service.url, EVENTS, { f: { deployment } });
      expect(alertEventsPage.events).toEqual([]);

      await data(service.url, `mutation($id: ID!) { expireSilence(id: $id) { active } }`, {
        id: createSilence.id,
      });
      expect((await alertsOf(deployment))[0].silenced).toBe(false);
      await record(deployment, 0);
      const events = await eventsOf([alert.id]);
      expect(events.map((e: { silenced: boolean }) => e.silenced)).toEqual([true, false]);
    });

    it('should match by regex, negation, alertname and severity', async () => {
      const { deployment, name } = await rule({ forSeconds: 0 });
      await created({
        matchers: [
          { name: 'alertname', value: name },
          { name: 'severity', value: 'CRIT.*', isRegex: true },
          { name: 'team', value: 'other', isEqual: false },
        ],
        endsAt: inOneHour(),
      });
      await record(deployment, 0.2);
      expect((await alertsOf(deployment))[0].silenced).toBe(true);
    });

    it('should list active and inactive silences and refuse expiring one twice', async () => {
      const createSilence = await created({
        matchers: [{ name: 'deployment', value: 'x' }],
        endsAt: inOneHour(),
      });
      const active = async (flag: boolean) =>
        (
          await data(service.url, `query($a: Boolean) { silences(active: $a) { id } }`, { a: flag })
        ).silences.map((s: { id: string }) => s.id);
      expect(await active(true)).toContain(createSilence.id);
      await data(service.url, `mutation($id: ID!) { expireSilence(id: $id) { id } }`, {
        id: createSilence.id,
      });
      expect(await active(true)).not.toContain(createSilence.id);
      expect(await active(false)).toContain(createSilence.id);
      const again = await gql(service.url, `mutation($id: ID!) { expireSilence(id: $id) { id } }`, {
        id: createSilence.id,
      });
      expect(errorOf(again)).toEqual({ code: 'INVALID_STATE', field: 'id' });
      const unknown = await gql(service.url, `mutation { expireSilence(id: "nope") { id } }`);
      expect(errorOf(unknown)).toEqual({ code: 'NOT_FOUND', field: 'id' });
    });

    it.each([
      ['matchers', { matchers: [] }],
      ['matchers[0].name', { matchers: [{ name: 'bad-name', value: 'x' }] }],
      ['matchers[0].value', { matchers: [{ name: 'a', value: '(', isRegex: true }] }],
      ['endsAt', { endsAt: new Date(Date.UTC(2000, 0, 1)).toISOString() }],
    ])('should refuse a bad %s with BAD_USER_INPUT naming it', async (field, overrides) => {
      const input = { matchers: [{ name: 'a', value: 'b' }], endsAt: inOneHour(), ...overrides };
      expect(errorOf(await silence(input))).toEqual({ code: 'BAD_USER_INPUT', field });
    });

    describe('who creates it', () => {
      it('should record the verified caller as createdBy when it is omitted', async () => {
        const { createdBy } = await created(
          { matchers: [{ name: 'team', value: 'omitted' }], endsAt: inOneHour() },
          'grace',
        );
        expect(createdBy).toBe('grace');
      });

      it('should accept a createdBy that repeats the verified caller', async () => {
        const { createdBy } = await created(
          { matchers: [{ name: 'team', value: 'repeated' }], endsAt: inOneHour(), createdBy: 'grace' },
          'grace',
        );
        expect(createdBy).toBe('grace');
      });

      it('should refuse a createdBy naming anyone else (even an empty one) with FORBIDDEN, creating nothing', async () => {
        for (const createdBy of ['ada', '']) {
          const refused = await silence(
            { matchers: [{ name: 'team', value: 'forged' }], endsAt: inOneHour(), createdBy },
            'mallory',
          );
          expect(errorOf(refused)).toEqual({ code: 'FORBIDDEN', field: 'createdBy' });
        }
        expect(await silencesMatching('forged')).toEqual([]);
      });

      it('should refuse a caller it cannot verify with UNAUTHENTICATED, creating nothing', async () => {
        // The replica without keys trusts every caller but knows none: nobody to record.
        const refused = await gql(service.url, SILENCE, {
          i: { matchers: [{ name: 'team', value: 'anonymous' }], endsAt: inOneHour(), createdBy: 'nobody' },
        });
        expect(errorOf(refused)).toMatchObject({ code: 'UNAUTHENTICATED' });
        expect(refused.errors?.[0]?.message).toMatch(/^Creating a silence takes a verified caller: /);
        expect(await silencesMatching('anonymous')).toEqual([]);
      });
    });
  });

  it('should page the event log after a cursor and refuse a malformed cursor', async () => {
    const { alertEventsPage: all } = await data(service.url, EVENTS, { f: { includeSilenced: true } });
    expect(all.events.length).toBeGreaterThan(3);
    const cursors = all.events.map((e: { cursor: string }) => Number(e.cursor));
    expect(cursors).toEqual([...cursors].sort((a, b) => a - b));
    const page = await data(
      service.url,
      `query($after: ID) { alertEventsPage(after: $after, first: 2, filter: { includeSilenced: true }) { events { cursor } endCursor hasMore } }`,
      { after: String(cursors[0]) },
    );
    expect(page.alertEventsPage).toEqual({
      events: [{ cursor: String(cursors[1]) }, { cursor: String(cursors[2]) }],
      endCursor: String(cursors[2]),
      hasMore: true,
    });
    expect(errorOf(await gql(service.url, EVENTS, { after: 'abc' }))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'after',
    });
  });

  it('should evaluate on the ALERTS_EVALUATION_INTERVAL_MS schedule when recordMetrics does not', async () => {
    const scheduled = await startReplica({
      database: database.config,
      clock,
      config: { evaluationIntervalMs: 50, evaluateOnRecord: false, migrateOnStart: false },
    });
    try {
      const { deployment } = await rule({ forSeconds: 0 });
      await data(scheduled.url, RECORD, { s: [{ deployment, metric: 'error_rate', value: 0.9 }] });
      await eventually(async () => (await alertsOf(deployment)).length > 0);
      expect((await alertsOf(deployment))[0]).toMatchObject({ state: 'FIRING', value: 0.9 });
    } finally {
      await scheduled.close();
    }
  });
});
