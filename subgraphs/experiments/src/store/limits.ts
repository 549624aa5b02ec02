import { ErrorCode } from '@mlops/schema';
import { DomainError } from '@mlops/runtime';

/** Limits of one `logBatch` call (MLflow's own). */
export const BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100 } as const;
export const MAX_KEY_LENGTH = 250;
export const MAX_PARAM_VALUE_LENGTH = 6000;
export const MAX_TAG_VALUE_LENGTH = 8000;
export const MAX_NAME_LENGTH = 250;
export const MAX_EXPERIMENT_NAME_LENGTH = 500;
export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_HISTORY_POINTS = 100_000;

/**
 * Keys are ASCII letters, digits and `_ - . / : space`, as MLflow allows: keys appear in filters
 * and file paths, so look-alike characters and control characters are refused outright.
 */
const KEY_PATTERN = /^[A-Za-z0-9_\-./: ]+$/;

export function badInput(field: string, message: string, details: Record<string, unknown> = {}): DomainError {
  return new DomainError(ErrorCode.BAD_USER_INPUT, message, { field, ...details });
}

export function validateKey(field: string, key: string): void {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw badInput(
      field,
      `${field} '${truncate(key)}' must be 1 to ${MAX_KEY_LENGTH} characters long; got ${key.length}`,
    );
  }
  if (!KEY_PATTERN.test(key) || key.trim() !== key) {
    throw badInput(
      field,
      `${field} '${truncate(key)}' may only contain ASCII letters, digits, underscores, dashes, periods, slashes, colons and inner spaces`,
    );
  }
}

export function validateLength(field: string, value: string, max: number): void {
  if (value.length > max)
    throw badInput(field, `${field} may be at most ${max} characters long; got ${value.length}`);
}

export function validateName(field: string, name: string, max: number): string {
  const trimmed = name.trim();
  if (trimmed.length === 0) throw badInput(field, `${field} must not be empty`);
  validateLength(field, trimmed, max);
  if (/\p{Cc}/u.test(trimmed)) throw badInput(field, `${field} must not contain control characters`);
  return trimmed;
}

export function validatePageSize(first: number | null | undefined): number {
  const size = first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw new DomainError(
      ErrorCode.LIMIT_EXCEEDED,
      `first must be between 1 and ${MAX_PAGE_SIZE}; got ${size}`,
      {
        field: 'first',
        limit: MAX_PAGE_SIZE,
      },
    );
  }
  return size;
}

/** Epoch milliseconds must be a safe non-negative integer. */
export function validateEpochMs(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw badInput(field, `${field} must be a non-negative epoch time in milliseconds`);
}

function truncate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}
