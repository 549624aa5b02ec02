import { maxDrawdown, periodReturns, sharpeRatio, summarize } from '../src';
import type { PerformancePoint } from '../src';

const DAY = 86_400_000;
const series = (equities: readonly number[], volumes: readonly number[] = []): PerformancePoint[] =>
  equities.map((equity, i) => ({ at: Date.UTC(2026, 0, 1) + i * DAY, equity, volume: volumes[i] ?? 0 }));

describe('the performance maths', () => {
  // Equity 100 → 110 → 99 → 121: returns +10%, -10%, +22.2…% (= 2/9).
  // mean = (1/10 - 1/10 + 2/9) / 3 = 2/27; deviations from it are 0.7/27, -4.7/27 and 4/27, so the
  // sample variance is (0.49 + 22.09 + 16) / 729 / 2 = 19.29/729 and the deviation sqrt(19.29)/27.
  // Sharpe = (2/27) / (sqrt(19.29)/27) × sqrt(252) = 2 × sqrt(252 / 19.29) ≈ 7.22877.
  const worked = series([100, 110, 99, 121], [0, 1_000, 2_500, 500]);

  it('should compute the simple return of each period', () => {
    const returns = periodReturns(worked);
    expect(returns).toHaveLength(3);
    expect(returns[0]).toBeCloseTo(0.1, 12);
    expect(returns[1]).toBeCloseTo(-0.1, 12);
    expect(returns[2]).toBeCloseTo(2 / 9, 12);
  });

  it('should summarize a series as computed by hand', () => {
    const summary = summarize(worked);
    expect(summary).toEqual({
      from: worked[0]!.at,
      to: worked[3]!.at,
      count: 4,
      totalReturn: expect.any(Number),
      pnl: 21,
      volume: 4_000,
      sharpe: expect.any(Number),
      maxDrawdown: expect.any(Number),
    });
    expect(summary!.totalReturn).toBeCloseTo(0.21, 12);
    expect(summary!.sharpe).toBeCloseTo(2 * Math.sqrt(252 / 19.29), 10);
    expect(summary!.sharpe).toBeCloseTo(7.22877, 4);
    // The peak 110 fell to 99: 11 / 110.
    expect(summary!.maxDrawdown).toBeCloseTo(0.1, 12);
  });

  it('should annualise with the periods per year asked for', () => {
    expect(summarize(worked, 12)!.sharpe).toBeCloseTo(2 * Math.sqrt(12 / 19.29), 10);
    expect(sharpeRatio(periodReturns(worked), 1)).toBeCloseTo(2 / Math.sqrt(19.29), 10);
  });

  it('should give a negative Sharpe ratio to a losing series', () => {
    // Returns -10%, -20%: mean -0.15, sample deviation sqrt(0.005), Sharpe -0.15 / sqrt(0.005) × sqrt(252).
    expect(sharpeRatio(periodReturns(series([100, 90, 72])), 252)).toBeCloseTo(
      (-0.15 / Math.sqrt(0.005)) * Math.sqrt(252),
      10,
    );
  });

  it('should take the largest of several drawdowns, each measured from its own peak', () => {
    // 120 → 60 is 50%; the later 130 → 104 only 20%.
    expect(maxDrawdown(series([100, 120, 90, 60, 130, 104]))).toBeCloseTo(0.5, 12);
    // A new high after a fall does not hide the fall; a fall below an older low from a higher peak counts more.
    expect(maxDrawdown(series([100, 80, 200, 120]))).toBeCloseTo(0.4, 12);
  });

  it('should answer a drawdown of 0 for a series that never falls below a peak', () => {
    expect(maxDrawdown(series([100, 100, 101, 150]))).toBe(0);
    expect(summarize(series([100, 105, 110]))!.maxDrawdown).toBe(0);
  });

  it('should answer a null Sharpe ratio with fewer than 2 returns', () => {
    expect(summarize(series([100]))).toEqual({
      from: Date.UTC(2026, 0, 1),
      to: Date.UTC(2026, 0, 1),
      count: 1,
      totalReturn: 0,
      pnl: 0,
      volume: 0,
      sharpe: null,
      maxDrawdown: 0,
    });
    expect(summarize(series([100, 150]))!.sharpe).toBeNull();
    expect(summarize(series([100, 150]))!.totalReturn).toBeCloseTo(0.5, 12);
  });

  it('should answer a null Sharpe ratio when the returns do not deviate', () => {
    expect(summarize(series([100, 100, 100]))!.sharpe).toBeNull();
    // 1% a day from decimal prices: the returns differ only by rounding.
    expect(summarize(series([100, 101, 102.01, 103.0301, 104.060401]))!.sharpe).toBeNull();
  });

  it('should answer null for an empty window', () => {
    expect(summarize([])).toBeNull();
  });
});
