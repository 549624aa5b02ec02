import { ErrorCode } from '@mlops/schema';
import { DomainError } from './domain-error';

/** Page sizes of every paged query. */
export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_PAGE_SIZE = 100;
/** Longest tag (or param) key. */
export const MAX_KEY_LENGTH = 250;

/**
 * Keys are ASCII letters, digits and `_ - . / : space`, as MLflow allows: keys appear in filters
 * and file paths, so look-alike characters and control characters are refused outright.
 */
const KEY_PATTERN = /^[A-Za-z0-9_\-./: ]+$/;

/** A BAD_USER_INPUT error naming the field at fault. */
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

/** Trims a display name and refuses it empty, too long or with control characters; returns it trimmed. */
export function validateName(field: string, name: string, max: number): string {
  const trimmed = name.trim();
  if (trimmed.length === 0) throw badInput(field, `${field} must not be empty`);
  validateLength(field, trimmed, max);
  if (/\p{Cc}/u.test(trimmed)) throw badInput(field, `${field} must not contain control characters`);
  return trimmed;
}

/** `first` of a paged query: default 100, LIMIT_EXCEEDED outside 1…1000. */
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

function truncate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}

/** Longest tag value. */
export const MAX_TAG_VALUE_LENGTH = 8000;

/** Validates a list of tags: keys, value lengths and no key twice. */
export function validateTags(field: string, tags: readonly { key: string; value: string }[]): void {
  const seen = new Set<string>();
  for (const tag of tags) {
    validateKey(`${field}.key`, tag.key);
    validateLength(`${field}.value`, tag.value, MAX_TAG_VALUE_LENGTH);
    if (seen.has(tag.key)) throw badInput(field, `Tag '${tag.key}' appears twice`);
    seen.add(tag.key);
  }
}
