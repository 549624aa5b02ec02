import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createLogger } from '@mlops/runtime';
import { DEFAULT_MODEL_REPOSITORY, createInferenceClient, readSidecarConfig, startSidecar } from '../src';
import type { InferenceServiceClient, SidecarConfig, SidecarHandle } from '../src';

/** Triton's load with files: RepositoryModelLoad carrying `file:<version>/<name>` bytes and `config`. */

const SOURCE = path.join(DEFAULT_MODEL_REPOSITORY, 'stock-predictor');
const logger = createLogger({ service: 'inference-sidecar', level: 'silent' });

type Parameter = { string_param: string } | { bytes_param: Buffer };
type Call = <T>(method: string, request: unknown) => Promise<T>;

function callerOf(client: InferenceServiceClient): Call {
  return <T>(method: string, request: unknown) =>
    new Promise<T>((resolve, reject) =>
      (
        (client as unknown as Record<string, unknown>)[method] as (
          r: unknown,
          cb: (e: grpc.ServiceError | null, v: T) => void,
        ) => void
      ).call(client, request, (error, value) => (error ? reject(error) : resolve(value))),
    );
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => ({ code: grpc.status.OK, details: '' }),
    (error: grpc.ServiceError) => ({ code: error.code, details: error.details }),
  );

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

/** The shipped stock-predictor version 1, as file parameters for `version`. */
async function shippedFiles(
  version: string,
  names = ['model.onnx', 'signature.json', 'reference.json'],
): Promise<Record<string, Parameter>> {
  const entries = await Promise.all(
    names.map(async (name) => [
      `file:${version}/${name}`,
      { bytes_param: await readFile(path.join(SOURCE, '1', name)) },
    ]),
  );
  return Object.fromEntries(entries) as Record<string, Parameter>;
}

const features = Buffer.from(new Float32Array(20).fill(0.2).buffer);
const inferRequest = (model: string, version = '', bytes = features) => ({
  model_name: model,
  model_version: version,
  inputs: [{ name: 'features', datatype: 'FP32', shape: ['1', String(bytes.length / 4)] }],
  raw_input_contents: [bytes],
});

async function startOn(repository: string, overrides: Partial<SidecarConfig> = {}): Promise<SidecarHandle> {
  const config = {
    ...readSidecarConfig({}),
    grpcPort: 0,
    httpPort: 0,
    modelRepository: repository,
    ...overrides,
  };
  return startSidecar({ config, logger });
}

