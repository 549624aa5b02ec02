import type { Logger } from '@mlops/runtime';
import { BatcherError } from './batcher';
import type { SidecarMetrics } from './metrics';
import type { LoadedModel } from './model-repository';
import type { HostTensor } from './tensor';

/** How one mirrored request ended: answered, failed, or dropped because the shadow's queue was full. */
export type ShadowOutcome = 'ok' | 'failed' | 'dropped';

/**
 * Sends a copy of answered requests to a model's shadow version and records how its answers compare.
 * It never throws and never delays the caller: the caller's answer is already on its way.
 */
export interface ShadowMirror {
  /**
   * Submits `inputs` to `shadow` (best effort, no deadline) and records the outcome and the mean
   * absolute difference between `primaryOutputs[0]` and the shadow's first output.
   */
  mirror(shadow: LoadedModel, inputs: readonly HostTensor[], primaryOutputs: readonly HostTensor[]): void;
}

export interface ShadowMirrorOptions {
  readonly metrics: SidecarMetrics;
  readonly logger: Logger;
}

export function createShadowMirror({ metrics, logger }: ShadowMirrorOptions): ShadowMirror {
  const record = (shadow: LoadedModel, outcome: ShadowOutcome) =>
    metrics.shadowRequest(shadow.name, shadow.version, outcome);
  return {
    mirror(shadow, inputs, primaryOutputs) {
      let submitted: Promise<HostTensor[]>;
      try {
        submitted = shadow.infer(inputs, null);
      } catch (error) {
        record(shadow, 'failed');
        logger.debug({ err: error, model: shadow.name, version: shadow.version }, 'shadow request failed');
        return;
      }
      submitted.then(
        (outputs) => {
          record(shadow, 'ok');
          const diff = meanAbsDiff(primaryOutputs[0], outputs[0]);
          if (diff !== null) metrics.shadowAbsDiff(shadow.name, shadow.version, diff);
          logger.debug(
            { model: shadow.name, version: shadow.version, meanAbsDiff: diff },
            'shadow answer recorded',
          );
        },
        (error: unknown) => {
          // A full queue is the expected back-pressure of a best-effort copy, not a failure of the shadow.
          const dropped = error instanceof BatcherError && error.kind === 'queue-full';
          record(shadow, dropped ? 'dropped' : 'failed');
          logger.debug(
            { err: error, model: shadow.name, version: shadow.version },
            dropped ? 'shadow request dropped' : 'shadow request failed',
          );
        },
      );
    },
  };
}

/**
 * Mean of |primary − shadow| over the elements of two numeric tensors of one shape; null when either
 * is missing, they are not numeric, or their shapes differ (nothing meaningful to compare).
 */
export function meanAbsDiff(primary: HostTensor | undefined, shadow: HostTensor | undefined): number | null {
  if (!primary || !shadow || primary.datatype === 'BOOL' || shadow.datatype === 'BOOL') return null;
  if (primary.data.length !== shadow.data.length || primary.shape.join('x') !== shadow.shape.join('x'))
    return null;
  if (primary.data.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < primary.data.length; i++)
    sum += Math.abs(Number(primary.data[i]!) - Number(shadow.data[i]!));
  return sum / primary.data.length;
}
