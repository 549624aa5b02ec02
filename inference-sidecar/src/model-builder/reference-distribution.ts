/**
 * The training reference distribution of a model's inputs (and outputs): what drift monitoring
 * compares live traffic against. Each tensor column gets summary statistics and equal-frequency
 * (quantile) buckets, the form PSI and similar drift scores need.
 */

/** Significant digits kept in the JSON: float32 carries about seven. */
const SIGNIFICANT_DIGITS = 7;

// Type aliases rather than interfaces, so these are assignable to `JsonValue` for serialisation.
export type ColumnDistribution = {
  readonly name: string;
  readonly mean: number;
  /** Population standard deviation. */
  readonly std: number;
  readonly min: number;
  readonly max: number;
  /** `bucketCount + 1` non-decreasing edges: the min, the interior quantiles, the max. */
  readonly bucketEdges: readonly number[];
  /** Fraction of the reference samples in each bucket (see `bucketIndex`); they sum to 1. */
  readonly bucketFrequencies: readonly number[];
};

export type ReferenceDistribution = {
  readonly schemaVersion: 1;
  readonly sampleCount: number;
  readonly bucketCount: number;
  /** How a value is assigned to a bucket, spelled out for consumers in other languages. */
  readonly bucketRule: string;
  readonly features: readonly ColumnDistribution[];
  readonly outputs: readonly ColumnDistribution[];
};

export const BUCKET_RULE =
  'bucket(v) = number of interior edges bucketEdges[1..bucketCount-1] that are <= v; ' +
  'values below the min fall in the first bucket and values above the max in the last';

/** The bucket of `value` under `BUCKET_RULE`, in `0..edges.length - 2`. */
export function bucketIndex(edges: readonly number[], value: number): number {
  // Binary search for the first interior edge greater than value.
  let low = 1;
  let high = edges.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (edges[middle]! <= value) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

/** Describes one column of values; `values` must be non-empty and finite. */
export function describeColumn(
  name: string,
  values: ArrayLike<number>,
  bucketCount = 20,
): ColumnDistribution {
  const n = values.length;
  if (n === 0) throw new RangeError(`Cannot describe '${name}': no values`);
  const sorted = Float64Array.from(values).sort();
  if (!Number.isFinite(sorted[0]!) || !Number.isFinite(sorted[n - 1]!)) {
    throw new RangeError(`Cannot describe '${name}': it holds a non-finite value`);
  }
  let total = 0;
  for (const v of sorted) total += v;
  const mean = total / n;
  let squares = 0;
  for (const v of sorted) squares += (v - mean) ** 2;
  // Edges are rounded before counting, so the frequencies describe exactly the edges written.
  const bucketEdges = Array.from({ length: bucketCount + 1 }, (_, k) =>
    round(sorted[Math.round((k / bucketCount) * (n - 1))]!),
  );
  const counts = new Array<number>(bucketCount).fill(0);
  for (const v of sorted) counts[bucketIndex(bucketEdges, v)]! += 1;
  return {
    name,
    mean: round(mean),
    std: round(Math.sqrt(squares / n)),
    min: round(sorted[0]!),
    max: round(sorted[n - 1]!),
    bucketEdges,
    bucketFrequencies: counts.map((count) => round(count / n)),
  };
}

export interface ReferenceDistributionInput {
  readonly featureNames: readonly string[];
  /** Row-major, `sampleCount × featureNames.length`. */
  readonly features: ArrayLike<number>;
  readonly sampleCount: number;
  /** Output columns (e.g. the model's predictions on the same samples), each `sampleCount` long. */
  readonly outputs: ReadonlyArray<{ readonly name: string; readonly values: ArrayLike<number> }>;
  readonly bucketCount?: number;
}

export function createReferenceDistribution(input: ReferenceDistributionInput): ReferenceDistribution {
  const { featureNames, features, sampleCount, outputs, bucketCount = 20 } = input;
  const width = featureNames.length;
  if (features.length !== sampleCount * width) {
    throw new RangeError(`Expected ${sampleCount} × ${width} feature values; got ${features.length}`);
  }
  const column = new Float64Array(sampleCount);
  return {
    schemaVersion: 1,
    sampleCount,
    bucketCount,
    bucketRule: BUCKET_RULE,
    features: featureNames.map((name, i) => {
      for (let row = 0; row < sampleCount; row++) column[row] = features[row * width + i]!;
      return describeColumn(name, column, bucketCount);
    }),
    outputs: outputs.map(({ name, values }) => {
      if (values.length !== sampleCount) {
        throw new RangeError(`Output '${name}' needs ${sampleCount} values; got ${values.length}`);
      }
      return describeColumn(name, values, bucketCount);
    }),
  };
}

function round(value: number): number {
  // `+ 0` turns -0 into 0, which JSON cannot tell apart anyway.
  return Number(value.toPrecision(SIGNIFICANT_DIGITS)) + 0;
}
