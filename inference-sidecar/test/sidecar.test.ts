import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createLogger } from '@mlops/runtime';
import { readSidecarConfig, startSidecar } from '../src';
import type { SidecarHandle } from '../src';

/**
 * The sidecar over real gRPC with a stock client: generated at run time from the checked-in
 * `schema/proto/grpc_predict_v2.proto` with plain proto-loader options (int64 as strings), as any KServe/Triton client
 * would be, against the real shipped stock-predictor model on ONNX Runtime.
 */
const PROTO_DIR = path.resolve(__dirname, '..', '..', 'schema', 'proto');

type Callback<T> = (error: grpc.ServiceError | null, response: T) => void;
type StockClient = grpc.Client &
  Record<
    string,
    (
      request: unknown,
      metadataOrCallback: unknown,
      optionsOrCallback?: unknown,
      callback?: unknown,
    ) => unknown
  >;

function stockClients(address: string): { inference: StockClient; health: StockClient } {
  const definition = protoLoader.loadSync(
    [path.join(PROTO_DIR, 'grpc_predict_v2.proto'), path.join(PROTO_DIR, 'health.proto')],
    {
      keepCase: true,
      longs: String,
    },
  );
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    inference: { GRPCInferenceService: new (a: string, c: grpc.ChannelCredentials) => StockClient };
    grpc: { health: { v1: { Health: new (a: string, c: grpc.ChannelCredentials) => StockClient } } };
  };
  const credentials = grpc.credentials.createInsecure();
  return {
    inference: new loaded.inference.GRPCInferenceService(address, credentials),
    health: new loaded.grpc.health.v1.Health(address, credentials),
  };
}

function unary<T>(client: StockClient, method: string, request: unknown, deadlineMs?: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const callback: Callback<T> = (error, response) => (error ? reject(error) : resolve(response));
    if (deadlineMs === undefined) client[method]!(request, callback);
    else client[method]!(request, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, callback);
  });
}

async function grpcCode(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (error) {
    return (error as grpc.ServiceError).code;
  }
  throw new Error('expected the call to fail');
}

const FEATURES = 20;
const features = (rows: number) => Array.from({ length: rows * FEATURES }, (_, i) => Math.sin(i) / 20);
const rawFeatures = (rows: number) => Buffer.from(new Float32Array(features(rows)).buffer);
const inferRequest = (rows: number, extra: Record<string, unknown> = {}) => ({
  model_name: 'stock-predictor',
  inputs: [{ name: 'features', datatype: 'FP32', shape: [rows, FEATURES] }],
  raw_input_contents: [rawFeatures(rows)],
  ...extra,
});

interface InferResponse {
  model_name: string;
  model_version: string;
  outputs: {
    name: string;
    datatype: string;
    shape: string[];
    contents?: { fp32_contents: number[] } | null;
  }[];
  raw_output_contents: Buffer[];
}

const floats = (buffer: Buffer) =>
  Array.from(new Float32Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.length)));

