import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createLogger } from '@mlops/runtime';
import { DEFAULT_MODEL_REPOSITORY, createInferenceClient, readSidecarConfig, startSidecar } from '../src';
import type { InferenceServiceClient, SidecarHandle } from '../src';

/** Several versions of one model serving at once: pinning, traffic weights, stickiness, retirement. */
describe('inference sidecar model versions', () => {
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
    sidecar = await startSidecar({
      config,
      logger: createLogger({ service: 'inference-sidecar', level: 'silent' }),
    });
    client = createInferenceClient(sidecar.grpcAddress, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    await sidecar?.close();
    await rm(repository, { recursive: true, force: true });
  });

  const call = <T>(
    method: 'ModelInfer' | 'RepositoryModelLoad' | 'RepositoryModelUnload' | 'ModelMetadata',
    request: unknown,
  ) =>
    new Promise<T>((resolve, reject) =>
      (client[method] as unknown as (r: unknown, cb: (e: grpc.ServiceError | null, v: T) => void) => void)(
        request,
        (error, value) => (error ? reject(error) : resolve(value)),
      ),
    );
  const code = (promise: Promise<unknown>) =>
    promise.then(
      () => grpc.status.OK,
      (error: grpc.ServiceError) => error.code,
    );
  const param = (value: string) => ({ string_param: value });
  const load = (parameters: Record<string, string> = {}) =>
    call('RepositoryModelLoad', {
      model_name: 'stock-predictor',
      parameters: Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k, param(v)])),
    });
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

  it('should load the newest version by default and a named version beside it', async () => {
    await load();
    expect(await servedBy()).toBe('2');
    await load({ version: '1' });
    const metadata = await call<{ versions: string[] }>('ModelMetadata', { name: 'stock-predictor' });
    expect(metadata.versions).toEqual(['2', '1']);
    expect(await servedBy({ model_version: '1' })).toBe('1');
    expect(await servedBy({ model_version: '2' })).toBe('2');
    expect(await code(servedBy({ model_version: '3' }))).toBe(grpc.status.NOT_FOUND);
  });

  it('should spread unpinned requests by the traffic split and keep a stickiness key on one version', async () => {
    await load({ traffic: '{"1": 80, "2": 20}' });
    const versions = await Promise.all(Array.from({ length: 300 }, () => servedBy()));
    const canaryShare = versions.filter((v) => v === '2').length / versions.length;
    expect(canaryShare).toBeGreaterThan(0.08);
    expect(canaryShare).toBeLessThan(0.35);
    const sticky = { parameters: { sticky_key: { string_param: 'trader-7' } } };
    const first = await servedBy(sticky);
    for (let i = 0; i < 20; i++) expect(await servedBy(sticky)).toBe(first);
  });

  it('should refuse a split that does not sum to 100 or names a version not serving, and keep the old split', async () => {
    expect(await code(load({ traffic: '{"1": 80, "2": 30}' }))).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await code(load({ traffic: '{"1": 50, "7": 50}' }))).toBe(grpc.status.INVALID_ARGUMENT);
    const versions = await Promise.all(Array.from({ length: 100 }, () => servedBy()));
    expect(new Set(versions)).toEqual(new Set(['1', '2']));
  });

  it('should refuse to unload a version that still has traffic, and unload it once traffic moved', async () => {
    const unload = (version: string) =>
      call('RepositoryModelUnload', {
        model_name: 'stock-predictor',
        parameters: { version: param(version) },
      });
    expect(await code(unload('2'))).toBe(grpc.status.FAILED_PRECONDITION);
    await load({ traffic: '{"1": 100, "2": 0}' });
    await unload('2');
    expect(await servedBy()).toBe('1');
    expect(await code(servedBy({ model_version: '2' }))).toBe(grpc.status.NOT_FOUND);
  });

  it('should roll forward to the newest version, retiring the others without failing in-flight requests', async () => {
    const inFlight = Array.from({ length: 40 }, () => servedBy());
    await load();
    const settled = await Promise.allSettled(inFlight);
    expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);
    const metadata = await call<{ versions: string[] }>('ModelMetadata', { name: 'stock-predictor' });
    expect(metadata.versions).toEqual(['2']);
    expect(await servedBy()).toBe('2');
  });
});
