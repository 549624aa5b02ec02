import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode } from '@mlops/schema';
import { DomainError } from '@mlops/runtime';
import { createDynamicBatcher } from './batcher';
import type { BatchInfo, BatchRequest, DynamicBatcher } from './batcher';
import { readModelConfig, readSignature } from './model-config';
import type { ModelConfig } from './model-config';
import { createOrtSessionPool } from './ort-worker-pool';
import type { OrtSessionPool } from './ort-worker-pool';
import { concatBatch, splitBatch } from './tensor-codec';
import type { HostTensor, ModelSignature } from './tensor';

/** A model version that serves: its signature, its ORT instances and its batcher. */
export interface LoadedModel {
  readonly name: string;
  readonly version: string;
  readonly signature: ModelSignature;
  readonly config: ModelConfig;
  /** Queues one request's inputs for a batch; resolves with that request's outputs. */
  infer(inputs: readonly HostTensor[], deadline: number | null): Promise<HostTensor[]>;
}

export type ModelState =
  | { readonly phase: 'LOADING' }
  | { readonly phase: 'READY'; readonly model: ServingModel }
  | { readonly phase: 'UNLOADING' }
  | { readonly phase: 'UNAVAILABLE'; readonly reason: string };

export interface ModelIndexEntry {
  readonly name: string;
  readonly version: string;
  readonly state: ModelState['phase'];
  readonly reason: string;
}

export interface ModelRepository {
  readonly root: string;
  /** Every model on disk with its newest version and state, and every model known in memory. */
  index(): Promise<ModelIndexEntry[]>;
  /**
   * Loads the newest version of a model. When another version already serves, the new one loads
   * beside it, takes the traffic, and the old one drains its queue before it is released.
   */
  load(name: string): Promise<LoadedModel>;
  /** Stops taking requests for the model, lets queued and running ones finish, releases it. */
  unload(name: string): Promise<void>;
  /** The serving model, or NOT_FOUND (unknown name or version) / UNAVAILABLE (not ready). */
  resolve(name: string, version?: string): LoadedModel;
  close(): Promise<void>;
}

interface ServingModel extends LoadedModel {
  close(): Promise<void>;
}

type Payload = { readonly inputs: readonly HostTensor[] };

const MODEL_FILE = 'model.onnx';

export interface ModelRepositoryOptions {
  /** Called after every model execution, e.g. to feed Prometheus metrics. */
  onBatch?(model: string, version: string, info: BatchInfo): void;
}