describe('inference sidecar over gRPC', () => {
  let sidecar: SidecarHandle;
  let inference: StockClient;
  let health: StockClient;

  beforeAll(async () => {
    const config = {
      ...readSidecarConfig({}),
      grpcPort: 0,
      httpPort: 0,
      startupModels: ['stock-predictor'],
      maxMessageBytes: 1024 * 1024,
    };
    sidecar = await startSidecar({
      config,
      logger: createLogger({ service: 'inference-sidecar', level: 'silent' }),
    });
    ({ inference, health } = stockClients(sidecar.grpcAddress));
  });
  afterAll(async () => {
    inference?.close();
    health?.close();
    await sidecar?.close();
  });

  it('should answer liveness, readiness, server and model metadata', async () => {
    expect(await unary(inference, 'ServerLive', {})).toEqual({ live: true });
    expect(await unary(inference, 'ServerReady', {})).toEqual({ ready: true });
    expect(await unary(inference, 'ModelReady', { name: 'stock-predictor' })).toEqual({ ready: true });
    const metadata = await unary<Record<string, unknown>>(inference, 'ModelMetadata', {
      name: 'stock-predictor',
    });
    expect(metadata).toMatchObject({
      name: 'stock-predictor',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'features', datatype: 'FP32', shape: ['-1', '20'] }],
      outputs: [{ name: 'predicted_return', datatype: 'FP32', shape: ['-1', '1'] }],
    });
    // grpc.health.v1 ServingStatus: 1 = SERVING (this stock client keeps enums as numbers).
    expect(await unary(health, 'Check', { service: '' })).toEqual({ status: 1 });
  });

  it('should predict with raw tensors and with typed contents, each answer mirroring its request', async () => {
    const raw = await unary<InferResponse>(inference, 'ModelInfer', inferRequest(3));
    expect(raw).toMatchObject({ model_name: 'stock-predictor', model_version: '1' });
    expect(raw.outputs[0]).toMatchObject({ name: 'predicted_return', datatype: 'FP32', shape: ['3', '1'] });
    const fromRaw = floats(raw.raw_output_contents[0]!);
    expect(fromRaw).toHaveLength(3);
    expect(fromRaw.every(Number.isFinite)).toBe(true);

    const typed = await unary<InferResponse>(inference, 'ModelInfer', {
      model_name: 'stock-predictor',
      inputs: [
        {
          name: 'features',
          datatype: 'FP32',
          shape: [3, FEATURES],
          contents: { fp32_contents: features(3) },
        },
      ],
    });
    expect(typed.raw_output_contents ?? []).toEqual([]);
    expect(typed.outputs[0]!.contents!.fp32_contents).toEqual(fromRaw);
  });

  it('should batch concurrent requests into fewer executions and split the answers back', async () => {
    const single = floats(
      (await unary<InferResponse>(inference, 'ModelInfer', inferRequest(1))).raw_output_contents[0]!,
    );
    const before = await sidecar.metrics.registry.getSingleMetricAsString('nv_inference_exec_count');
    const responses = await Promise.all(
      Array.from({ length: 64 }, () => unary<InferResponse>(inference, 'ModelInfer', inferRequest(1))),
    );
    for (const response of responses) expect(floats(response.raw_output_contents[0]!)).toEqual(single);
    const after = await sidecar.metrics.registry.getSingleMetricAsString('nv_inference_exec_count');
    const executions = (text: string) =>
      Number(/nv_inference_exec_count\{[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
    expect(executions(after) - executions(before)).toBeLessThan(64);
  });

  it.each([
    ['an unknown model', { ...inferRequest(1), model_name: 'nope' }, grpc.status.NOT_FOUND],
    ['an unknown version', { ...inferRequest(1), model_version: '7' }, grpc.status.NOT_FOUND],
    [
      'a wrong tensor name',
      { ...inferRequest(1), inputs: [{ name: 'x', datatype: 'FP32', shape: [1, FEATURES] }] },
      grpc.status.INVALID_ARGUMENT,
    ],
    [
      'a wrong datatype',
      { ...inferRequest(1), inputs: [{ name: 'features', datatype: 'FP64', shape: [1, FEATURES] }] },
      grpc.status.INVALID_ARGUMENT,
    ],
    [
      'a wrong shape',
      { ...inferRequest(1), inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 19] }] },
      grpc.status.INVALID_ARGUMENT,
    ],
    [
      'a raw buffer not a multiple of the element size',
      { ...inferRequest(1), raw_input_contents: [rawFeatures(1).subarray(1)] },
      grpc.status.INVALID_ARGUMENT,
    ],
    [
      'mixed encodings',
      {
        ...inferRequest(1),
        inputs: [
          {
            name: 'features',
            datatype: 'FP32',
            shape: [1, FEATURES],
            contents: { fp32_contents: features(1) },
          },
        ],
      },
      grpc.status.INVALID_ARGUMENT,
    ],
    ['a batch over the model maximum', inferRequest(65), grpc.status.INVALID_ARGUMENT],
    ['a message over the size limit', inferRequest(20_000), grpc.status.RESOURCE_EXHAUSTED],
  ])('should refuse %s with its status and keep serving', async (_name, request, code) => {
    expect(await grpcCode(unary(inference, 'ModelInfer', request))).toBe(code);
    expect(await unary(inference, 'ServerReady', {})).toEqual({ ready: true });
  });

  it('should answer DEADLINE_EXCEEDED for a request whose deadline has passed', async () => {
    expect(await grpcCode(unary(inference, 'ModelInfer', inferRequest(1), 0))).toBe(
      grpc.status.DEADLINE_EXCEEDED,
    );
  });

  it('should stream many requests over one ModelStreamInfer call with errors in-band', async () => {
    const stream = inference.ModelStreamInfer!({}, undefined) as unknown as grpc.ClientDuplexStream<
      unknown,
      { error_message: string; infer_response: InferResponse | null }
    >;
    const received: { error_message: string; infer_response: InferResponse | null }[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (message) => received.push(message));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    stream.write(inferRequest(1, { id: 'a' }));
    stream.write({ ...inferRequest(1), model_name: 'nope', id: 'b' });
    stream.write(inferRequest(2, { id: 'c' }));
    stream.end();
    await done;
    expect(received).toHaveLength(3);
    expect(received.filter((m) => m.error_message !== '')).toEqual([
      expect.objectContaining({ error_message: expect.stringContaining("No model 'nope'") }),
    ]);
    expect(
      received.flatMap((m) => (m.infer_response ? [m.infer_response.outputs[0]!.shape] : [])).sort(),
    ).toEqual([
      ['1', '1'],
      ['2', '1'],
    ]);
  });

  it('should index, unload and load models through the repository extension', async () => {
    const index = await unary<{ models: { name: string; state: string }[] }>(
      inference,
      'RepositoryIndex',
      {},
    );
    expect(index.models).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'stock-predictor', state: 'READY' }),
        expect.objectContaining({ name: 'stock-heavy', state: 'UNAVAILABLE' }),
      ]),
    );
    await unary(inference, 'RepositoryModelUnload', { model_name: 'stock-predictor' });
    expect(await unary(inference, 'ModelReady', { name: 'stock-predictor' })).toEqual({ ready: false });
    expect(await grpcCode(unary(inference, 'ModelInfer', inferRequest(1)))).toBe(grpc.status.UNAVAILABLE);
    await unary(inference, 'RepositoryModelLoad', { model_name: 'stock-predictor' });
    expect((await unary<InferResponse>(inference, 'ModelInfer', inferRequest(1))).model_version).toBe('1');
    expect(await grpcCode(unary(inference, 'RepositoryModelLoad', { model_name: 'missing-model' }))).toBe(
      grpc.status.NOT_FOUND,
    );
  });

  it('should keep in-flight requests when a model is reloaded', async () => {
    const inFlight = Array.from({ length: 32 }, () =>
      unary<InferResponse>(inference, 'ModelInfer', inferRequest(1)),
    );
    await unary(inference, 'RepositoryModelLoad', { model_name: 'stock-predictor' });
    const settled = await Promise.allSettled(inFlight);
    expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);
  });

  it('should expose Triton-style Prometheus metrics over HTTP', async () => {
    const text = await (await fetch(`${sidecar.httpUrl}/metrics`)).text();
    for (const name of [
      'nv_inference_request_success',
      'nv_inference_request_failure',
      'nv_inference_count',
      'nv_inference_exec_count',
      'nv_inference_queue_duration_us',
      'mlops_inference_batch_size_bucket',
    ]) {
      expect(text).toContain(name);
    }
    expect((await fetch(`${sidecar.httpUrl}/ready`)).status).toBe(200);
  });
});
