import { DomainError } from '@mlops/runtime';
import type { Logger } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import type { Database } from '@mlops/runtime/database';
import { routingOf } from '../domain/revision-spec';
import type { RevisionState } from '../domain/revision-state';
import { transition } from '../domain/revision-state';
import type { VersionFiles } from '../registry/model-registry-client';
import type { SidecarConnector } from '../sidecar/sidecar-client';
import { deploymentsOfPool, recordState, servingRevision } from '../store/deployments';
import { endpointHealth, endpointsOfPool } from '../store/pools';
import type { EndpointRecord, RevisionRecord } from '../store/records';

export interface RolloutControllerOptions {
  readonly db: Database;
  readonly sidecars: SidecarConnector;
  readonly logger: Logger;
  /** How long one rollout may take on every endpoint before it is FAILED. */
  readonly rolloutTimeoutMs: number;
  readonly heartbeatTimeoutMs: number;
  /** Between two `ModelReady` calls while a version loads; default 50 ms. */
  readonly readyPollMs?: number;
  /**
   * A version's files from the registry, sent with each load so sidecars need not have them on
   * disk; null when the registry does not know the version (the sidecar then loads its own copy).
   * Without it every load relies on the sidecar's disk.
   */
  readonly versionFiles?: (modelName: string, version: number) => Promise<VersionFiles | null>;
}

/** Each version's files fetched at most once per rollout or reconcile, however many endpoints load it. */
type FilesOf = (modelName: string, version: number) => Promise<VersionFiles | null>;

export interface RolloutController {
  /**
   * Drives a PENDING revision to ACTIVE (`mode: 'rollout'`) or ROLLED_BACK (`mode: 'rollback'`), or
   * to FAILED with the reason, and resolves with the final state. Never rejects for a sidecar failure.
   */
  apply(poolName: string, revision: RevisionRecord, mode: 'rollout' | 'rollback'): Promise<RevisionState>;
  /**
   * Brings one endpoint (new, or back after being DOWN) up to date: for every deployment on its pool
   * with a serving revision, loads that revision's versions on it and sends that revision's split and
   * shadow, all within the rollout timeout. Resolves with the failures (empty when it serves every
   * deployment); never rejects.
   */
  reconcileEndpoint(endpoint: EndpointRecord): Promise<string[]>;
}

class RolloutFailure extends Error {}

/** How often one reconcile follows a deployment's serving revision as rollouts finish meanwhile. */
const MAX_RECONCILE_ATTEMPTS = 3;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The in-process controller. For every UP endpoint of the pool it loads each version of the revision
 * (`RepositoryModelLoad { version }`) and polls `ModelReady` until it answers ready; only when every
 * endpoint has every version does it send the split and the shadow (`RepositoryModelLoad { traffic,
 * shadow }`; `shadow` is the weight-0 version of a SHADOW revision, `""` for any other strategy, which
 * stops mirroring) and mark the revision serving. A load that fails or does not finish in time fails the revision before any split
 * is sent, so the previous revision keeps serving. If sending the split fails on one endpoint, the
 * endpoints that already took it are sent the previous revision's split and shadow again (best effort).
 * An endpoint that leaves the pool mid-rollout (deregistered, or DOWN: a sidecar pod being replaced)
 * is dropped instead of failing the revision, and one that joined meanwhile is brought up to date
 * once the revision serves.
 */
