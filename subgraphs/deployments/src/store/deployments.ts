import { ErrorCode } from '@mlops/schema';
import { DomainError, validateName } from '@mlops/runtime';
import type { Database } from '@mlops/runtime/database';
import type { Knex } from '@mikro-orm/knex';
import type { RevisionSpec, WeightedVersion } from '../domain/revision-spec';
import type { RevisionKind, RevisionState } from '../domain/revision-state';
import { getPool, MAX_NAME_LENGTH } from './pools';
import type { DeploymentRecord, RevisionRecord } from './records';
import { toDeploymentRecord, toRevisionRecord, toWeightedVersion } from './records';

type Row = Record<string, unknown>;

async function insertRevision(
  trx: Knex,
  deploymentName: string,
  number: number,
  kind: RevisionKind,
  spec: RevisionSpec,
  now: number,
): Promise<void> {
  await trx('deployment_revisions').insert({
    deployment_name: deploymentName,
    number,
    kind,
    strategy: spec.strategy,
    status: 'PENDING',
    status_message: null,
    created_at: now,
    activated_at: null,
    superseded_at: null,
  });
  await trx('revision_models').insert(
    spec.models.map((m, position) => ({
      deployment_name: deploymentName,
      revision: number,
      position,
      model_name: m.modelName,
      version: m.version,
      weight: m.weight,
    })),
  );
}

/** Creates the deployment with revision 1 (PENDING); CONFLICT naming `name` for a duplicate. */
export async function createDeployment(
  db: Database,
  rawName: string,
  pool: string,
  spec: RevisionSpec,
): Promise<{ deployment: DeploymentRecord; revision: RevisionRecord }> {
  const name = validateName('name', rawName, MAX_NAME_LENGTH);
  await getPool(db.knex, pool);
  const now = db.clock.now();
  try {
    await db.knex.transaction(async (trx) => {
      await trx('deployments').insert({ name, pool_name: pool, current_revision: 1, created_at: now });
      await insertRevision(trx, name, 1, 'CREATE', spec, now);
    });
  } catch (error) {
    if (db.isUniqueViolation(error))
      throw new DomainError(ErrorCode.CONFLICT, `A deployment named '${name}' already exists`, {
        field: 'name',
      });
    throw error;
  }
  return { deployment: await getDeployment(db.knex, name), revision: await getRevision(db.knex, name, 1) };
}

/**
 * Appends revision `expectedRevision + 1`. The deployment's counter moves with a conditional UPDATE
 * in the same transaction as the insert, so of two writers that read the same revision exactly one
 * wins; the other (and any stale caller) gets CONFLICT naming `expectedRevision`.
 */
/** Revision phases in which a controller is still applying the revision. */
const IN_PROGRESS = ['PENDING', 'ROLLING_OUT', 'ROLLING_BACK'];

/**
 * Appends revision `expectedRevision + 1`, or answers CONFLICT when another change won the race or
 * the current revision is still being applied: two controllers pushing splits to the same sidecars
 * at once could leave the older split in place, a lost update. A revision still in progress after
 * `abandonAfterMs` lost the process applying it (a controller gives up after its rollout timeout);
 * it is marked FAILED and the change goes ahead.
 */
