import { randomUUID } from 'node:crypto';
import { ErrorCode } from '@mlops/schema';
import { DomainError, badInput, validateName, validateTags } from '@mlops/runtime';
import { groupBy } from '@mlops/runtime/database';
import type { Database } from '@mlops/runtime/database';
import type { Knex } from '@mikro-orm/knex';
import type { LifecycleStage, RunStatus } from '../entities';
import { getExperiment } from './experiments';
import { MAX_NAME_LENGTH, validateEpochMs } from './limits';
import type { DatasetInputRecord, KeyValue, MetricPoint, RunRecord } from './records';
import { toMetricPoint, toRunRecord } from './records';

const TERMINAL_STATUSES: ReadonlySet<RunStatus> = new Set(['FINISHED', 'FAILED', 'KILLED']);

export async function findRuns(knex: Knex, ids: readonly string[]): Promise<Map<string, RunRecord>> {
  if (ids.length === 0) return new Map();
  const rows = await knex('runs').whereIn('id', [...ids]);
  return new Map(rows.map((r: Record<string, unknown>) => [String(r.id), toRunRecord(r)]));
}

export async function getRun(knex: Knex, id: string): Promise<RunRecord> {
  const run = (await findRuns(knex, [id])).get(id);
  if (!run) throw new DomainError(ErrorCode.NOT_FOUND, `No run with id '${id}'`, { field: 'runId' });
  return run;
}

/** The run, which must be active: a deleted run accepts no changes but a restore. */
export async function getActiveRun(knex: Knex, id: string): Promise<RunRecord> {
  const run = await getRun(knex, id);
  if (run.lifecycleStage !== 'active') {
    throw new DomainError(ErrorCode.INVALID_STATE, `Run '${id}' is deleted; restore it before changing it`, {
      field: 'runId',
    });
  }
  return run;
}

export interface CreateRunInput {
  readonly experimentId: string;
  readonly name?: string | null;
  readonly startTime?: number | null;
  readonly status?: RunStatus | null;
  readonly tags?: readonly KeyValue[] | null;
}

export async function createRun(db: Database, input: CreateRunInput): Promise<RunRecord> {
  const tags = input.tags ?? [];
  validateTags('tags', tags);
  const now = db.clock.now();
  const startTime = input.startTime ?? now;
  validateEpochMs('startTime', startTime);
  const id = randomUUID();
  const name =
    input.name == null ? `run-${id.slice(0, 8)}` : validateName('name', input.name, MAX_NAME_LENGTH);
  const experiment = await getExperiment(db, input.experimentId);
  if (experiment.lifecycleStage !== 'active') {
    throw new DomainError(
      ErrorCode.INVALID_STATE,
      `Experiment '${experiment.id}' is deleted; runs cannot be created in it`,
      {
        field: 'experimentId',
      },
    );
  }
  const row = {
    id,
    experiment_id: experiment.id,
    name,
    status: input.status ?? 'RUNNING',
    start_time: startTime,
    end_time: null,
    lifecycle_stage: 'active',
    created_at: now,
    updated_at: now,
  };
  await db.knex.transaction(async (trx) => {
    await trx('runs').insert(row);
    if (tags.length > 0)
      await trx('run_tags').insert(tags.map((t) => ({ run_id: id, key: t.key, value: t.value })));
  });
  return toRunRecord(row);
}

export interface UpdateRunInput {
  readonly runId: string;
  readonly status?: RunStatus | null;
  readonly endTime?: number | null;
  readonly name?: string | null;
}

