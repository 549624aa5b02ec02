import { backends } from './support/databases';
import { errorCodes, startExperimentsStack } from './support/experiments-stack';
import type { ExperimentsStack } from './support/experiments-stack';
import { postGraphQL } from './support/graphql-http';
import { bearerHeaders } from './support/jwt';

const RUN_FIELDS = `id name status lifecycleStage startTime endTime
  params { key value } tags { key value } metrics { key value step timestamp }`;

describe.each(backends())('experiments through the gateway on %s', (kind) => {
  let stack: ExperimentsStack;
  let counter = 0;
  const unique = (prefix: string) => `${prefix}-${kind}-${++counter}`;

  beforeAll(async () => {
    stack = await startExperimentsStack(kind);
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function createExperiment(name = unique('exp')): Promise<string> {
    const data = await stack.data(
      `mutation($name: String!) { createExperiment(input: { name: $name }) { id } }`,
      { name },
    );
    return data.createExperiment.id;
  }

  async function createRun(experimentId: string, extra: Record<string, unknown> = {}): Promise<string> {
    const data = await stack.data(`mutation($input: CreateRunInput!) { createRun(input: $input) { id } }`, {
      input: { experimentId, ...extra },
    });
    return data.createRun.id;
  }

  const LOG_BATCH = `mutation($input: LogBatchInput!) { logBatch(input: $input) { ${RUN_FIELDS} } }`;
  const logBatch = (input: Record<string, unknown>) => stack.gql(LOG_BATCH, { input });
  const getRun = async (id: string) =>
    (await stack.data(`query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`, { id })).run;

  describe('experiments', () => {
    it('should create an experiment with tags and read it back by id and by name', async () => {
      const name = unique('tagged');
      const created = await stack.data(
        `mutation($name: String!) { createExperiment(input: { name: $name, tags: [{ key: "team", value: "quant" }] }) {
           id name lifecycleStage createdAt tags { key value } } }`,
        { name },
      );
      expect(created.createExperiment).toMatchObject({
        name,
        lifecycleStage: 'ACTIVE',
        tags: [{ key: 'team', value: 'quant' }],
      });
      const byName = await stack.data(`query($name: String!) { experimentByName(name: $name) { id } }`, {
        name,
      });
      expect(byName.experimentByName.id).toBe(created.createExperiment.id);
    });

    it('should answer CONFLICT for a duplicate name and keep the first experiment', async () => {
      const name = unique('dup');
      const id = await createExperiment(name);
      const second = await stack.gql(
        `mutation($name: String!) { createExperiment(input: { name: $name }) { id } }`,
        { name },
      );
      expect(errorCodes(second)).toEqual(['CONFLICT']);
      expect(second.body.errors?.[0]?.extensions?.field).toBe('name');
      const byName = await stack.data(`query($name: String!) { experimentByName(name: $name) { id } }`, {
        name,
      });
      expect(byName.experimentByName.id).toBe(id);
    });

    it('should answer NOT_FOUND for an unknown experiment id', async () => {
      const response = await stack.gql(`{ experiment(id: "no-such-id") { id } }`);
      expect(errorCodes(response)).toEqual(['NOT_FOUND']);
    });

    it('should reject an empty name and a duplicate tag key with BAD_USER_INPUT', async () => {
      const empty = await stack.gql(`mutation { createExperiment(input: { name: "   " }) { id } }`);
      expect(errorCodes(empty)).toEqual(['BAD_USER_INPUT']);
      const name = unique('duptag');
      const dupTag = await stack.gql(
        `mutation($name: String!) { createExperiment(input: { name: $name, tags: [{ key: "a", value: "1" }, { key: "a", value: "2" }] }) { id } }`,
        { name },
      );
      expect(errorCodes(dupTag)).toEqual(['BAD_USER_INPUT']);
      const lookup = await stack.gql(`query($name: String!) { experimentByName(name: $name) { id } }`, {
        name,
      });
      expect(errorCodes(lookup)).toEqual(['NOT_FOUND']);
    });

    it('should delete and restore an experiment together with its runs', async () => {
      const experimentId = await createExperiment();
      const runId = await createRun(experimentId);
      await stack.data(`mutation($id: ID!) { deleteExperiment(id: $id) { id } }`, { id: experimentId });
      expect((await getRun(runId)).lifecycleStage).toBe('DELETED');
      const listed = await stack.data(`{ experiments(view: DELETED_ONLY, first: 1000) { nodes { id } } }`);
      expect(listed.experiments.nodes.map((n: { id: string }) => n.id)).toContain(experimentId);
      const createInDeleted = await stack.gql(
        `mutation($id: ID!) { createRun(input: { experimentId: $id }) { id } }`,
        { id: experimentId },
      );
      expect(errorCodes(createInDeleted)).toEqual(['INVALID_STATE']);
      await stack.data(`mutation($id: ID!) { restoreExperiment(id: $id) { id } }`, { id: experimentId });
      expect((await getRun(runId)).lifecycleStage).toBe('ACTIVE');
    });

    it('should page experiments with a cursor', async () => {
      for (let i = 0; i < 3; i++) await createExperiment();
      const first = await stack.data(
        `{ experiments(first: 2) { nodes { id } pageInfo { hasNextPage endCursor } } }`,
      );
      expect(first.experiments.nodes).toHaveLength(2);
      expect(first.experiments.pageInfo.hasNextPage).toBe(true);
      const next = await stack.data(
        `query($after: String) { experiments(first: 2, after: $after) { nodes { id } } }`,
        {
          after: first.experiments.pageInfo.endCursor,
        },
      );
      const ids = [...first.experiments.nodes, ...next.experiments.nodes].map((n: { id: string }) => n.id);
      expect(new Set(ids).size).toBe(ids.length);
    });
  });

  describe('runs', () => {
    it('should create a run, finish it and rename it', async () => {
      const runId = await createRun(await createExperiment(), {
        name: 'first-try',
        tags: [{ key: 'git', value: 'abc123' }],
      });
      const updated = await stack.data(
        `mutation($id: ID!) { updateRun(input: { runId: $id, status: FINISHED, name: "final" }) { name status endTime tags { key value } } }`,
        { id: runId },
      );
      expect(updated.updateRun).toMatchObject({
        name: 'final',
        status: 'FINISHED',
        tags: [{ key: 'git', value: 'abc123' }],
      });
      expect(updated.updateRun.endTime).not.toBeNull();
    });

    it('should reject an end time before the start time', async () => {
      const runId = await createRun(await createExperiment(), { startTime: '2026-01-02T00:00:00.000Z' });
      const response = await stack.gql(
        `mutation($id: ID!) { updateRun(input: { runId: $id, endTime: "2026-01-01T00:00:00.000Z" }) { id } }`,
        { id: runId },
      );
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
      expect((await getRun(runId)).endTime).toBeNull();
    });

    it('should answer NOT_FOUND for an unknown run and for a run in an unknown experiment', async () => {
      expect(errorCodes(await stack.gql(`{ run(id: "missing") { id } }`))).toEqual(['NOT_FOUND']);
      expect(
        errorCodes(await stack.gql(`mutation { createRun(input: { experimentId: "missing" }) { id } }`)),
      ).toEqual(['NOT_FOUND']);
      expect(errorCodes(await logBatch({ runId: 'missing', metrics: [{ key: 'a', value: 1 }] }))).toEqual([
        'NOT_FOUND',
      ]);
    });

    it('should set and delete run tags, and answer NOT_FOUND deleting a tag that is not there', async () => {
      const runId = await createRun(await createExperiment());
      await stack.data(`mutation($id: ID!) { setRunTag(runId: $id, key: "stage", value: "dev") { id } }`, {
        id: runId,
      });
      await stack.data(`mutation($id: ID!) { setRunTag(runId: $id, key: "stage", value: "prod") { id } }`, {
        id: runId,
      });
      expect((await getRun(runId)).tags).toEqual([{ key: 'stage', value: 'prod' }]);
      await stack.data(`mutation($id: ID!) { deleteRunTag(runId: $id, key: "stage") { id } }`, { id: runId });
      const again = await stack.gql(`mutation($id: ID!) { deleteRunTag(runId: $id, key: "stage") { id } }`, {
        id: runId,
      });
      expect(errorCodes(again)).toEqual(['NOT_FOUND']);
    });

    it('should refuse logging to a deleted run with INVALID_STATE until it is restored', async () => {
      const runId = await createRun(await createExperiment());
      await stack.data(`mutation($id: ID!) { deleteRun(id: $id) { id } }`, { id: runId });
      expect(errorCodes(await logBatch({ runId, metrics: [{ key: 'a', value: 1 }] }))).toEqual([
        'INVALID_STATE',
      ]);
      await stack.data(`mutation($id: ID!) { restoreRun(id: $id) { id } }`, { id: runId });
      expect(errorCodes(await logBatch({ runId, metrics: [{ key: 'a', value: 1 }] }))).toEqual([]);
    });

    it('should record dataset inputs once per name, digest and context', async () => {
      const runId = await createRun(await createExperiment());
      const datasets = [
        {
          name: 'prices',
          digest: 'abc',
          source: 'file:///prices.parquet',
          sourceType: 'local',
          context: 'training',
        },
      ];
      const mutation = `mutation($id: ID!, $d: [DatasetInputInput!]!) { logInputs(runId: $id, datasets: $d) { datasetInputs { name digest source sourceType context } } }`;
      await stack.data(mutation, { id: runId, d: datasets });
      const again = await stack.data(mutation, { id: runId, d: datasets });
      expect(again.logInputs.datasetInputs).toEqual(datasets);
    });
  });

  describe('logBatch', () => {
    it('should write metrics, params and tags and keep the latest point per key apart from the history', async () => {
      const runId = await createRun(await createExperiment());
      const response = await logBatch({
        runId,
        metrics: [
          { key: 'loss', value: 0.9, step: 1, timestamp: '2026-01-01T00:00:01.000Z' },
          { key: 'loss', value: 0.5, step: 3, timestamp: '2026-01-01T00:00:03.000Z' },
          { key: 'loss', value: 0.7, step: 2, timestamp: '2026-01-01T00:00:02.000Z' },
        ],
        params: [{ key: 'lr', value: '0.01' }],
        tags: [{ key: 'team', value: 'quant' }],
      });
      expect(errorCodes(response)).toEqual([]);
      const run = response.body.data?.logBatch as Record<string, unknown>;
      expect(run.metrics).toEqual([
        { key: 'loss', value: 0.5, step: 3, timestamp: '2026-01-01T00:00:03.000Z' },
      ]);
      expect(run.params).toEqual([{ key: 'lr', value: '0.01' }]);
      // An older step logged later leaves the latest point alone, but joins the history.
      await logBatch({ runId, metrics: [{ key: 'loss', value: 0.1, step: 0 }] });
      expect((await getRun(runId)).metrics[0]).toMatchObject({ value: 0.5, step: 3 });
      const history = await stack.data(
        `query($id: ID!) { metricHistory(runId: $id, key: "loss") { value step } }`,
        { id: runId },
      );
      expect(history.metricHistory).toEqual([
        { value: 0.1, step: 0 },
        { value: 0.9, step: 1 },
        { value: 0.7, step: 2 },
        { value: 0.5, step: 3 },
      ]);
    });

    it('should treat the same param value again as a no-op and a different value as CONFLICT', async () => {
      const runId = await createRun(await createExperiment());
      expect(errorCodes(await logBatch({ runId, params: [{ key: 'depth', value: '6' }] }))).toEqual([]);
      expect(errorCodes(await logBatch({ runId, params: [{ key: 'depth', value: '6' }] }))).toEqual([]);
      const changed = await logBatch({ runId, params: [{ key: 'depth', value: '7' }] });
      expect(errorCodes(changed)).toEqual(['CONFLICT']);
      expect(changed.body.errors?.[0]?.extensions).toMatchObject({ field: 'params', key: 'depth' });
      expect((await getRun(runId)).params).toEqual([{ key: 'depth', value: '6' }]);
    });

    it('should write nothing of a batch that fails part-way (a param conflict after valid metrics and tags)', async () => {
      const runId = await createRun(await createExperiment());
      await logBatch({ runId, params: [{ key: 'model', value: 'tree' }] });
      const response = await logBatch({
        runId,
        metrics: [{ key: 'rmse', value: 0.3 }],
        tags: [{ key: 'note', value: 'should vanish' }],
        params: [
          { key: 'fresh', value: 'x' },
          { key: 'model', value: 'forest' },
        ],
      });
      expect(errorCodes(response)).toEqual(['CONFLICT']);
      const run = await getRun(runId);
      expect(run.metrics).toEqual([]);
      expect(run.tags).toEqual([]);
      expect(run.params).toEqual([{ key: 'model', value: 'tree' }]);
      const history = await stack.data(
        `query($id: ID!) { metricHistory(runId: $id, key: "rmse") { value } }`,
        { id: runId },
      );
      expect(history.metricHistory).toEqual([]);
    });

    it('should refuse an over-limit batch with LIMIT_EXCEEDED naming the counts, writing nothing', async () => {
      const runId = await createRun(await createExperiment());
      const metrics = Array.from({ length: 1001 }, (_, i) => ({ key: 'm', value: i, step: i }));
      const response = await logBatch({ runId, metrics, params: [{ key: 'p', value: '1' }] });
      expect(errorCodes(response)).toEqual(['LIMIT_EXCEEDED']);
      expect(response.body.errors?.[0]?.message).toContain('got 1001 metrics, 1 params and 0 tags');
      expect(response.body.errors?.[0]?.extensions).toMatchObject({
        counts: { metrics: 1001, params: 1, tags: 0 },
        limits: { metrics: 1000, params: 100, tags: 100 },
      });
      expect((await getRun(runId)).params).toEqual([]);
    });

    it('should accept exactly 1000 metrics, 100 params and 100 tags', async () => {
      const runId = await createRun(await createExperiment());
      const response = await logBatch({
        runId,
        metrics: Array.from({ length: 1000 }, (_, i) => ({ key: `m${i % 10}`, value: i, step: i })),
        params: Array.from({ length: 100 }, (_, i) => ({ key: `p${i}`, value: String(i) })),
        tags: Array.from({ length: 100 }, (_, i) => ({ key: `t${i}`, value: String(i) })),
      });
      expect(errorCodes(response)).toEqual([]);
      const run = await getRun(runId);
      expect(run.metrics).toHaveLength(10);
      expect(run.params).toHaveLength(100);
      expect(run.tags).toHaveLength(100);
    });

    it.each([
      [
        'a key with a quote',
        { metrics: [{ key: "rmse'; DROP TABLE runs; --", value: 1 }] },
        'metrics[0].key',
      ],
      ['a key with a unicode look-alike', { params: [{ key: 'mоdel', value: 'x' }] }, 'params[0].key'],
      ['an empty key', { tags: [{ key: '', value: 'x' }] }, 'tags.key'],
      [
        'a param value over 6000 characters',
        { params: [{ key: 'big', value: 'x'.repeat(6001) }] },
        'params[0].value',
      ],
      [
        'a param twice with different values',
        {
          params: [
            { key: 'a', value: '1' },
            { key: 'a', value: '2' },
          ],
        },
        'params[1]',
      ],
    ])(
      'should refuse %s with BAD_USER_INPUT naming the field, writing nothing',
      async (_name, batch, field) => {
        const runId = await createRun(await createExperiment());
        const response = await logBatch({ runId, metrics: [{ key: 'ok', value: 1 }], ...batch });
        expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
        expect(response.body.errors?.[0]?.extensions?.field).toBe(field);
        expect((await getRun(runId)).metrics).toEqual([]);
      },
    );
  });

  describe('searchRuns', () => {
    let experimentId: string;
    const runIds: Record<string, string> = {};
    const SEARCH = `query($ids: [ID!]!, $filter: String, $orderBy: [String!], $first: Int, $after: String, $view: LifecycleView) {
      searchRuns(experimentIds: $ids, filter: $filter, orderBy: $orderBy, first: $first, after: $after, runView: $view) {
        edges { cursor node { id name } } pageInfo { hasNextPage endCursor } } }`;
    const search = (variables: Record<string, unknown>) =>
      stack.gql(SEARCH, { ids: [experimentId], ...variables });
    const names = async (variables: Record<string, unknown>) => {
      const response = await search(variables);
      expect(response.body.errors).toBeUndefined();
      return (response.body.data?.searchRuns as { edges: { node: { name: string } }[] }).edges.map(
        (e) => e.node.name,
      );
    };

    beforeAll(async () => {
      experimentId = await createExperiment();
      const fixtures = [
        { name: 'a', rmse: 0.5, model: 'tree', team: 'quant', status: 'FINISHED' },
        { name: 'b', rmse: 1.5, model: 'tree', team: 'Quant-eu', status: 'FINISHED' },
        { name: 'c', rmse: 0.2, model: 'linear', team: 'risk', status: 'FAILED' },
        { name: 'd', rmse: 0.8, model: "tree'; DROP TABLE runs; --", team: 'quant', status: 'RUNNING' },
        { name: 'e', rmse: null, model: 'tree', team: 'qa', status: 'RUNNING' },
      ];
      for (const [i, f] of fixtures.entries()) {
        const id = await createRun(experimentId, {
          name: f.name,
          startTime: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
        });
        runIds[f.name] = id;
        await logBatch({
          runId: id,
          metrics: f.rmse === null ? [] : [{ key: 'rmse', value: f.rmse }],
          params: [{ key: 'model', value: f.model }],
          tags: [{ key: 'team', value: f.team }],
        });
        if (f.status !== 'RUNNING') {
          await stack.data(
            `mutation($id: ID!, $s: RunStatus!) { updateRun(input: { runId: $id, status: $s }) { id } }`,
            {
              id,
              s: f.status,
            },
          );
        }
      }
    });

    it('should filter on a metric, a param, a tag with ILIKE and an attribute together', async () => {
      const filter =
        "metrics.rmse < 1 and params.model = 'tree' and tags.team ILIKE 'q%' and attributes.status = 'FINISHED'";
      expect(await names({ filter })).toEqual(['a']);
    });

    it('should match LIKE case-sensitively and ILIKE case-insensitively', async () => {
      expect((await names({ filter: "tags.team LIKE 'Q%'" })).sort()).toEqual(['b']);
      expect((await names({ filter: "tags.team ILIKE 'Q%'" })).sort()).toEqual(['a', 'b', 'd', 'e']);
    });

    it('should order by a metric with runs lacking it last, then by start time', async () => {
      expect(await names({ orderBy: ['metrics.rmse ASC'] })).toEqual(['c', 'a', 'd', 'b', 'e']);
      expect(await names({ orderBy: ['metrics.rmse DESC'] })).toEqual(['b', 'd', 'a', 'c', 'e']);
      expect(await names({})).toEqual(['e', 'd', 'c', 'b', 'a']);
    });

    it('should support quoted keys, OR, parentheses, IN and IS NULL', async () => {
      expect((await names({ filter: 'metrics.`rmse` > 1 OR params."model" = \'linear\'' })).sort()).toEqual([
        'b',
        'c',
      ]);
      expect(
        (await names({ filter: "(tags.team = 'risk' or tags.team = 'qa') and metrics.rmse IS NULL" })).sort(),
      ).toEqual(['e']);
      expect((await names({ filter: "attributes.run_name IN ('a', 'c')" })).sort()).toEqual(['a', 'c']);
    });

    it('should treat injection attempts in values as literals and leave every table in place', async () => {
      expect(await names({ filter: `params.model = 'tree''; DROP TABLE runs; --'` })).toEqual(['d']);
      expect(await names({ filter: `params.model = 'x'' OR ''1''=''1'` })).toEqual([]);
      expect(await names({ filter: "tags.`team'; DELETE FROM runs; --` = 'x'" })).toEqual([]);
      expect(await names({})).toHaveLength(5);
    });

    it('should answer BAD_USER_INPUT with the position of a malformed filter, and for injections outside quotes', async () => {
      const malformed = await search({ filter: 'metrics.rmse <> 1' });
      expect(errorCodes(malformed)).toEqual(['BAD_USER_INPUT']);
      expect(malformed.body.errors?.[0]?.extensions).toMatchObject({
        field: 'filter',
        position: expect.any(Number),
      });
      for (const filter of [
        "params.model = 'tree'; DROP TABLE runs",
        'metrics.rmse < 1 -- comment',
        "params.model ＝ 'tree'",
      ]) {
        expect(errorCodes(await search({ filter }))).toEqual(['BAD_USER_INPUT']);
      }
      expect(errorCodes(await search({ orderBy: ['datasets.name'] }))).toEqual(['BAD_USER_INPUT']);
    });

    it('should page with keyset cursors that stay stable when runs are inserted between pages', async () => {
      const first = await search({ first: 2, orderBy: ['attributes.start_time ASC'] });
      const page1 = first.body.data?.searchRuns as {
        edges: { node: { name: string } }[];
        pageInfo: { endCursor: string; hasNextPage: boolean };
      };
      expect(page1.edges.map((e) => e.node.name)).toEqual(['a', 'b']);
      expect(page1.pageInfo.hasNextPage).toBe(true);
      // A run that sorts before the cursor and one that sorts after it arrive between the pages.
      await createRun(experimentId, { name: 'early', startTime: '2025-12-31T00:00:00.000Z' });
      await createRun(experimentId, { name: 'late', startTime: '2026-06-01T00:00:00.000Z' });
      const rest = await names({
        first: 10,
        after: page1.pageInfo.endCursor,
        orderBy: ['attributes.start_time ASC'],
      });
      expect(rest).toEqual(['c', 'd', 'e', 'late']);
    });

    it('should page through runs that have the sort key into runs that lack it without loss or repeat', async () => {
      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 5; page++) {
        const response = await search({
          first: 2,
          after,
          orderBy: ['metrics.rmse ASC'],
          filter: "attributes.run_name IN ('a', 'b', 'c', 'd', 'e')",
        });
        const connection = response.body.data?.searchRuns as {
          edges: { node: { name: string } }[];
          pageInfo: { hasNextPage: boolean; endCursor: string };
        };
        seen.push(...connection.edges.map((e) => e.node.name));
        if (!connection.pageInfo.hasNextPage) break;
        after = connection.pageInfo.endCursor;
      }
      expect(seen).toEqual(['c', 'a', 'd', 'b', 'e']);
    });

    it('should order by a param and by a tag', async () => {
      const filter = "attributes.run_name IN ('a', 'b', 'c', 'd', 'e')";
      expect(await names({ filter, orderBy: ['tags.team ASC'] })).toEqual(['b', 'e', 'd', 'a', 'c']);
      expect(await names({ filter, orderBy: ['params.model DESC', 'attributes.run_name DESC'] })).toEqual([
        'd',
        'e',
        'b',
        'a',
        'c',
      ]);
    });

    it('should page by a param in the same order as one big page', async () => {
      const variables = {
        orderBy: ['params.model DESC'],
        filter: "attributes.run_name IN ('a', 'b', 'c', 'd', 'e')",
      };
      const whole = await names({ ...variables, first: 100 });
      const paged: string[] = [];
      let after: string | null = null;
      do {
        const response = await search({ ...variables, first: 2, after });
        const connection = response.body.data?.searchRuns as {
          edges: { node: { name: string } }[];
          pageInfo: { hasNextPage: boolean; endCursor: string };
        };
        paged.push(...connection.edges.map((e) => e.node.name));
        after = connection.pageInfo.hasNextPage ? connection.pageInfo.endCursor : null;
      } while (after);
      expect(paged).toEqual(whole);
    });

    it('should compare long param values in full beyond their indexed prefix', async () => {
      const prefix = 'p'.repeat(250);
      const ids = await Promise.all(
        ['x', 'y'].map((suffix) => createRun(experimentId, { name: `long-${suffix}` })),
      );
      await logBatch({ runId: ids[0], params: [{ key: 'blob', value: `${prefix}x` }] });
      await logBatch({ runId: ids[1], params: [{ key: 'blob', value: `${prefix}y` }] });
      expect(await names({ filter: `params.blob = '${prefix}y'` })).toEqual(['long-y']);
      expect(await names({ filter: 'params.blob IS NOT NULL', orderBy: ['params.blob DESC'] })).toEqual([
        'long-y',
        'long-x',
      ]);
      expect(
        await names({ filter: 'params.blob IS NOT NULL', orderBy: ['params.blob ASC'], first: 1 }),
      ).toEqual(['long-x']);
      // Characters outside the BMP count as one character in SQL, two code units in JavaScript.
      const emoji = '📈'.repeat(199);
      await logBatch({ runId: ids[0], params: [{ key: 'chart', value: `${emoji}a` }] });
      await logBatch({ runId: ids[1], params: [{ key: 'chart', value: `${emoji}ab` }] });
      expect(await names({ filter: `params.chart = '${emoji}a'` })).toEqual(['long-x']);
      expect(await names({ filter: `params.chart = '${emoji}ab'` })).toEqual(['long-y']);
      for (const id of ids) await stack.data(`mutation($id: ID!) { deleteRun(id: $id) { id } }`, { id });
    });

    it('should refuse a cursor from another query and a garbage cursor', async () => {
      const first = await search({ first: 1, orderBy: ['metrics.rmse ASC'] });
      const cursor = (first.body.data?.searchRuns as { pageInfo: { endCursor: string } }).pageInfo.endCursor;
      expect(errorCodes(await search({ first: 1, after: cursor, orderBy: ['metrics.rmse DESC'] }))).toEqual([
        'BAD_USER_INPUT',
      ]);
      expect(errorCodes(await search({ after: 'not-a-cursor' }))).toEqual(['BAD_USER_INPUT']);
    });

    it('should answer NOT_FOUND naming unknown experiment ids and LIMIT_EXCEEDED for a huge page', async () => {
      const unknown = await stack.gql(SEARCH, { ids: [experimentId, 'nope'] });
      expect(errorCodes(unknown)).toEqual(['NOT_FOUND']);
      expect(unknown.body.errors?.[0]?.extensions?.missing).toEqual(['nope']);
      expect(errorCodes(await search({ first: 5000 }))).toEqual(['LIMIT_EXCEEDED']);
    });

    it('should find deleted runs only in the DELETED_ONLY and ALL views', async () => {
      await stack.data(`mutation($id: ID!) { deleteRun(id: $id) { id } }`, { id: runIds.c });
      expect(await names({ filter: "attributes.run_name = 'c'" })).toEqual([]);
      expect(await names({ filter: "attributes.run_name = 'c'", view: 'DELETED_ONLY' })).toEqual(['c']);
      expect(await names({ filter: "attributes.run_name = 'c'", view: 'ALL' })).toEqual(['c']);
      await stack.data(`mutation($id: ID!) { restoreRun(id: $id) { id } }`, { id: runIds.c });
    });

    it('should filter on datasets', async () => {
      await stack.data(
        `mutation($id: ID!) { logInputs(runId: $id, datasets: [{ name: "prices-2025", digest: "d1", context: "training" }]) { id } }`,
        {
          id: runIds.a,
        },
      );
      expect(
        await names({ filter: "datasets.name LIKE 'prices%' and datasets.context = 'training'" }),
      ).toEqual(['a']);
    });
  });

  describe('metricHistory', () => {
    it('should downsample a long history keeping the first, last, minimum and maximum points', async () => {
      const runId = await createRun(await createExperiment());
      const values = Array.from(
        { length: 5000 },
        (_, i) => Math.sin(i / 50) * 10 + (i === 1234 ? 100 : 0) - (i === 4321 ? 100 : 0),
      );
      for (let start = 0; start < values.length; start += 1000) {
        const metrics = values
          .slice(start, start + 1000)
          .map((value, j) => ({ key: 'pnl', value, step: start + j }));
        expect(errorCodes(await logBatch({ runId, metrics }))).toEqual([]);
      }
      const data = await stack.data(
        `query($id: ID!) { metricHistory(runId: $id, key: "pnl", maxPoints: 100) { value step } }`,
        { id: runId },
      );
      const points: { value: number; step: number }[] = data.metricHistory;
      expect(points.length).toBeLessThanOrEqual(100);
      expect(points.length).toBeGreaterThan(50);
      const steps = points.map((p) => p.step);
      expect(steps).toEqual([...steps].sort((a, b) => a - b));
      expect(steps[0]).toBe(0);
      expect(steps[steps.length - 1]).toBe(4999);
      expect(points.find((p) => p.step === 1234)?.value).toBe(values[1234]);
      expect(points.find((p) => p.step === 4321)?.value).toBe(values[4321]);
    });

    it('should answer BAD_USER_INPUT for maxPoints below 4 and NOT_FOUND for an unknown run', async () => {
      const runId = await createRun(await createExperiment());
      expect(
        errorCodes(
          await stack.gql(`query($id: ID!) { metricHistory(runId: $id, key: "x", maxPoints: 3) { value } }`, {
            id: runId,
          }),
        ),
      ).toEqual(['BAD_USER_INPUT']);
      expect(errorCodes(await stack.gql(`{ metricHistory(runId: "missing", key: "x") { value } }`))).toEqual([
        'NOT_FOUND',
      ]);
    });
  });

  describe('who may record experiments', () => {
    const as = (headers: Record<string, string>, query: string, variables: Record<string, unknown> = {}) =>
      postGraphQL(stack.gatewayUrl, query, { variables, headers });
    let experimentId: string;
    let runId: string;

    beforeAll(async () => {
      experimentId = await createExperiment(unique('guarded'));
      runId = await createRun(experimentId, { name: 'guarded' });
    });

    /** Every mutation of the subgraph, with variables naming the experiment and run above. */
    const WRITES: [string, string, () => Record<string, unknown>][] = [
      ['createExperiment', `mutation { createExperiment(input: { name: "refused" }) { id } }`, () => ({})],
      [
        'renameExperiment',
        `mutation($e: ID!) { renameExperiment(id: $e, name: "refused") { id } }`,
        () => ({ e: experimentId }),
      ],
      [
        'deleteExperiment',
        `mutation($e: ID!) { deleteExperiment(id: $e) { id } }`,
        () => ({ e: experimentId }),
      ],
      [
        'restoreExperiment',
        `mutation($e: ID!) { restoreExperiment(id: $e) { id } }`,
        () => ({ e: experimentId }),
      ],
      [
        'setExperimentTag',
        `mutation($e: ID!) { setExperimentTag(experimentId: $e, key: "refused", value: "x") { id } }`,
        () => ({ e: experimentId }),
      ],
      [
        'deleteExperimentTag',
        `mutation($e: ID!) { deleteExperimentTag(experimentId: $e, key: "refused") { id } }`,
        () => ({ e: experimentId }),
      ],
      [
        'createRun',
        `mutation($e: ID!) { createRun(input: { experimentId: $e, name: "refused" }) { id } }`,
        () => ({ e: experimentId }),
      ],
      [
        'updateRun',
        `mutation($r: ID!) { updateRun(input: { runId: $r, name: "refused" }) { id } }`,
        () => ({ r: runId }),
      ],
      ['deleteRun', `mutation($r: ID!) { deleteRun(id: $r) { id } }`, () => ({ r: runId })],
      ['restoreRun', `mutation($r: ID!) { restoreRun(id: $r) { id } }`, () => ({ r: runId })],
      [
        'setRunTag',
        `mutation($r: ID!) { setRunTag(runId: $r, key: "refused", value: "x") { id } }`,
        () => ({ r: runId }),
      ],
      [
        'deleteRunTag',
        `mutation($r: ID!) { deleteRunTag(runId: $r, key: "refused") { id } }`,
        () => ({ r: runId }),
      ],
      [
        'logBatch',
        `mutation($r: ID!) { logBatch(input: { runId: $r, metrics: [{ key: "refused", value: 1 }] }) { id } }`,
        () => ({ r: runId }),
      ],
      [
        'logInputs',
        `mutation($r: ID!) { logInputs(runId: $r, datasets: [{ name: "refused", digest: "d" }]) { id } }`,
        () => ({ r: runId }),
      ],
    ];

    it.each(WRITES)(
      'should refuse %s to a viewer (FORBIDDEN), an anonymous caller (UNAUTHENTICATED) and a token with another scope (FORBIDDEN)',
      async (_name, mutation, variables) => {
        for (const [headers, code] of [
          [bearerHeaders(['viewer']), 'FORBIDDEN'],
          [{}, 'UNAUTHENTICATED'],
          [bearerHeaders([], { scope: 'metrics:write serving:register' }), 'FORBIDDEN'],
        ] as const) {
          expect(errorCodes(await as(headers, mutation, variables()))).toEqual([code]);
        }
      },
    );

    it('should have changed nothing for the refused writes', async () => {
      const { experiment } = await stack.data(
        `query($e: ID!) { experiment(id: $e) { name lifecycleStage tags { key } } }`,
        { e: experimentId },
      );
      expect(experiment).toEqual({
        name: expect.stringMatching(/^guarded-/),
        lifecycleStage: 'ACTIVE',
        tags: [],
      });
      const run = await getRun(runId);
      expect(run).toMatchObject({ name: 'guarded', lifecycleStage: 'ACTIVE', tags: [], metrics: [] });
      expect(errorCodes(await stack.gql(`{ experimentByName(name: "refused") { id } }`))).toEqual([
        'NOT_FOUND',
      ]);
    });

    it('should let a data scientist create an experiment, a run and log to it', async () => {
      const writer = bearerHeaders(['data-scientist']);
      const created = await as(
        writer,
        `mutation($n: String!) { createExperiment(input: { name: $n }) { id } }`,
        {
          n: unique('by-ds'),
        },
      );
      expect(created.body.errors).toBeUndefined();
      const run = await as(writer, `mutation($e: ID!) { createRun(input: { experimentId: $e }) { id } }`, {
        e: (created.body.data as { createExperiment: { id: string } }).createExperiment.id,
      });
      const logged = await as(
        writer,
        `mutation($r: ID!) { logBatch(input: { runId: $r, metrics: [{ key: "rmse", value: 0.4 }] }) { metrics { key value } } }`,
        { r: (run.body.data as { createRun: { id: string } }).createRun.id },
      );
      expect(logged.body).toEqual({ data: { logBatch: { metrics: [{ key: 'rmse', value: 0.4 }] } } });
    });

    it('should let a training job whose service token holds only experiments:write create runs and log', async () => {
      const job = bearerHeaders([], { sub: 'service:trainer', scope: 'experiments:write' });
      const run = await as(
        job,
        `mutation($e: ID!) { createRun(input: { experimentId: $e, name: "job" }) { id } }`,
        {
          e: experimentId,
        },
      );
      expect(run.body.errors).toBeUndefined();
      const id = (run.body.data as { createRun: { id: string } }).createRun.id;
      const logged = await as(
        job,
        `mutation($r: ID!) { logBatch(input: { runId: $r, params: [{ key: "lr", value: "0.1" }] }) { params { key value } } }`,
        { r: id },
      );
      expect(logged.body).toEqual({ data: { logBatch: { params: [{ key: 'lr', value: '0.1' }] } } });
    });

    it('should keep reads open to anonymous callers and viewers', async () => {
      for (const headers of [{}, bearerHeaders(['viewer'])]) {
        const read = await as(
          headers,
          `query($e: ID!, $r: ID!) { experiment(id: $e) { id } run(id: $r) { id } searchRuns(experimentIds: [$e]) { edges { node { id } } } }`,
          { e: experimentId, r: runId },
        );
        expect(read.body.errors).toBeUndefined();
        expect(read.body.data).toMatchObject({ experiment: { id: experimentId }, run: { id: runId } });
      }
    });
  });

  describe('federation', () => {
    it('should resolve Run and Experiment entities by key, and null for unknown keys', async () => {
      const experimentId = await createExperiment();
      const runId = await createRun(experimentId, { name: 'entity' });
      const response = await fetch(stack.subgraphUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on Run { id name experiment { id } } ... on Experiment { id } } }`,
          variables: {
            r: [
              { __typename: 'Run', id: runId },
              { __typename: 'Experiment', id: experimentId },
              { __typename: 'Run', id: 'missing' },
            ],
          },
        }),
      });
      const body = (await response.json()) as { data: { _entities: unknown[] } };
      expect(body.data._entities).toEqual([
        { id: runId, name: 'entity', experiment: { id: experimentId } },
        { id: experimentId },
        null,
      ]);
    });
  });
});
