import { createHash } from 'node:crypto';
import { badInput } from './validation';

/** A keyset position: the order-by values of the last row of a page and its id. */
export interface KeysetPosition {
  readonly values: readonly (string | number | null)[];
  readonly id: string;
}

/**
 * Opaque cursors bind a position to the query it came from, so a cursor reused with another
 * filter or order is refused instead of silently skipping rows.
 */
export function queryFingerprint(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 12);
}

export function encodeCursor(position: KeysetPosition, fingerprint: string): string {
  return Buffer.from(JSON.stringify({ f: fingerprint, v: position.values, id: position.id })).toString(
    'base64url',
  );
}

/** The position of a cursor `encodeCursor` made for the same query; BAD_USER_INPUT (field `after`) otherwise. */
export function decodeCursor(cursor: string, fingerprint: string, valueCount: number): KeysetPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badInput('after', 'after is not a cursor returned by this query');
  }
  const candidate = parsed as { f?: unknown; v?: unknown; id?: unknown };
  const valid =
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.id === 'string' &&
    Array.isArray(candidate.v) &&
    candidate.v.length === valueCount &&
    candidate.v.every((v) => v === null || typeof v === 'string' || typeof v === 'number');
  if (!valid) throw badInput('after', 'after is not a cursor returned by this query');
  if (candidate.f !== fingerprint) {
    throw badInput('after', 'after belongs to a query with another filter, order or run view');
  }
  return { values: candidate.v as KeysetPosition['values'], id: candidate.id as string };
}