/** Updates status, end time and name; a run that reaches a terminal status without an end time ends now. */
export async function updateRun(db: Database, input: UpdateRunInput): Promise<RunRecord> {
  const run = await getActiveRun(db.knex, input.runId);
  const changes: Record<string, unknown> = { updated_at: db.clock.now() };
  if (input.name != null) changes.name = validateName('name', input.name, MAX_NAME_LENGTH);
  if (input.status != null) changes.status = input.status;
  if (input.endTime != null) {
    validateEpochMs('endTime', input.endTime);
    if (run.startTime !== null && input.endTime < run.startTime) {
      throw badInput('endTime', `endTime ${input.endTime} is before the run's startTime ${run.startTime}`);
    }
    changes.end_time = input.endTime;
  } else if (input.status != null && TERMINAL_STATUSES.has(input.status) && run.endTime === null) {
    changes.end_time = db.clock.now();
  }
  await db.knex('runs').where({ id: run.id }).update(changes);
  return getRun(db.knex, run.id);
}

export async function setRunLifecycle(
  db: Database,
  runId: string,
  stage: LifecycleStage,
): Promise<RunRecord> {
  const run = await getRun(db.knex, runId);
  if (run.lifecycleStage === stage) {
    throw new DomainError(ErrorCode.INVALID_STATE, `Run '${runId}' is already ${stage}`, { field: 'runId' });
  }
  if (stage === 'active') {
    const experiment = await getExperiment(db, run.experimentId);
    if (experiment.lifecycleStage !== 'active') {
      throw new DomainError(
        ErrorCode.INVALID_STATE,
        `Run '${runId}' belongs to deleted experiment '${experiment.id}'; restore that first`,
        {
          field: 'runId',
        },
      );
    }
  }
  await db.knex('runs').where({ id: runId }).update({ lifecycle_stage: stage, updated_at: db.clock.now() });
  return getRun(db.knex, runId);
}

export async function setRunTag(db: Database, runId: string, tag: KeyValue): Promise<RunRecord> {
  validateTags('tag', [tag]);
  const run = await getActiveRun(db.knex, runId);
  await db
    .knex('run_tags')
    .insert({ run_id: runId, key: tag.key, value: tag.value })
    .onConflict(['run_id', 'key'])
    .merge(['value']);
  return run;
}

export async function deleteRunTag(db: Database, runId: string, key: string): Promise<RunRecord> {
  const run = await getActiveRun(db.knex, runId);
  const deleted = await db.knex('run_tags').where({ run_id: runId, key }).delete();
  if (deleted === 0)
    throw new DomainError(ErrorCode.NOT_FOUND, `Run '${runId}' has no tag '${key}'`, { field: 'key' });
  return run;
}

/** Per-run child rows for many runs at once (the request's DataLoaders call these). */
export async function runTags(db: Database, runIds: readonly string[]): Promise<Map<string, KeyValue[]>> {
  return keyValuesByRun(db, 'run_tags', runIds);
}

export async function runParams(db: Database, runIds: readonly string[]): Promise<Map<string, KeyValue[]>> {
  return keyValuesByRun(db, 'params', runIds);
}

async function keyValuesByRun(
  db: Database,
  table: 'run_tags' | 'params',
  runIds: readonly string[],
): Promise<Map<string, KeyValue[]>> {
  const rows = await db
    .knex(table)
    .select('run_id', 'key', 'value')
    .whereIn('run_id', [...runIds])
    .orderBy('key');
  return groupBy(rows, 'run_id', (r) => ({ key: String(r.key), value: String(r.value) }));
}

export async function runLatestMetrics(
  db: Database,
  runIds: readonly string[],
): Promise<Map<string, MetricPoint[]>> {
  const rows = await db
    .knex('latest_metrics')
    .select('run_id', 'key', 'value', 'timestamp', 'step')
    .whereIn('run_id', [...runIds])
    .orderBy('key');
  return groupBy(rows, 'run_id', toMetricPoint);
}

export async function runInputs(
  db: Database,
  runIds: readonly string[],
): Promise<Map<string, DatasetInputRecord[]>> {
  const rows = await db
    .knex('run_inputs')
    .whereIn('run_id', [...runIds])
    .orderBy(['context', 'name']);
  return groupBy(rows, 'run_id', (r) => ({
    name: String(r.name),
    digest: String(r.digest),
    sourceType: String(r.source_type),
    source: String(r.source),
    context: String(r.context),
  }));
}
