import { readFileSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createLogger } from '@mlops/runtime';
import { readSidecarConfig, startSidecar } from '../src';
import type { SidecarHandle } from '../src';
import { createDriftMonitor, driftColumns, populationStabilityIndex } from '../src/drift-monitor';
import { createModelRepository } from '../src/model-repository';
import { createMulberry32 } from '../src/model-builder/prng';
import type { ReferenceDistribution } from '../src/model-builder/reference-distribution';
import { createInferenceClient } from '../src/proto';
import type { InferenceServiceClient } from '../src/proto';
import type { HostTensor, ModelSignature } from '../src/tensor';

// Input drift of the shipped stock-predictor against the training distribution saved beside it.

const VERSION_DIR = path.resolve(__dirname, '..', 'models', 'stock-predictor', '1');
const reference = JSON.parse(
  readFileSync(path.join(VERSION_DIR, 'reference.json'), 'utf8'),
) as ReferenceDistribution;
const signature = JSON.parse(
  readFileSync(path.join(VERSION_DIR, 'signature.json'), 'utf8'),
) as ModelSignature;
const FEATURES = reference.features.length;

/** Rows drawn from the reference itself: a bucket by its frequency, then a value inside it; `shift` added. */
function referenceRows(rows: number, seed: number, shift = 0): Float32Array {
  const next = createMulberry32(seed);
  const data = new Float32Array(rows * FEATURES);
  for (let row = 0; row < rows; row++) {
    reference.features.forEach((feature, column) => {
      let pick = next();
      let bucket = 0;
      while (bucket < feature.bucketFrequencies.length - 1 && pick >= feature.bucketFrequencies[bucket]!) {
        pick -= feature.bucketFrequencies[bucket]!;
        bucket += 1;
      }
      const low = feature.bucketEdges[bucket]!;
      const high = feature.bucketEdges[bucket + 1]!;
      data[row * FEATURES + column] = low + (high - low) * next() + shift;
    });
  }
  return data;
}

const featuresTensor = (data: Float32Array): HostTensor => ({
  name: 'features',
  datatype: 'FP32',
  shape: [data.length / FEATURES, FEATURES],
  data,
});

describe('population stability index', () => {
  it('should be 0 for the reference itself and match a hand-computed value', () => {
    expect(populationStabilityIndex([25, 75], [0.25, 0.75])).toBeCloseTo(0, 12);
    // (0.5 - 0.25)·ln(0.5/0.25) + (0.5 - 0.75)·ln(0.5/0.75)
    expect(populationStabilityIndex([50, 50], [0.25, 0.75])).toBeCloseTo(0.274653, 6);
  });

  it('should stay finite when a bucket is empty on either side, and be 0 with nothing counted', () => {
    const psi = populationStabilityIndex([100, 0], [0.5, 0.5]);
    expect(Number.isFinite(psi)).toBe(true);
    expect(psi).toBeGreaterThan(4);
    expect(populationStabilityIndex([0, 0], [0.5, 0.5])).toBe(0);
  });
});

describe('drift monitor', () => {
  const columns = driftColumns(reference, signature)!;

  it('should watch every feature column of the input and the output column of the shipped model', () => {
    expect(columns.filter((c) => c.kind === 'input').map((c) => c.name)).toEqual(
      reference.features.map((f) => f.name),
    );
    expect(columns.filter((c) => c.kind === 'output')).toMatchObject([
      { tensor: 'predicted_return', index: 0, name: 'predicted_return' },
    ]);
    const narrower: ModelSignature = {
      ...signature,
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, FEATURES - 1] }],
      outputs: [{ name: 'predicted_return', datatype: 'INT64', shape: [-1, 1] }],
    };
    expect(driftColumns(reference, narrower)).toBeNull();
  });

  it('should score rows drawn from the reference near 0 and shifted rows as a significant shift', () => {
    const inputsOnly = columns.filter((c) => c.kind === 'input');
    const steady = createDriftMonitor(inputsOnly);
    steady.observe([featuresTensor(referenceRows(8_000, 1))], []);
    expect(Math.max(...steady.scores().map((s) => s.psi))).toBeLessThan(0.05);

    const shifted = createDriftMonitor(inputsOnly);
    shifted.observe([featuresTensor(referenceRows(8_000, 2, 3))], []);
    expect(Math.min(...shifted.scores().map((s) => s.psi))).toBeGreaterThan(0.25);
  });

  it('should forget rows older than the window, and skip values that are not finite', () => {
    const monitor = createDriftMonitor(
      columns.filter((c) => c.kind === 'input'),
      { windowRows: 2_000 },
    );
    expect(monitor.scores()).toEqual([]);
    monitor.observe([featuresTensor(referenceRows(1_000, 3, 5))], []);
    expect(Math.min(...monitor.scores().map((s) => s.psi))).toBeGreaterThan(0.25);
    // Two more halves of in-distribution rows push the shifted half out.
    monitor.observe([featuresTensor(referenceRows(1_000, 4))], []);
    monitor.observe([featuresTensor(referenceRows(1_000, 5))], []);
    expect(monitor.windowRows()).toBe(1_000);
    expect(Math.max(...monitor.scores().map((s) => s.psi))).toBeLessThan(0.1);

    // Half the rows missing every value: the other half is still scored, and the rows still count.
    const gaps = referenceRows(2_000, 6);
    gaps.fill(Number.NaN, 0, FEATURES * 1_000);
    const fresh = createDriftMonitor(columns.filter((c) => c.kind === 'input'));
    fresh.observe([featuresTensor(gaps)], []);
    expect(fresh.windowRows()).toBe(2_000);
    expect(Math.max(...fresh.scores().map((s) => s.psi))).toBeLessThan(0.1);
  });
});