export async function appendRevision(
  db: Database,
  name: string,
  expectedRevision: number,
  kind: RevisionKind,
  spec: RevisionSpec,
  { abandonAfterMs = 60_000 }: { abandonAfterMs?: number } = {},
): Promise<RevisionRecord> {
  const deployment = await getDeployment(db.knex, name, 'deployment');
  const next = expectedRevision + 1;
  const now = db.clock.now();
  const outcome = await db.knex.transaction(async (trx) => {
    const current = (await trx('deployment_revisions')
      .where({ deployment_name: name, number: expectedRevision })
      .first('status', 'created_at')) as Row | undefined;
    if (current && IN_PROGRESS.includes(String(current.status))) {
      if (now - Number(current.created_at) < abandonAfterMs)
        return { kind: 'busy' as const, status: String(current.status) };
      await trx('deployment_revisions')
        .where({ deployment_name: name, number: expectedRevision })
        .whereIn('status', IN_PROGRESS)
        .update({
          status: 'FAILED',
          status_message: `abandoned: not applied within ${abandonAfterMs} ms (the process applying it stopped)`,
        });
    }
    const updated = await trx('deployments')
      .where({ name, current_revision: expectedRevision })
      .update({ current_revision: next });
    if (updated !== 1) return { kind: 'lost' as const };
    await insertRevision(trx, name, next, kind, spec, now);
    return { kind: 'won' as const };
  });
  if (outcome.kind === 'busy') {
    throw new DomainError(
      ErrorCode.CONFLICT,
      `Revision ${expectedRevision} of '${deployment.name}' is still ${outcome.status}; retry once it is ACTIVE or FAILED`,
      { field: 'expectedRevision', currentRevision: expectedRevision },
    );
  }
  if (outcome.kind === 'lost') {
    const current = (await getDeployment(db.knex, name, 'deployment')).currentRevision;
    throw new DomainError(
      ErrorCode.CONFLICT,
      `Deployment '${deployment.name}' is at revision ${current}, not ${expectedRevision}; read it again and retry`,
      { field: 'expectedRevision', currentRevision: current },
    );
  }
  return getRevision(db.knex, name, next);
}

export async function findDeployments(
  knex: Knex,
  names: readonly string[],
): Promise<Map<string, DeploymentRecord>> {
  if (names.length === 0) return new Map();
  const rows: Row[] = await knex('deployments').whereIn('name', [...names]);
  return new Map(rows.map((r) => [String(r.name), toDeploymentRecord(r)]));
}

/** The deployment, or NOT_FOUND naming `field`. */
export async function getDeployment(knex: Knex, name: string, field = 'name'): Promise<DeploymentRecord> {
  const found = (await findDeployments(knex, [name])).get(name);
  if (!found) throw new DomainError(ErrorCode.NOT_FOUND, `No deployment named '${name}'`, { field });
  return found;
}

/** The deployments placed on a serving pool, by name. */
export async function deploymentsOfPool(knex: Knex, pool: string): Promise<DeploymentRecord[]> {
  return (await knex('deployments').where({ pool_name: pool }).orderBy('name')).map(toDeploymentRecord);
}

export async function listDeployments(knex: Knex): Promise<DeploymentRecord[]> {
  return (await knex('deployments').orderBy('name')).map(toDeploymentRecord);
}

async function withModels(knex: Knex, rows: readonly Row[]): Promise<RevisionRecord[]> {
  if (rows.length === 0) return [];
  const name = String(rows[0]!.deployment_name);
  const numbers = rows.map((r) => Number(r.number));
  const modelRows: Row[] = await knex('revision_models')
    .where({ deployment_name: name })
    .whereIn('revision', numbers)
    .orderBy(['revision', 'position']);
  const byRevision = new Map<number, WeightedVersion[]>();
  for (const row of modelRows) {
    const list = byRevision.get(Number(row.revision)) ?? [];
    list.push(toWeightedVersion(row));
    byRevision.set(Number(row.revision), list);
  }
  return rows.map((r) => toRevisionRecord(r, byRevision.get(Number(r.number)) ?? []));
}

export async function getRevision(knex: Knex, name: string, number: number): Promise<RevisionRecord> {
  const row: Row | undefined = await knex('deployment_revisions')
    .where({ deployment_name: name, number })
    .first();
  if (!row)
    throw new DomainError(ErrorCode.NOT_FOUND, `Deployment '${name}' has no revision ${number}`, {
      field: 'revision',
    });
  return (await withModels(knex, [row]))[0]!;
}

/** Every revision, oldest first. */
export async function revisionsOf(knex: Knex, name: string): Promise<RevisionRecord[]> {
  return withModels(
    knex,
    await knex('deployment_revisions').where({ deployment_name: name }).orderBy('number'),
  );
}

