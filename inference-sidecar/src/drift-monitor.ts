import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { bucketIndex } from './model-builder/reference-distribution';
import type { ColumnDistribution, ReferenceDistribution } from './model-builder/reference-distribution';
import type { HostTensor, ModelSignature } from './tensor';

/** The file beside `model.onnx` that holds the training distribution of the version's columns. */
export const REFERENCE_FILE = 'reference.json';

/** Rows a drift score looks back over by default: the last 10,000 to 20,000 (two half-windows). */
export const DEFAULT_DRIFT_WINDOW_ROWS = 10_000;

/**
 * Frequencies below this count as this in the score: an empty bucket on either side would make the
 * logarithm infinite. The usual floor for PSI over quantile buckets.
 */
const FREQUENCY_FLOOR = 1e-4;

/** One tensor column watched for drift: which tensor and column it is, and its reference buckets. */
export interface DriftColumn {
  readonly kind: 'input' | 'output';
  /** The tensor's name in the signature, e.g. `features`. */
  readonly tensor: string;
  /** Its column in the tensor's second dimension. */
  readonly index: number;
  /** The column's name in the reference, e.g. `log_return_pct_lag_1`. */
  readonly name: string;
  readonly edges: readonly number[];
  readonly frequencies: readonly number[];
}

/** A column's drift score now. */
export interface DriftScore {
  readonly kind: 'input' | 'output';
  readonly column: string;
  /** Population stability index of the window against the reference; 0 when identical. */
  readonly psi: number;
}

export interface DriftMonitor {
  /** Counts one answered request's rows (inputs, and the outputs the model gave for them). */
  observe(inputs: readonly HostTensor[], outputs: readonly HostTensor[]): void;
  /** Every column's score over the window; empty before any row was observed. */
  scores(): DriftScore[];
  /** Rows the scores are computed over now. */
  windowRows(): number;
}

/**
 * Population stability index of observed bucket counts against reference frequencies:
 * Σ (o - e) · ln(o / e) over buckets, both sides as fractions floored at `FREQUENCY_FLOOR`. Below 0.1
 * is read as no shift, 0.1–0.25 as moderate, above 0.25 as a significant one.
 */
export function populationStabilityIndex(counts: ArrayLike<number>, expected: readonly number[]): number {
  let total = 0;
  for (let b = 0; b < counts.length; b++) total += counts[b]!;
  if (total === 0) return 0;
  let psi = 0;
  for (let b = 0; b < expected.length; b++) {
    const o = Math.max(counts[b]! / total, FREQUENCY_FLOOR);
    const e = Math.max(expected[b]!, FREQUENCY_FLOOR);
    psi += (o - e) * Math.log(o / e);
  }
  return psi;
}

/**
 * Maps a version's reference distribution onto its signature: the reference's `features` are the
 * columns of the first input (shape `[-1, features]`), its `outputs` those of the first output.
 * Columns whose tensor is not a float matrix of that width are not watched. Null when no column can be.
 */
export function driftColumns(
  reference: ReferenceDistribution,
  signature: ModelSignature,
): DriftColumn[] | null {
  const columns = [
    ...matrixColumns('input', signature.inputs[0], reference.features),
    ...matrixColumns('output', signature.outputs[0], reference.outputs),
  ];
  return columns.length > 0 ? columns : null;
}

function matrixColumns(
  kind: 'input' | 'output',
  spec: ModelSignature['inputs'][number] | undefined,
  distributions: readonly ColumnDistribution[],
): DriftColumn[] {
  if (!spec || (spec.datatype !== 'FP32' && spec.datatype !== 'FP64')) return [];
  if (spec.shape.length !== 2 || spec.shape[1] !== distributions.length) return [];
  return distributions.map((d, index) => ({
    kind,
    tensor: spec.name,
    index,
    name: d.name,
    edges: d.bucketEdges,
    frequencies: d.bucketFrequencies,
  }));
}