describe('inference sidecar load with files', () => {
  let repository: string;
  let sidecar: SidecarHandle;
  let client: InferenceServiceClient;
  let call: Call;
  const load = (parameters: Record<string, Parameter>, model = 'stock-predictor') =>
    call('RepositoryModelLoad', { model_name: model, parameters });
  const infer = (model: string, version = '') =>
    call<{ model_version: string }>('ModelInfer', inferRequest(model, version));
  const versionDir = (version: string, model = 'stock-predictor') => path.join(repository, model, version);

  beforeAll(async () => {
    repository = await mkdtemp(path.join(os.tmpdir(), 'mlops-model-files-'));
    await cp(path.join(SOURCE, 'config.json'), path.join(repository, 'stock-predictor', 'config.json'));
    await cp(path.join(SOURCE, '1'), versionDir('1'), { recursive: true });
    sidecar = await startOn(repository, { startupModels: ['stock-predictor'] });
    client = createInferenceClient(sidecar.grpcAddress, grpc.credentials.createInsecure());
    call = callerOf(client);
  });
  afterAll(async () => {
    client?.close();
    await sidecar?.close();
    await rm(repository, { recursive: true, force: true });
  });

  it('should write a version from its files, load it and serve it', async () => {
    await load(await shippedFiles('2'));
    expect(await infer('stock-predictor', '2')).toMatchObject({ model_version: '2' });
    expect(await infer('stock-predictor')).toMatchObject({ model_version: '2' });
    expect((await readdir(versionDir('2'))).sort()).toEqual([
      'model.onnx',
      'reference.json',
      'signature.json',
    ]);
    expect((await readdir(path.join(repository, 'stock-predictor'))).sort()).toEqual([
      '1',
      '2',
      'config.json',
    ]);
  });

  it('should skip the write and load again when the same files come again', async () => {
    await load({ ...(await shippedFiles('2')), version: { string_param: '2' } });
    // Version 1 was built on disk with a training.json besides: only the files a load carries count.
    await load({ ...(await shippedFiles('1')), version: { string_param: '1' } });
    const metadata = await call<{ versions: string[] }>('ModelMetadata', { name: 'stock-predictor' });
    expect(metadata.versions).toEqual(['2', '1']);
  });

  it('should take the same content formatted otherwise, or fewer files, as the version on disk', async () => {
    const files = await shippedFiles('2');
    const signature = await readFile(path.join(SOURCE, '1', 'signature.json'), 'utf8');
    const reformatted = Buffer.from(JSON.stringify(JSON.parse(signature)));
    await load({ ...files, 'file:2/signature.json': { bytes_param: reformatted } });
    const { 'file:2/reference.json': _dropped, ...withoutReference } = files;
    await load(withoutReference);
    expect(await readFile(path.join(versionDir('2'), 'signature.json'), 'utf8')).toBe(signature);
  });

  it('should answer ALREADY_EXISTS for other content under an existing version and leave it as it was', async () => {
    const files = await shippedFiles('2');
    const signature = await readFile(path.join(SOURCE, '1', 'signature.json'), 'utf8');
    const renamed = signature.replace('predicted_return', 'other_output');
    const otherSignature = { ...files, 'file:2/signature.json': { bytes_param: Buffer.from(renamed) } };
    expect(await failure(load(otherSignature))).toEqual({
      code: grpc.status.ALREADY_EXISTS,
      details: expect.stringContaining('signature.json') as string,
    });
    const model = (files['file:2/model.onnx'] as { bytes_param: Buffer }).bytes_param;
    const otherModel = {
      ...files,
      'file:2/model.onnx': { bytes_param: Buffer.concat([model, Buffer.from([0])]) },
    };
    expect(await failure(load(otherModel))).toEqual({
      code: grpc.status.ALREADY_EXISTS,
      details: expect.stringContaining('model.onnx') as string,
    });
    expect(await readFile(path.join(versionDir('2'), 'signature.json'), 'utf8')).toBe(signature);
    expect(await readFile(path.join(versionDir('2'), 'model.onnx'))).toEqual(model);
  });

  const bytes = (text: string) => ({ bytes_param: Buffer.from(text) });
  it.each<[string, () => Promise<Record<string, Parameter>>, string]>([
    [
      'a path in the file name',
      async () => ({ ...(await shippedFiles('3')), 'file:3/../x.onnx': bytes('x') }),
      'file:3/../x.onnx',
    ],
    [
      'a parent directory as the version',
      async () => ({ 'file:../model.onnx': bytes('x') }),
      'file:../model.onnx',
    ],
    ['a nested path', async () => ({ 'file:3/sub/model.onnx': bytes('x') }), 'file:3/sub/model.onnx'],
    ['a backslash', async () => ({ 'file:3/..\\model.onnx': bytes('x') }), 'file:3/..\\model.onnx'],
    [
      'an unknown file',
      async () => ({ ...(await shippedFiles('3')), 'file:3/weights.bin': bytes('x') }),
      'file:3/weights.bin',
    ],
    ['version 0', async () => shippedFiles('0'), 'file:0/'],
    ['a version that is not a number', async () => shippedFiles('v3'), 'file:v3/'],
    ['no model.onnx', async () => shippedFiles('3', ['signature.json']), 'file:3/model.onnx'],
    ['no signature.json', async () => shippedFiles('3', ['model.onnx']), 'file:3/signature.json'],
    [
      'a signature.json that is not JSON',
      async () => ({ ...(await shippedFiles('3')), 'file:3/signature.json': bytes('{"inputs": [') }),
      'file:3/signature.json',
    ],
    [
      'a signature.json without inputs',
      async () => ({ ...(await shippedFiles('3')), 'file:3/signature.json': bytes('{"outputs": []}') }),
      'file:3/signature.json',
    ],
    [
      'a reference.json that is not JSON',
      async () => ({ ...(await shippedFiles('3')), 'file:3/reference.json': bytes('nope') }),
      'file:3/reference.json',
    ],
    [
      'a file as a string parameter',
      async () => ({ ...(await shippedFiles('3')), 'file:3/model.onnx': { string_param: 'onnx' } }),
      'file:3/model.onnx',
    ],
    [
      'files of another version than `version`',
      async () => ({ ...(await shippedFiles('3')), version: { string_param: '4' } }),
      'file:3/',
    ],
    [
      'files of two versions',
      async () => ({ ...(await shippedFiles('3')), 'file:4/reference.json': bytes('{}') }),
      'file:4/reference.json',
    ],
    [
      'a config that is not JSON',
      async () => ({ ...(await shippedFiles('3')), config: { string_param: '{' } }),
      'config',
    ],
    [
      'a config with a negative batch size',
      async () => ({ ...(await shippedFiles('3')), config: { string_param: '{"maxBatchSize": -1}' } }),
      'config',
    ],
  ])(
    'should answer INVALID_ARGUMENT naming the parameter for %s, and write nothing',
    async (_name, parameters, named) => {
      const answer = await failure(load(await parameters()));
      expect(answer.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(answer.details).toContain(named);
      expect((await readdir(path.join(repository, 'stock-predictor'))).sort()).toEqual([
        '1',
        '2',
        'config.json',
      ]);
    },
  );

  it('should answer INVALID_ARGUMENT for a model name that is not one path segment', async () => {
    const answer = await failure(load(await shippedFiles('1'), '../escaped'));
    expect(answer.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(answer.details).toContain('Model name');
    expect(await exists(path.join(repository, '..', 'escaped'))).toBe(false);
  });

  it('should remove a version whose model ONNX Runtime rejects, and a new model directory with it', async () => {
    const corrupt = { ...(await shippedFiles('5')), 'file:5/model.onnx': bytes('not an onnx model') };
    expect((await failure(load(corrupt))).code).not.toBe(grpc.status.OK);
    expect(await exists(versionDir('5'))).toBe(false);
    expect(await infer('stock-predictor')).toMatchObject({ model_version: '2' });

    const fresh = {
      'file:1/model.onnx': bytes('garbage'),
      'file:1/signature.json': (await shippedFiles('1'))['file:1/signature.json']!,
    };
    expect(
      (await failure(load({ ...fresh, config: { string_param: '{"maxBatchSize": 8}' } }, 'fresh'))).code,
    ).not.toBe(grpc.status.OK);
    expect(await exists(path.join(repository, 'fresh'))).toBe(false);
  });

  it('should remove a version whose signature names inputs the model lacks, and answer as loads do', async () => {
    const signature = {
      inputs: [{ name: 'other', datatype: 'FP32', shape: [-1, 20] }],
      outputs: [{ name: 'predicted_return', datatype: 'FP32', shape: [-1, 1] }],
    };
    const files = { ...(await shippedFiles('6')), 'file:6/signature.json': bytes(JSON.stringify(signature)) };
    const answer = await failure(load(files));
    expect(answer).toEqual({
      code: grpc.status.UNAVAILABLE,
      details: expect.stringContaining('other') as string,
    });
    expect(await exists(versionDir('6'))).toBe(false);
  });

  it('should write a new model with its config, and put a replaced config back when the load fails', async () => {
    const config = '{"maxBatchSize": 4, "maxQueueDelayMicros": 0}';
    await load({ ...(await shippedFiles('1')), config: { string_param: config } }, 'copy');
    expect(await readFile(path.join(repository, 'copy', 'config.json'), 'utf8')).toBe(config);
    expect(await infer('copy')).toMatchObject({ model_version: '1' });

    const corrupt = { ...(await shippedFiles('2')), 'file:2/model.onnx': bytes('broken') };
    await failure(load({ ...corrupt, config: { string_param: '{"maxBatchSize": 2}' } }, 'copy'));
    expect(await readFile(path.join(repository, 'copy', 'config.json'), 'utf8')).toBe(config);
    expect((await readdir(path.join(repository, 'copy'))).sort()).toEqual(['1', 'config.json']);
  });

  it('should still load versions already on disk and reroute as before', async () => {
    await load({ version: { string_param: '1' }, traffic: { string_param: '{"1": 100, "2": 0}' } });
    expect(await infer('stock-predictor')).toMatchObject({ model_version: '1' });
    await load({ traffic: { string_param: '{"1": 0, "2": 100}' } });
    expect(await infer('stock-predictor')).toMatchObject({ model_version: '2' });
  });
});

describe('inference sidecar start-up after an interrupted write', () => {
  let repository: string;
  let sidecar: SidecarHandle | undefined;

  beforeAll(async () => {
    repository = await mkdtemp(path.join(os.tmpdir(), 'mlops-model-files-'));
    await cp(path.join(SOURCE, '1'), path.join(repository, 'stock-predictor', '1'), { recursive: true });
    // What a crash mid-write leaves: a partial directory beside the model's versions, and a model
    // whose first version was being written.
    const partial = path.join(repository, 'stock-predictor', '.partial-2-a1b2c3');
    await mkdir(partial, { recursive: true });
    await writeFile(path.join(partial, 'model.onnx'), Buffer.alloc(100));
    await mkdir(path.join(repository, 'orphan', '.partial-1-d4e5f6'), { recursive: true });
  });
  afterAll(async () => {
    await sidecar?.close();
    await rm(repository, { recursive: true, force: true });
  });

  it('should start with every model, ignoring and removing what interrupted writes left', async () => {
    sidecar = await startOn(repository, { startupModels: 'all' });
    expect((await sidecar.repository.index()).map((e) => [e.name, e.version, e.state])).toEqual([
      ['stock-predictor', '1', 'READY'],
    ]);
    expect(await readdir(path.join(repository, 'stock-predictor'))).toEqual(['1']);
    expect(await exists(path.join(repository, 'orphan'))).toBe(false);
  });
});

describe('inference sidecar message limits per call', () => {
  const HEAVY = path.join(DEFAULT_MODEL_REPOSITORY, 'stock-heavy', '1');
  let repository: string;
  let sidecar: SidecarHandle;
  let client: InferenceServiceClient;
  let call: Call;

  beforeAll(async () => {
    repository = await mkdtemp(path.join(os.tmpdir(), 'mlops-model-files-'));
    await cp(path.join(SOURCE, '1'), path.join(repository, 'stock-predictor', '1'), { recursive: true });
    sidecar = await startOn(repository, {
      startupModels: ['stock-predictor'],
      maxMessageBytes: 1024 * 1024,
      maxModelBytes: 12 * 1024 * 1024,
    });
    client = createInferenceClient(sidecar.grpcAddress, grpc.credentials.createInsecure());
    call = callerOf(client);
  });
  afterAll(async () => {
    client?.close();
    await sidecar?.close();
    await rm(repository, { recursive: true, force: true });
  });

  it('should take model files over the inference limit and within SIDECAR_MAX_MODEL_BYTES', async () => {
    const heavy = await readFile(path.join(HEAVY, 'model.onnx'));
    expect(heavy.length).toBeGreaterThan(1024 * 1024);
    await call('RepositoryModelLoad', {
      model_name: 'heavy',
      parameters: {
        'file:1/model.onnx': { bytes_param: heavy },
        'file:1/signature.json': { bytes_param: await readFile(path.join(HEAVY, 'signature.json')) },
      },
    });
    expect(await call('ModelReady', { name: 'heavy', version: '1' })).toEqual({ ready: true });
  });

  it('should answer RESOURCE_EXHAUSTED to a load over SIDECAR_MAX_MODEL_BYTES', async () => {
    const answer = await failure(
      call('RepositoryModelLoad', {
        model_name: 'huge',
        parameters: { 'file:1/model.onnx': { bytes_param: Buffer.alloc(13 * 1024 * 1024) } },
      }),
    );
    expect(answer.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it('should still answer RESOURCE_EXHAUSTED to an inference request over SIDECAR_MAX_MESSAGE_BYTES', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024);
    const answer = await failure(call('ModelInfer', inferRequest('stock-predictor', '', big)));
    expect(answer).toEqual({
      code: grpc.status.RESOURCE_EXHAUSTED,
      details: expect.stringContaining('larger than max') as string,
    });
    expect(await call('ServerReady', {})).toEqual({ ready: true });
  });

  it('should hold loads to SIDECAR_MAX_MODEL_BYTES when the inference limit is the larger', async () => {
    const other = await startOn(repository, {
      startupModels: [],
      maxMessageBytes: 4 * 1024 * 1024,
      maxModelBytes: 1024 * 1024,
    });
    const otherClient = createInferenceClient(other.grpcAddress, grpc.credentials.createInsecure());
    try {
      const answer = await failure(
        callerOf(otherClient)('RepositoryModelLoad', {
          model_name: 'heavy',
          parameters: { 'file:1/model.onnx': { bytes_param: Buffer.alloc(2 * 1024 * 1024) } },
        }),
      );
      expect(answer).toEqual({
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: expect.stringMatching(/^Received message larger than max \(\d+ vs 1048576\)$/) as string,
      });
    } finally {
      otherClient.close();
      await other.close();
    }
  });

  it('should answer an oversized ModelStreamInfer message in-band and go on with the stream', async () => {
    const stream = client.ModelStreamInfer();
    const received: { error_message: string; infer_response: { model_version: string } | null }[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('data', (message: (typeof received)[number]) => received.push(message));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    stream.write(inferRequest('stock-predictor', '', Buffer.alloc(2 * 1024 * 1024)));
    stream.write(inferRequest('stock-predictor'));
    stream.end();
    await ended;
    expect(received).toEqual([
      expect.objectContaining({ error_message: expect.stringContaining('larger than max') as string }),
      expect.objectContaining({
        error_message: '',
        infer_response: expect.objectContaining({ model_version: '1' }),
      }),
    ]);
  });
});
