import { badInput } from '@mlops/runtime';

/** Limits of one `logBatch` call (MLflow's own). */
export const BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100 } as const;
export const MAX_PARAM_VALUE_LENGTH = 6000;
export const MAX_NAME_LENGTH = 250;
export const MAX_EXPERIMENT_NAME_LENGTH = 500;
export const MAX_HISTORY_POINTS = 100_000;

/** Epoch milliseconds must be a safe non-negative integer. */
export function validateEpochMs(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw badInput(field, `${field} must be a non-negative epoch time in milliseconds`);
}
