/** One observation of a strategy's portfolio: its value at `at` and what it traded in the period ending then. */
export interface PerformancePoint {
  /** Epoch milliseconds. */
  readonly at: number;
  /** Portfolio value; always > 0 (validated on the way in). */
  readonly equity: number;
  /** Notional traded in the period ending at `at`; >= 0. */
  readonly volume: number;
}

/** What a window of points says about a strategy's business outcome. */
export interface PerformanceStats {
  /** The first and last point's time: the window actually covered. */
  readonly from: number;
  readonly to: number;
  readonly count: number;
  /** equity_last / equity_first - 1. */
  readonly totalReturn: number;
  /** equity_last - equity_first. */
  readonly pnl: number;
  /** Sum of every point's volume in the window (the first point's included). */
  readonly volume: number;
  /**
   * Annualised Sharpe ratio of the per-period simple returns (risk-free rate 0): mean / sample
   * standard deviation × sqrt(periodsPerYear). Null with fewer than 2 returns (3 points) or no deviation.
   */
  readonly sharpe: number | null;
  /** Largest peak-to-trough fall as a fraction of the peak; 0 when the equity never fell below a peak. */
  readonly maxDrawdown: number;
}

/** Trading days in a year: the usual annualisation of daily returns. */
export const DEFAULT_PERIODS_PER_YEAR = 252;

/** The simple return of each period: equity[i] / equity[i - 1] - 1; one fewer than the points. */
export function periodReturns(points: readonly PerformancePoint[]): number[] {
  const returns: number[] = [];
  for (let i = 1; i < points.length; i++) returns.push(points[i]!.equity / points[i - 1]!.equity - 1);
  return returns;
}

/**
 * Annualised Sharpe ratio of `returns`; null with fewer than 2 returns or a deviation that is zero.
 * A deviation within rounding error of the returns' own size (1e-12 of the largest) counts as zero:
 * a constant growth rate computed from decimal prices differs in its last bits, and dividing by
 * that noise would answer a meaningless 1e16.
 */
export function sharpeRatio(returns: readonly number[], periodsPerYear: number): number | null {
  const n = returns.length;
  if (n < 2) return null;
  let sum = 0;
  for (const r of returns) sum += r;
  const mean = sum / n;
  // Two passes: the one-pass sum of squares loses everything to cancellation on small returns.
  let squares = 0;
  let largest = 0;
  for (const r of returns) {
    squares += (r - mean) ** 2;
    largest = Math.max(largest, Math.abs(r));
  }
  const deviation = Math.sqrt(squares / (n - 1));
  if (deviation === 0 || deviation <= largest * 1e-12) return null;
  return (mean / deviation) * Math.sqrt(periodsPerYear);
}

/** Largest (peak - trough) / peak over the series, the trough after the peak; 0 when never below a peak. */
export function maxDrawdown(points: readonly PerformancePoint[]): number {
  let peak = 0;
  let worst = 0;
  for (const { equity } of points) {
    if (equity > peak) peak = equity;
    else worst = Math.max(worst, (peak - equity) / peak);
  }
  return worst;
}

/** The statistics of points ordered by time; null for an empty window. */
export function summarize(
  points: readonly PerformancePoint[],
  periodsPerYear: number = DEFAULT_PERIODS_PER_YEAR,
): PerformanceStats | null {
  const first = points[0];
  const last = points[points.length - 1];
  if (!first || !last) return null;
  let volume = 0;
  for (const p of points) volume += p.volume;
  return {
    from: first.at,
    to: last.at,
    count: points.length,
    totalReturn: last.equity / first.equity - 1,
    pnl: last.equity - first.equity,
    volume,
    sharpe: sharpeRatio(periodReturns(points), periodsPerYear),
    maxDrawdown: maxDrawdown(points),
  };
}
