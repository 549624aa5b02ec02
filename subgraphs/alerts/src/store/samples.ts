import type { Knex } from '@mikro-orm/knex';
import { ErrorCode } from '@mlops/schema';
import { DomainError, badInput, validateName } from '@mlops/runtime';
import type { Database } from '@mlops/runtime/database';
import { MAX_NAME_LENGTH, validateMetric } from '../domain/rule-spec';
import type { SampleRecord } from './records';
import { toSampleRecord } from './records';

/** Most samples one `recordMetrics` call may carry. */
export const MAX_SAMPLES_PER_BATCH = 1000;

export interface SampleInput {
  readonly deployment: string;
  readonly metric: string;
  readonly value: number;
  /** Epoch ms; default now. */
  readonly at: number | null;
}

/** Validates the whole batch first (nothing is written on any error), naming `samples[i].<field>`. */
export function validateSamples(samples: readonly SampleInput[], now: number): SampleRecord[] {
  if (samples.length > MAX_SAMPLES_PER_BATCH)
    throw new DomainError(
      ErrorCode.LIMIT_EXCEEDED,
      `A batch may hold at most ${MAX_SAMPLES_PER_BATCH} samples; got ${samples.length}`,
      { field: 'samples', count: samples.length, limit: MAX_SAMPLES_PER_BATCH },
    );
  return samples.map((s, i) => {
    const deployment = validateName(`samples[${i}].deployment`, s.deployment, MAX_NAME_LENGTH);
    const metric = validateMetric(`samples[${i}].metric`, s.metric);
    if (!Number.isFinite(s.value))
      throw badInput(`samples[${i}].value`, `samples[${i}].value must be a finite number; got ${s.value}`);
    const at = s.at ?? now;
    if (!Number.isFinite(at)) throw badInput(`samples[${i}].at`, `samples[${i}].at is not a valid time`);
    return { deployment, metric, value: s.value, at };
  });
}

/**
 * Keeps the newest sample of each (deployment, metric): within the batch the latest `at` wins (the
 * later entry on a tie), and a stored sample is replaced only by one at least as new.
 */
export async function recordSamples(db: Database, samples: readonly SampleRecord[]): Promise<void> {
  const newest = new Map<string, SampleRecord>();
  for (const sample of samples) {
    const key = seriesKey(sample);
    const held = newest.get(key);
    if (!held || sample.at >= held.at) newest.set(key, sample);
  }
  if (newest.size === 0) return;
  await db
    .knex('metric_samples')
    .insert(
      [...newest.values()].map((s) => ({
        deployment: s.deployment,
        metric: s.metric,
        value: s.value,
        at: s.at,
      })),
    )
    .onConflict(['deployment', 'metric'])
    .merge(['value', 'at'])
    .where('metric_samples.at', '<=', db.knex.raw('excluded.at'));
}

/** The stored sample of each series asked for, by `JSON.stringify([deployment, metric])`. */
export async function latestSamples(
  knex: Knex,
  series: readonly { deployment: string; metric: string }[],
): Promise<Map<string, SampleRecord>> {
  const found = new Map<string, SampleRecord>();
  const deployments = [...new Set(series.map((s) => s.deployment))];
  for (let i = 0; i < deployments.length; i += 500) {
    const rows: Record<string, unknown>[] = await knex('metric_samples').whereIn(
      'deployment',
      deployments.slice(i, i + 500),
    );
    for (const row of rows) {
      const sample = toSampleRecord(row);
      found.set(seriesKey(sample), sample);
    }
  }
  return found;
}

export const seriesKey = (s: { deployment: string; metric: string }) =>
  JSON.stringify([s.deployment, s.metric]);
