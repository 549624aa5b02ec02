import { ErrorCode } from '@mlops/schema';
import { DomainError, badInput } from '@mlops/runtime';
import type { Database } from '@mlops/runtime/database';
import type { RolloutController } from './controller/rollout-controller';
import type { RevisionSpec, WeightedVersion } from './domain/revision-spec';
import { shadowVersion, validateRevisionSpec } from './domain/revision-spec';
import type { RevisionKind } from './domain/revision-state';
import type { ModelRegistryClient } from './registry/model-registry-client';
import {
  appendRevision,
  createDeployment,
  getDeployment,
  rollbackTarget,
  servingRevision,
} from './store/deployments';
import { getPool } from './store/pools';
import type { DeploymentRecord, RevisionRecord } from './store/records';

/** The deployment mutations: validate, append an immutable revision, then let the controller apply it. */
export interface DeploymentOperations {
  create(name: string, pool: string, spec: RevisionSpec): Promise<DeploymentRecord>;
  rollout(name: string, expectedRevision: number, spec: RevisionSpec): Promise<DeploymentRecord>;
  setTrafficWeights(
    name: string,
    expectedRevision: number,
    weights: readonly { version: number; weight: number }[],
  ): Promise<DeploymentRecord>;
  promote(name: string, expectedRevision: number): Promise<DeploymentRecord>;
  rollback(name: string, expectedRevision: number): Promise<DeploymentRecord>;
}

export function createDeploymentOperations(options: {
  db: Database;
  registry: ModelRegistryClient;
  controller: RolloutController;
  /** A revision still rolling out after this long is taken as abandoned; default 2 × 30 s. */
  abandonAfterMs?: number;
}): DeploymentOperations {
  const { db, registry, controller, abandonAfterMs = 60_000 } = options;

  /** Unknown versions answer NOT_FOUND, versions not READY INVALID_STATE, each naming the entry. */
  async function checkRegistered(models: readonly WeightedVersion[]): Promise<void> {
    const statuses = await Promise.all(models.map((m) => registry.versionStatus(m.modelName, m.version)));
    statuses.forEach((status, i) => {
      const { modelName, version } = models[i]!;
      const field = `models[${i}].version`;
      if (status === null)
        throw new DomainError(
          ErrorCode.NOT_FOUND,
          `The model registry has no version ${version} of '${modelName}'`,
          {
            field,
          },
        );
      if (status !== 'READY')
        throw new DomainError(
          ErrorCode.INVALID_STATE,
          `Version ${version} of '${modelName}' is ${status} in the model registry; only READY versions can be deployed`,
          { field },
        );
    });
  }

  async function serving(name: string): Promise<RevisionRecord> {
    const revision = await servingRevision(db.knex, name);
    if (!revision)
      throw new DomainError(ErrorCode.INVALID_STATE, `Deployment '${name}' has no serving revision yet`, {
        field: 'deployment',
      });
    return revision;
  }

  async function change(name: string, expectedRevision: number, kind: RevisionKind, spec: RevisionSpec) {
    const deployment = await getDeployment(db.knex, name, 'deployment');
    const revision = await appendRevision(db, name, expectedRevision, kind, spec, { abandonAfterMs });
    await controller.apply(deployment.poolName, revision, kind === 'ROLLBACK' ? 'rollback' : 'rollout');
    return getDeployment(db.knex, name);
  }

  return {
    async create(name, pool, spec) {
      validateRevisionSpec(spec);
      await getPool(db.knex, pool);
      await checkRegistered(spec.models);
      const { deployment, revision } = await createDeployment(db, name, pool, spec);
      await controller.apply(pool, revision, 'rollout');
      return getDeployment(db.knex, deployment.name);
    },

    async rollout(name, expectedRevision, spec) {
      await getDeployment(db.knex, name, 'deployment');
      validateRevisionSpec(spec);
      await checkRegistered(spec.models);
      return change(name, expectedRevision, 'ROLLOUT', spec);
    },

    async setTrafficWeights(name, expectedRevision, weights) {
      await getDeployment(db.knex, name, 'deployment');
      const current = await serving(name);
      const byVersion = new Map(weights.map((w) => [w.version, w.weight]));
      const expected = current.models.map((m) => m.version);
      if (
        byVersion.size !== weights.length ||
        expected.some((v) => !byVersion.has(v)) ||
        byVersion.size !== expected.length
      )
        throw badInput(
          'weights',
          `weights must name each serving version exactly once (${expected.join(', ')}); got ${weights.map((w) => w.version).join(', ')}`,
        );
      const models = current.models.map((m) => ({ ...m, weight: byVersion.get(m.version)! }));
      const spec = validateRevisionSpec({ strategy: current.strategy, models });
      return change(name, expectedRevision, 'SET_TRAFFIC', spec);
    },

    async promote(name, expectedRevision) {
      await getDeployment(db.knex, name, 'deployment');
      const current = await serving(name);
      // The candidate is the shadow (the weight-0 version) of a SHADOW revision; otherwise the version
      // listed last: the canary, the B arm or the green.
      const candidate =
        (current.strategy === 'SHADOW' ? shadowVersion(current.models) : undefined) ??
        current.models[current.models.length - 1]!;
      if (current.models.length === 1)
        throw new DomainError(
          ErrorCode.INVALID_STATE,
          `Deployment '${name}' serves one version only; there is nothing to promote`,
          { field: 'deployment' },
        );
      const spec: RevisionSpec = { strategy: 'DIRECT', models: [{ ...candidate, weight: 100 }] };
      return change(name, expectedRevision, 'PROMOTE', spec);
    },

    async rollback(name, expectedRevision) {
      await getDeployment(db.knex, name, 'deployment');
      const target = await rollbackTarget(db.knex, name);
      if (!target)
        throw new DomainError(
          ErrorCode.INVALID_STATE,
          `Deployment '${name}' has no earlier serving revision to roll back to`,
          { field: 'deployment' },
        );
      return change(name, expectedRevision, 'ROLLBACK', { strategy: target.strategy, models: target.models });
    },
  };
}
