import { readFile } from 'node:fs/promises';
import type * as grpc from '@grpc/grpc-js';
import { backends } from './support/databases';
import { startDeploymentsStack } from './support/deployments-stack';
import type { DeploymentsStack } from './support/deployments-stack';
import { errorCodes } from './support/experiments-stack';
import type { GraphQLHttpResponse } from './support/graphql-http';
import { postGraphQL } from './support/graphql-http';
import { bearerHeaders } from './support/jwt';
import { SHIPPED_MODEL_PATH } from './support/artifacts';

const MODEL = 'stock-predictor';

const REVISION = `number kind strategy status statusMessage models { modelName version weight } createdAt activatedAt supersededAt`;
const DEPLOYMENT = `name status pool { name } currentRevision { ${REVISION} } servingRevision { ${REVISION} } revisions { number status }`;

const CREATE = `mutation($input: CreateDeploymentInput!) { createDeployment(input: $input) { ${DEPLOYMENT} } }`;
const ROLLOUT = `mutation($input: RolloutInput!) { rollout(input: $input) { ${DEPLOYMENT} } }`;
const SET_WEIGHTS = `mutation($d: String!, $e: Int!, $w: [VersionWeightInput!]!) { setTrafficWeights(deployment: $d, expectedRevision: $e, weights: $w) { ${DEPLOYMENT} } }`;
const PROMOTE = `mutation($d: String!, $e: Int!) { promote(deployment: $d, expectedRevision: $e) { ${DEPLOYMENT} } }`;
const ROLLBACK = `mutation($d: String!, $e: Int!) { rollback(deployment: $d, expectedRevision: $e) { ${DEPLOYMENT} } }`;

const weighted = (...pairs: [number, number][]) =>
  pairs.map(([version, weight]) => ({ modelName: MODEL, version, weight }));
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary response shapes
const dataOf = (response: GraphQLHttpResponse) => response.body.data as Record<string, any>;
const field = (response: GraphQLHttpResponse) => response.body.errors?.[0]?.extensions?.field;

