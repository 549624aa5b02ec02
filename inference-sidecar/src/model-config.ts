import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode } from '@mlops/schema';
import { DomainError } from '@mlops/runtime';
import { DATATYPES } from './tensor';
import type { ModelSignature, TensorSpec } from './tensor';

/** `<repository>/<model>/config.json`: how one model is batched and run (Triton's knobs). */
export interface ModelConfig {
  /** Largest batch in rows; 0 turns batching off. Default 64. */
  readonly maxBatchSize: number;
  /** Batch sizes dispatched at once when reached; default none. */
  readonly preferredBatchSizes: readonly number[];
  /** How long the oldest queued request may wait for a batch to fill, in µs; default 500. */
  readonly maxQueueDelayMicros: number;
  /** Queued requests beyond this are refused at once with UNAVAILABLE; default 1024. */
  readonly maxQueueSize: number;
  /** Worker threads (model instances), each with its own ORT session; default 1. */
  readonly instances: number;
  /** ORT intra-op threads per instance; default 1. */
  readonly intraOpThreads: number;
}

const DEFAULTS: ModelConfig = {
  maxBatchSize: 64,
  preferredBatchSizes: [],
  maxQueueDelayMicros: 500,
  maxQueueSize: 1024,
  instances: 1,
  intraOpThreads: 1,
};

/** Reads and validates a model's config.json; a missing file means the defaults. */
export async function readModelConfig(modelDir: string): Promise<ModelConfig> {
  const file = path.join(modelDir, 'config.json');
  const raw = await readJson(file, true);
  if (raw === undefined) return DEFAULTS;
  return checkModelConfig(raw, (problem) => invalid(file, problem));
}

/** A parsed config.json checked, with defaults filled in; `invalid` is called with the first problem. */
export function checkModelConfig(raw: unknown, invalid: (problem: string) => never): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) invalid('must be a JSON object');
  const config = { ...DEFAULTS, ...(raw as Partial<ModelConfig>) };
  const nonNegative = ['maxBatchSize', 'maxQueueDelayMicros', 'maxQueueSize'] as const;
  for (const key of nonNegative) {
    if (!Number.isInteger(config[key]) || config[key] < 0) invalid(`${key} must be a non-negative integer`);
  }
  for (const key of ['instances', 'intraOpThreads'] as const) {
    if (!Number.isInteger(config[key]) || config[key] < 1) invalid(`${key} must be a positive integer`);
  }
  if (
    !Array.isArray(config.preferredBatchSizes) ||
    config.preferredBatchSizes.some((n) => !Number.isInteger(n) || n < 1 || n > config.maxBatchSize)
  ) {
    invalid(`preferredBatchSizes must be positive integers no larger than maxBatchSize`);
  }
  return config;
}

/** Reads `<version dir>/signature.json`: the tensors a request must send and may ask for. */
export async function readSignature(versionDir: string): Promise<ModelSignature> {
  const file = path.join(versionDir, 'signature.json');
  return checkSignature(await readJson(file, false), (problem) => invalid(file, problem));
}

/** A parsed signature.json checked; `invalid` is called with the first problem. */
export function checkSignature(raw: unknown, invalid: (problem: string) => never): ModelSignature {
  if (typeof raw !== 'object' || raw === null) invalid('must be a JSON object');
  const { inputs, outputs } = raw as { inputs?: unknown; outputs?: unknown };
  const specs = (value: unknown, field: string): TensorSpec[] => {
    if (!Array.isArray(value) || value.length === 0) invalid(`${field} must be a non-empty array`);
    return (value as unknown[]).map((spec, i) => {
      const s = (spec ?? {}) as Partial<TensorSpec>;
      const ok =
        typeof s.name === 'string' &&
        (DATATYPES as readonly string[]).includes(String(s.datatype)) &&
        Array.isArray(s.shape) &&
        s.shape.every((d) => Number.isInteger(d) && d >= -1);
      if (!ok)
        invalid(
          `${field}[${i}] needs a name, a datatype (${DATATYPES.join(', ')}) and a shape of integers ≥ -1`,
        );
      return { name: s.name!, datatype: s.datatype!, shape: s.shape! };
    });
  };
  return { inputs: specs(inputs, 'inputs'), outputs: specs(outputs, 'outputs') };
}

async function readJson(file: string, optional: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (optional && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DomainError(ErrorCode.UNAVAILABLE, `Cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return invalid(file, 'not valid JSON');
  }
}

function invalid(file: string, problem: string): never {
  throw new DomainError(ErrorCode.UNAVAILABLE, `Invalid model file ${file}: ${problem}`);
}
