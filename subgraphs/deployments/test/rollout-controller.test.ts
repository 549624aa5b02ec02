import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DomainError, createLogger } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import { createDatabase, migrateToLatest } from '@mlops/runtime/database';
import type { Database } from '@mlops/runtime/database';
import { createEndpointReconciler } from '../src/controller/endpoint-reconciler';
import { createRolloutController } from '../src/controller/rollout-controller';
import { routingOf, validateRevisionSpec } from '../src/domain/revision-spec';
import { transition } from '../src/domain/revision-state';
import type { SidecarClient, SidecarConnector } from '../src/sidecar/sidecar-client';
import {
  appendRevision,
  createDeployment,
  getRevision,
  recordState,
  servingRevision,
} from '../src/store/deployments';
import { createDeploymentsOrm } from '../src/store/orm';
import type { DeploymentsOrm } from '../src/store/orm';
import { createPool, deregisterEndpoint, recordProbe, registerEndpoint } from '../src/store/pools';

const v = (version: number, weight: number) => ({ modelName: 'm', version, weight });

/**
 * The controller's failure paths against a scripted sidecar: a real sidecar cannot be made to hang
 * on ModelReady or refuse a split on cue. The happy paths run against a real sidecar in
 * `test/deployments.contract.test.ts`.
 */
