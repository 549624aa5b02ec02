import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { checkOperationLimits, checkTokenLimit } from './check-operation-limits';
import { resolveOperationLimits } from './operation-limits-options';
import type { OperationLimitsOptions } from './operation-limits-options';

// What Apollo parses in place of a document refused for its size (see `requestDidStart`).
const PLACEHOLDER_QUERY = '{ __typename }';

/**
 * An Apollo Server plugin that refuses, before execution, every operation over one of the limits
 * in `options` (see `OperationLimitsOptions` for each default and message). The refusal is the
 * first error `checkOperationLimits` reports, answered with HTTP 400 and no data; nothing is
 * executed and nothing is sent to a subgraph. Introspection operations are measured like any
 * other. Throws a `ConfigError` naming each invalid option, at construction.
 */
export function createOperationLimitsPlugin<TContext extends BaseContext = BaseContext>(
  options: OperationLimitsOptions = {},
): ApolloServerPlugin<TContext> {
  const limits = resolveOperationLimits(options);
  return {
    async requestDidStart({ request }) {
      // Apollo gives plugins no way to answer before it parses, and a hook that throws is a 500.
      // So a document over the token limit is swapped for a trivial one here (before Apollo reads
      // it) and the request is refused in `didResolveOperation`, which Apollo answers with the
      // error's own status: the oversized document is lexed up to the limit, never parsed.
      const tooManyTokens =
        typeof request.query === 'string' ? checkTokenLimit(request.query, limits) : undefined;
      if (tooManyTokens) {
        request.query = PLACEHOLDER_QUERY;
        if (request.extensions?.persistedQuery !== undefined) {
          // The hash would no longer match the query; the refusal must be the limit, not the hash.
          const { persistedQuery: _dropped, ...extensions } = request.extensions;
          request.extensions = extensions;
        }
      }
      return {
        async didResolveOperation({ document, schema, request: resolved }) {
          if (tooManyTokens) throw tooManyTokens;
          // Covers documents Apollo took from its persisted-query cache as well.
          const [first] = checkOperationLimits(
            document,
            resolved.operationName,
            schema,
            resolved.variables,
            limits,
          );
          if (first) throw first;
        },
      };
    },
  };
}
