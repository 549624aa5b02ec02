/**
 * Builds the sidecar's model repository from nothing but code: simulates prices, trains the
 * stock predictor, exports it and the heavy benchmark model to ONNX, and writes them with their
 * signature, configuration, training report and reference distribution:
 *
 *   models/stock-predictor/config.json
 *   models/stock-predictor/1/{model.onnx, signature.json, reference.json, training.json}
 *   models/stock-heavy/config.json
 *   models/stock-heavy/1/{model.onnx, signature.json}
 *
 * Every byte is a function of the constants below, so a rebuild reproduces the checked-in files.
 *
 * CLI: `node dist/model-builder/build-models.js [--out <dir>] [--check]`. `--check` builds into a
 * temporary directory and exits 1 when the files under the output directory differ.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ModelConfig } from '../model-config';
import type { ModelSignature, TensorSpec } from '../tensor';
import { formatJson } from './json-format';
import type { JsonValue } from './json-format';
import { layerSizesOf, predict, trainMlp } from './mlp';
import type { TrainOptions, TrainResult } from './mlp';
import { createHeavyMlp, exportMlpToOnnx, mlpSignature } from './onnx-export';
import { createStockDataset, FEATURE_COUNT, RETURN_WINDOW } from './price-series';
import type { StockDataset, StockDatasetOptions } from './price-series';
import { createReferenceDistribution } from './reference-distribution';

export const STOCK_PREDICTOR = 'stock-predictor';
export const STOCK_HEAVY = 'stock-heavy';
export const MODEL_VERSION = 1;

/** The checked-in repository: `inference-sidecar/models`, from `src/` and `dist/` alike. */
export const DEFAULT_MODELS_DIR = path.resolve(__dirname, '../../models');

const DATASET: Required<StockDatasetOptions> = {
  seed: 20_240_601,
  tickers: 32,
  days: 1250,
  trainFraction: 0.8,
};
const TRAINING: Required<TrainOptions> = {
  seed: 7,
  hiddenSizes: [32, 16],
  epochs: 6,
  batchSize: 128,
  learningRate: 2e-3,
};
const HEAVY_SEED = 1024;

/** The heavy model's compute dominates: waiting up to 500 µs to fill a batch pays for itself. */
const SERVING_CONFIG: ModelConfig = {
  maxBatchSize: 64,
  preferredBatchSizes: [8, 16, 32, 64],
  maxQueueDelayMicros: 500,
  maxQueueSize: 1024,
  instances: 1,
  intraOpThreads: 1,
};

/**
 * The tiny model computes in microseconds, so a lone request must not wait for company: with no
 * queue delay it runs at once, and requests batch only while an instance is busy.
 */
const TINY_SERVING_CONFIG: ModelConfig = { ...SERVING_CONFIG, maxQueueDelayMicros: 0 };

/** A file to write: its path relative to the repository root (`/`-separated) and its contents. */
type GeneratedFile = readonly [relativePath: string, contents: string | Uint8Array];

export interface BuildModelsOptions {
  /** Repository root to write into; created if missing. Existing other models are left alone. */
  readonly outDir: string;
}

export interface BuildModelsResult {
  /** Written files, relative to `outDir`, with `/` separators, sorted. */
  readonly files: readonly string[];
  readonly dataset: StockDataset;
  readonly training: TrainResult;
}

export async function buildModels({ outDir }: BuildModelsOptions): Promise<BuildModelsResult> {
  const dataset = createStockDataset(DATASET);
  const training = trainMlp(dataset, TRAINING);
  const outputs: GeneratedFile[] = [...stockPredictorFiles(dataset, training), ...stockHeavyFiles()];
  for (const [relative, contents] of outputs) {
    const file = path.join(outDir, ...relative.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, contents);
  }
  return { files: outputs.map(([relative]) => relative).sort(), dataset, training };
}