describe('rollout controller', () => {
  let dir: string;
  let orm: DeploymentsOrm;
  let db: Database;
  const logger = createLogger({ service: 'deployments', level: 'silent' });
  const traffic: Record<string, string[]> = {};
  const shadows: Record<string, (number | null)[]> = {};

  /** Every address answers like a sidecar whose versions are ready unless `behaviour` says otherwise. */
  function connector(behaviour: (address: string) => Partial<SidecarClient>): SidecarConnector {
    return {
      client: (address) => ({
        serverReady: async () => true,
        loadVersion: async () => undefined,
        modelReady: async () => true,
        setRouting: async (_model, { trafficJson, shadow }) => {
          (traffic[address] ??= []).push(trafficJson);
          (shadows[address] ??= []).push(shadow);
        },
        ...behaviour(address),
      }),
      close: () => undefined,
    };
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mlops-controller-'));
    orm = await createDeploymentsOrm({ kind: 'sqlite', file: path.join(dir, 'deployments.sqlite3') });
    await migrateToLatest(orm);
    db = createDatabase(orm, 'sqlite');
    await createPool(db, 'pool');
    await registerEndpoint(db, 'pool', '10.0.0.1:8001');
    await registerEndpoint(db, 'pool', '10.0.0.2:8001');
  });
  afterAll(async () => {
    await orm?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function deployFirst(name: string) {
    const controller = createRolloutController({
      db,
      sidecars: connector(() => ({})),
      logger,
      rolloutTimeoutMs: 1_000,
      heartbeatTimeoutMs: 60_000,
    });
    const { revision } = await createDeployment(db, name, 'pool', {
      strategy: 'DIRECT',
      models: [v(1, 100)],
    });
    expect(await controller.apply('pool', revision, 'rollout')).toMatchObject({ phase: 'ACTIVE' });
  }

  it('should fail a rollout whose version never becomes ready within ROLLOUT_TIMEOUT_MS, sending no split', async () => {
    await deployFirst('slow');
    for (const key of Object.keys(traffic)) delete traffic[key];
    const controller = createRolloutController({
      db,
      sidecars: connector(() => ({ modelReady: async (_m, version) => version !== 2 })),
      logger,
      rolloutTimeoutMs: 300,
      heartbeatTimeoutMs: 60_000,
      readyPollMs: 20,
    });
    const revision = await appendRevision(db, 'slow', 1, 'ROLLOUT', {
      strategy: 'CANARY',
      models: [v(1, 90), v(2, 10)],
    });
    const state = await controller.apply('pool', revision, 'rollout');
    expect(state).toMatchObject({ phase: 'FAILED' });
    expect(state.phase === 'FAILED' && state.reason).toMatch(/version 2.*(timeout|within 300 ms)/);
    expect(traffic).toEqual({});
    expect((await servingRevision(db.knex, 'slow'))?.number).toBe(1);
  });

  it('should refuse a change while the current revision is still being applied, so two controllers never race', async () => {
    await deployFirst('busy');
    await appendRevision(db, 'busy', 1, 'ROLLOUT', { strategy: 'CANARY', models: [v(1, 90), v(2, 10)] });
    await expect(
      appendRevision(db, 'busy', 2, 'ROLLOUT', { strategy: 'DIRECT', models: [v(2, 100)] }),
    ).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { field: 'expectedRevision' },
      message: expect.stringContaining('still PENDING'),
    });
    expect((await getRevision(db.knex, 'busy', 2)).models.map((m) => m.weight)).toEqual([90, 10]);
  });

  it('should mark a revision abandoned by a stopped process FAILED and let the next change through', async () => {
    await deployFirst('orphan');
    await appendRevision(db, 'orphan', 1, 'ROLLOUT', { strategy: 'CANARY', models: [v(1, 90), v(2, 10)] });
    const next = await appendRevision(
      db,
      'orphan',
      2,
      'ROLLOUT',
      { strategy: 'DIRECT', models: [v(1, 100)] },
      { abandonAfterMs: 0 },
    );
    expect(next.number).toBe(3);
    const abandoned = await getRevision(db.knex, 'orphan', 2);
    expect(abandoned.state).toMatchObject({ phase: 'FAILED', reason: expect.stringContaining('abandoned') });
  });

  it('should restore the previous split on endpoints that took the new one when another endpoint refuses it', async () => {
    await deployFirst('split');
    for (const key of Object.keys(traffic)) delete traffic[key];
    const controller = createRolloutController({
      db,
      sidecars: connector((address) =>
        address === '10.0.0.2:8001'
          ? {
              setRouting: async () => {
                throw new Error('RepositoryModelLoad: refused');
              },
            }
          : {},
      ),
      logger,
      rolloutTimeoutMs: 1_000,
      heartbeatTimeoutMs: 60_000,
    });
    const revision = await appendRevision(db, 'split', 1, 'ROLLOUT', {
      strategy: 'CANARY',
      models: [v(1, 90), v(2, 10)],
    });
    const state = await controller.apply('pool', revision, 'rollout');
    expect(state.phase === 'FAILED' && state.reason).toMatch(
      /10\.0\.0\.2:8001: RepositoryModelLoad: refused/,
    );
    expect(traffic['10.0.0.1:8001']).toEqual(['{"1":90,"2":10}', '{"1":100}']);
    expect((await servingRevision(db.knex, 'split'))?.number).toBe(1);
  });

  it('should send the weight-0 version of a SHADOW revision as the shadow, and clear it for other strategies', async () => {
    await deployFirst('mirror');
    for (const key of Object.keys(shadows)) delete shadows[key];
    const controller = createRolloutController({
      db,
      sidecars: connector(() => ({})),
      logger,
      rolloutTimeoutMs: 1_000,
      heartbeatTimeoutMs: 60_000,
    });
    const shadow = await appendRevision(db, 'mirror', 1, 'ROLLOUT', {
      strategy: 'SHADOW',
      models: [v(2, 0), v(1, 100)],
    });
    expect(await controller.apply('pool', shadow, 'rollout')).toMatchObject({ phase: 'ACTIVE' });
    const canary = await appendRevision(db, 'mirror', 2, 'ROLLOUT', {
      strategy: 'CANARY',
      models: [v(1, 90), v(2, 10)],
    });
    expect(await controller.apply('pool', canary, 'rollout')).toMatchObject({ phase: 'ACTIVE' });
    expect(shadows).toEqual({ '10.0.0.1:8001': [2, null], '10.0.0.2:8001': [2, null] });
  });

  it('should fail when the pool has no UP endpoint', async () => {
    await createPool(db, 'empty');
    const controller = createRolloutController({
      db,
      sidecars: connector(() => ({})),
      logger,
      rolloutTimeoutMs: 1_000,
      heartbeatTimeoutMs: 60_000,
    });
    const { revision } = await createDeployment(db, 'nowhere', 'empty', {
      strategy: 'DIRECT',
      models: [v(1, 100)],
    });
    const state = await controller.apply('empty', revision, 'rollout');
    expect(state.phase === 'FAILED' && state.reason).toMatch(/no UP endpoint/);
  });

  it('should reconcile a new or formerly DOWN endpoint but not re-registration of an UP one', async () => {
    await createPool(db, 'scaled');
    const first = (await registerEndpoint(db, 'scaled', '10.0.1.1:8001')).endpoint;
    const loads: string[] = [];
    const routed: string[] = [];
    const loaded = new Set<string>();
    // A sidecar that starts empty: a version is ready only once loaded on that address.
    const sidecars = connector((address) => ({
      loadVersion: async (_model, version) => {
        loads.push(`${address} v${version}`);
        loaded.add(`${address} v${version}`);
      },
      modelReady: async (_model, version) => loaded.has(`${address} v${version}`),
      setRouting: async (_model, { trafficJson }) => void routed.push(`${address} ${trafficJson}`),
    }));
    const heartbeatTimeoutMs = 60_000;
    const controller = createRolloutController({
      db,
      sidecars,
      logger,
      rolloutTimeoutMs: 1_000,
      heartbeatTimeoutMs,
    });
    const { revision } = await createDeployment(db, 'scaled-out', 'scaled', {
      strategy: 'CANARY',
      models: [v(1, 80), v(2, 20)],
    });
    expect(await controller.apply('scaled', revision, 'rollout')).toMatchObject({ phase: 'ACTIVE' });
    expect(first.grpcAddress).toBe('10.0.1.1:8001');
    loads.length = 0;
    routed.length = 0;

    const reconciler = createEndpointReconciler({ controller, heartbeatTimeoutMs });
    const added = await registerEndpoint(db, 'scaled', '10.0.1.2:8001');
    expect(added.previous).toBeNull();
    const running = reconciler.registered(added.endpoint, added.previous, Date.now());
    expect(reconciler.status(added.endpoint.id)).toBe('reconciling');
    await running;
    expect(reconciler.status(added.endpoint.id)).toBeNull();
    expect(loads).toEqual(['10.0.1.2:8001 v1', '10.0.1.2:8001 v2']);
    expect(routed).toEqual(['10.0.1.2:8001 {"1":80,"2":20}']);

    const again = await registerEndpoint(db, 'scaled', '10.0.1.2:8001');
    expect(again.endpoint.id).toBe(added.endpoint.id);
    expect(reconciler.registered(again.endpoint, again.previous, Date.now())).toBeNull();
    expect(loads).toHaveLength(2);
    expect(routed).toHaveLength(1);

    // The same address after a silence longer than the heartbeat timeout: a restarted, empty pod.
    loaded.clear();
    await reconciler.registered(again.endpoint, again.previous, Date.now() + heartbeatTimeoutMs + 1);
    expect(loads).toHaveLength(4);
    expect(routed).toHaveLength(2);
  });

  it('should report a failed reconcile on the endpoint and never reject', async () => {
    await createPool(db, 'broken-pool');
    const { revision } = await createDeployment(db, 'broken-serving', 'broken-pool', {
      strategy: 'DIRECT',
      models: [v(1, 100)],
    });
    await registerEndpoint(db, 'broken-pool', '10.0.2.1:8001');
    const ok = createRolloutController({
      db,
      sidecars: connector(() => ({})),
      logger,
      rolloutTimeoutMs: 1_000,
      heartbeatTimeoutMs: 60_000,
    });
    expect(await ok.apply('broken-pool', revision, 'rollout')).toMatchObject({ phase: 'ACTIVE' });
    const failing = createRolloutController({
      db,
      sidecars: connector(() => ({
        modelReady: async () => false,
        loadVersion: async () => Promise.reject(new Error('version 1 is not in the repository')),
      })),
      logger,
      rolloutTimeoutMs: 1_000,
      heartbeatTimeoutMs: 60_000,
    });
    const reconciler = createEndpointReconciler({ controller: failing, heartbeatTimeoutMs: 60_000 });
    const { endpoint, previous } = await registerEndpoint(db, 'broken-pool', '10.0.2.2:8001');
    await reconciler.registered(endpoint, previous, Date.now());
    expect(reconciler.status(endpoint.id)).toBe(
      "reconcile failed: deployment 'broken-serving': endpoint 10.0.2.2:8001: m version 1: version 1 is not in the repository",
    );
  });
  describe('endpoints that come and go during a rollout', () => {
    /** A controller over sidecars that start empty and record what each address loads and routes. */
    function recordingController(
      hooks: (address: string, loaded: Set<string>) => Partial<SidecarClient> = () => ({}),
    ) {
      const loads: string[] = [];
      const routed: Record<string, string[]> = {};
      const loaded = new Set<string>();
      const controller = createRolloutController({
        db,
        sidecars: connector((address) => ({
          loadVersion: async (_model, version) => {
            loads.push(`${address} v${version}`);
            loaded.add(`${address} v${version}`);
          },
          modelReady: async (_model, version) => loaded.has(`${address} v${version}`),
          setRouting: async (_model, { trafficJson }) => void (routed[address] ??= []).push(trafficJson),
          ...hooks(address, loaded),
        })),
        logger,
        rolloutTimeoutMs: 1_000,
        heartbeatTimeoutMs: 60_000,
      });
      return { controller, loads, routed };
    }

    it('should drop an endpoint that deregisters while loading and serve the revision on the rest', async () => {
      await createPool(db, 'shrinking');
      await registerEndpoint(db, 'shrinking', '10.1.0.1:8001');
      const leaving = (await registerEndpoint(db, 'shrinking', '10.1.0.2:8001')).endpoint;
      const { controller, routed } = recordingController((address) =>
        address === leaving.grpcAddress
          ? {
              // The pod is being replaced: it leaves its pool, and its port stops answering.
              loadVersion: async () => {
                await deregisterEndpoint(db, leaving.id);
                throw new Error('14 UNAVAILABLE: connection refused');
              },
            }
          : {},
      );
      const { revision } = await createDeployment(db, 'shrinking-app', 'shrinking', {
        strategy: 'DIRECT',
        models: [v(1, 100)],
      });
      expect(await controller.apply('shrinking', revision, 'rollout')).toMatchObject({ phase: 'ACTIVE' });
      expect(routed).toEqual({ '10.1.0.1:8001': ['{"1":100}'] });
    });

    it('should not restore the previous split when the endpoint that refused the new one has gone DOWN', async () => {
      await createPool(db, 'flaky');
      await registerEndpoint(db, 'flaky', '10.1.1.1:8001');
      const silent = (await registerEndpoint(db, 'flaky', '10.1.1.2:8001')).endpoint;
      const { controller, routed } = recordingController((address) =>
        address === silent.grpcAddress
          ? {
              setRouting: async () => {
                await recordProbe(db, silent.id, 'DOWN', 'ServerReady: connection refused');
                throw new Error('14 UNAVAILABLE: connection refused');
              },
            }
          : {},
      );
      const { revision } = await createDeployment(db, 'flaky-app', 'flaky', {
        strategy: 'DIRECT',
        models: [v(1, 100)],
      });
      expect(await controller.apply('flaky', revision, 'rollout')).toMatchObject({ phase: 'ACTIVE' });
      expect(routed).toEqual({ '10.1.1.1:8001': ['{"1":100}'] });
    });

    it('should fail the revision when every endpoint left the pool', async () => {
      await createPool(db, 'deserted');
      const only = (await registerEndpoint(db, 'deserted', '10.1.2.1:8001')).endpoint;
      const { controller, routed } = recordingController(() => ({
        loadVersion: async () => {
          await deregisterEndpoint(db, only.id);
          throw new Error('14 UNAVAILABLE: connection refused');
        },
      }));
      const { revision } = await createDeployment(db, 'deserted-app', 'deserted', {
        strategy: 'DIRECT',
        models: [v(1, 100)],
      });
      const state = await controller.apply('deserted', revision, 'rollout');
      expect(state.phase === 'FAILED' && state.reason).toMatch(/Every endpoint left the pool/);
      expect(routed).toEqual({});
    });

    it('should bring an endpoint that joined mid-rollout up to the new revision once it serves', async () => {
      await createPool(db, 'growing');
      await registerEndpoint(db, 'growing', '10.1.3.1:8001');
      const { controller: first } = recordingController();
      const { revision: initial } = await createDeployment(db, 'growing-app', 'growing', {
        strategy: 'DIRECT',
        models: [v(1, 100)],
      });
      expect(await first.apply('growing', initial, 'rollout')).toMatchObject({ phase: 'ACTIVE' });

      // The new pod registers while version 2 loads on the first one; its own reconcile (another
      // replica's, say) gives it the revision serving then, version 1's.
      const joiner = '10.1.3.2:8001';
      let joined: Promise<string[]> | undefined;
      const { controller, loads, routed } = recordingController((address, loaded) =>
        address === '10.1.3.1:8001'
          ? {
              loadVersion: async (_model, version) => {
                loads.push(`${address} v${version}`);
                loaded.add(`${address} v${version}`);
                const { endpoint } = await registerEndpoint(db, 'growing', joiner);
                joined = controller.reconcileEndpoint(endpoint);
                await joined;
              },
            }
          : {},
      );
      const next = await appendRevision(db, 'growing-app', 1, 'ROLLOUT', {
        strategy: 'DIRECT',
        models: [v(2, 100)],
      });
      expect(await controller.apply('growing', next, 'rollout')).toMatchObject({ phase: 'ACTIVE' });
      expect(await joined).toEqual([]);
      expect(routed['10.1.3.1:8001']).toEqual(['{"2":100}']);
      // Reconciled to version 1 while the rollout ran, then caught up to version 2.
      expect(routed[joiner]).toEqual(['{"1":100}', '{"2":100}']);
      expect(loads).toContain(`${joiner} v2`);
    });

    it('should reconcile an endpoint to the revision that started serving while it loaded the previous one', async () => {
      await createPool(db, 'racing');
      await registerEndpoint(db, 'racing', '10.1.4.1:8001');
      const { controller: first } = recordingController();
      const { revision: initial } = await createDeployment(db, 'racing-app', 'racing', {
        strategy: 'DIRECT',
        models: [v(1, 100)],
      });
      expect(await first.apply('racing', initial, 'rollout')).toMatchObject({ phase: 'ACTIVE' });

      const late = (await registerEndpoint(db, 'racing', '10.1.4.2:8001')).endpoint;
      // While the new endpoint loads version 1, another replica's rollout of version 2 finishes.
      let rolledOn = false;
      const { controller, loads, routed } = recordingController((address, loaded) => ({
        loadVersion: async (_model, version) => {
          loads.push(`${address} v${version}`);
          loaded.add(`${address} v${version}`);
          if (rolledOn) return;
          rolledOn = true;
          const next = await appendRevision(db, 'racing-app', 1, 'ROLLOUT', {
            strategy: 'DIRECT',
            models: [v(2, 100)],
          });
          const rolling = transition(next.state, { phase: 'ROLLING_OUT' });
          await recordState(db, 'racing-app', next.number, rolling);
          await recordState(
            db,
            'racing-app',
            next.number,
            transition(rolling, { phase: 'ACTIVE', activatedAt: db.clock.now() }),
          );
        },
      }));
      expect(await controller.reconcileEndpoint(late)).toEqual([]);
      expect(loads).toEqual([`${late.grpcAddress} v1`, `${late.grpcAddress} v2`]);
      expect(routed).toEqual({ [late.grpcAddress]: ['{"2":100}'] });
    });
  });

  describe("with the registry's files", () => {
    const files = { sha256: 'ab'.repeat(32), model: Buffer.from('onnx'), signature: Buffer.from('{}') };

    /** A rollout of version 7 of `model` to both endpoints, recording what each load carried. */
    async function rollOut(
      name: string,
      versionFiles: (model: string, version: number) => Promise<typeof files | null>,
      ready: boolean = false,
    ) {
      const loads: { address: string; files: unknown }[] = [];
      const controller = createRolloutController({
        db,
        sidecars: connector((address) => ({
          modelReady: async () => ready || loads.some((l) => l.address === address),
          loadVersion: async (_model, _version, _deadline, sent) => void loads.push({ address, files: sent }),
        })),
        logger,
        rolloutTimeoutMs: 1_000,
        heartbeatTimeoutMs: 60_000,
        versionFiles,
      });
      const { revision } = await createDeployment(db, name, 'pool', {
        strategy: 'DIRECT',
        models: [{ modelName: name, version: 7, weight: 100 }],
      });
      return { state: await controller.apply('pool', revision, 'rollout'), loads };
    }

    it('should send every endpoint the version files, fetched once for the whole rollout', async () => {
      const asked: string[] = [];
      const { state, loads } = await rollOut('shipped', async (model, version) => {
        asked.push(`${model}/${version}`);
        return files;
      });
      expect(state).toMatchObject({ phase: 'ACTIVE' });
      expect(asked).toEqual(['shipped/7']);
      expect(loads.map((l) => l.address).sort()).toEqual(['10.0.0.1:8001', '10.0.0.2:8001']);
      for (const load of loads) expect(load.files).toBe(files);
    });

    it("should load the sidecar's own copy when the registry does not know the version or cannot be reached", async () => {
      const unknown = await rollOut('unregistered', async () => null);
      expect(unknown.state).toMatchObject({ phase: 'ACTIVE' });
      expect(unknown.loads.map((l) => l.files)).toEqual([undefined, undefined]);
      const down = await rollOut('registry-down', async () => {
        throw new DomainError(ErrorCode.UNAVAILABLE, 'The model registry did not answer');
      });
      expect(down.state).toMatchObject({ phase: 'ACTIVE' });
      expect(down.loads.map((l) => l.files)).toEqual([undefined, undefined]);
    });

    it('should fail the rollout, loading nothing, when the registry says the version cannot be served', async () => {
      const { state, loads } = await rollOut('not-ready', async () => {
        throw new DomainError(
          ErrorCode.INVALID_STATE,
          'not-ready version 7 is PENDING_REGISTRATION in the registry',
        );
      });
      expect(state).toMatchObject({
        phase: 'FAILED',
        reason: expect.stringContaining('PENDING_REGISTRATION'),
      });
      expect(loads).toEqual([]);
    });

    it('should not fetch files for a version the endpoints already serve', async () => {
      const asked: string[] = [];
      const { state, loads } = await rollOut(
        'already-serving',
        async (model) => {
          asked.push(model);
          return files;
        },
        true,
      );
      expect(state).toMatchObject({ phase: 'ACTIVE' });
      expect(asked).toEqual([]);
      expect(loads).toEqual([]);
    });
  });
});

