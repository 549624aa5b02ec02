import { randomUUID } from 'node:crypto';
import { ErrorCode } from '@mlops/schema';
import {
  DomainError,
  decodeCursor,
  encodeCursor,
  queryFingerprint,
  validateName,
  validatePageSize,
  validateTags,
} from '@mlops/runtime';
import { query, groupBy } from '@mlops/runtime/database';
import type { Database } from '@mlops/runtime/database';
import type { LifecycleStage } from '../entities';
import { MAX_EXPERIMENT_NAME_LENGTH } from './limits';
import type { ExperimentRecord, KeyValue } from './records';
import { toExperimentRecord } from './records';

export type LifecycleView = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';

export function stagesFor(view: LifecycleView): LifecycleStage[] {
  switch (view) {
    case 'ACTIVE_ONLY':
      return ['active'];
    case 'DELETED_ONLY':
      return ['deleted'];
    case 'ALL':
      return ['active', 'deleted'];
    default: {
      const _exhaustive: never = view;
      throw new Error(`Unknown view ${String(_exhaustive)}`);
    }
  }
}

export async function createExperiment(
  db: Database,
  input: { name: string; tags: readonly KeyValue[] },
): Promise<ExperimentRecord> {
  const name = validateName('name', input.name, MAX_EXPERIMENT_NAME_LENGTH);
  validateTags('tags', input.tags);
  const now = db.clock.now();
  const row = { id: randomUUID(), name, lifecycle_stage: 'active', created_at: now, updated_at: now };
  try {
    await db.knex.transaction(async (trx) => {
      await trx('experiments').insert(row);
      if (input.tags.length > 0) {
        await trx('experiment_tags').insert(
          input.tags.map((t) => ({ experiment_id: row.id, key: t.key, value: t.value })),
        );
      }
    });
  } catch (error) {
    if (db.isUniqueViolation(error)) {
      throw new DomainError(ErrorCode.CONFLICT, `An experiment named '${name}' already exists`, {
        field: 'name',
      });
    }
    throw error;
  }
  return toExperimentRecord(row);
}

export async function findExperiments(
  db: Database,
  ids: readonly string[],
): Promise<Map<string, ExperimentRecord>> {
  if (ids.length === 0) return new Map();
  const rows = await db.knex('experiments').whereIn('id', [...ids]);
  return new Map(rows.map((r: Record<string, unknown>) => [String(r.id), toExperimentRecord(r)]));
}

export async function getExperiment(db: Database, id: string): Promise<ExperimentRecord> {
  const found = (await findExperiments(db, [id])).get(id);
  if (!found) throw new DomainError(ErrorCode.NOT_FOUND, `No experiment with id '${id}'`, { field: 'id' });
  return found;
}

export async function getExperimentByName(db: Database, name: string): Promise<ExperimentRecord> {
  const row = await db.knex('experiments').where({ name }).first();
  if (!row) throw new DomainError(ErrorCode.NOT_FOUND, `No experiment named '${name}'`, { field: 'name' });
  return toExperimentRecord(row);
}

export interface ExperimentPage {
  readonly experiments: readonly ExperimentRecord[];
  readonly endCursor: string | null;
  readonly hasNextPage: boolean;
}

/** Experiments newest first, paged by keyset on (created_at, id). */
export async function listExperiments(
  db: Database,
  options: { view: LifecycleView; first?: number | null; after?: string | null },
): Promise<ExperimentPage> {
  const first = validatePageSize(options.first);
  const fingerprint = queryFingerprint(['experiments', options.view]);
  const builder = db.knex('experiments').whereIn('lifecycle_stage', stagesFor(options.view));
  if (options.after) {
    const position = decodeCursor(options.after, fingerprint, 1);
    const createdAt = Number(position.values[0]);
    builder.where((w) =>
      w
        .where('created_at', '<', createdAt)
        .orWhere((e) => e.where('created_at', '=', createdAt).andWhere('id', '>', position.id)),
    );
  }
  const rows = (
    await builder
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'asc' },
      ])
      .limit(first + 1)
  ).map(toExperimentRecord);
  const page = rows.slice(0, first);
  const last = page[page.length - 1];
  return {
    experiments: page,
    hasNextPage: rows.length > first,
    endCursor: last ? encodeCursor({ values: [last.createdAt], id: last.id }, fingerprint) : null,
  };
}

export async function renameExperiment(db: Database, id: string, newName: string): Promise<ExperimentRecord> {
  const name = validateName('name', newName, MAX_EXPERIMENT_NAME_LENGTH);
  await getExperiment(db, id);
  try {
    await db.knex('experiments').where({ id }).update({ name, updated_at: db.clock.now() });
  } catch (error) {
    if (db.isUniqueViolation(error)) {
      throw new DomainError(ErrorCode.CONFLICT, `An experiment named '${name}' already exists`, {
        field: 'name',
      });
    }
    throw error;
  }
  return getExperiment(db, id);
}

/** Deleting (or restoring) an experiment deletes (or restores) its runs with it, as MLflow does. */
export async function setExperimentLifecycle(
  db: Database,
  id: string,
  stage: LifecycleStage,
): Promise<ExperimentRecord> {
  const experiment = await getExperiment(db, id);
  if (experiment.lifecycleStage === stage) {
    throw new DomainError(ErrorCode.INVALID_STATE, `Experiment '${id}' is already ${stage}`, { field: 'id' });
  }
  const now = db.clock.now();
  await db.knex.transaction(async (trx) => {
    await trx('experiments').where({ id }).update({ lifecycle_stage: stage, updated_at: now });
    await trx('runs').where({ experiment_id: id }).update({ lifecycle_stage: stage, updated_at: now });
  });
  return getExperiment(db, id);
}

export async function setExperimentTag(
  db: Database,
  experimentId: string,
  tag: KeyValue,
): Promise<ExperimentRecord> {
  validateTags('tag', [tag]);
  const experiment = await getExperiment(db, experimentId);
  await db
    .knex('experiment_tags')
    .insert({ experiment_id: experimentId, key: tag.key, value: tag.value })
    .onConflict(['experiment_id', 'key'])
    .merge(['value']);
  return experiment;
}

export async function deleteExperimentTag(
  db: Database,
  experimentId: string,
  key: string,
): Promise<ExperimentRecord> {
  const experiment = await getExperiment(db, experimentId);
  const deleted = await db.knex('experiment_tags').where({ experiment_id: experimentId, key }).delete();
  if (deleted === 0)
    throw new DomainError(ErrorCode.NOT_FOUND, `Experiment '${experimentId}' has no tag '${key}'`, {
      field: 'key',
    });
  return experiment;
}

export async function experimentTags(db: Database, ids: readonly string[]): Promise<Map<string, KeyValue[]>> {
  const rows = await query(db.knex, {
    sql: `SELECT experiment_id, "key", "value" FROM experiment_tags WHERE experiment_id IN (${ids.map(() => '?').join(', ')}) ORDER BY "key"`,
    bindings: ids,
  });
  return groupBy(rows, 'experiment_id', (r) => ({ key: String(r.key), value: String(r.value) }));
}
