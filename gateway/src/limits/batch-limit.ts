import type { GraphQLError } from 'graphql';
import { badLimitInput, limitExceeded } from './limit-errors';

/**
 * Checks a parsed HTTP request body before any of its operations runs (Apollo runs each operation
 * of a batch separately, so no plugin sees the batch as a whole; call this where the body is
 * read). A body that is not an array is not a batch and passes. An array of more than `maxBatch`
 * operations gets `LIMIT_EXCEEDED` ("A batch may hold at most 10 operations; got 11",
 * `extensions.limit` 'maxBatchSize'); an empty array gets BAD_USER_INPUT. Both carry HTTP 400.
 * Throws a `RangeError` when `maxBatch` is not a positive integer.
 */
export function checkBatch(body: unknown, maxBatch: number): GraphQLError | undefined {
  if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) {
    throw new RangeError(`maxBatch must be a positive integer; got ${String(maxBatch)}`);
  }
  if (!Array.isArray(body)) return undefined;
  if (body.length === 0) return badLimitInput('A batch must hold at least one operation; got 0');
  if (body.length <= maxBatch) return undefined;
  return limitExceeded(
    'maxBatchSize',
    maxBatch,
    body.length,
    `A batch may hold at most ${maxBatch} operations; got ${body.length}`,
  );
}
