import { Worker } from 'node:worker_threads';
import { ErrorCode } from '@mlops/schema';
import { DomainError } from '@mlops/runtime';
import type { Datatype, HostTensor, TensorData } from './tensor';

/**
 * ONNX Runtime sessions run in worker threads: `session.run` in onnxruntime-node is synchronous on
 * the calling thread, so the gRPC thread only parses, queues and answers. One worker holds one
 * session (one model instance); tensors cross by transferring their buffers, never by copying.
 */

export interface SessionOptions {
  /** Threads ORT may use inside one operator; default 1 (instances scale across cores instead). */
  readonly intraOpThreads?: number;
}

export interface OrtSessionPool {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs one (batched) inference on an idle instance; rejects with UNAVAILABLE when all are busy. */
  run(inputs: readonly HostTensor[], outputNames: readonly string[]): Promise<HostTensor[]>;
  /** Waits for running inferences, then terminates every worker. */
  close(): Promise<void>;
}

type WireTensor = {
  name: string;
  datatype: Datatype;
  shape: number[];
  buffer: ArrayBuffer;
  byteOffset: number;
  length: number;
};
type WorkerReply =
  | { kind: 'ready'; inputNames: string[]; outputNames: string[] }
  | { kind: 'result'; id: number; outputs: WireTensor[] }
  | { kind: 'error'; id: number | null; message: string };