export function createModelRepository(root: string, options: ModelRepositoryOptions = {}): ModelRepository {
  const states = new Map<string, ModelState & { version?: string }>();

  async function newestVersion(name: string): Promise<string> {
    const dir = path.join(root, name);
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      throw new DomainError(ErrorCode.NOT_FOUND, `No model '${name}' in the repository`);
    }
    const versions = entries.filter((e) => /^\d+$/.test(e)).sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      if ((await stat(path.join(dir, version, MODEL_FILE)).catch(() => null))?.isFile()) return version;
    }
    throw new DomainError(ErrorCode.NOT_FOUND, `Model '${name}' has no version directory with ${MODEL_FILE}`);
  }

  return {
    root,
    async index() {
      const names = new Set(await readdir(root).catch(() => [] as string[]));
      for (const name of states.keys()) names.add(name);
      const entries: ModelIndexEntry[] = [];
      for (const name of [...names].sort()) {
        const state = states.get(name);
        const version =
          state?.phase === 'READY' ? state.model.version : await newestVersion(name).catch(() => '');
        if (!state && !version) continue;
        entries.push({
          name,
          version,
          state: state?.phase ?? 'UNAVAILABLE',
          reason: state?.phase === 'UNAVAILABLE' ? state.reason : state ? '' : 'not loaded',
        });
      }
      return entries;
    },

    async load(name) {
      const previous = states.get(name);
      if (previous?.phase === 'LOADING')
        throw new DomainError(ErrorCode.CONFLICT, `Model '${name}' is already loading`);
      if (previous?.phase !== 'READY') states.set(name, { phase: 'LOADING' });
      let model: ServingModel;
      try {
        model = await loadVersion(root, name, await newestVersion(name), options);
      } catch (error) {
        if (previous?.phase !== 'READY')
          states.set(name, { phase: 'UNAVAILABLE', reason: (error as Error).message });
        throw error;
      }
      states.set(name, { phase: 'READY', model });
      if (previous?.phase === 'READY') await previous.model.close();
      return model;
    },

    async unload(name) {
      const state = states.get(name);
      if (state?.phase !== 'READY')
        throw new DomainError(ErrorCode.NOT_FOUND, `Model '${name}' is not loaded`);
      states.set(name, { phase: 'UNLOADING' });
      await state.model.close();
      states.set(name, { phase: 'UNAVAILABLE', reason: 'unloaded' });
    },

    resolve(name, version) {
      const state = states.get(name);
      if (!state) throw new DomainError(ErrorCode.NOT_FOUND, `No model '${name}'`);
      if (state.phase !== 'READY') {
        const reason = state.phase === 'UNAVAILABLE' ? `: ${state.reason}` : '';
        throw new DomainError(
          ErrorCode.UNAVAILABLE,
          `Model '${name}' is ${state.phase.toLowerCase()}${reason}`,
        );
      }
      if (version && version !== state.model.version) {
        throw new DomainError(
          ErrorCode.NOT_FOUND,
          `Model '${name}' has no version '${version}' serving (serving ${state.model.version})`,
        );
      }
      return state.model;
    },

    async close() {
      const ready = [...states.values()].flatMap((s) => (s.phase === 'READY' ? [s.model] : []));
      states.clear();
      await Promise.all(ready.map((m) => m.close()));
    },
  };
}

async function loadVersion(
  root: string,
  name: string,
  version: string,
  options: ModelRepositoryOptions,
): Promise<ServingModel> {
  const versionDir = path.join(root, name, version);
  const [config, signature] = await Promise.all([
    readModelConfig(path.join(root, name)),
    readSignature(versionDir),
  ]);
  const pool: OrtSessionPool = await createOrtSessionPool(path.join(versionDir, MODEL_FILE), config);
  const missing = signature.inputs.map((s) => s.name).filter((n) => !pool.inputNames.includes(n));
  if (missing.length > 0) {
    await pool.close();
    throw new DomainError(
      ErrorCode.UNAVAILABLE,
      `signature.json names inputs the model lacks: ${missing.join(', ')}`,
    );
  }
  const outputNames = signature.outputs.map((o) => o.name);
  const batching = config.maxBatchSize > 1;
  const batcher: DynamicBatcher<Payload, HostTensor[]> = createDynamicBatcher<Payload, HostTensor[]>({
    maxBatchSize: config.maxBatchSize,
    preferredBatchSizes: config.preferredBatchSizes,
    maxQueueDelayMicros: config.maxQueueDelayMicros,
    maxQueueSize: config.maxQueueSize,
    instances: config.instances,
    onBatch: (info) => options.onBatch?.(name, version, info),
    async execute(batch: readonly BatchRequest<Payload>[]) {
      if (batch.length === 1) return [await pool.run(batch[0]!.payload.inputs, outputNames)];
      const outputs = await pool.run(concatBatch(batch.map((b) => b.payload.inputs)), outputNames);
      return splitBatch(
        outputs,
        batch.map((b) => b.rows),
      );
    },
  });
  return {
    name,
    version,
    signature,
    config,
    infer(inputs, deadline) {
      const first = inputs[0];
      const rows = batching && first ? (first.shape[0] ?? 1) : 1;
      // Requests batch together only when every non-batch dimension and datatype agree.
      const shapeKey = inputs
        .map((t) => `${t.name}:${t.datatype}:${(batching ? t.shape.slice(1) : t.shape).join('x')}`)
        .join('|');
      return batcher.submit({ rows, shapeKey, deadline, payload: { inputs } });
    },
    async close() {
      await batcher.close();
      await pool.close();
    },
  };
}
