import { badInput } from '@mlops/runtime';
import { query, toNumber } from '@mlops/runtime/database';
import type { Database } from '@mlops/runtime/database';
import { MAX_HISTORY_POINTS } from './limits';
import type { MetricPoint } from './records';
import { toMetricPoint } from './records';
import { getRun } from './runs';

export const DEFAULT_HISTORY_POINTS = 1000;

/**
 * A metric's history in (step, timestamp) order. Longer than `maxPoints`, it is downsampled in the
 * database: the history is cut into (maxPoints - 2) / 2 equal buckets by position, and each bucket
 * keeps its lowest and highest point; the first and last points are always kept, so the overall
 * minimum and maximum (each the extreme of its bucket) survive, and the shape of spikes does too.
 */
export async function metricHistory(
  db: Database,
  input: { runId: string; key: string; maxPoints?: number | null },
): Promise<MetricPoint[]> {
  const maxPoints = input.maxPoints ?? DEFAULT_HISTORY_POINTS;
  if (!Number.isInteger(maxPoints) || maxPoints < 4 || maxPoints > MAX_HISTORY_POINTS) {
    throw badInput(
      'maxPoints',
      `maxPoints must be between 4 and ${MAX_HISTORY_POINTS} (first, last, minimum and maximum are always kept); got ${maxPoints}`,
    );
  }
  await getRun(db.knex, input.runId);
  const [countRow] = await query(db.knex, {
    sql: 'SELECT COUNT(*) AS n FROM metrics WHERE run_id = ? AND "key" = ?',
    bindings: [input.runId, input.key],
  });
  const total = toNumber(countRow?.n ?? 0);
  if (total <= maxPoints) {
    const rows = await query(db.knex, {
      sql: 'SELECT "key", "value", "timestamp", step FROM metrics WHERE run_id = ? AND "key" = ? ORDER BY step, "timestamp", id',
      bindings: [input.runId, input.key],
    });
    return rows.map(toMetricPoint);
  }
  const buckets = Math.floor((maxPoints - 2) / 2);
  const rows = await query(db.knex, {
    sql: `
      WITH numbered AS (
        SELECT "key", "value", "timestamp", step,
               ROW_NUMBER() OVER (ORDER BY step, "timestamp", id) AS rn
        FROM metrics WHERE run_id = ? AND "key" = ?
      ), bucketed AS (
        -- CAST: better-sqlite3 binds numbers as REAL, so the division must be truncated explicitly.
        SELECT numbered.*, CAST(((rn - 1) * ?) / ? AS INTEGER) AS bucket FROM numbered
      ), ranked AS (
        SELECT bucketed.*,
               ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY "value" ASC, rn) AS low_rank,
               ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY "value" DESC, rn) AS high_rank
        FROM bucketed
      )
      SELECT "key", "value", "timestamp", step FROM ranked
      WHERE low_rank = 1 OR high_rank = 1 OR rn = 1 OR rn = ?
      ORDER BY rn`,
    bindings: [input.runId, input.key, buckets, total, total],
  });
  return rows.map(toMetricPoint);
}