function stockPredictorFiles(dataset: StockDataset, training: TrainResult): GeneratedFile[] {
  const { model, metrics } = training;
  const { train, validation, featureNames } = dataset;
  const version = `${STOCK_PREDICTOR}/${MODEL_VERSION}`;
  const onnxBytes = exportMlpToOnnx(model, {
    graphName: STOCK_PREDICTOR,
    modelVersion: MODEL_VERSION,
    docString:
      `Predicts the next-day log return of a stock from its last ${RETURN_WINDOW} daily log returns (percent), ` +
      '5- and 20-day volatility and momentum (percent). Trained on synthetic prices.',
  });
  const reference = createReferenceDistribution({
    featureNames,
    features: train.features,
    sampleCount: train.size,
    outputs: [{ name: 'predicted_return', values: predict(model, train.features, train.size) }],
  });
  const report = {
    model: STOCK_PREDICTOR,
    version: MODEL_VERSION,
    task: 'regression of the next-day log return',
    architecture: { layerSizes: layerSizesOf(model), hiddenActivation: 'relu', output: 'linear' },
    training: { ...TRAINING, hiddenSizes: [...TRAINING.hiddenSizes], optimizer: 'adam', loss: 'mse' },
    data: {
      generator: 'regime-switching geometric Brownian motion with nonlinear mean reversion',
      seed: DATASET.seed,
      tickers: DATASET.tickers,
      days: DATASET.days,
      split: 'chronological per ticker',
      trainFraction: DATASET.trainFraction,
      trainSamples: train.size,
      validationSamples: validation.size,
    },
    featureNames: [...featureNames],
    metrics: {
      trainMse: round(metrics.trainMse),
      validationMse: round(metrics.validationMse),
      baselineTrainMse: round(metrics.baselineTrainMse),
      baselineValidationMse: round(metrics.baselineValidationMse),
      baseline: 'always predict a zero return',
      validationMseOverBaseline: round(metrics.validationMse / metrics.baselineValidationMse),
    },
  } satisfies JsonValue;
  return [
    [`${STOCK_PREDICTOR}/config.json`, formatJson(configJson(TINY_SERVING_CONFIG))],
    [`${version}/model.onnx`, onnxBytes],
    [`${version}/signature.json`, formatJson(signatureJson(mlpSignature(model)))],
    [`${version}/reference.json`, formatJson(reference)],
    [`${version}/training.json`, formatJson(report)],
  ];
}

function stockHeavyFiles(): GeneratedFile[] {
  const version = `${STOCK_HEAVY}/${MODEL_VERSION}`;
  const heavy = createHeavyMlp({ seed: HEAVY_SEED, inputSize: FEATURE_COUNT });
  const onnxBytes = exportMlpToOnnx(heavy, {
    graphName: STOCK_HEAVY,
    modelVersion: MODEL_VERSION,
    docString: 'Benchmark load with the stock predictor interface; random weights, meaningless output.',
  });
  return [
    [`${STOCK_HEAVY}/config.json`, formatJson(configJson(SERVING_CONFIG))],
    [`${version}/model.onnx`, onnxBytes],
    [`${version}/signature.json`, formatJson(signatureJson(mlpSignature(heavy)))],
  ];
}

function configJson(config: ModelConfig): JsonValue {
  return { ...config, preferredBatchSizes: [...config.preferredBatchSizes] };
}

function signatureJson({ inputs, outputs }: ModelSignature): JsonValue {
  const spec = ({ name, datatype, shape }: TensorSpec): JsonValue => ({ name, datatype, shape: [...shape] });
  return { inputs: inputs.map(spec), outputs: outputs.map(spec) };
}

function round(value: number): number {
  return Number(value.toPrecision(7));
}

/** Files under `outDir` that differ from a fresh build (missing files count as different). */
export async function findDrift(outDir: string): Promise<string[]> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'model-builder-'));
  try {
    const { files } = await buildModels({ outDir: scratch });
    const drifted: string[] = [];
    for (const relative of files) {
      const fresh = await readFile(path.join(scratch, relative));
      const existing = await readFile(path.join(outDir, relative)).catch(() => undefined);
      if (existing === undefined || !existing.equals(fresh)) drifted.push(relative);
    }
    return drifted;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: { out: { type: 'string' }, check: { type: 'boolean', default: false } },
    strict: true,
  });
  const outDir = path.resolve(values.out ?? DEFAULT_MODELS_DIR);
  if (values.check) {
    const drifted = await findDrift(outDir);
    if (drifted.length === 0) {
      console.log(`Models in ${outDir} match the generator`);
      return 0;
    }
    console.error(
      `Models in ${outDir} differ from the generator; run npm run build:models:\n  ${drifted.join('\n  ')}`,
    );
    return 1;
  }
  const started = Date.now();
  const { files, training } = await buildModels({ outDir });
  const { validationMse, baselineValidationMse } = training.metrics;
  console.log(
    `Wrote ${files.length} files to ${outDir} in ${Date.now() - started} ms; ` +
      `${STOCK_PREDICTOR} validation MSE ${validationMse.toExponential(4)} ` +
      `vs zero-return baseline ${baselineValidationMse.toExponential(4)}`,
  );
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
