import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode } from '@mlops/schema';
import { DomainError } from '@mlops/runtime';
import { createDynamicBatcher } from './batcher';
import { createDriftMonitor, readDriftReference } from './drift-monitor';
import type { DriftMonitor } from './drift-monitor';
import type { BatchInfo, BatchRequest, DynamicBatcher } from './batcher';
import { readModelConfig, readSignature } from './model-config';
import type { ModelConfig } from './model-config';
import { createOrtSessionPool } from './ort-worker-pool';
import type { OrtSessionPool } from './ort-worker-pool';
import { concatBatch, splitBatch } from './tensor-codec';
import { pickVersion } from './traffic';
import type { TrafficSplit } from './traffic';
import type { HostTensor, ModelSignature } from './tensor';

/** A model version that serves: its signature, its ORT instances and its batcher. */
export interface LoadedModel {
  readonly name: string;
  readonly version: string;
  readonly signature: ModelSignature;
  readonly config: ModelConfig;
  /**
   * How far the rows this version answers drift from its training distribution (`reference.json`
   * beside the model); null when the version ships none.
   */
  readonly drift: DriftMonitor | null;
  /** Queues one request's inputs for a batch; resolves with that request's outputs. */
  infer(inputs: readonly HostTensor[], deadline: number | null): Promise<HostTensor[]>;
}

export type ModelPhase = 'LOADING' | 'READY' | 'UNLOADING' | 'UNAVAILABLE';

export interface ModelIndexEntry {
  readonly name: string;
  readonly version: string;
  readonly state: ModelPhase;
  readonly reason: string;
}

export interface LoadOptions {
  /**
   * Load this version beside the versions already serving (for a canary or A/B test). Without it,
   * the newest version on disk loads, takes all traffic, and every other version drains and is
   * released.
   */
  readonly version?: string;
  /** Traffic split over the loaded versions once this load is done; see `setTraffic`. */
  readonly traffic?: TrafficSplit;
  /** The shadow version once this load is done (`null` clears it); see `setRouting`. */
  readonly shadow?: string | null;
}

/** How unpinned requests are routed; a field left out keeps its current value. */
export interface RoutingOptions {
  /** Spreads unpinned requests over serving versions; every version with weight must be serving. */
  readonly traffic?: TrafficSplit;
  /**
   * A serving version that receives a copy of every unpinned request routed to another version; its
   * answers are recorded, never returned. `null` stops mirroring.
   */
  readonly shadow?: string | null;
}

export interface ModelRepository {
  readonly root: string;
  /** One entry per serving version, and one per model on disk that serves none. */
  index(): Promise<ModelIndexEntry[]>;
  /** Loads a version (see `LoadOptions`); the versions already serving keep serving meanwhile. */
  load(name: string, options?: LoadOptions): Promise<LoadedModel>;
  /** Spreads unpinned requests over serving versions; every version named must be serving. */
  setTraffic(name: string, traffic: TrafficSplit): void;
  /**
   * Sets the traffic split and/or the shadow version at once: both are checked before either
   * changes (BAD_USER_INPUT naming `traffic` or `shadow`). NOT_FOUND when the model is not loaded.
   */
  setRouting(name: string, routing: RoutingOptions): void;
  /** The serving shadow version of a model, or null when it has none. */
  shadowOf(name: string): LoadedModel | null;
  /**
   * Stops taking requests for one version (or every version), lets queued and running ones
   * finish, and releases it. A version that still has traffic, or is the shadow, cannot be
   * unloaded alone (CONFLICT).
   */
  unload(name: string, version?: string): Promise<void>;
  /**
   * The version a request goes to: the pinned `version`, else by the traffic split (the same
   * `stickyKey` always lands on the same version), else the newest serving version.
   * NOT_FOUND for an unknown model or version, UNAVAILABLE when none serves.
   */
  resolve(name: string, version?: string, stickyKey?: string): LoadedModel;
  /** Every serving version of a model, newest first. */
  versions(name: string): LoadedModel[];
  /** Every serving version of every model. */
  serving(): LoadedModel[];
  close(): Promise<void>;
}

interface ServingModel extends LoadedModel {
  close(): Promise<void>;
}

/** What the repository knows of one model: its serving versions and how traffic spreads. */
interface ModelSlot {
  loading: number;
  readonly serving: Map<string, ServingModel>;
  traffic: TrafficSplit | null;
  /** The version that gets a copy of unpinned requests; always a serving version, or null. */
  shadow: string | null;
  reason: string;
}

