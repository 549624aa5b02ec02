import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  buildModels,
  DEFAULT_MODELS_DIR,
  MODEL_VERSION,
  STOCK_HEAVY,
  STOCK_PREDICTOR,
} from '../src/model-builder/build-models';
import type { BuildModelsResult } from '../src/model-builder/build-models';
import { predict } from '../src/model-builder/mlp';
import { FEATURE_COUNT } from '../src/model-builder/price-series';
import type { ModelSignature } from '../src/tensor';

/**
 * ONNX Runtime runs in a worker thread, as in the sidecar. It could not run in the test itself:
 * jest evaluates modules in a separate realm, and ORT's native code builds its output tensors from
 * the main realm's Float32Array, which onnxruntime-common (loaded in jest's realm) then rejects.
 */
const ORT_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const sessions = new Map();
async function open(modelPath) {
  if (!sessions.has(modelPath)) {
    sessions.set(modelPath, await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1 }));
  }
  return sessions.get(modelPath);
}
async function handle(request) {
  if (request.op === 'close') {
    await Promise.all([...sessions.values()].map((session) => session.release()));
    return null;
  }
  const session = await open(request.modelPath);
  if (request.op === 'describe') {
    const { inputNames, outputNames, inputMetadata } = session;
    return { inputNames, outputNames, inputMetadata };
  }
  const feeds = { [request.inputName]: new ort.Tensor('float32', request.data, request.dims) };
  const results = await session.run(feeds);
  return Object.fromEntries(
    Object.entries(results).map(([name, tensor]) => [name, { dims: [...tensor.dims], data: tensor.data }]),
  );
}
parentPort.on('message', (request) => {
  handle(request).then(
    (value) => parentPort.postMessage({ id: request.id, ok: true, value }),
    (error) => parentPort.postMessage({ id: request.id, ok: false, message: String(error?.message ?? error) }),
  );
});
`;

interface SessionDescription {
  readonly inputNames: string[];
  readonly outputNames: string[];
  readonly inputMetadata: ReadonlyArray<{
    readonly type?: string;
    readonly shape?: ReadonlyArray<string | number>;
  }>;
}

type RunResults = Record<string, { readonly dims: number[]; readonly data: Float32Array }>;

interface OrtWorker {
  describe(modelPath: string): Promise<SessionDescription>;
  run(modelPath: string, inputName: string, data: Float32Array, dims: number[]): Promise<RunResults>;
  close(): Promise<void>;
}

function startOrtWorker(): OrtWorker {
  const worker = new Worker(ORT_WORKER_SOURCE, {
    eval: true,
    workerData: { ortPath: require.resolve('onnxruntime-node') },
  });
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 0;
  worker.on('message', (reply: { id: number; ok: boolean; value?: unknown; message?: string }) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.ok) waiter?.resolve(reply.value);
    else waiter?.reject(new Error(reply.message));
  });
  worker.on('error', (error) => {
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  });
  const call = <T>(request: Record<string, unknown>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: (value) => resolve(value as T), reject });
      worker.postMessage({ ...request, id });
    });
  return {
    describe: (modelPath) => call({ op: 'describe', modelPath }),
    run: (modelPath, inputName, data, dims) => call({ op: 'run', modelPath, inputName, data, dims }),
    async close() {
      await call({ op: 'close' });
      await worker.terminate();
    },
  };
}

/** Two full builds (each trains the model): the rest of the suite reads the first one. */
describe('buildModels', () => {
  let firstDir: string;
  let secondDir: string;
  let first: BuildModelsResult;
  let second: BuildModelsResult;
  let ort: OrtWorker;

  const versionDir = (root: string, model: string): string => path.join(root, model, String(MODEL_VERSION));
  const readJson = async <T>(file: string): Promise<T> => JSON.parse(await readFile(file, 'utf8')) as T;
  const modelPath = (model: string): string => path.join(versionDir(firstDir, model), 'model.onnx');

  beforeAll(async () => {
    ort = startOrtWorker();
    firstDir = await mkdtemp(path.join(tmpdir(), 'model-builder-a-'));
    secondDir = await mkdtemp(path.join(tmpdir(), 'model-builder-b-'));
    first = await buildModels({ outDir: firstDir });
    second = await buildModels({ outDir: secondDir });
  });

  afterAll(async () => {
    await ort.close();
    await rm(firstDir, { recursive: true, force: true });
    await rm(secondDir, { recursive: true, force: true });
  });

  it('should train a stock predictor that beats the zero-return baseline on validation', async () => {
    const { validationMse, baselineValidationMse, trainMse, baselineTrainMse } = first.training.metrics;
    expect(trainMse).toBeLessThan(baselineTrainMse);
    expect(validationMse).toBeLessThan(0.9 * baselineValidationMse);
    const report = await readJson<{ metrics: { validationMseOverBaseline: number } }>(
      path.join(versionDir(firstDir, STOCK_PREDICTOR), 'training.json'),
    );
    expect(report.metrics.validationMseOverBaseline).toBeCloseTo(validationMse / baselineValidationMse, 5);
  });

  it('should export an ONNX model whose input and output names match signature.json', async () => {
    const session = await ort.describe(modelPath(STOCK_PREDICTOR));
    const signature = await readJson<ModelSignature>(
      path.join(versionDir(firstDir, STOCK_PREDICTOR), 'signature.json'),
    );
    expect(signature).toEqual({
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, FEATURE_COUNT] }],
      outputs: [{ name: 'predicted_return', datatype: 'FP32', shape: [-1, 1] }],
    });
    expect(session.inputNames).toEqual(signature.inputs.map((spec) => spec.name));
    expect(session.outputNames).toEqual(signature.outputs.map((spec) => spec.name));
    expect(session.inputMetadata[0]).toMatchObject({ type: 'float32', shape: ['batch', FEATURE_COUNT] });
  });

  it.each([1, 7])(
    'should make ONNX Runtime predict what the TypeScript forward pass predicts for a batch of %i',
    async (batch) => {
      const { validation } = first.dataset;
      const offset = 100; // any rows will do; skip the first to avoid a special case at index 0
      const features = validation.features.slice(offset * FEATURE_COUNT, (offset + batch) * FEATURE_COUNT);
      const results = await ort.run(modelPath(STOCK_PREDICTOR), 'features', features, [batch, FEATURE_COUNT]);
      const output = results.predicted_return!;
      expect(output.dims).toEqual([batch, 1]);
      const expected = predict(first.training.model, features, batch);
      const actual = output.data;
      for (let row = 0; row < batch; row++)
        expect(Math.abs(actual[row]! - expected[row]!)).toBeLessThan(1e-5);
    },
  );

  it('should export a heavy model with the same interface that runs a batch of 4', async () => {
    const signature = await readJson<ModelSignature>(
      path.join(versionDir(firstDir, STOCK_HEAVY), 'signature.json'),
    );
    expect(signature).toEqual(
      await readJson<ModelSignature>(path.join(versionDir(firstDir, STOCK_PREDICTOR), 'signature.json')),
    );
    const features = first.dataset.validation.features.slice(0, 4 * FEATURE_COUNT);
    const results = await ort.run(modelPath(STOCK_HEAVY), 'features', features, [4, FEATURE_COUNT]);
    expect(results.predicted_return!.dims).toEqual([4, 1]);
    expect(Array.from(results.predicted_return!.data).every(Number.isFinite)).toBe(true);
  });

  it('should write byte-identical files on every build', async () => {
    expect(second.files).toEqual(first.files);
    for (const relative of first.files) {
      const a = await readFile(path.join(firstDir, relative));
      const b = await readFile(path.join(secondDir, relative));
      expect({ file: relative, equal: a.equals(b) }).toEqual({ file: relative, equal: true });
    }
  });

  it('should match the checked-in models (regenerate with npm run build:models)', async () => {
    for (const relative of first.files) {
      const built = await readFile(path.join(firstDir, relative));
      const checkedIn = await readFile(path.join(DEFAULT_MODELS_DIR, relative)).catch(() => undefined);
      expect({ file: relative, equal: checkedIn?.equals(built) ?? false }).toEqual({
        file: relative,
        equal: true,
      });
    }
  });

  it('should keep every model file under 10 MB', async () => {
    for (const relative of first.files) {
      const { length } = await readFile(path.join(firstDir, relative));
      expect({ file: relative, small: length < 10 * 1024 * 1024 }).toEqual({ file: relative, small: true });
    }
  });
});
