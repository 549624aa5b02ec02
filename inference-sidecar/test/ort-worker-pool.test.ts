import path from 'node:path';
import { ErrorCode } from '@mlops/schema';
import { DEFAULT_MODEL_REPOSITORY } from '../src/config';
import { createOrtSessionPool } from '../src/ort-worker-pool';
import type { OrtSessionPool } from '../src/ort-worker-pool';
import type { HostTensor } from '../src/tensor';

const MODEL = path.join(DEFAULT_MODEL_REPOSITORY, 'stock-predictor', '1', 'model.onnx');
const FEATURES = 20;

function features(rows: number, width = FEATURES): HostTensor {
  return {
    name: 'features',
    datatype: 'FP32',
    shape: [rows, width],
    data: Float32Array.from({ length: rows * width }, (_, i) => Math.sin(i) / 20),
  };
}

/** One row of `features(rows)`, alone, as a batch of one. */
function row(input: HostTensor, index: number): HostTensor {
  const data = (input.data as Float32Array).slice(index * FEATURES, (index + 1) * FEATURES);
  return { ...input, shape: [1, FEATURES], data };
}

describe('ORT session pool', () => {
  const pools: OrtSessionPool[] = [];
  const open = async (options: Parameters<typeof createOrtSessionPool>[1] = {}) => {
    const pool = await createOrtSessionPool(MODEL, options);
    pools.push(pool);
    return pool;
  };
  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.close()));
  });

  it.each([1, 64, 5_000])(
    'should answer each row of a %i-row batch as it answers the row alone',
    async (rows) => {
      const pool = await open();
      const input = features(rows);
      const [output] = await pool.run([input], pool.outputNames);
      expect(output).toMatchObject({ name: 'predicted_return', datatype: 'FP32', shape: [rows, 1] });
      const values = output!.data as Float32Array;
      for (const index of new Set([0, rows >> 1, rows - 1])) {
        const [alone] = await pool.run([row(input, index)], pool.outputNames);
        expect(values[index]).toBeCloseTo((alone!.data as Float32Array)[0]!, 6);
      }
      // Different rows give different answers: the rows did not all read the same bytes.
      if (rows > 1) expect(values[0]).not.toBeCloseTo(values[rows - 1]!, 6);
    },
  );

  it('should grow its arena for a batch larger than it and keep answering smaller ones', async () => {
    const pool = await open({ initialArenaBytes: 256 });
    for (const rows of [1, 300, 2, 1_000, 1]) {
      const [output] = await pool.run([features(rows)], pool.outputNames);
      expect(output?.shape).toEqual([rows, 1]);
      expect(output?.data).toHaveLength(rows);
    }
  });

  it('should take over the larger arena a worker made for a reply, and keep answering', async () => {
    // The request (19 features) fits in the arena it is grown to; ORT's error message does not.
    const pool = await open({ initialArenaBytes: 8 });
    await expect(pool.run([features(1, 19)], pool.outputNames)).rejects.toMatchObject({
      code: ErrorCode.INTERNAL_SERVER_ERROR,
      message: expect.stringMatching(/^Inference failed: .*features/s),
    });
    const [output] = await pool.run([features(3)], pool.outputNames);
    const [alone] = await pool.run([row(features(3), 2)], pool.outputNames);
    expect(output?.shape).toEqual([3, 1]);
    expect((output!.data as Float32Array)[2]).toBeCloseTo((alone!.data as Float32Array)[0]!, 6);
  });

  it('should reject a tensor the model does not have with INTERNAL_SERVER_ERROR naming it', async () => {
    const pool = await open();
    await expect(pool.run([{ ...features(1), name: 'nope' }], pool.outputNames)).rejects.toMatchObject({
      code: ErrorCode.INTERNAL_SERVER_ERROR,
      message: expect.stringContaining('"nope"'),
    });
    await expect(pool.run([features(1)], ['missing'])).rejects.toMatchObject({
      code: ErrorCode.INTERNAL_SERVER_ERROR,
      message: expect.stringContaining('"missing"'),
    });
  });

  it('should answer UNAVAILABLE while every instance is busy', async () => {
    const pool = await open({ instances: 2 });
    const running = [pool.run([features(64)], pool.outputNames), pool.run([features(64)], pool.outputNames)];
    await expect(pool.run([features(1)], pool.outputNames)).rejects.toMatchObject({
      code: ErrorCode.UNAVAILABLE,
    });
    await expect(Promise.all(running)).resolves.toHaveLength(2);
    await expect(pool.run([features(1)], pool.outputNames)).resolves.toHaveLength(1);
  });

  it('should reject with UNAVAILABLE naming the file when the model cannot be loaded', async () => {
    await expect(
      createOrtSessionPool(path.join(DEFAULT_MODEL_REPOSITORY, 'missing.onnx')),
    ).rejects.toMatchObject({
      code: ErrorCode.UNAVAILABLE,
      message: expect.stringContaining('missing.onnx'),
    });
  });
});