describe('drift through the sidecar', () => {
  let sidecar: SidecarHandle;
  let client: InferenceServiceClient;

  beforeAll(async () => {
    sidecar = await startSidecar({
      config: { ...readSidecarConfig({}), grpcPort: 0, httpPort: 0, startupModels: ['stock-predictor'] },
      logger: createLogger({ service: 'inference-sidecar', level: 'silent' }),
    });
    client = createInferenceClient(sidecar.grpcAddress, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    await sidecar?.close();
  });

  const infer = (data: Float32Array) =>
    new Promise<void>((resolve, reject) =>
      client.ModelInfer(
        {
          model_name: 'stock-predictor',
          inputs: [
            { name: 'features', datatype: 'FP32', shape: [String(data.length / FEATURES), String(FEATURES)] },
          ],
          raw_input_contents: [Buffer.from(data.buffer)],
        },
        (error) => (error ? reject(error) : resolve()),
      ),
    );

  /** The sidecar's drift gauges, once its window holds `rows` rows (rows are counted after the answer). */
  async function driftMetrics(rows: number): Promise<Map<string, number>> {
    for (let attempt = 0; ; attempt++) {
      const text = await (await fetch(`${sidecar.httpUrl}/metrics`)).text();
      const window = /^mlops_model_drift_window_rows\{[^}]*model="stock-predictor"[^}]*\} (\S+)$/m.exec(text);
      if (Number(window?.[1]) === rows) {
        const scores = new Map<string, number>();
        for (const match of text.matchAll(/^mlops_model_drift_psi\{([^}]*)\} (\S+)$/gm)) {
          const column = /column="([^"]+)"/.exec(match[1]!)?.[1];
          if (match[1]!.includes('model="stock-predictor"') && column) scores.set(column, Number(match[2]));
        }
        return scores;
      }
      if (attempt > 100) throw new Error(`the drift window never held ${rows} rows: ${window?.[1]}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** 1,000 rows as 20 requests of 50 (the model batches at most 64 rows a request), in order. */
  const inferThousand = async (data: Float32Array) => {
    for (let row = 0; row < 1_000; row += 50) await infer(data.slice(row * FEATURES, (row + 50) * FEATURES));
  };

  it('should report a low PSI per feature on /metrics for traffic like the training data, and a high one once it shifts', async () => {
    for (let seed = 10; seed < 14; seed++) await inferThousand(referenceRows(1_000, seed));
    const steady = await driftMetrics(4_000);
    expect([...steady.keys()]).toEqual(
      expect.arrayContaining([...reference.features.map((f) => f.name), 'predicted_return']),
    );
    for (const feature of reference.features) expect(steady.get(feature.name)).toBeLessThan(0.1);

    // 10,000 shifted rows: the in-distribution ones have left the window (5,000 to 10,000 rows).
    for (let seed = 20; seed < 30; seed++) await inferThousand(referenceRows(1_000, seed, 4));
    const drifted = await driftMetrics(9_000);
    for (const feature of reference.features) expect(drifted.get(feature.name)).toBeGreaterThan(0.25);
  });
});

describe('a version whose reference.json is not a reference distribution', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'mlops-drift-'));
    await cp(path.dirname(VERSION_DIR), path.join(root, 'stock-predictor'), { recursive: true });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('should fail its load with UNAVAILABLE naming the file, as a bad signature.json does', async () => {
    await writeFile(path.join(root, 'stock-predictor', '1', 'reference.json'), '{"schemaVersion": 2}');
    const repository = createModelRepository(root);
    try {
      await expect(repository.load('stock-predictor')).rejects.toMatchObject({
        code: 'UNAVAILABLE',
        message: expect.stringContaining('reference.json'),
      });
      expect(repository.serving()).toEqual([]);
    } finally {
      await repository.close();
    }
  });
});
