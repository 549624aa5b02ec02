import { ErrorCode } from '@mlops/schema';
import { DomainError, badInput, validateKey, validateLength, validateTags } from '@mlops/runtime';
import { query } from '@mlops/runtime/database';
import type { Database, SqlDialect } from '@mlops/runtime/database';
import type { Knex } from '@mikro-orm/knex';
import { BATCH_LIMITS, MAX_PARAM_VALUE_LENGTH, validateEpochMs } from './limits';
import type { DatasetInputRecord, KeyValue, MetricPoint, RunRecord } from './records';
import { toRunRecord } from './records';
import { getActiveRun, getRun } from './runs';

export interface MetricInput {
  readonly key: string;
  readonly value: number;
  /** Epoch milliseconds; default: now. */
  readonly timestamp?: number | null;
  /** Default 0. */
  readonly step?: number | null;
}

export interface LogBatchInput {
  readonly runId: string;
  readonly metrics?: readonly MetricInput[] | null;
  readonly params?: readonly KeyValue[] | null;
  readonly tags?: readonly KeyValue[] | null;
}

/** Rows per SQLite INSERT statement: 5 columns × 1000 rows stays far below its bind limit. */
const INSERT_CHUNK = 1000;

/**
 * Logs metrics, params and tags to a run atomically: everything is validated first, then written in
 * one transaction, so a rejected batch leaves nothing behind (MLflow writes partially on error).
 */
export async function logBatch(db: Database, input: LogBatchInput): Promise<RunRecord> {
  const metrics = input.metrics ?? [];
  const params = input.params ?? [];
  const tags = input.tags ?? [];
  checkBatchLimits(metrics.length, params.length, tags.length);
  const now = db.clock.now();
  const points = metrics.map((m, i) => toPoint(m, i, now));
  const uniqueParams = dedupeParams(params);
  validateTags('tags', tags);

  return db.knex.transaction(async (trx) => {
    const run = await touchActiveRun(trx, input.runId, now);
    if (uniqueParams.length > 0) await writeParams(trx, input.runId, uniqueParams);
    if (tags.length > 0) {
      await trx('run_tags')
        .insert(tags.map((t) => ({ run_id: input.runId, key: t.key, value: t.value })))
        .onConflict(['run_id', 'key'])
        .merge(['value']);
    }
    if (points.length > 0) await writeMetrics(trx, db.dialect, input.runId, points);
    return run;
  });
}

/**
 * Marks an active run updated and returns it, in one statement. The row lock it takes also orders
 * concurrent batches to the same run, so their latest-metric upserts never interleave.
 */
async function touchActiveRun(trx: Knex, runId: string, now: number): Promise<RunRecord> {
  const rows = await query(trx, {
    sql: `UPDATE runs SET updated_at = ? WHERE id = ? AND lifecycle_stage = 'active' RETURNING *`,
    bindings: [now, runId],
  });
  const row = rows[0];
  if (row) return toRunRecord(row);
  return getActiveRun(trx, runId); // throws NOT_FOUND or INVALID_STATE
}

function checkBatchLimits(metrics: number, params: number, tags: number): void {
  if (metrics <= BATCH_LIMITS.metrics && params <= BATCH_LIMITS.params && tags <= BATCH_LIMITS.tags) return;
  throw new DomainError(
    ErrorCode.LIMIT_EXCEEDED,
    `A batch may hold at most ${BATCH_LIMITS.metrics} metrics, ${BATCH_LIMITS.params} params and ${BATCH_LIMITS.tags} tags; ` +
      `got ${metrics} metrics, ${params} params and ${tags} tags`,
    { counts: { metrics, params, tags }, limits: { ...BATCH_LIMITS } },
  );
}

function toPoint(metric: MetricInput, index: number, now: number): MetricPoint {
  const field = `metrics[${index}]`;
  validateKey(`${field}.key`, metric.key);
  if (!Number.isFinite(metric.value))
    throw badInput(`${field}.value`, `${field}.value must be a finite number`);
  const timestamp = metric.timestamp ?? now;
  validateEpochMs(`${field}.timestamp`, timestamp);
  const step = metric.step ?? 0;
  if (!Number.isSafeInteger(step)) throw badInput(`${field}.step`, `${field}.step must be an integer`);
  return { key: metric.key, value: metric.value, timestamp, step };
}

/** The same key twice with the same value is one param; with different values the batch is refused. */
function dedupeParams(params: readonly KeyValue[]): KeyValue[] {
  const byKey = new Map<string, string>();
  params.forEach((p, i) => {
    validateKey(`params[${i}].key`, p.key);
    validateLength(`params[${i}].value`, p.value, MAX_PARAM_VALUE_LENGTH);
    const previous = byKey.get(p.key);
    if (previous !== undefined && previous !== p.value) {
      throw badInput(`params[${i}]`, `Param '${p.key}' appears twice in the batch with different values`);
    }
    byKey.set(p.key, p.value);
  });
  return [...byKey].map(([key, value]) => ({ key, value }));
}

