/**
 * Synthetic daily prices for the stock-prediction product, and the supervised dataset built from
 * them. The generator is seeded, so every build sees the same prices and trains the same model.
 *
 * Each ticker's log price is a trend plus a transient deviation:
 * - the trend is a geometric Brownian motion whose drift and volatility switch between a calm and a
 *   turbulent regime (a two-state Markov chain), so volatility clusters and momentum carries a little
 *   information about the drift;
 * - the deviation is an Ornstein–Uhlenbeck process (mean reversion), stronger in the turbulent
 *   regime, so recent returns predict part of the next one. That is the learnable signal.
 */
import { createMulberry32, createNormal, deriveSeed, shuffleInPlace } from './prng';

/** Number of lagged daily log returns in each feature vector. */
export const RETURN_WINDOW = 16;
/** Longest look-back any feature needs (the 20-day volatility and momentum). */
export const LOOKBACK_DAYS = 20;

/**
 * Names of the model's input features, in input order. Returns are daily log returns in percent
 * (log return × 100), which is the fixed normalisation: features come out of order-unity without
 * statistics fitted on the data, so a client computes them exactly as the trainer did.
 */
export const FEATURE_NAMES: readonly string[] = [
  ...Array.from({ length: RETURN_WINDOW }, (_, i) => `log_return_pct_lag_${i + 1}`),
  'volatility_pct_5d',
  'volatility_pct_20d',
  'momentum_pct_5d',
  'momentum_pct_20d',
];
export const FEATURE_COUNT = FEATURE_NAMES.length;

export interface PriceSeriesOptions {
  /** Seed of the whole simulation; each ticker draws from its own derived stream. */
  readonly seed: number;
  /** Number of tickers simulated. Default 24. */
  readonly tickers?: number;
  /** Trading days per ticker (one close per day). Default 1000 (about four years). */
  readonly days?: number;
}

export interface TickerSeries {
  readonly ticker: string;
  /** Daily closes, `days` of them, starting near 100. */
  readonly closes: Float64Array;
  /** `logReturns[t] = ln(closes[t + 1] / closes[t])`, `days - 1` of them. */
  readonly logReturns: Float64Array;
}

interface Regime {
  readonly drift: number;
  readonly volatilityScale: number;
  readonly reversionScale: number;
  /** Probability of staying in this regime from one day to the next. */
  readonly persistence: number;
}

const REGIMES: readonly [Regime, Regime] = [
  { drift: 0.0005, volatilityScale: 0.8, reversionScale: 1, persistence: 0.985 },
  { drift: -0.001, volatilityScale: 1.8, reversionScale: 1.6, persistence: 0.95 },
];

/** Simulates `tickers` independent daily price series. */
export function simulatePriceSeries({ seed, tickers = 24, days = 1000 }: PriceSeriesOptions): TickerSeries[] {
  return Array.from({ length: tickers }, (_, index) => simulateTicker(index, days, deriveSeed(seed, index)));
}

function simulateTicker(index: number, days: number, seed: number): TickerSeries {
  const uniform = createMulberry32(seed);
  const normal = createNormal(uniform);
  const trendVolatility = 0.003 + 0.003 * uniform();
  const deviationVolatility = 0.01 + 0.006 * uniform();
  const reversion = 0.25 + 0.2 * uniform();

  const closes = new Float64Array(days);
  let regime: 0 | 1 = 0;
  let trend = Math.log(50 + 100 * uniform());
  let deviation = 0;
  for (let t = 0; t < days; t++) {
    closes[t] = Math.exp(trend + deviation);
    const { drift, volatilityScale, reversionScale, persistence } = REGIMES[regime];
    // Itô correction keeps the drift of the price itself, not of its log, at `drift`.
    const trendVariance = (trendVolatility * volatilityScale) ** 2;
    trend += drift - trendVariance / 2 + Math.sqrt(trendVariance) * normal();
    // Large deviations revert faster than small ones: a nonlinearity a linear model cannot fit.
    const pull = Math.min(0.9, reversion * reversionScale * (1 + Math.abs(deviation) / deviationVolatility));
    deviation += -pull * deviation + deviationVolatility * volatilityScale * normal();
    if (uniform() > persistence) regime = regime === 0 ? 1 : 0;
  }

  const logReturns = new Float64Array(days - 1);
  for (let t = 0; t < days - 1; t++) logReturns[t] = Math.log(closes[t + 1]! / closes[t]!);
  return { ticker: `SYN${String(index).padStart(3, '0')}`, closes, logReturns };
}