export function createRolloutController(options: RolloutControllerOptions): RolloutController {
  const { db, sidecars, logger, rolloutTimeoutMs, heartbeatTimeoutMs, readyPollMs = 50 } = options;

  const filesOnce = (): FilesOf => {
    const fetched = new Map<string, Promise<VersionFiles | null>>();
    return (modelName, version) => {
      if (!options.versionFiles) return Promise.resolve(null);
      const key = `${modelName}/${version}`;
      let files = fetched.get(key);
      if (!files) {
        // The registry down (or a download that failed) does not stop a sidecar that has the version
        // on disk: it loads its own copy, and answers NOT_FOUND when it has none.
        files = options.versionFiles(modelName, version).catch((error: unknown) => {
          if (!(error instanceof DomainError) || error.code !== ErrorCode.UNAVAILABLE) throw error;
          logger.warn(
            { err: error, model: modelName, version },
            "version files unavailable; loading the sidecar's own copy",
          );
          return null;
        });
        fetched.set(key, files);
      }
      return files;
    };
  };

  async function upEndpoints(poolName: string): Promise<EndpointRecord[]> {
    const now = db.clock.now();
    return (await endpointsOfPool(db.knex, poolName)).filter(
      (e) => endpointHealth(e, now, heartbeatTimeoutMs).status === 'UP',
    );
  }

  /** Loads every version of the revision on one endpoint and waits until each answers ModelReady. */
  async function loadOn(
    endpoint: EndpointRecord,
    revision: RevisionRecord,
    deadline: number,
    filesOf: FilesOf,
  ) {
    const client = sidecars.client(endpoint.grpcAddress);
    for (const { modelName, version } of revision.models) {
      const where = `endpoint ${endpoint.grpcAddress}: ${modelName} version ${version}`;
      try {
        // A version already serving is left as it is: loading it again would replace its instance.
        const serving = await client.modelReady(modelName, version, deadline).catch(() => false);
        if (!serving) {
          const files = await filesOf(modelName, version);
          await client.loadVersion(modelName, version, deadline, files ?? undefined);
        }
        while (!(await client.modelReady(modelName, version, deadline))) {
          if (Date.now() + readyPollMs > deadline) throw new Error('not ready before the rollout timeout');
          await sleep(readyPollMs);
        }
      } catch (error) {
        throw new RolloutFailure(`${where}: ${(error as Error).message}`);
      }
    }
  }

  /**
   * Whether a failure on `endpoint` is the endpoint's going (deregistered, pruned or DOWN since the
   * rollout started: a sidecar pod replaced by its own rolling update) rather than the revision's.
   */
  async function hasLeft(endpoint: EndpointRecord): Promise<boolean> {
    const now = db.clock.now();
    const current = (await endpointsOfPool(db.knex, endpoint.poolName)).find((e) => e.id === endpoint.id);
    return current === undefined || endpointHealth(current, now, heartbeatTimeoutMs).status === 'DOWN';
  }

  /**
   * Runs `step` on every endpoint and answers those it succeeded on. A failure on an endpoint that
   * has left the pool drops that endpoint (it is brought up to date if it registers again); any other
   * failure, or no endpoint left at all, fails the rollout with the first failure.
   */
  async function onStaying(
    endpoints: readonly EndpointRecord[],
    step: (endpoint: EndpointRecord) => Promise<void>,
  ): Promise<EndpointRecord[]> {
    const results = await Promise.allSettled(endpoints.map(step));
    const staying: EndpointRecord[] = [];
    let failure: Error | undefined;
    for (const [i, result] of results.entries()) {
      const endpoint = endpoints[i]!;
      if (result.status === 'fulfilled') {
        staying.push(endpoint);
      } else if (await hasLeft(endpoint)) {
        logger.info(
          {
            endpoint: endpoint.grpcAddress,
            pool: endpoint.poolName,
            reason: (result.reason as Error).message,
          },
          'endpoint left the pool during the rollout',
        );
      } else {
        failure ??= result.reason as Error;
      }
    }
    if (failure) throw failure;
    if (staying.length === 0) throw new RolloutFailure('Every endpoint left the pool during the rollout');
    return staying;
  }

  async function loadEverywhere(
    endpoints: readonly EndpointRecord[],
    revision: RevisionRecord,
    deadline: number,
  ): Promise<EndpointRecord[]> {
    const filesOf = filesOnce();
    return onStaying(endpoints, (endpoint) => loadOn(endpoint, revision, deadline, filesOf));
  }

  /**
   * Loads and routes every serving revision of the endpoint's pool on it; returns the failures. The
   * serving revision is read again after the load, and the newer one loaded, until they agree: a
   * rollout that finished meanwhile must not be undone by this endpoint's older split.
   */
  async function reconcile(endpoint: EndpointRecord, deadline: number): Promise<string[]> {
    const failures: string[] = [];
    const filesOf = filesOnce();
    for (const deployment of await deploymentsOfPool(db.knex, endpoint.poolName)) {
      try {
        let revision = await servingRevision(db.knex, deployment.name);
        for (let attempt = 1; revision && revision.models.length > 0; attempt++) {
          await loadOn(endpoint, revision, deadline, filesOf);
          const now = await servingRevision(db.knex, deployment.name);
          if (now?.number === revision.number) break;
          if (attempt === MAX_RECONCILE_ATTEMPTS)
            throw new Error(`its serving revision kept changing (${MAX_RECONCILE_ATTEMPTS} attempts)`);
          revision = now;
        }
        if (!revision || revision.models.length === 0) continue;
        await sidecars
          .client(endpoint.grpcAddress)
          .setRouting(revision.models[0]!.modelName, routingOf(revision), deadline);
      } catch (error) {
        failures.push(`deployment '${deployment.name}': ${(error as Error).message}`);
      }
    }
    return failures;
  }

  /**
   * After a revision started serving: endpoints that joined the pool while it rolled out were
   * reconciled to the revision serving then (the previous one), so each is brought up to date again.
   */
  async function catchUpJoined(poolName: string, rolledOut: readonly EndpointRecord[], deadline: number) {
    const known = new Set(rolledOut.map((e) => e.id));
    const joined = (await upEndpoints(poolName)).filter((e) => !known.has(e.id));
    await Promise.all(
      joined.map(async (endpoint) => {
        const failures = await reconcile(endpoint, deadline);
        const where = { endpoint: endpoint.grpcAddress, pool: poolName };
        if (failures.length > 0)
          logger.warn({ ...where, failures }, 'endpoint joined mid-rollout: catch-up failed');
        else logger.info(where, 'endpoint joined mid-rollout: caught up');
      }),
    );
  }

  /** Sends the revision's split to every endpoint; answers those that took it (see `onStaying`). */
  async function sendSplit(
    endpoints: readonly EndpointRecord[],
    revision: RevisionRecord,
    deadline: number,
  ): Promise<EndpointRecord[]> {
    const modelName = revision.models[0]!.modelName;
    const routing = routingOf(revision);
    const done: EndpointRecord[] = [];
    try {
      return await onStaying(endpoints, async (endpoint) => {
        try {
          await sidecars.client(endpoint.grpcAddress).setRouting(modelName, routing, deadline);
        } catch (error) {
          throw new RolloutFailure(`endpoint ${endpoint.grpcAddress}: ${(error as Error).message}`);
        }
        done.push(endpoint);
      });
    } catch (error) {
      const previous = await servingRevision(db.knex, revision.deploymentName);
      if (previous && previous.models[0]?.modelName === modelName) {
        const restore = routingOf(previous);
        await Promise.allSettled(
          done.map((e) => sidecars.client(e.grpcAddress).setRouting(modelName, restore, Date.now() + 5_000)),
        );
      }
      throw error;
    }
  }

  return {
    async apply(poolName, revision, mode) {
      const name = revision.deploymentName;
      let state = transition(revision.state, { phase: mode === 'rollout' ? 'ROLLING_OUT' : 'ROLLING_BACK' });
      await recordState(db, name, revision.number, state);
      const deadline = Date.now() + rolloutTimeoutMs;
      let timer: NodeJS.Timeout | undefined;
      let timedOut = false;
      let rolledOut: EndpointRecord[] = [];
      try {
        const work = (async () => {
          const endpoints = await upEndpoints(poolName);
          if (endpoints.length === 0)
            throw new RolloutFailure(`Serving pool '${poolName}' has no UP endpoint to roll out to`);
          const loaded = await loadEverywhere(endpoints, revision, deadline);
          // Loads that finish after the timeout fired must not move traffic for a FAILED revision.
          if (timedOut) throw new RolloutFailure('not ready before the rollout timeout');
          rolledOut = await sendSplit(loaded, revision, deadline);
        })();
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            timedOut = true;
            reject(new RolloutFailure(`Rollout did not finish within ${rolloutTimeoutMs} ms`));
          }, rolloutTimeoutMs);
        });
        // A late sidecar answer after the timeout must not surface as an unhandled rejection.
        work.catch(() => undefined);
        await Promise.race([work, timeout]);
        const activatedAt = db.clock.now();
        state = transition(
          state,
          mode === 'rollout' ? { phase: 'ACTIVE', activatedAt } : { phase: 'ROLLED_BACK', activatedAt },
        );
      } catch (error) {
        if (!(error instanceof RolloutFailure))
          logger.error({ err: error, deployment: name }, 'rollout crashed');
        state = transition(state, { phase: 'FAILED', reason: (error as Error).message });
      } finally {
        clearTimeout(timer);
      }
      await recordState(db, name, revision.number, state);
      logger.info({ deployment: name, revision: revision.number, state }, 'rollout finished');
      if (state.phase === 'ACTIVE' || state.phase === 'ROLLED_BACK')
        await catchUpJoined(poolName, rolledOut, Date.now() + rolloutTimeoutMs);
      return state;
    },

    async reconcileEndpoint(endpoint) {
      const where = { endpoint: endpoint.grpcAddress, pool: endpoint.poolName };
      const deadline = Date.now() + rolloutTimeoutMs;
      let timer: NodeJS.Timeout | undefined;
      const work = reconcile(endpoint, deadline);
      // A late sidecar answer after the timeout must not surface as an unhandled rejection.
      work.catch(() => undefined);
      const timeout = new Promise<string[]>((resolve) => {
        timer = setTimeout(
          () => resolve([`Reconciling did not finish within ${rolloutTimeoutMs} ms`]),
          rolloutTimeoutMs,
        );
      });
      let failures: string[];
      try {
        failures = await Promise.race([work, timeout]);
      } catch (error) {
        failures = [(error as Error).message];
      } finally {
        clearTimeout(timer);
      }
      if (failures.length > 0) logger.warn({ ...where, failures }, 'endpoint reconcile failed');
      else logger.info(where, 'endpoint reconciled');
      return failures;
    },
  };
}
