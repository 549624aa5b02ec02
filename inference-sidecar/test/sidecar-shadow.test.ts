import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createLogger } from '@mlops/runtime';
import { DEFAULT_MODEL_REPOSITORY, createInferenceClient, readSidecarConfig, startSidecar } from '../src';
import type { InferenceServiceClient, SidecarHandle } from '../src';
import { QueueFullError } from '../src/batcher';
import { createSidecarMetrics } from '../src/metrics';
import type { LoadedModel } from '../src/model-repository';
import { createShadowMirror, meanAbsDiff } from '../src/shadow-mirror';
import type { HostTensor } from '../src/tensor';

const silent = createLogger({ service: 'inference-sidecar', level: 'silent' });

/** The value of one Prometheus sample in `/metrics` text, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)\{([^}]*)\} (\S+)$/.exec(line);
    if (match?.[1] === name && wanted.every((w) => match[2]!.split(',').includes(w))) return Number(match[3]);
  }
  return 0;
}

/** A shadow version receives a copy of unpinned traffic; its answers are recorded, never returned. */
describe('inference sidecar shadow version', () => {
  let repository: string;
  let sidecar: SidecarHandle;
  let client: InferenceServiceClient;

  beforeAll(async () => {
    repository = await mkdtemp(path.join(os.tmpdir(), 'mlops-models-'));
    const source = path.join(DEFAULT_MODEL_REPOSITORY, 'stock-predictor');
    await cp(path.join(source, 'config.json'), path.join(repository, 'stock-predictor', 'config.json'));
    for (const version of ['1', '2'])
      await cp(path.join(source, '1'), path.join(repository, 'stock-predictor', version), {
        recursive: true,
      });
    const config = {
      ...readSidecarConfig({}),
      grpcPort: 0,
      httpPort: 0,
      modelRepository: repository,
      startupModels: [],
    };
    sidecar = await startSidecar({ config, logger: silent });
    client = createInferenceClient(sidecar.grpcAddress, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    await sidecar?.close();
    await rm(repository, { recursive: true, force: true });
  });

  const call = <T>(
    method: 'ModelInfer' | 'RepositoryModelLoad' | 'RepositoryModelUnload',
    request: unknown,
  ) =>
    new Promise<T>((resolve, reject) =>
      (client[method] as unknown as (r: unknown, cb: (e: grpc.ServiceError | null, v: T) => void) => void)(
        request,
        (error, value) => (error ? reject(error) : resolve(value)),
      ),
    );
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => ({ code: grpc.status.OK, details: '' }),
      (error: grpc.ServiceError) => ({ code: error.code, details: error.details }),
    );
  const load = (parameters: Record<string, unknown>) =>
    call('RepositoryModelLoad', { model_name: 'stock-predictor', parameters });
  const param = (value: string) => ({ string_param: value });
  const unload = (version: string) =>
    call('RepositoryModelUnload', { model_name: 'stock-predictor', parameters: { version: param(version) } });
  const features = Buffer.from(new Float32Array(20).fill(0.2).buffer);
  const servedBy = async (extra: Record<string, unknown> = {}) =>
    (
      await call<{ model_version: string }>('ModelInfer', {
        model_name: 'stock-predictor',
        inputs: [{ name: 'features', datatype: 'FP32', shape: ['1', '20'] }],
        raw_input_contents: [features],
        ...extra,
      })
    ).model_version;
  const metrics = async () => (await fetch(`${sidecar.httpUrl}/metrics`)).text();
  const shadowAnswers = async (outcome = 'ok') =>
    sample(await metrics(), 'mlops_shadow_requests_total', {
      model: 'stock-predictor',
      version: '2',
      outcome,
    });
  /** Resolves once the shadow has recorded `count` answers in all; shadow copies run after the reply. */
  async function shadowAnswersReach(count: number): Promise<void> {
    for (let i = 0; i < 200 && (await shadowAnswers()) < count; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await shadowAnswers()).toBe(count);
  }

  it('should answer every unpinned request from the primary and mirror each to the shadow', async () => {
    await load({});
    await load({ version: param('1'), traffic: param('{"1": 100, "2": 0}'), shadow: param('2') });
    const execBefore = sample(await metrics(), 'nv_inference_exec_count', {
      model: 'stock-predictor',
      version: '2',
    });
    const versions = await Promise.all(Array.from({ length: 30 }, () => servedBy()));
    expect(new Set(versions)).toEqual(new Set(['1']));
    await shadowAnswersReach(30);
    const text = await metrics();
    const labels = { model: 'stock-predictor', version: '2' };
    expect(sample(text, 'nv_inference_exec_count', labels)).toBeGreaterThan(execBefore);
    // Versions 1 and 2 are the same model: every answer agrees.
    expect(sample(text, 'mlops_shadow_abs_diff_count', labels)).toBe(30);
    expect(sample(text, 'mlops_shadow_abs_diff_sum', labels)).toBe(0);
    expect(await shadowAnswers('failed')).toBe(0);
  });

  it('should mirror the unpinned requests of a ModelStreamInfer stream', async () => {
    const before = await shadowAnswers();
    const stream = client.ModelStreamInfer() as unknown as grpc.ClientDuplexStream<
      unknown,
      { error_message: string; infer_response: { model_version: string } | null }
    >;
    const versions: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (message) =>
        versions.push(message.infer_response?.model_version ?? message.error_message),
      );
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    for (let i = 0; i < 5; i++)
      stream.write({
        model_name: 'stock-predictor',
        inputs: [{ name: 'features', datatype: 'FP32', shape: ['1', '20'] }],
        raw_input_contents: [features],
      });
    stream.end();
    await done;
    expect(versions).toEqual(['1', '1', '1', '1', '1']);
    await shadowAnswersReach(before + 5);
  });

  it('should not mirror requests that pin a version', async () => {
    const before = await shadowAnswers();
    for (let i = 0; i < 10; i++) expect(await servedBy({ model_version: '1' })).toBe('1');
    // The one unpinned request's copy is queued after any copy the pinned ones would have made.
    expect(await servedBy()).toBe('1');
    await shadowAnswersReach(before + 1);
  });

  it('should refuse to unload the shadow version alone (FAILED_PRECONDITION)', async () => {
    const refused = await failure(unload('2'));
    expect(refused.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(refused.details).toMatch(/shadow/);
  });

  it('should refuse a shadow that is not serving or not a string, naming shadow, and keep the shadow', async () => {
    const missing = await failure(load({ shadow: param('7') }));
    expect(missing.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(missing.details).toMatch(/shadow/);
    const notString = await failure(load({ shadow: { bool_param: true } }));
    expect(notString.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(notString.details).toMatch(/shadow/);
    const withVersion = await failure(load({ version: param('1'), shadow: param('9') }));
    expect(withVersion.code).toBe(grpc.status.INVALID_ARGUMENT);
    const before = await shadowAnswers();
    expect(await servedBy()).toBe('1');
    await shadowAnswersReach(before + 1);
  });

  it('should stop mirroring once the shadow is cleared, and then unload it', async () => {
    await load({ shadow: param('') });
    const before = await shadowAnswers();
    const versions = await Promise.all(Array.from({ length: 20 }, () => servedBy()));
    expect(new Set(versions)).toEqual(new Set(['1']));
    // Setting the shadow again and mirroring one request shows that none of the 20 was copied.
    await load({ shadow: param('2') });
    await servedBy();
    await shadowAnswersReach(before + 1);
    await load({ shadow: param('') });
    await unload('2');
    expect(await servedBy()).toBe('1');
  });
});

describe('shadow mirror', () => {
  const tensor = (values: number[]): HostTensor => ({
    name: 'prediction',
    datatype: 'FP32',
    shape: [values.length, 1],
    data: Float32Array.from(values),
  });
  const shadowModel = (infer: LoadedModel['infer']) =>
    ({ name: 'm', version: '2', infer }) as unknown as LoadedModel;

  it('should count a copy refused by a full queue as dropped, without throwing', async () => {
    const metrics = createSidecarMetrics();
    const mirror = createShadowMirror({ metrics, logger: silent });
    let rejected!: Promise<unknown>;
    mirror.mirror(
      shadowModel(() => {
        const refusal = Promise.reject(new QueueFullError(1));
        rejected = refusal.catch(() => undefined);
        return refusal;
      }),
      [],
      [tensor([1])],
    );
    await rejected;
    await new Promise((resolve) => setImmediate(resolve));
    const text = await metrics.registry.metrics();
    expect(sample(text, 'mlops_shadow_requests_total', { version: '2', outcome: 'dropped' })).toBe(1);
  });

  it('should count a failing shadow as failed and record the mean absolute difference of answers', async () => {
    const metrics = createSidecarMetrics();
    const mirror = createShadowMirror({ metrics, logger: silent });
    const failing = Promise.reject(new Error('boom'));
    failing.catch(() => undefined);
    mirror.mirror(
      shadowModel(() => failing as Promise<HostTensor[]>),
      [],
      [tensor([1])],
    );
    const answered = Promise.resolve([tensor([1.5, 3])]);
    mirror.mirror(
      shadowModel(() => answered),
      [],
      [tensor([1, 2])],
    );
    await answered;
    await new Promise((resolve) => setImmediate(resolve));
    const text = await metrics.registry.metrics();
    expect(sample(text, 'mlops_shadow_requests_total', { version: '2', outcome: 'failed' })).toBe(1);
    expect(sample(text, 'mlops_shadow_requests_total', { version: '2', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'mlops_shadow_abs_diff_sum', { version: '2' })).toBeCloseTo(0.75);
  });

  it('should compare only numeric tensors of one shape', () => {
    expect(meanAbsDiff(tensor([1, 2]), tensor([2, 4]))).toBeCloseTo(1.5);
    expect(meanAbsDiff(tensor([1, 2]), tensor([1]))).toBeNull();
    expect(meanAbsDiff(tensor([1]), undefined)).toBeNull();
    expect(meanAbsDiff({ ...tensor([1]), datatype: 'BOOL', data: Uint8Array.of(1) }, tensor([1]))).toBeNull();
  });
});