/**
 * Reads `reference.json` beside a version's model, if there is one, and the columns it can watch.
 * Null without the file, or when it does not describe the signature's tensors; a file that is not a
 * reference distribution throws (the version then fails to load, as for a bad signature.json).
 */
export async function readDriftReference(
  versionDir: string,
  signature: ModelSignature,
): Promise<DriftColumn[] | null> {
  let text: string;
  try {
    text = await readFile(path.join(versionDir, REFERENCE_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let reference: Partial<ReferenceDistribution>;
  try {
    reference = JSON.parse(text) as Partial<ReferenceDistribution>;
  } catch (error) {
    throw new Error(`${REFERENCE_FILE} is not JSON: ${(error as Error).message}`);
  }
  if (
    reference.schemaVersion !== 1 ||
    !Array.isArray(reference.features) ||
    !Array.isArray(reference.outputs)
  )
    throw new Error(`${REFERENCE_FILE} is not a schemaVersion 1 reference distribution`);
  for (const column of [...reference.features, ...reference.outputs]) {
    const { bucketEdges: edges, bucketFrequencies: frequencies } = column;
    if (!Array.isArray(edges) || !Array.isArray(frequencies) || edges.length !== frequencies.length + 1)
      throw new Error(
        `${REFERENCE_FILE}: column '${String(column.name)}' needs one more edge than frequencies`,
      );
  }
  return driftColumns(reference as ReferenceDistribution, signature);
}

/**
 * Counts the rows a version answers into each watched column's reference buckets, over a sliding
 * window of two halves: once the newer half holds `windowRows / 2` rows it becomes the older one and
 * the oldest rows are forgotten, so a score covers between `windowRows / 2` and `windowRows` of the
 * latest rows in fixed memory. Non-finite values are not counted.
 */
export function createDriftMonitor(
  columns: readonly DriftColumn[],
  { windowRows = DEFAULT_DRIFT_WINDOW_ROWS }: { windowRows?: number } = {},
): DriftMonitor {
  const half = Math.max(1, Math.floor(windowRows / 2));
  let current = columns.map((c) => new Float64Array(c.frequencies.length));
  let previous = columns.map((c) => new Float64Array(c.frequencies.length));
  let currentRows = 0;
  let previousRows = 0;
  const byTensor = new Map<string, number[]>();
  columns.forEach((c, i) =>
    byTensor.set(`${c.kind}:${c.tensor}`, [...(byTensor.get(`${c.kind}:${c.tensor}`) ?? []), i]),
  );

  const count = (kind: 'input' | 'output', tensors: readonly HostTensor[]): number => {
    let rows = 0;
    for (const tensor of tensors) {
      const watched = byTensor.get(`${kind}:${tensor.name}`);
      if (!watched || tensor.shape.length !== 2) continue;
      const [height = 0, width = 0] = tensor.shape;
      const data = tensor.data as ArrayLike<number>;
      for (const i of watched) {
        const column = columns[i]!;
        if (column.index >= width) continue;
        const counts = current[i]!;
        for (let row = 0; row < height; row++) {
          const value = data[row * width + column.index]!;
          if (Number.isFinite(value)) counts[bucketIndex(column.edges, value)]! += 1;
        }
      }
      rows = Math.max(rows, height);
    }
    return rows;
  };

  return {
    observe(inputs, outputs) {
      const rows = count('input', inputs);
      count('output', outputs);
      currentRows += rows;
      if (currentRows < half) return;
      previous = current;
      previousRows = currentRows;
      current = columns.map((c) => new Float64Array(c.frequencies.length));
      currentRows = 0;
    },
    scores() {
      if (currentRows + previousRows === 0) return [];
      return columns.map((column, i) => {
        const combined = new Float64Array(column.frequencies.length);
        for (let b = 0; b < combined.length; b++) combined[b] = current[i]![b]! + previous[i]![b]!;
        return {
          kind: column.kind,
          column: column.name,
          psi: populationStabilityIndex(combined, column.frequencies),
        };
      });
    },
    windowRows: () => currentRows + previousRows,
  };
}