describe.each(backends())('deployments through the gateway on %s', (kind) => {
  let stack: DeploymentsStack;
  let counter = 0;
  let pool: string;
  let runId: string;
  const unique = (prefix: string) => `${prefix}-${kind}-${++counter}`;

  /** Unpinned requests the sidecar answers, by the version that served each. */
  async function servedVersions(count: number, inference = stack.inference): Promise<string[]> {
    const features = Buffer.from(new Float32Array(20).fill(0.2).buffer);
    return Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<string>((resolve, reject) =>
            inference.ModelInfer(
              {
                model_name: MODEL,
                inputs: [{ name: 'features', datatype: 'FP32', shape: ['1', '20'] }],
                raw_input_contents: [features],
              },
              (error: grpc.ServiceError | null, response) =>
                error ? reject(error) : resolve(response!.model_version),
            ),
          ),
      ),
    );
  }

  beforeAll(async () => {
    stack = await startDeploymentsStack(kind);
    const { createExperiment } = await stack.data(
      `mutation { createExperiment(input: { name: "deploy-src" }) { id } }`,
    );
    const { createRun } = await stack.data(
      `mutation($e: ID!) { createRun(input: { experimentId: $e, name: "train" }) { id } }`,
      { e: createExperiment.id },
    );
    runId = createRun.id;
    await stack.data(
      `mutation($r: ID!) { logBatch(input: { runId: $r, metrics: [{ key: "rmse", value: 0.41, step: 1 }] }) { id } }`,
      { r: runId },
    );
    const upload = await fetch(new URL('/artifacts', stack.modelsUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: await readFile(SHIPPED_MODEL_PATH),
    });
    const { sha256 } = (await upload.json()) as { sha256: string };
    const register = (modelName: string, artifactSha256: string) =>
      stack.data(
        `mutation($i: RegisterModelVersionInput!) { registerModelVersion(input: $i) { version status } }`,
        { i: { modelName, source: { artifactSha256 }, runId } },
      );
    await stack.data(`mutation { createRegisteredModel(input: { name: "${MODEL}" }) { name } }`);
    // Versions 1 and 2 are on the sidecar's disk; 3 is READY in the registry but missing there
    // (a rollout ships it).
    for (let v = 1; v <= 3; v++)
      expect((await register(MODEL, sha256)).registerModelVersion.status).toBe('READY');
    await stack.data(`mutation { createRegisteredModel(input: { name: "broken" }) { name } }`);
    const junk = await fetch(new URL('/artifacts', stack.modelsUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from('not an onnx file'),
    });
    const broken = await register('broken', ((await junk.json()) as { sha256: string }).sha256);
    expect(broken.registerModelVersion.status).toBe('FAILED_REGISTRATION');

    pool = unique('pool');
    await stack.data(`mutation($n: String!) { createServingPool(name: $n) { name } }`, { n: pool });
    await stack.data(
      `mutation($p: String!, $a: String!) { registerEndpoint(pool: $p, grpcAddress: $a) { id } }`,
      {
        p: pool,
        a: stack.sidecar.grpcAddress,
      },
    );
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  const create = (name: string, models = weighted([1, 100]), strategy = 'DIRECT', poolName = pool) =>
    stack.gql(CREATE, { input: { name, pool: poolName, strategy, models } });
  const rollout = (deployment: string, expectedRevision: number, strategy: string, models: unknown[]) =>
    stack.gql(ROLLOUT, { input: { deployment, expectedRevision, strategy, models } });

  describe('serving pools and endpoints', () => {
    const REGISTER = `mutation($p: String!, $a: String!) { registerEndpoint(pool: $p, grpcAddress: $a) { id grpcAddress status } }`;
    const ENDPOINTS = `query($n: String!) { servingPool(name: $n) { name endpoints { id grpcAddress status statusReason } } }`;
    const DEREGISTER = `mutation($id: ID!) { deregisterEndpoint(endpointId: $id) { id pool grpcAddress } }`;

    it('should register an endpoint idempotently per address', async () => {
      const name = unique('pool');
      await stack.data(`mutation($n: String!) { createServingPool(name: $n) { name } }`, { n: name });
      const first = await stack.data(REGISTER, { p: name, a: '10.0.0.1:8001' });
      const again = await stack.data(REGISTER, { p: name, a: '10.0.0.1:8001' });
      expect(again.registerEndpoint.id).toBe(first.registerEndpoint.id);
      expect(first.registerEndpoint.status).toBe('UP');
      const read = await stack.data(ENDPOINTS, { n: name });
      expect(read.servingPool.endpoints).toHaveLength(1);
    });

    it('should report DOWN after the heartbeat timeout and UP again after a heartbeat', async () => {
      const name = unique('pool');
      await stack.data(`mutation($n: String!) { createServingPool(name: $n) { name } }`, { n: name });
      const { registerEndpoint } = await stack.data(REGISTER, { p: name, a: '10.0.0.2:8001' });
      stack.clock.advance(stack.heartbeatTimeoutMs + 1);
      const stale = await stack.data(ENDPOINTS, { n: name });
      expect(stale.servingPool.endpoints[0]).toMatchObject({ status: 'DOWN' });
      expect(stale.servingPool.endpoints[0].statusReason).toMatch(/No heartbeat/);
      const beat = await stack.data(`mutation($id: ID!) { heartbeat(endpointId: $id) { status } }`, {
        id: registerEndpoint.id,
      });
      expect(beat.heartbeat.status).toBe('UP');
      // The real sidecar's endpoint aged too; it heartbeats like a live sidecar would.
      await stack.data(REGISTER, { p: pool, a: stack.sidecar.grpcAddress });
    });

    it('should remove a deregistered endpoint from its pool, after which heartbeats answer NOT_FOUND', async () => {
      const name = unique('pool');
      await stack.data(`mutation($n: String!) { createServingPool(name: $n) { name } }`, { n: name });
      const leaving = (await stack.data(REGISTER, { p: name, a: '10.0.1.1:8001' })).registerEndpoint;
      await stack.data(REGISTER, { p: name, a: '10.0.1.2:8001' });

      const left = await stack.data(DEREGISTER, { id: leaving.id });

      expect(left.deregisterEndpoint).toEqual({ id: leaving.id, pool: name, grpcAddress: '10.0.1.1:8001' });
      const read = await stack.data(ENDPOINTS, { n: name });
      expect(read.servingPool.endpoints.map((e: { grpcAddress: string }) => e.grpcAddress)).toEqual([
        '10.0.1.2:8001',
      ]);
      const beat = await stack.gql(`mutation($id: ID!) { heartbeat(endpointId: $id) { id } }`, {
        id: leaving.id,
      });
      expect(errorCodes(beat)).toEqual(['NOT_FOUND']);
      const twice = await stack.gql(DEREGISTER, { id: leaving.id });
      expect(errorCodes(twice)).toEqual(['NOT_FOUND']);
      expect(field(twice)).toBe('endpointId');
      // The same address registering again (a restarted pod) is a new endpoint.
      const back = (await stack.data(REGISTER, { p: name, a: '10.0.1.1:8001' })).registerEndpoint;
      expect(back.id).not.toBe(leaving.id);
    });

    it('should roll out to a pool once an unreachable endpoint has left it (rollouts target only members)', async () => {
      const name = unique('pool');
      await stack.data(`mutation($n: String!) { createServingPool(name: $n) { name } }`, { n: name });
      const { sidecar } = await stack.startSidecar();
      await stack.data(REGISTER, { p: name, a: sidecar.grpcAddress });
      // Heartbeating, so UP, yet nothing answers there: rollouts to the pool fail while it is a member.
      const gone = (await stack.data(REGISTER, { p: name, a: '127.0.0.1:1' })).registerEndpoint;
      const blocked = dataOf(await create(unique('members'), weighted([1, 100]), 'DIRECT', name));
      expect(blocked.createDeployment).toMatchObject({ status: 'FAILED' });
      expect(blocked.createDeployment.currentRevision.statusMessage).toMatch(/127\.0\.0\.1:1/);

      await stack.data(DEREGISTER, { id: gone.id });

      const served = dataOf(await create(unique('members'), weighted([1, 100]), 'DIRECT', name));
      expect(served.createDeployment).toMatchObject({ status: 'ACTIVE' });
    }, 30_000);

    it('should mark endpoints UP or DOWN by their gRPC ServerReady probe', async () => {
      const name = unique('pool');
      await stack.data(`mutation($n: String!) { createServingPool(name: $n) { name } }`, { n: name });
      await stack.data(REGISTER, { p: name, a: stack.sidecar.grpcAddress });
      await stack.data(REGISTER, { p: name, a: '127.0.0.1:1' });
      const probed = await stack.data(
        `mutation($n: String!) { probeServingPool(name: $n) { endpoints { grpcAddress status statusReason } } }`,
        { n: name },
      );
      const byAddress = Object.fromEntries(
        probed.probeServingPool.endpoints.map((e: { grpcAddress: string }) => [e.grpcAddress, e]),
      );
      expect(byAddress[stack.sidecar.grpcAddress]).toMatchObject({ status: 'UP', statusReason: null });
      expect(byAddress['127.0.0.1:1']).toMatchObject({ status: 'DOWN' });
      expect(byAddress['127.0.0.1:1'].statusReason).toMatch(/ServerReady/);
    });

    it('should answer CONFLICT for a duplicate pool, NOT_FOUND for an unknown pool or endpoint, BAD_USER_INPUT for an address', async () => {
      const dup = await stack.gql(`mutation($n: String!) { createServingPool(name: $n) { name } }`, {
        n: pool,
      });
      expect(errorCodes(dup)).toEqual(['CONFLICT']);
      expect(field(dup)).toBe('name');
      const unknownPool = await stack.gql(REGISTER, { p: 'no-such-pool', a: '10.0.0.3:8001' });
      expect(errorCodes(unknownPool)).toEqual(['NOT_FOUND']);
      expect(field(unknownPool)).toBe('pool');
      const unknownEndpoint = await stack.gql(`mutation { heartbeat(endpointId: "nope") { id } }`);
      expect(errorCodes(unknownEndpoint)).toEqual(['NOT_FOUND']);
      expect(field(unknownEndpoint)).toBe('endpointId');
      const unknownLeaving = await stack.gql(DEREGISTER, { id: 'nope' });
      expect(errorCodes(unknownLeaving)).toEqual(['NOT_FOUND']);
      expect(field(unknownLeaving)).toBe('endpointId');
      const badAddress = await stack.gql(REGISTER, { p: pool, a: 'no-port' });
      expect(errorCodes(badAddress)).toEqual(['BAD_USER_INPUT']);
      expect(field(badAddress)).toBe('grpcAddress');
    });

    describe('who may change pools and endpoints', () => {
      const CREATE_POOL = `mutation($n: String!) { createServingPool(name: $n) { name } }`;
      const HEARTBEAT = `mutation($id: ID!) { heartbeat(endpointId: $id) { id status } }`;
      const PROBE = `mutation($n: String!) { probeServingPool(name: $n) { name } }`;
      const as = (headers: Record<string, string>, query: string, variables: Record<string, unknown>) =>
        postGraphQL(stack.gatewayUrl, query, { variables, headers });
      /** What a sidecar holds: a service token with the one scope registration takes. */
      const sidecar = bearerHeaders([], { sub: 'service:inference-sidecar', scope: 'serving:register' });
      const refusals = [
        [bearerHeaders(['viewer', 'data-scientist']), 'FORBIDDEN'],
        [{}, 'UNAUTHENTICATED'],
      ] as const;

      it('should refuse creating and probing a pool to a viewer, an anonymous caller and a sidecar token', async () => {
        const name = unique('refused-pool');
        for (const [headers, code] of [...refusals, [sidecar, 'FORBIDDEN'] as const]) {
          expect(errorCodes(await as(headers, CREATE_POOL, { n: name }))).toEqual([code]);
          expect(errorCodes(await as(headers, PROBE, { n: pool }))).toEqual([code]);
        }
        expect(
          errorCodes(await stack.gql(`query($n: String!) { servingPool(name: $n) { name } }`, { n: name })),
        ).toEqual(['NOT_FOUND']);
      });

      it('should refuse registering, heartbeating and deregistering to a viewer and an anonymous caller, changing nothing', async () => {
        const name = unique('pool');
        await stack.data(CREATE_POOL, { n: name });
        const { registerEndpoint } = await stack.data(REGISTER, { p: name, a: '10.0.3.1:8001' });
        for (const [headers, code] of refusals) {
          expect(errorCodes(await as(headers, REGISTER, { p: name, a: '10.0.3.2:8001' }))).toEqual([code]);
          expect(errorCodes(await as(headers, HEARTBEAT, { id: registerEndpoint.id }))).toEqual([code]);
          expect(errorCodes(await as(headers, DEREGISTER, { id: registerEndpoint.id }))).toEqual([code]);
        }
        const read = await stack.data(ENDPOINTS, { n: name });
        expect(read.servingPool.endpoints.map((e: { grpcAddress: string }) => e.grpcAddress)).toEqual([
          '10.0.3.1:8001',
        ]);
      });

      it('should let a sidecar token holding only serving:register register, heartbeat and deregister', async () => {
        const name = unique('pool');
        await stack.data(CREATE_POOL, { n: name });

        const registered = await as(sidecar, REGISTER, { p: name, a: '10.0.3.3:8001' });
        expect(registered.body.errors).toBeUndefined();
        const { id } = dataOf(registered).registerEndpoint;
        const beat = await as(sidecar, HEARTBEAT, { id });
        const left = await as(sidecar, DEREGISTER, { id });

        expect(beat.body).toEqual({ data: { heartbeat: { id, status: 'UP' } } });
        expect(left.body).toEqual({
          data: { deregisterEndpoint: { id, pool: name, grpcAddress: '10.0.3.3:8001' } },
        });
        expect((await stack.data(ENDPOINTS, { n: name })).servingPool.endpoints).toEqual([]);
      });
    });
  });

  describe('rollouts to a real sidecar', () => {
    let name: string;

    it('should create a deployment whose first revision ends ACTIVE and serves', async () => {
      name = unique('prices');
      const response = await create(name);
      expect(response.body.errors).toBeUndefined();
      const deployment = dataOf(response).createDeployment;
      expect(deployment).toMatchObject({
        name,
        status: 'ACTIVE',
        pool: { name: pool },
        currentRevision: { number: 1, kind: 'CREATE', strategy: 'DIRECT', models: weighted([1, 100]) },
      });
      expect(deployment.currentRevision.activatedAt).not.toBeNull();
      expect(new Set(await servedVersions(30))).toEqual(new Set(['1']));
    });

    it('should roll out a canary to ACTIVE, the sidecar then serving both versions by the split', async () => {
      const response = await rollout(name, 1, 'CANARY', weighted([1, 70], [2, 30]));
      expect(response.body.errors).toBeUndefined();
      expect(dataOf(response).rollout).toMatchObject({
        status: 'ACTIVE',
        currentRevision: { number: 2, kind: 'ROLLOUT', strategy: 'CANARY' },
        servingRevision: { number: 2 },
        revisions: [
          { number: 1, status: 'ACTIVE' },
          { number: 2, status: 'ACTIVE' },
        ],
      });
      const versions = await servedVersions(300);
      const canaryShare = versions.filter((v) => v === '2').length / versions.length;
      expect(canaryShare).toBeGreaterThan(0.15);
      expect(canaryShare).toBeLessThan(0.45);
      expect(new Set(versions)).toEqual(new Set(['1', '2']));
    });

    it('should give a sidecar that registers after the canary went ACTIVE both versions and the split', async () => {
      const second = await stack.startSidecar();
      const ready = (version: string) =>
        new Promise<boolean>((resolve) =>
          second.inference.ModelReady({ name: MODEL, version }, (error, response) =>
            resolve(!error && response!.ready),
          ),
        );
      expect(await ready('1')).toBe(false);
      const REGISTER = `mutation($p: String!, $a: String!) { registerEndpoint(pool: $p, grpcAddress: $a) { id status statusReason } }`;
      const { registerEndpoint } = await stack.data(REGISTER, { p: pool, a: second.sidecar.grpcAddress });
      expect(registerEndpoint).toMatchObject({ status: 'UP', statusReason: 'reconciling' });
      // Reconciling runs in the background; wait (bounded) until the pool reports it done.
      const ENDPOINTS = `query($p: String!) { servingPool(name: $p) { endpoints { id statusReason } } }`;
      let reason: string | null = 'reconciling';
      for (let i = 0; i < 300 && reason === 'reconciling'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const { servingPool } = await stack.data(ENDPOINTS, { p: pool });
        reason = servingPool.endpoints.find((e: { id: string }) => e.id === registerEndpoint.id).statusReason;
      }
      expect(reason).toBeNull();
      expect(await ready('1')).toBe(true);
      expect(await ready('2')).toBe(true);
      const versions = await servedVersions(300, second.inference);
      const canaryShare = versions.filter((v) => v === '2').length / versions.length;
      expect(canaryShare).toBeGreaterThan(0.15);
      expect(canaryShare).toBeLessThan(0.45);

      // Registering again while UP is a heartbeat only: nothing is reconciled again.
      const again = await stack.data(REGISTER, { p: pool, a: second.sidecar.grpcAddress });
      expect(again.registerEndpoint).toMatchObject({ id: registerEndpoint.id, statusReason: null });
    }, 30_000);

    it("should ship a version missing on the sidecar's disk from the registry, which then serves it", async () => {
      const response = await rollout(name, 2, 'CANARY', weighted([1, 50], [3, 50]));
      expect(response.body.errors).toBeUndefined();
      expect(dataOf(response).rollout).toMatchObject({
        status: 'ACTIVE',
        currentRevision: { number: 3, status: 'ACTIVE' },
        servingRevision: { number: 3, models: weighted([1, 50], [3, 50]) },
      });
      expect(new Set(await servedVersions(100))).toEqual(new Set(['1', '3']));
    });

    it('should let exactly one of two concurrent rollouts from the same revision win; the other answers CONFLICT', async () => {
      const [a, b] = await Promise.all([
        rollout(name, 3, 'CANARY', weighted([1, 80], [2, 20])),
        rollout(name, 3, 'CANARY', weighted([1, 60], [2, 40])),
      ]);
      const codes = [errorCodes(a), errorCodes(b)].map((c) => c[0] ?? 'OK').sort();
      expect(codes).toEqual(['CONFLICT', 'OK']);
      const loser = errorCodes(a).length > 0 ? a : b;
      expect(field(loser)).toBe('expectedRevision');
      const read = await stack.data(
        `query($n: String!) { deployment(name: $n) { status currentRevision { number } } }`,
        {
          n: name,
        },
      );
      expect(read.deployment).toEqual({ status: 'ACTIVE', currentRevision: { number: 4 } });
      const stale = await rollout(name, 2, 'DIRECT', weighted([1, 100]));
      expect(errorCodes(stale)).toEqual(['CONFLICT']);
    });

    it('should set new traffic weights as a new revision', async () => {
      const response = await stack.gql(SET_WEIGHTS, {
        d: name,
        e: 4,
        w: [
          { version: 1, weight: 50 },
          { version: 2, weight: 50 },
        ],
      });
      expect(response.body.errors).toBeUndefined();
      expect(dataOf(response).setTrafficWeights).toMatchObject({
        status: 'ACTIVE',
        currentRevision: {
          number: 5,
          kind: 'SET_TRAFFIC',
          strategy: 'CANARY',
          models: weighted([1, 50], [2, 50]),
        },
      });
    });

    it('should refuse a rollback to a viewer (FORBIDDEN) and an anonymous caller (UNAUTHENTICATED), changing nothing', async () => {
      for (const [headers, code] of [
        [bearerHeaders(['viewer', 'data-scientist']), 'FORBIDDEN'],
        [{}, 'UNAUTHENTICATED'],
      ] as const) {
        const refused = await postGraphQL(stack.gatewayUrl, ROLLBACK, {
          variables: { d: name, e: 5 },
          headers,
        });
        expect(refused.body.data ?? null).toBeNull();
        expect(errorCodes(refused)).toEqual([code]);
      }
      const read = await stack.data(
        `query($n: String!) { deployment(name: $n) { currentRevision { number } } }`,
        {
          n: name,
        },
      );
      expect(read.deployment.currentRevision.number).toBe(5);
    });

    it('should roll back to the revision that served before, ending ROLLED_BACK', async () => {
      const response = await stack.gql(ROLLBACK, { d: name, e: 5 });
      expect(response.body.errors).toBeUndefined();
      expect(dataOf(response).rollback).toMatchObject({
        status: 'ROLLED_BACK',
        currentRevision: { number: 6, kind: 'ROLLBACK', status: 'ROLLED_BACK' },
        servingRevision: { number: 6 },
      });
      const served = dataOf(response).rollback.servingRevision.models;
      const read = await stack.data(
        `query($n: String!) { deployment(name: $n) { revisions { number models { version weight } } } }`,
        {
          n: name,
        },
      );
      expect(served).toEqual(
        read.deployment.revisions[3].models.map((m: object) => ({ modelName: MODEL, ...m })),
      );
    });

    it('should promote the candidate to all traffic', async () => {
      const response = await stack.gql(PROMOTE, { d: name, e: 6 });
      expect(response.body.errors).toBeUndefined();
      expect(dataOf(response).promote).toMatchObject({
        status: 'ACTIVE',
        currentRevision: { number: 7, kind: 'PROMOTE', strategy: 'DIRECT', models: weighted([2, 100]) },
      });
      expect(new Set(await servedVersions(50))).toEqual(new Set(['2']));
    });

    it('should answer which revision served at a past instant', async () => {
      const { deployment } = await stack.data(
        `query($n: String!) { deployment(name: $n) { createdAt revisions { number activatedAt supersededAt } } }`,
        { n: name },
      );
      const at = (time: string) =>
        stack.data(
          `query($n: String!, $t: DateTimeISO!) { servingAt(deployment: $n, time: $t) { number } }`,
          {
            n: name,
            t: time,
          },
        );
      for (const revision of deployment.revisions.filter(
        (r: { activatedAt: string | null }) => r.activatedAt,
      )) {
        expect((await at(revision.activatedAt)).servingAt).toEqual({ number: revision.number });
      }
      const before = new Date(Date.parse(deployment.revisions[0].activatedAt) - 1).toISOString();
      expect((await at(before)).servingAt).toBeNull();
      expect((await at(new Date(Date.now() + 60 * 60_000).toISOString())).servingAt).toEqual({ number: 7 });
    });

    it("should reach the training run's metrics from a deployment through the gateway", async () => {
      const { deployment } = await stack.data(
        `query($n: String!) { deployment(name: $n) { currentRevision { models { modelVersion { id status run { id metrics { key value } } deployments { name } } } } } }`,
        { n: name },
      );
      const [entry] = deployment.currentRevision.models;
      expect(entry.modelVersion).toMatchObject({
        id: `${MODEL}/2`,
        status: 'READY',
        run: { id: runId, metrics: [{ key: 'rmse', value: 0.41 }] },
      });
      expect(entry.modelVersion.deployments.map((d: { name: string }) => d.name)).toContain(name);
    });

    it('should list deployments', async () => {
      const { deployments } = await stack.data(`{ deployments { name currentRevision { number } } }`);
      expect(deployments.map((d: { name: string }) => d.name)).toContain(name);
    });
  });

  describe('shadow rollouts to a real sidecar', () => {
    let name: string;
    /** One sample of the sidecar's Prometheus metrics for version 2 of the model, 0 when absent. */
    async function sidecarMetric(metric: string, extra = ''): Promise<number> {
      const text = await (await fetch(`${stack.sidecar.httpUrl}/metrics`)).text();
      const labels = `model="${MODEL}",version="2"${extra}`;
      const line = text.split('\n').find((l) => l.startsWith(`${metric}{${labels}} `));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    }
    const mirrored = () => sidecarMetric('mlops_shadow_requests_total', ',outcome="ok"');
    /** Shadow copies run after the caller's answer: wait until the sidecar recorded `count` of them. */
    async function mirroredReaches(count: number): Promise<void> {
      for (let i = 0; i < 200 && (await mirrored()) < count; i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await mirrored()).toBe(count);
    }

    it('should roll out a SHADOW revision whose shadow gets a copy of every unpinned request and answers none', async () => {
      name = unique('shadowed');
      expect((await create(name)).body.errors).toBeUndefined();
      const before = await mirrored();
      const execBefore = await sidecarMetric('nv_inference_exec_count');
      const response = await rollout(name, 1, 'SHADOW', weighted([1, 100], [2, 0]));
      expect(response.body.errors).toBeUndefined();
      expect(dataOf(response).rollout).toMatchObject({
        status: 'ACTIVE',
        currentRevision: { number: 2, strategy: 'SHADOW', models: weighted([1, 100], [2, 0]) },
      });
      expect(new Set(await servedVersions(40))).toEqual(new Set(['1']));
      await mirroredReaches(before + 40);
      expect(await sidecarMetric('nv_inference_exec_count')).toBeGreaterThan(execBefore);
      expect(await sidecarMetric('mlops_shadow_abs_diff_count')).toBeGreaterThanOrEqual(40);
    });

    it('should stop mirroring on a non-SHADOW rollout and mirror again after rolling back to the SHADOW revision', async () => {
      const direct = await rollout(name, 2, 'DIRECT', weighted([1, 100]));
      expect(dataOf(direct).rollout).toMatchObject({ status: 'ACTIVE' });
      const before = await mirrored();
      expect(new Set(await servedVersions(20))).toEqual(new Set(['1']));
      const back = await stack.gql(ROLLBACK, { d: name, e: 3 });
      expect(dataOf(back).rollback).toMatchObject({
        status: 'ROLLED_BACK',
        servingRevision: { number: 4, strategy: 'SHADOW', models: weighted([1, 100], [2, 0]) },
      });
      // One mirrored request after the 20: none of the 20 was copied while the DIRECT revision served.
      expect(await servedVersions(1)).toEqual(['1']);
      await mirroredReaches(before + 1);
    });

    it('should promote the shadow to all traffic and stop mirroring', async () => {
      const response = await stack.gql(PROMOTE, { d: name, e: 4 });
      expect(dataOf(response).promote).toMatchObject({
        status: 'ACTIVE',
        currentRevision: { number: 5, kind: 'PROMOTE', strategy: 'DIRECT', models: weighted([2, 100]) },
      });
      const before = await mirrored();
      expect(new Set(await servedVersions(20))).toEqual(new Set(['2']));
      expect(await mirrored()).toBe(before);
    });
  });

  describe('bad input', () => {
    it('should refuse weights not summing to 100, naming the field, and create nothing', async () => {
      const name = unique('bad');
      const response = await create(name, weighted([1, 60], [2, 30]), 'CANARY');
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
      expect(field(response)).toBe('models.weight');
      const read = await stack.gql(`query($n: String!) { deployment(name: $n) { name } }`, { n: name });
      expect(errorCodes(read)).toEqual(['NOT_FOUND']);
    });

    it('should refuse an unknown version (NOT_FOUND) and a version not READY (INVALID_STATE), naming the entry', async () => {
      const unknown = await create(unique('bad'), weighted([1, 90], [99, 10]), 'CANARY');
      expect(errorCodes(unknown)).toEqual(['NOT_FOUND']);
      expect(field(unknown)).toBe('models[1].version');
      const notReady = await create(unique('bad'), [{ modelName: 'broken', version: 1, weight: 100 }]);
      expect(errorCodes(notReady)).toEqual(['INVALID_STATE']);
      expect(field(notReady)).toBe('models[0].version');
      const { deployments } = await stack.data(`{ deployments { name } }`);
      expect(
        deployments.map((d: { name: string }) => d.name).filter((n: string) => n.startsWith('bad-')),
      ).toEqual([]);
    });

    it('should refuse a rollback with no earlier revision (INVALID_STATE)', async () => {
      const name = unique('fresh');
      expect((await create(name)).body.errors).toBeUndefined();
      const response = await stack.gql(ROLLBACK, { d: name, e: 1 });
      expect(errorCodes(response)).toEqual(['INVALID_STATE']);
      expect(field(response)).toBe('deployment');
      const read = await stack.data(`query($n: String!) { deployment(name: $n) { revisions { number } } }`, {
        n: name,
      });
      expect(read.deployment.revisions).toEqual([{ number: 1 }]);
    });

    it('should answer NOT_FOUND for an unknown pool or deployment and CONFLICT for a duplicate name', async () => {
      const unknownPool = await create(unique('bad'), weighted([1, 100]), 'DIRECT', 'no-such-pool');
      expect(errorCodes(unknownPool)).toEqual(['NOT_FOUND']);
      expect(field(unknownPool)).toBe('pool');
      const unknownDeployment = await rollout('no-such-deployment', 1, 'DIRECT', weighted([1, 100]));
      expect(errorCodes(unknownDeployment)).toEqual(['NOT_FOUND']);
      expect(field(unknownDeployment)).toBe('deployment');
      const name = unique('dup');
      expect((await create(name)).body.errors).toBeUndefined();
      const dup = await create(name);
      expect(errorCodes(dup)).toEqual(['CONFLICT']);
      expect(field(dup)).toBe('name');
    });

    it('should refuse a DIRECT revision with two versions and a SHADOW revision without a weight-0 shadow', async () => {
      const direct = await create(unique('bad'), weighted([1, 50], [2, 50]), 'DIRECT');
      expect(errorCodes(direct)).toEqual(['BAD_USER_INPUT']);
      expect(field(direct)).toBe('strategy');
      const shadow = await create(unique('bad'), weighted([1, 50], [2, 50]), 'SHADOW');
      expect(errorCodes(shadow)).toEqual(['BAD_USER_INPUT']);
      expect(field(shadow)).toBe('models.weight');
    });
  });
});
