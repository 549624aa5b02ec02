import * as grpc from '@grpc/grpc-js';
import { createCapturingLogger } from '@mlops/runtime';
import { createInferenceClient, readSidecarConfig, startSidecar } from '../src';
import type { InferenceServiceClient, SidecarHandle } from '../src';

function withRequestId(id: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('x-request-id', id);
  return metadata;
}

const FEATURES = 20;
const inferRequest = {
  model_name: 'stock-predictor',
  inputs: [{ name: 'features', datatype: 'FP32', shape: ['1', String(FEATURES)] }],
  raw_input_contents: [Buffer.from(new Float32Array(FEATURES).buffer)],
};

describe("the sidecar's RPC logs carry the caller's x-request-id", () => {
  const logs = createCapturingLogger('inference-sidecar');
  let sidecar: SidecarHandle;
  let client: InferenceServiceClient;

  beforeAll(async () => {
    sidecar = await startSidecar({
      config: {
        ...readSidecarConfig({}),
        grpcPort: 0,
        httpPort: 0,
        startupModels: ['stock-predictor'],
      },
      logger: logs.logger,
    });
    client = createInferenceClient(sidecar.grpcAddress, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    await sidecar?.close();
  });

  it('should log a failed RPC with the id, the code and the details', async () => {
    const code = await new Promise<number>((resolve) =>
      client.ModelMetadata({ name: 'no-such-model' }, withRequestId('req-fail-1'), (error) =>
        resolve(error?.code ?? 0),
      ),
    );
    expect(code).toBe(grpc.status.NOT_FOUND);
    expect(await logs.next({ requestId: 'req-fail-1' })).toMatchObject({
      level: 30, // info: the caller's mistake, not the sidecar's
      msg: 'rpc failed',
      rpc: 'ModelMetadata',
      code: 'NOT_FOUND',
      details: expect.stringContaining('no-such-model'),
    });
  });

  it('should log a successful inference with the id at debug', async () => {
    await new Promise((resolve, reject) =>
      client.ModelInfer(inferRequest, withRequestId('req-infer-1'), (error, response) =>
        error ? reject(error) : resolve(response),
      ),
    );
    expect(await logs.next({ requestId: 'req-infer-1' })).toMatchObject({
      level: 20,
      msg: 'rpc',
      rpc: 'ModelInfer',
      durationMs: expect.any(Number),
    });
  });

  it('should log a stream with the id of its metadata once the stream ends', async () => {
    const stream = client.ModelStreamInfer(withRequestId('req-stream-1'));
    const answers: unknown[] = [];
    stream.on('data', (answer) => answers.push(answer));
    const ended = new Promise((resolve) => stream.on('end', resolve));
    stream.write(inferRequest);
    stream.end();
    await ended;
    expect(answers).toHaveLength(1);
    expect(await logs.next({ requestId: 'req-stream-1' })).toMatchObject({
      msg: 'rpc',
      rpc: 'ModelStreamInfer',
    });
  });

  it('should leave out an id that is not a plain token, and log nothing for a call without one', async () => {
    const before = logs.lines.length;
    await new Promise((resolve) =>
      client.ModelMetadata({ name: 'no-such-model' }, withRequestId('forged id'), resolve),
    );
    await new Promise((resolve) => client.ServerLive({}, resolve));
    await new Promise((resolve) =>
      client.ModelReady({ name: 'stock-predictor' }, withRequestId('req-after'), resolve),
    );
    await logs.next({ requestId: 'req-after' });
    // The calls answered in order, and each logs before its answer is sent.
    expect(logs.lines.slice(before).map((line) => [line.rpc, line.requestId])).toEqual([
      ['ModelReady', 'req-after'],
    ]);
  });
});
