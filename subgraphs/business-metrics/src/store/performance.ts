import type { Knex } from '@mikro-orm/knex';
import { ErrorCode } from '@mlops/schema';
import { DomainError, badInput } from '@mlops/runtime';
import type { Database } from '@mlops/runtime/database';
import { MAX_PERIODS_PER_YEAR, MAX_POINTS_PER_BATCH, MAX_WINDOW_POINTS } from '../domain/limits';
import type { PerformancePoint, PerformanceStats } from '../domain/performance';
import { summarize } from '../domain/performance';
import type { StrategyRecord } from './records';
import { toPointRecord } from './records';
import { getStrategyByName } from './strategies';

/** A point as a caller sends it; `at` in epoch milliseconds. */
export interface PointInput {
  readonly at: number;
  readonly equity: number;
  readonly volume: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Validates a whole batch before anything is written, naming `points[i].<field>`: LIMIT_EXCEEDED past
 * `MAX_POINTS_PER_BATCH`; BAD_USER_INPUT for a time that is not one, an equity that is not a finite
 * number above 0, a volume that is not a finite number of at least 0, or a time the batch already
 * holds with other values. A point repeated with the same values is kept once. Answers the points
 * ordered by time, each with the index it came at (for errors found later).
 */
export function validatePoints(points: readonly PointInput[]): { point: PerformancePoint; index: number }[] {
  if (points.length > MAX_POINTS_PER_BATCH) {
    throw new DomainError(
      ErrorCode.LIMIT_EXCEEDED,
      `A batch may hold at most ${MAX_POINTS_PER_BATCH} points; got ${points.length}`,
      { field: 'points', count: points.length, limit: MAX_POINTS_PER_BATCH },
    );
  }
  const byTime = new Map<number, { point: PerformancePoint; index: number }>();
  points.forEach((p, i) => {
    if (!Number.isSafeInteger(p.at)) throw badInput(`points[${i}].at`, `points[${i}].at is not a valid time`);
    if (!Number.isFinite(p.equity) || p.equity <= 0)
      throw badInput(
        `points[${i}].equity`,
        `points[${i}].equity must be a portfolio value above 0; got ${p.equity}`,
      );
    if (!Number.isFinite(p.volume) || p.volume < 0)
      throw badInput(
        `points[${i}].volume`,
        `points[${i}].volume must be a notional of at least 0; got ${p.volume}`,
      );
    const held = byTime.get(p.at);
    if (held && (held.point.equity !== p.equity || held.point.volume !== p.volume))
      throw badInput(
        `points[${i}].at`,
        `points[${i}] and points[${held.index}] are both at ${iso(p.at)} with different values`,
      );
    if (!held) byTime.set(p.at, { point: { at: p.at, equity: p.equity, volume: p.volume }, index: i });
  });
  return [...byTime.values()].sort((a, b) => a.point.at - b.point.at);
}

export interface RecordOutcome {
  readonly strategy: StrategyRecord;
  /** The points this call stored, by time: what subscribers are told about. */
  readonly recorded: readonly PerformancePoint[];
  /** How many points were already stored with the same values (idempotent re-sends). */
  readonly unchanged: number;
}

/**
 * Stores a validated batch all or nothing. A point already stored with the same equity and volume is
 * left alone (re-sending a batch is safe); one stored with other values is a CONFLICT naming
 * `points[i].at`, and nothing of the batch is stored: a series is write-once. NOT_FOUND naming
 * `strategy` for an unknown strategy.
 */
export async function recordPerformance(
  db: Database,
  strategyName: string,
  batch: readonly { point: PerformancePoint; index: number }[],
): Promise<RecordOutcome> {
  const strategy = await getStrategyByName(db.knex, strategyName, 'strategy');
  if (batch.length === 0) return { strategy, recorded: [], unchanged: 0 };
  try {
    return await storeBatch(db, strategy, batch);
  } catch (error) {
    // A concurrent call stored some of the same times between our read and our insert. Once more:
    // the read now sees them, so the answer is the idempotent or CONFLICT one.
    if (db.isUniqueViolation(error)) return storeBatch(db, strategy, batch);
    throw error;
  }
}

async function storeBatch(
  db: Database,
  strategy: StrategyRecord,
  batch: readonly { point: PerformancePoint; index: number }[],
): Promise<RecordOutcome> {
  return db.knex.transaction(async (trx) => {
    const row = trx('strategies').where({ id: strategy.id }).first('id');
    // On PostgreSQL the shared row lock keeps a concurrent deleteStrategy from committing between
    // this check and the insert (SQLite serializes write transactions: nothing can come between).
    if (db.dialect === 'postgresql') row.forShare();
    if (!(await row))
      throw new DomainError(ErrorCode.NOT_FOUND, `No strategy named '${strategy.name}'`, {
        field: 'strategy',
      });
    const stored = new Map<number, PerformancePoint>();
    for (let i = 0; i < batch.length; i += 500) {
      const rows: Record<string, unknown>[] = await trx('performance_points')
        .where({ strategy_id: strategy.id })
        .whereIn(
          'at',
          batch.slice(i, i + 500).map((b) => b.point.at),
        )
        .select('at', 'equity', 'volume');
      for (const row of rows) {
        const point = toPointRecord(row);
        stored.set(point.at, point);
      }
    }
    const fresh: PerformancePoint[] = [];
    for (const { point, index } of batch) {
      const held = stored.get(point.at);
      if (!held) fresh.push(point);
      else if (held.equity !== point.equity || held.volume !== point.volume) {
        throw new DomainError(
          ErrorCode.CONFLICT,
          `points[${index}] at ${iso(point.at)} differs from the point stored then (equity ${held.equity}, volume ${held.volume}); recorded points are write-once`,
          { field: `points[${index}].at` },
        );
      }
    }
    for (let i = 0; i < fresh.length; i += 500) {
      await trx('performance_points').insert(
        fresh.slice(i, i + 500).map((p) => ({
          strategy_id: strategy.id,
          at: p.at,
          equity: p.equity,
          volume: p.volume,
        })),
      );
    }
    return { strategy, recorded: fresh, unchanged: batch.length - fresh.length };
  });
}

/** A window of a series: both bounds inclusive, either open. */
export interface Window {
  readonly from: number | null;
  readonly to: number | null;
}

/** `periodsPerYear` of a summary: BAD_USER_INPUT unless a number above 0 and at most one a second. */
export function validatePeriodsPerYear(value: number): number {
  if (!Number.isFinite(value) || value <= 0 || value > MAX_PERIODS_PER_YEAR)
    throw badInput(
      'periodsPerYear',
      `periodsPerYear must be above 0 and at most ${MAX_PERIODS_PER_YEAR}; got ${value}`,
    );
  return value;
}

/**
 * The points of a window, by time, in one ordered read (the primary key's range). LIMIT_EXCEEDED
 * when the window holds more than `MAX_WINDOW_POINTS`: it reads one row past the bound to know, and
 * never more. BAD_USER_INPUT naming `to` when it is before `from`.
 */
export async function readWindow(
  knex: Knex,
  strategyId: string,
  window: Window,
  limit = MAX_WINDOW_POINTS,
): Promise<PerformancePoint[]> {
  if (window.from !== null && window.to !== null && window.to < window.from)
    throw badInput('to', `to (${iso(window.to)}) is before from (${iso(window.from)})`);
  const query = knex('performance_points').where({ strategy_id: strategyId });
  if (window.from !== null) query.where('at', '>=', window.from);
  if (window.to !== null) query.where('at', '<=', window.to);
  const rows: Record<string, unknown>[] = await query
    .select('at', 'equity', 'volume')
    .orderBy('at', 'asc')
    .limit(limit + 1);
  if (rows.length > limit) {
    throw new DomainError(
      ErrorCode.LIMIT_EXCEEDED,
      `A performance window may hold at most ${limit} points; this one holds more: narrow from and to`,
      { field: 'from', limit },
    );
  }
  return rows.map(toPointRecord);
}

/** A window's statistics and its points; null when it holds no point. */
export interface PerformanceSummaryRecord extends PerformanceStats {
  readonly periodsPerYear: number;
  readonly points: readonly PerformancePoint[];
}

/** Reads a window (see `readWindow` for its bounds) and computes its statistics. */
export async function performanceSummary(
  knex: Knex,
  strategyId: string,
  window: Window,
  periodsPerYear: number,
): Promise<PerformanceSummaryRecord | null> {
  const perYear = validatePeriodsPerYear(periodsPerYear);
  const points = await readWindow(knex, strategyId, window);
  const stats = summarize(points, perYear);
  return stats ? { ...stats, periodsPerYear: perYear, points } : null;
}
