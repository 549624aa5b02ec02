import { GraphQLError } from 'graphql';
import type { GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '@mlops/schema';
import { unwrapResolverError } from '@apollo/server/errors';
import { DomainError } from './domain-error';

/** A GraphQL error that carries one of the public codes and, optionally, structured details. */
export function codedError(
  code: ErrorCode,
  message: string,
  details: Record<string, unknown> = {},
): GraphQLError {
  return new GraphQLError(message, { extensions: { ...details, code } });
}

const PUBLIC_CODES = new Set<string>(Object.values(ErrorCode));

/**
 * Apollo `formatError` for every service, the one place where a `DomainError` becomes a GraphQL
 * error with `extensions.code`. Coded errors and GraphQL validation errors pass through;
 * in production anything else (a bug, a driver error) is masked to INTERNAL_SERVER_ERROR and the
 * stack trace is never sent.
 */
export function createErrorFormatter(
  production: boolean,
): (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError {
  return (formatted, error) => {
    const original = unwrapResolverError(error);
    if (original instanceof DomainError) {
      return {
        ...formatted,
        message: original.message,
        extensions: { ...original.details, code: original.code },
      };
    }
    const code = formatted.extensions?.code;
    // Apollo gives every unexpected error INTERNAL_SERVER_ERROR, so that code never vouches for its message.
    const known =
      typeof code === 'string' &&
      code !== ErrorCode.INTERNAL_SERVER_ERROR &&
      (PUBLIC_CODES.has(code) || code.startsWith('GRAPHQL_') || code === 'PERSISTED_QUERY_NOT_FOUND');
    if (known || !production) {
      if (!production) return formatted;
      const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    return {
      message: 'Internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}