/** Params are write-once: logging the same value again is a no-op, a different value is a CONFLICT. */
async function writeParams(trx: Knex, runId: string, params: readonly KeyValue[]): Promise<void> {
  await trx('params')
    .insert(params.map((p) => ({ run_id: runId, key: p.key, value: p.value })))
    .onConflict(['run_id', 'key'])
    .ignore();
  const stored = await trx('params')
    .select('key', 'value')
    .where({ run_id: runId })
    .whereIn(
      'key',
      params.map((p) => p.key),
    );
  const storedByKey = new Map(stored.map((r: { key: string; value: string }) => [r.key, r.value]));
  for (const p of params) {
    const existing = storedByKey.get(p.key);
    if (existing !== p.value) {
      throw new DomainError(
        ErrorCode.CONFLICT,
        `Param '${p.key}' of run '${runId}' is already '${existing ?? ''}'; params are write-once and cannot become '${p.value}'`,
        { field: 'params', key: p.key },
      );
    }
  }
}

/** Appends every point to the history and moves each key's latest point forward when it is newer. */
async function writeMetrics(
  trx: Knex,
  dialect: SqlDialect,
  runId: string,
  points: readonly MetricPoint[],
): Promise<void> {
  if (dialect === 'postgresql') {
    // Five array parameters instead of 5,000 scalars: PostgreSQL parses, binds and plans it in half the time.
    await trx.raw(
      `INSERT INTO metrics (run_id, "key", "value", "timestamp", step)
       SELECT ?, * FROM unnest(?::varchar[], ?::float8[], ?::bigint[], ?::bigint[])`,
      [
        runId,
        points.map((p) => p.key),
        points.map((p) => p.value),
        points.map((p) => p.timestamp),
        points.map((p) => p.step),
      ],
    );
  } else {
    for (let start = 0; start < points.length; start += INSERT_CHUNK) {
      const chunk = points.slice(start, start + INSERT_CHUNK);
      await trx.raw(
        `INSERT INTO metrics (run_id, "key", "value", "timestamp", step) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
        chunk.flatMap((p) => [runId, p.key, p.value, p.timestamp, p.step]),
      );
    }
  }
  const latest = [...latestPerKey(points).values()];
  await trx.raw(
    `INSERT INTO latest_metrics (run_id, "key", "value", "timestamp", step) VALUES ${latest.map(() => '(?, ?, ?, ?, ?)').join(', ')}
     ON CONFLICT (run_id, "key") DO UPDATE SET "value" = excluded."value", "timestamp" = excluded."timestamp", step = excluded.step
     WHERE excluded.step > latest_metrics.step
        OR (excluded.step = latest_metrics.step AND excluded."timestamp" > latest_metrics."timestamp")
        OR (excluded.step = latest_metrics.step AND excluded."timestamp" = latest_metrics."timestamp" AND excluded."value" > latest_metrics."value")`,
    latest.flatMap((p) => [runId, p.key, p.value, p.timestamp, p.step]),
  );
}

/** MLflow's "latest": the highest step, then the latest timestamp, then the highest value. */
export function isNewer(a: MetricPoint, b: MetricPoint): boolean {
  if (a.step !== b.step) return a.step > b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  return a.value > b.value;
}

function latestPerKey(points: readonly MetricPoint[]): Map<string, MetricPoint> {
  const latest = new Map<string, MetricPoint>();
  for (const p of points) {
    const current = latest.get(p.key);
    if (!current || isNewer(p, current)) latest.set(p.key, p);
  }
  return latest;
}

export interface DatasetInput {
  readonly name: string;
  readonly digest: string;
  readonly sourceType?: string | null;
  readonly source?: string | null;
  readonly context?: string | null;
}

const DATASET_LIMIT = 100;

/** Records datasets a run consumed; logging the same (name, digest, context) again is a no-op. */
export async function logInputs(
  db: Database,
  runId: string,
  datasets: readonly DatasetInput[],
): Promise<RunRecord> {
  if (datasets.length > DATASET_LIMIT) {
    throw new DomainError(
      ErrorCode.LIMIT_EXCEEDED,
      `At most ${DATASET_LIMIT} datasets may be logged at once; got ${datasets.length}`,
      {
        field: 'datasets',
        limit: DATASET_LIMIT,
      },
    );
  }
  const rows: (DatasetInputRecord & { run_id: string })[] = datasets.map((d, i) => {
    const field = `datasets[${i}]`;
    for (const [name, value, max] of [
      ['name', d.name, 500],
      ['digest', d.digest, 64],
      ['context', d.context ?? 'training', 64],
      ['sourceType', d.sourceType ?? 'unknown', 64],
      ['source', d.source ?? '', 8000],
    ] as const) {
      if (name !== 'source' && value.trim().length === 0)
        throw badInput(`${field}.${name}`, `${field}.${name} must not be empty`);
      validateLength(`${field}.${name}`, value, max);
    }
    return {
      run_id: runId,
      name: d.name,
      digest: d.digest,
      context: d.context ?? 'training',
      sourceType: d.sourceType ?? 'unknown',
      source: d.source ?? '',
    };
  });
  await db.knex.transaction(async (trx) => {
    await getActiveRun(trx, runId);
    if (rows.length === 0) return;
    await trx('run_inputs')
      .insert(
        rows.map((r) => ({
          run_id: r.run_id,
          name: r.name,
          digest: r.digest,
          context: r.context,
          source_type: r.sourceType,
          source: r.source,
        })),
      )
      .onConflict(['run_id', 'name', 'digest', 'context'])
      .ignore();
  });
  return getRun(db.knex, runId);
}