describe('revision rules', () => {
  it('should refuse versions of two models in one revision, naming the entry', () => {
    expect(() =>
      validateRevisionSpec({
        strategy: 'AB',
        models: [
          { modelName: 'a', version: 1, weight: 50 },
          { modelName: 'b', version: 1, weight: 50 },
        ],
      }),
    ).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ field: 'models[1].modelName' }) }),
    );
  });

  it('should refuse a SHADOW revision without exactly one weight-0 version, naming models.weight', () => {
    const shadow = (...weights: number[]) =>
      validateRevisionSpec({
        strategy: 'SHADOW',
        models: weights.map((weight, i) => ({ modelName: 'm', version: i + 1, weight })),
      });
    const atWeight = expect.objectContaining({
      code: 'BAD_USER_INPUT',
      details: expect.objectContaining({ field: 'models.weight' }),
    });
    expect(() => shadow(50, 50)).toThrow(atWeight);
    expect(() => shadow(100, 0, 0)).toThrow(atWeight);
    expect(() => shadow(0)).toThrow(atWeight);
    expect(routingOf(shadow(60, 0, 40))).toEqual({ trafficJson: '{"1":60,"2":0,"3":40}', shadow: 2 });
    expect(routingOf({ strategy: 'BLUE_GREEN', models: [v(1, 100), v(2, 0)] }).shadow).toBeNull();
  });

  it('should allow only the transitions of the state machine', () => {
    expect(transition({ phase: 'PENDING' }, { phase: 'ROLLING_OUT' })).toEqual({ phase: 'ROLLING_OUT' });
    expect(() => transition({ phase: 'ACTIVE', activatedAt: 1 }, { phase: 'ROLLING_OUT' })).toThrow(
      expect.objectContaining({ code: 'INVALID_STATE' }),
    );
    expect(() => transition({ phase: 'PENDING' }, { phase: 'ACTIVE', activatedAt: 1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_STATE' }),
    );
  });
});