type Payload = { readonly inputs: readonly HostTensor[] };

const MODEL_FILE = 'model.onnx';
const byNewest = (a: string, b: string) => Number(b) - Number(a);

export interface ModelRepositoryOptions {
  /** Called after every model execution, e.g. to feed Prometheus metrics. */
  onBatch?(model: string, version: string, info: BatchInfo): void;
}

export function createModelRepository(root: string, options: ModelRepositoryOptions = {}): ModelRepository {
  const slots = new Map<string, ModelSlot>();

  async function versionsOnDisk(name: string): Promise<string[]> {
    const dir = path.join(root, name);
    const entries = await readdir(dir).catch(() => {
      throw new DomainError(ErrorCode.NOT_FOUND, `No model '${name}' in the repository`);
    });
    const versions: string[] = [];
    for (const version of entries.filter((e) => /^\d+$/.test(e)).sort(byNewest)) {
      if ((await stat(path.join(dir, version, MODEL_FILE)).catch(() => null))?.isFile())
        versions.push(version);
    }
    return versions;
  }

  async function versionToLoad(name: string, wanted: string | undefined): Promise<string> {
    const versions = await versionsOnDisk(name);
    if (wanted === undefined) {
      if (versions[0] === undefined)
        throw new DomainError(
          ErrorCode.NOT_FOUND,
          `Model '${name}' has no version directory with ${MODEL_FILE}`,
        );
      return versions[0];
    }
    if (!versions.includes(wanted))
      throw new DomainError(
        ErrorCode.NOT_FOUND,
        `Model '${name}' has no version '${wanted}' in the repository`,
      );
    return wanted;
  }

  function slotFor(name: string): ModelSlot {
    let slot = slots.get(name);
    if (!slot) {
      slot = { loading: 0, serving: new Map(), traffic: null, shadow: null, reason: 'not loaded' };
      slots.set(name, slot);
    }
    return slot;
  }

  function checkTraffic(
    name: string,
    serving: ReadonlyMap<string, ServingModel>,
    traffic: TrafficSplit,
  ): void {
    const missing = [...traffic.keys()].filter((v) => (traffic.get(v) ?? 0) > 0 && !serving.has(v));
    if (missing.length > 0) {
      throw new DomainError(
        ErrorCode.BAD_USER_INPUT,
        `traffic names versions of '${name}' that are not serving: ${missing.join(', ')}`,
        {
          field: 'traffic',
        },
      );
    }
  }

  function checkShadow(name: string, serving: ReadonlyMap<string, ServingModel>, shadow: string | null) {
    if (shadow !== null && !serving.has(shadow)) {
      const versions = [...serving.keys()].sort(byNewest).join(', ') || 'none';
      throw new DomainError(
        ErrorCode.BAD_USER_INPUT,
        `shadow names version '${shadow}' of '${name}', which is not serving (serving ${versions})`,
        { field: 'shadow' },
      );
    }
  }

  const repository: ModelRepository = {
    root,
    async index() {
      const names = new Set(await readdir(root).catch(() => [] as string[]));
      for (const name of slots.keys()) names.add(name);
      const entries: ModelIndexEntry[] = [];
      for (const name of [...names].sort()) {
        const slot = slots.get(name);
        if (slot && slot.serving.size > 0) {
          for (const version of [...slot.serving.keys()].sort(byNewest))
            entries.push({ name, version, state: 'READY', reason: '' });
          continue;
        }
        const newest = (await versionsOnDisk(name).catch(() => []))[0];
        if (!slot && newest === undefined) continue;
        entries.push({
          name,
          version: newest ?? '',
          state: slot?.loading ? 'LOADING' : 'UNAVAILABLE',
          reason: slot?.loading ? '' : (slot?.reason ?? 'not loaded'),
        });
      }
      return entries;
    },

    async load(name, { version, traffic, shadow } = {}) {
      const slot = slotFor(name);
      slot.loading++;
      let model: ServingModel;
      try {
        model = await loadVersion(root, name, await versionToLoad(name, version), options);
      } catch (error) {
        if (slot.serving.size === 0) slot.reason = (error as Error).message;
        throw error;
      } finally {
        slot.loading--;
      }
      const replaced = slot.serving.get(model.version);
      const retired = version === undefined ? [...slot.serving.values()].filter((m) => m !== replaced) : [];
      const next = new Map(slot.serving);
      next.set(model.version, model);
      for (const old of retired) next.delete(old.version);
      // A full reload retires every other version, and with them a shadow among them.
      const nextShadow =
        shadow !== undefined ? shadow : slot.shadow !== null && next.has(slot.shadow) ? slot.shadow : null;
      if (traffic || shadow !== undefined) {
        try {
          if (traffic) checkTraffic(name, next, traffic);
          checkShadow(name, next, nextShadow);
        } catch (error) {
          await model.close(); // refused as a whole: what served before serves on
          throw error;
        }
      }
      slot.serving.clear();
      for (const [v, m] of next) slot.serving.set(v, m);
      slot.traffic = traffic ?? (version === undefined ? null : slot.traffic);
      slot.shadow = nextShadow;
      // Requests already queued on the old instances finish there; new ones go to the new version.
      await Promise.all([...retired, replaced].flatMap((m) => (m ? [m.close()] : [])));
      return model;
    },

    setTraffic(name, traffic) {
      repository.setRouting(name, { traffic });
    },

    setRouting(name, { traffic, shadow }) {
      const slot = slots.get(name);
      if (!slot || slot.serving.size === 0)
        throw new DomainError(ErrorCode.NOT_FOUND, `Model '${name}' is not loaded`);
      if (traffic) checkTraffic(name, slot.serving, traffic);
      if (shadow !== undefined) checkShadow(name, slot.serving, shadow);
      if (traffic) slot.traffic = traffic;
      if (shadow !== undefined) slot.shadow = shadow;
    },

    shadowOf(name) {
      const slot = slots.get(name);
      if (!slot || slot.shadow === null) return null;
      return slot.serving.get(slot.shadow) ?? null;
    },

    async unload(name, version) {
      const slot = slots.get(name);
      if (!slot || slot.serving.size === 0)
        throw new DomainError(ErrorCode.NOT_FOUND, `Model '${name}' is not loaded`);
      if (version === undefined) {
        const all = [...slot.serving.values()];
        slot.serving.clear();
        slot.traffic = null;
        slot.shadow = null;
        slot.reason = 'unloaded';
        await Promise.all(all.map((m) => m.close()));
        return;
      }
      const model = slot.serving.get(version);
      if (!model)
        throw new DomainError(ErrorCode.NOT_FOUND, `Model '${name}' has no version '${version}' serving`);
      if ((slot.traffic?.get(version) ?? 0) > 0) {
        throw new DomainError(
          ErrorCode.CONFLICT,
          `Version ${version} of '${name}' still has ${slot.traffic?.get(version)}% of traffic; move it first`,
        );
      }
      if (slot.shadow === version) {
        throw new DomainError(
          ErrorCode.CONFLICT,
          `Version ${version} of '${name}' is the shadow; clear the shadow first`,
        );
      }
      slot.serving.delete(version);
      if (slot.serving.size === 0) slot.reason = 'unloaded';
      await model.close();
    },

    resolve(name, version, stickyKey) {
      const slot = slots.get(name);
      if (!slot) throw new DomainError(ErrorCode.NOT_FOUND, `No model '${name}'`);
      if (slot.serving.size === 0) {
        const why = slot.loading > 0 ? 'loading' : slot.reason;
        throw new DomainError(ErrorCode.UNAVAILABLE, `Model '${name}' is not serving: ${why}`);
      }
      if (version) {
        const pinned = slot.serving.get(version);
        if (!pinned) {
          const serving = [...slot.serving.keys()].sort(byNewest).join(', ');
          throw new DomainError(
            ErrorCode.NOT_FOUND,
            `Model '${name}' has no version '${version}' serving (serving ${serving})`,
          );
        }
        return pinned;
      }
      const chosen = slot.traffic
        ? pickVersion(slot.traffic, stickyKey)
        : [...slot.serving.keys()].sort(byNewest)[0]!;
      return slot.serving.get(chosen)!;
    },

    versions(name) {
      const slot = slots.get(name);
      return slot ? [...slot.serving.keys()].sort(byNewest).map((v) => slot.serving.get(v)!) : [];
    },

    serving() {
      return [...slots.values()].flatMap((slot) => [...slot.serving.values()]);
    },

    async close() {
      const all = [...slots.values()].flatMap((s) => [...s.serving.values()]);
      slots.clear();
      await Promise.all(all.map((m) => m.close()));
    },
  };
  return repository;
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
  const reference = await readDriftReference(versionDir, signature).catch((error: unknown) => {
    throw new DomainError(ErrorCode.UNAVAILABLE, (error as Error).message);
  });
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
    drift: reference ? createDriftMonitor(reference) : null,
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
