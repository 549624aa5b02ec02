import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { DocumentNode, GraphQLError, GraphQLSchema } from 'graphql';
import { checkOperationLimits, checkTokenLimit } from './check-operation-limits';
import { resolveOperationLimits } from './operation-limits-options';
import type { OperationLimitsOptions } from './operation-limits-options';

// What Apollo parses in place of a document refused for its size (see `requestDidStart`).
const PLACEHOLDER_QUERY = '{ __typename }';

// Token verdicts are remembered for documents up to this size, this many of them (the same few
// operations make most of the traffic; counting a large one costs more than a map lookup).
const MAX_REMEMBERED_QUERY_CHARS = 16 * 1024;
const MAX_REMEMBERED_QUERIES = 2_000;

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
  // Only passes are remembered: a refusal is rare, and each gets an error object of its own.
  const withinTokens = new Set<string>();
  const tokenVerdict = (query: string): GraphQLError | undefined => {
    if (withinTokens.has(query)) return undefined;
    const verdict = checkTokenLimit(query, limits);
    if (verdict || query.length > MAX_REMEMBERED_QUERY_CHARS) return verdict;
    withinTokens.add(query);
    if (withinTokens.size > MAX_REMEMBERED_QUERIES)
      withinTokens.delete(withinTokens.values().next().value as string);
    return undefined;
  };
  // An operation without variables measures the same every time: that it passed is kept with its
  // parsed document (Apollo's document cache hands out the same object for the same text), per
  // schema (a reload brings a new one).
  const passed = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Set<string>>>();
  const operationVerdict = (
    document: DocumentNode,
    operationName: string | undefined,
    schema: GraphQLSchema,
    variables: Readonly<Record<string, unknown>> | undefined,
  ): GraphQLError | undefined => {
    if (hasVariables(document)) {
      return checkOperationLimits(document, operationName, schema, variables, limits)[0];
    }
    let bySchema = passed.get(schema);
    if (!bySchema) passed.set(schema, (bySchema = new WeakMap()));
    let names = bySchema.get(document);
    if (!names) bySchema.set(document, (names = new Set()));
    const key = operationName ?? '';
    if (names.has(key)) return undefined;
    const [verdict] = checkOperationLimits(document, operationName, schema, variables, limits);
    if (!verdict) names.add(key);
    return verdict;
  };
  return {
    async requestDidStart({ request }) {
      // Apollo gives plugins no way to answer before it parses, and a hook that throws is a 500.
      // So a document over the token limit is swapped for a trivial one here (before Apollo reads
      // it) and the request is refused in `didResolveOperation`, which Apollo answers with the
      // error's own status: the oversized document is lexed up to the limit, never parsed.
      const tooManyTokens = typeof request.query === 'string' ? tokenVerdict(request.query) : undefined;
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
          const refusal = operationVerdict(document, resolved.operationName, schema, resolved.variables);
          if (refusal) throw refusal;
        },
      };
    },
  };
}

function hasVariables(document: DocumentNode): boolean {
  return document.definitions.some(
    (definition) =>
      definition.kind === 'OperationDefinition' && (definition.variableDefinitions?.length ?? 0) > 0,
  );
}