/** The revision serving now: activated and not yet superseded; null before the first activation. */
export async function servingRevision(knex: Knex, name: string): Promise<RevisionRecord | null> {
  return servingAt(knex, name, Number.MAX_SAFE_INTEGER);
}

/** The revision that served at `time` (epoch ms): activated at or before it, superseded after it. */
export async function servingAt(knex: Knex, name: string, time: number): Promise<RevisionRecord | null> {
  const row: Row | undefined = await knex('deployment_revisions')
    .where({ deployment_name: name })
    .whereNotNull('activated_at')
    .where('activated_at', '<=', time)
    .where((w) => w.whereNull('superseded_at').orWhere('superseded_at', '>', time))
    .orderBy('number', 'desc')
    .first();
  return row ? ((await withModels(knex, [row]))[0] ?? null) : null;
}

/**
 * What a rollback re-applies: the newest revision that served before the one serving now. Null when
 * there is none (INVALID_STATE for the caller).
 */
export async function rollbackTarget(knex: Knex, name: string): Promise<RevisionRecord | null> {
  const serving = await servingRevision(knex, name);
  if (!serving) return null;
  const row: Row | undefined = await knex('deployment_revisions')
    .where({ deployment_name: name })
    .whereNotNull('activated_at')
    .where('number', '<', serving.number)
    .orderBy('number', 'desc')
    .first();
  return row ? ((await withModels(knex, [row]))[0] ?? null) : null;
}

/** Records a state the controller reached; ACTIVE and ROLLED_BACK also supersede the revision serving before. */
export async function recordState(
  db: Database,
  name: string,
  number: number,
  state: RevisionState,
): Promise<void> {
  const now = db.clock.now();
  switch (state.phase) {
    case 'PENDING':
    case 'ROLLING_OUT':
    case 'ROLLING_BACK':
      await db
        .knex('deployment_revisions')
        .where({ deployment_name: name, number })
        .update({ status: state.phase });
      return;
    case 'FAILED':
      await db
        .knex('deployment_revisions')
        .where({ deployment_name: name, number })
        .update({ status: state.phase, status_message: state.reason });
      return;
    case 'ACTIVE':
    case 'ROLLED_BACK':
      await db.knex.transaction(async (trx) => {
        await trx('deployment_revisions')
          .where({ deployment_name: name })
          .whereNotNull('activated_at')
          .whereNull('superseded_at')
          .update({ superseded_at: state.activatedAt });
        await trx('deployment_revisions')
          .where({ deployment_name: name, number })
          .update({ status: state.phase, activated_at: state.activatedAt ?? now });
      });
      return;
    default: {
      const _exhaustive: never = state;
      throw new Error(`Unknown revision state ${String(_exhaustive)}`);
    }
  }
}

/** Names of the deployments whose serving revision includes each version id (`<modelName>/<version>`). */
export async function deploymentsServingVersions(
  knex: Knex,
  ids: readonly string[],
): Promise<Map<string, string[]>> {
  const rows: Row[] = await knex('revision_models as m')
    .join('deployment_revisions as r', function () {
      this.on('r.deployment_name', '=', 'm.deployment_name').andOn('r.number', '=', 'm.revision');
    })
    .whereIn('m.model_name', [...new Set(ids.map((id) => id.slice(0, id.lastIndexOf('/'))))])
    .whereNotNull('r.activated_at')
    .whereNull('r.superseded_at')
    .select('m.deployment_name', 'm.model_name', 'm.version')
    .orderBy('m.deployment_name');
  const wanted = new Set(ids);
  const found = new Map<string, string[]>();
  for (const row of rows) {
    const id = `${String(row.model_name)}/${Number(row.version)}`;
    if (!wanted.has(id)) continue;
    const list = found.get(id) ?? [];
    if (!list.includes(String(row.deployment_name))) list.push(String(row.deployment_name));
    found.set(id, list);
  }
  return found;
}