/**
 * Writes the feature vector known at the close of day `t + 1` (returns up to and including
 * `logReturns[t]`) into `out` at `offset`. Needs `t >= LOOKBACK_DAYS - 1`.
 */
export function writeFeatures(logReturns: Float64Array, t: number, out: Float32Array, offset: number): void {
  if (t < LOOKBACK_DAYS - 1 || t >= logReturns.length) {
    throw new RangeError(`Features need ${LOOKBACK_DAYS} returns up to index ${t}; got ${logReturns.length}`);
  }
  const pct = (lag: number): number => logReturns[t - lag]! * 100;
  for (let lag = 0; lag < RETURN_WINDOW; lag++) out[offset + lag] = pct(lag);
  out[offset + RETURN_WINDOW] = standardDeviation(pct, 5);
  out[offset + RETURN_WINDOW + 1] = standardDeviation(pct, 20);
  out[offset + RETURN_WINDOW + 2] = sum(pct, 5);
  out[offset + RETURN_WINDOW + 3] = sum(pct, 20);
}

function sum(pct: (lag: number) => number, count: number): number {
  let total = 0;
  for (let lag = 0; lag < count; lag++) total += pct(lag);
  return total;
}

function standardDeviation(pct: (lag: number) => number, count: number): number {
  const mean = sum(pct, count) / count;
  let squares = 0;
  for (let lag = 0; lag < count; lag++) squares += (pct(lag) - mean) ** 2;
  return Math.sqrt(squares / count);
}

/** Row-major samples: `features` holds `size × featureCount` values, `targets` holds `size`. */
export interface Dataset {
  readonly size: number;
  readonly featureCount: number;
  readonly features: Float32Array;
  /** Next-day log return (not in percent): what the model predicts. */
  readonly targets: Float32Array;
}

export interface StockDataset {
  readonly featureNames: readonly string[];
  readonly train: Dataset;
  readonly validation: Dataset;
}

export interface StockDatasetOptions extends PriceSeriesOptions {
  /** Fraction of each ticker's days, oldest first, used for training. Default 0.8. */
  readonly trainFraction?: number;
}

/**
 * Builds the supervised dataset. The split is chronological per ticker (the first `trainFraction`
 * of the days train, the rest validate), so validation measures prediction of an unseen future,
 * as in production. Training rows are shuffled once, deterministically.
 */
export function createStockDataset(options: StockDatasetOptions): StockDataset {
  const { trainFraction = 0.8 } = options;
  if (!(trainFraction > 0 && trainFraction < 1)) {
    throw new RangeError(`trainFraction must be in (0, 1); got ${trainFraction}`);
  }
  const series = simulatePriceSeries(options);
  const train: Array<[Float64Array, number]> = [];
  const validation: Array<[Float64Array, number]> = [];
  for (const { logReturns } of series) {
    const first = LOOKBACK_DAYS - 1;
    const last = logReturns.length - 2; // the target is logReturns[t + 1]
    const boundary = first + Math.floor((last - first + 1) * trainFraction);
    for (let t = first; t <= last; t++) (t < boundary ? train : validation).push([logReturns, t]);
  }
  const order = Uint32Array.from(train.keys());
  shuffleInPlace(order, createMulberry32(deriveSeed(options.seed, 0xda7a)));
  return {
    featureNames: FEATURE_NAMES,
    train: toDataset(Array.from(order, (i) => train[i]!)),
    validation: toDataset(validation),
  };
}

function toDataset(rows: ReadonlyArray<readonly [Float64Array, number]>): Dataset {
  const features = new Float32Array(rows.length * FEATURE_COUNT);
  const targets = new Float32Array(rows.length);
  rows.forEach(([logReturns, t], row) => {
    writeFeatures(logReturns, t, features, row * FEATURE_COUNT);
    targets[row] = logReturns[t + 1]!;
  });
  return { size: rows.length, featureCount: FEATURE_COUNT, features, targets };
}
