import { badInput } from '@mlops/runtime';
import type { Strategy } from './revision-state';

/** One model version of a revision and its share of unpinned requests, in percent. */
export interface WeightedVersion {
  readonly modelName: string;
  readonly version: number;
  readonly weight: number;
}

/** What a revision serves. */
export interface RevisionSpec {
  readonly strategy: Strategy;
  readonly models: readonly WeightedVersion[];
}

/** Most model versions one revision may name. */
export const MAX_REVISION_MODELS = 10;

/**
 * Checks a revision's shape, naming the field at fault (BAD_USER_INPUT): one to ten distinct
 * versions of ONE model (the sidecar splits traffic per model, so a split across models could not be
 * applied), integer weights 0–100 summing to 100; DIRECT names one version; SHADOW names the primary
 * version(s), whose weights sum to 100, and exactly one version with weight 0: the shadow, which gets a
 * copy of every unpinned request the primaries answer.
 */
export function validateRevisionSpec(spec: RevisionSpec): RevisionSpec {
  const { models, strategy } = spec;
  if (models.length === 0 || models.length > MAX_REVISION_MODELS)
    throw badInput('models', `models must name 1 to ${MAX_REVISION_MODELS} versions; got ${models.length}`);
  const seen = new Set<number>();
  models.forEach((m, i) => {
    if (m.modelName.trim() === '') throw badInput(`models[${i}].modelName`, 'modelName must not be empty');
    if (m.modelName !== models[0]!.modelName)
      throw badInput(
        `models[${i}].modelName`,
        `Every version of a revision must be of one model ('${models[0]!.modelName}'); got '${m.modelName}'`,
      );
    if (!Number.isInteger(m.version) || m.version < 1)
      throw badInput(`models[${i}].version`, `version must be a positive integer; got ${m.version}`);
    if (seen.has(m.version))
      throw badInput(`models[${i}].version`, `Version ${m.version} appears twice in models`);
    seen.add(m.version);
    if (!Number.isInteger(m.weight) || m.weight < 0 || m.weight > 100)
      throw badInput(`models[${i}].weight`, `weight must be an integer 0–100; got ${m.weight}`);
  });
  const total = models.reduce((sum, m) => sum + m.weight, 0);
  if (total !== 100) throw badInput('models.weight', `Traffic weights must sum to 100; got ${total}`);
  if (strategy === 'DIRECT' && models.length !== 1)
    throw badInput('strategy', `A DIRECT revision names exactly one version; got ${models.length}`);
  const zero = models.filter((m) => m.weight === 0).map((m) => m.version);
  if (strategy === 'SHADOW' && zero.length !== 1)
    throw badInput(
      'models.weight',
      `A SHADOW revision names exactly one shadow version, with weight 0; got ${zero.length === 0 ? 'none' : `${zero.length} (versions ${zero.join(', ')})`}`,
    );
  return spec;
}

/** How the sidecar routes one revision's unpinned requests. */
export interface Routing {
  /** The split, `{"<version>": weight}`. */
  readonly trafficJson: string;
  /** The version that gets a copy of unpinned requests: a SHADOW revision's weight-0 version, else null. */
  readonly shadow: number | null;
}

/** The routing a validated revision asks of the sidecar. */
export function routingOf(spec: RevisionSpec): Routing {
  return {
    trafficJson: trafficJson(spec.models),
    shadow: spec.strategy === 'SHADOW' ? (shadowVersion(spec.models)?.version ?? null) : null,
  };
}

/** The weight-0 version of a SHADOW revision. */
export function shadowVersion(models: readonly WeightedVersion[]): WeightedVersion | undefined {
  return models.find((m) => m.weight === 0);
}

/** The split the sidecar takes: `{"<version>": weight}`. */
export function trafficJson(models: readonly WeightedVersion[]): string {
  return JSON.stringify(Object.fromEntries(models.map((m) => [String(m.version), m.weight])));
}
