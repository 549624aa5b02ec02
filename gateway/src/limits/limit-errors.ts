import type { GraphQLError } from 'graphql';
import { codedError } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import type { LimitName } from './operation-limits-options';

/**
 * The one shape of every limit error: `LIMIT_EXCEEDED`, the option's name, the maximum, the actual
 * value, and HTTP 400 (Apollo moves `extensions.http` into the response status and drops it from
 * the error).
 */
export function limitExceeded(
  limit: LimitName,
  maximum: number,
  actual: number,
  message: string,
): GraphQLError {
  return codedError(ErrorCode.LIMIT_EXCEEDED, message, { limit, maximum, actual, http: { status: 400 } });
}

/** A request the limits cannot even measure (a fragment cycle, a malformed batch): BAD_USER_INPUT, HTTP 400. */
export function badLimitInput(message: string): GraphQLError {
  return codedError(ErrorCode.BAD_USER_INPUT, message, { http: { status: 400 } });
}