// The worker is evaluated from source so that it runs the same under ts-jest and from dist/.
// It is plain JavaScript: keep it tiny, everything else stays typed on this side.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const ORT_TYPES = { BOOL: 'bool', INT32: 'int32', INT64: 'int64', FP32: 'float32', FP64: 'float64' };
const DATATYPES = { bool: 'BOOL', int32: 'INT32', int64: 'INT64', float32: 'FP32', float64: 'FP64' };
const ARRAYS = { BOOL: Uint8Array, INT32: Int32Array, INT64: BigInt64Array, FP32: Float32Array, FP64: Float64Array };
(async () => {
  let session;
  try {
    session = await ort.InferenceSession.create(workerData.modelPath, {
      intraOpNumThreads: workerData.intraOpThreads, interOpNumThreads: 1,
      executionMode: 'sequential', graphOptimizationLevel: 'all',
    });
  } catch (error) {
    parentPort.postMessage({ kind: 'error', id: null, message: String(error && error.message || error) });
    return;
  }
  parentPort.postMessage({ kind: 'ready', inputNames: session.inputNames, outputNames: session.outputNames });
  parentPort.on('message', async ({ id, inputs, outputNames }) => {
    try {
      const feeds = {};
      for (const t of inputs) {
        const data = new ARRAYS[t.datatype](t.buffer, t.byteOffset, t.length);
        feeds[t.name] = new ort.Tensor(ORT_TYPES[t.datatype], t.datatype === 'BOOL' ? Uint8Array.from(data, (v) => v !== 0) : data, t.shape);
      }
      const results = await session.run(feeds, outputNames);
      const outputs = [];
      const transfer = [];
      for (const name of outputNames) {
        const tensor = results[name];
        const datatype = DATATYPES[tensor.type];
        if (!datatype) throw new Error('output ' + name + ' has unsupported type ' + tensor.type);
        const data = datatype === 'BOOL' ? Uint8Array.from(tensor.data, (v) => (v ? 1 : 0)) : tensor.data;
        outputs.push({ name, datatype, shape: tensor.dims.map(Number), buffer: data.buffer, byteOffset: data.byteOffset, length: data.length });
        transfer.push(data.buffer);
      }
      parentPort.postMessage({ kind: 'result', id, outputs }, [...new Set(transfer)]);
    } catch (error) {
      parentPort.postMessage({ kind: 'error', id, message: String(error && error.message || error) });
    }
  });
})();
`;

const ARRAYS: Record<Datatype, new (buffer: ArrayBuffer, byteOffset: number, length: number) => TensorData> =
  {
    BOOL: Uint8Array,
    INT32: Int32Array,
    INT64: BigInt64Array,
    FP32: Float32Array,
    FP64: Float64Array,
  };

interface Call {
  readonly id: number;
  resolve(outputs: HostTensor[]): void;
  reject(error: Error): void;
}

/** One worker and the one inference it may be running; a dead instance never takes work again. */
interface Instance {
  readonly worker: Worker;
  current: Call | null;
  alive: boolean;
}

/**
 * Starts `instances` workers that each load `modelPath`; resolves once every one is ready, rejects
 * with UNAVAILABLE naming the model file when ORT cannot load it (no worker is left running).
 */
export async function createOrtSessionPool(
  modelPath: string,
  { instances = 1, intraOpThreads = 1 }: SessionOptions & { instances?: number } = {},
): Promise<OrtSessionPool> {
  const ortPath = require.resolve('onnxruntime-node');
  const started = await Promise.allSettled(
    Array.from({ length: instances }, () => startWorker(modelPath, ortPath, intraOpThreads)),
  );
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  const ready = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (failed) {
    await Promise.all(ready.map((r) => r.instance.worker.terminate()));
    throw new DomainError(
      ErrorCode.UNAVAILABLE,
      `Model ${modelPath} could not be loaded: ${(failed.reason as Error).message}`,
    );
  }
  const pool = ready.map((r) => r.instance);
  const { inputNames, outputNames } = ready[0]!;
  let nextId = 1;

  return {
    inputNames,
    outputNames,
    run(inputs, wanted) {
      const instance = pool.find((i) => i.alive && i.current === null);
      if (!instance)
        return Promise.reject(new DomainError(ErrorCode.UNAVAILABLE, 'No model instance is free'));
      const id = nextId++;
      const wire: WireTensor[] = inputs.map((t) => ({
        name: t.name,
        datatype: t.datatype,
        shape: [...t.shape],
        buffer: t.data.buffer as ArrayBuffer,
        byteOffset: t.data.byteOffset,
        length: t.data.length,
      }));
      return new Promise<HostTensor[]>((resolve, reject) => {
        instance.current = { id, resolve, reject };
        // Input buffers are copied, not transferred: they may be slices of pooled gRPC buffers.
        instance.worker.postMessage({ id, inputs: wire, outputNames: wanted });
      });
    },
    async close() {
      await Promise.all(pool.map((i) => i.worker.terminate()));
    },
  };
}

function startWorker(
  modelPath: string,
  ortPath: string,
  intraOpThreads: number,
): Promise<{ instance: Instance; inputNames: string[]; outputNames: string[] }> {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { modelPath, ortPath, intraOpThreads },
  });
  const instance: Instance = { worker, current: null, alive: true };
  const settle = (outcome: { outputs: HostTensor[] } | { error: Error }) => {
    const call = instance.current;
    instance.current = null;
    if (!call) return;
    if ('error' in outcome) call.reject(outcome.error);
    else call.resolve(outcome.outputs);
  };
  return new Promise((resolve, reject) => {
    worker.on('message', (reply: WorkerReply) => {
      switch (reply.kind) {
        case 'ready':
          resolve({ instance, inputNames: reply.inputNames, outputNames: reply.outputNames });
          return;
        case 'result':
          settle({
            outputs: reply.outputs.map((o) => ({
              name: o.name,
              datatype: o.datatype,
              shape: o.shape,
              data: new ARRAYS[o.datatype](o.buffer, o.byteOffset, o.length),
            })),
          });
          return;
        case 'error':
          if (reply.id === null) {
            reject(new Error(reply.message));
            void worker.terminate();
          } else {
            settle({
              error: new DomainError(ErrorCode.INTERNAL_SERVER_ERROR, `Inference failed: ${reply.message}`),
            });
          }
          return;
        default: {
          const _exhaustive: never = reply;
          throw new Error(`Unknown worker reply ${JSON.stringify(_exhaustive)}`);
        }
      }
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      instance.alive = false;
      reject(new Error(`worker exited with code ${code} before loading the model`));
      settle({ error: new DomainError(ErrorCode.UNAVAILABLE, `Model instance stopped (exit code ${code})`) });
    });
  });
}
