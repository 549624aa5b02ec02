import type http from 'node:http';
import type { GraphQLDataSource } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { Kind, getOperationAST, getVariableValues, parse, print } from 'graphql';
import type {
  DocumentNode,
  FragmentDefinitionNode,
  GraphQLSchema,
  OperationDefinitionNode,
  SelectionSetNode,
} from 'graphql';
import { startInternalSpan } from '@mlops/runtime';
import type { RequestContextBase, ShortcutAnswer, ShortcutRequest } from '@mlops/runtime';
import { isCutQueryHash } from '../auth/authorizing-gateway';
import type { AccessRules } from '../auth/access-rules';
import type { ResolvedQueryPlan } from '../execution/plan-execution';
import { checkOperationLimits } from '../limits';
import type { OperationLimitsOptions } from '../limits';
import type { GatewayContext, SubgraphReplay } from '../subgraph-data-source';

/** Documents remembered (both kinds); beyond, the least recently learned are forgotten. */
const MAX_ENTRIES = 2_000;

type Learned =
  | { readonly kind: 'apollo' }
  | {
      readonly kind: 'pass-through';
      readonly document: DocumentNode;
      readonly operationName: string | undefined;
      readonly operation: OperationDefinitionNode;
      readonly subgraph: string;
      readonly query: string;
      readonly fetchOperationName: string | undefined;
      readonly variableUsages: readonly string[];
    };

const APOLLO: Learned = { kind: 'apollo' };

/** In a shape: a part that cannot be compared (an unknown fragment, a runaway depth). */
const INCOMPARABLE = '\u0000';

export interface SingleFetchPassThroughOptions {
  /**
   * Whether documents may be passed through under the current supergraph: not when it hides
   * anything with `@inaccessible`, whose values Apollo's result shaping removes from answers.
   */
  enabled(): boolean;
  /** The data source of a subgraph by name (the same one Apollo's plans use). */
  dataSource(name: string): GraphQLDataSource<GatewayContext> | undefined;
  /** The client-facing schema, for variable coercion, limits and access rules. */
  apiSchema(): GraphQLSchema;
  accessRules(): AccessRules;
  readonly operationLimits: OperationLimitsOptions;
  /** Records an answered operation in the metrics (Apollo's metrics plugin does not see it). */
  observe(operationName: string | undefined, seconds: number): void;
}

/**
 * Queries the planner sends whole to one subgraph, answered without Apollo's request pipeline.
 * `learn` watches Apollo's plans: a query document whose plan is a single fetch that asks the
 * subgraph exactly what the client asked (same fields, aliases, arguments, directives, fragments,
 * in the same order — checked on the documents, not on any answer) is remembered. From then on
 * `answer` serves that document itself: it applies the same checks as Apollo's path (variable
 * coercion, operation limits, access rules; authentication, rate limits and the body limit have run
 * before it), sends the subgraph request through the same data source (identity, request id,
 * resilience, deduplication) and answers the subgraph's data as it came — Apollo's result shaping
 * would produce the same object. Anything else declines to Apollo: an answer with errors or
 * extensions is handed to Apollo as a replay (no second subgraph request), so errors are shaped,
 * coded and masked exactly as on the normal path.
 */
export interface SingleFetchPassThrough {
  /** For `new ApolloGateway({ experimental_didResolveQueryPlan })` and the gateway's own plan executor. */
  learn(resolved: ResolvedQueryPlan): void;
  /** For the HTTP server's `shortcut`. */
  answer(request: ShortcutRequest, context: RequestContextBase): Promise<ShortcutAnswer | undefined>;
  /** The replay `answer` left for Apollo's run of this request, taken once. */
  takeReplay(headers: http.IncomingHttpHeaders): SubgraphReplay | undefined;
  /** Forgets everything learned (a new supergraph may plan differently). */
  clear(): void;
  /** Documents remembered as passed through / as Apollo's. */
  stats(): { readonly passThrough: number; readonly apollo: number; readonly answered: number };
}

export function createSingleFetchPassThrough(options: SingleFetchPassThroughOptions): SingleFetchPassThrough {
  const learned = new Map<string, Learned>();
  const replays = new WeakMap<http.IncomingHttpHeaders, SubgraphReplay>();
  let answered = 0;

  const remember = (key: string, entry: Learned): void => {
    learned.set(key, entry);
    if (learned.size > MAX_ENTRIES) learned.delete(learned.keys().next().value as string);
  };

  return {
    learn({ queryPlan, requestContext, operationContext }) {
      const { request } = requestContext;
      if (typeof request.query !== 'string' || request.extensions !== undefined) return;
      const key = keyOf(request.query, request.operationName ?? undefined);
      if (learned.has(key)) return;
      // An operation cut by the access rules is another caller's view of this document.
      if (isCutQueryHash(requestContext.queryHash)) return;
      const node = queryPlan.node;
      const operation = operationContext.operation;
      if (
        operation.operation !== 'query' ||
        node?.kind !== 'Fetch' ||
        node.requires !== undefined ||
        (node.inputRewrites?.length ?? 0) > 0 ||
        (node.outputRewrites?.length ?? 0) > 0 ||
        (node.contextRewrites?.length ?? 0) > 0 ||
        node.hasDefers === true
      ) {
        remember(key, APOLLO);
        return;
      }
      const sent = parse(node.operation);
      const sentOperation = getOperationAST(sent, node.operationName);
      const sentShape = sentOperation ? shapeOf(sentOperation.selectionSet, fragmentsOf(sent)) : INCOMPARABLE;
      const same =
        options.enabled() &&
        !sentShape.includes(INCOMPARABLE) &&
        sentShape === shapeOf(operation.selectionSet, operationContext.fragments);
      remember(
        key,
        same
          ? {
              kind: 'pass-through',
              document: requestContext.document,
              operationName: request.operationName ?? undefined,
              operation,
              subgraph: node.serviceName,
              query: node.operation,
              fetchOperationName: node.operationName,
              variableUsages: node.variableUsages ?? [],
            }
          : APOLLO,
      );
    },

    async answer({ method, headers, body }, context) {
      if (method !== 'POST' || !acceptsJson(headers) || !isPlainObject(body)) return undefined;
      const { query, operationName, variables, ...others } = body;
      if (typeof query !== 'string' || Object.keys(others).length > 0) return undefined;
      if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') {
        return undefined;
      }
      if (variables !== undefined && variables !== null && !isPlainObject(variables)) return undefined;
      const entry = learned.get(keyOf(query, operationName ?? undefined));
      if (entry?.kind !== 'pass-through') return undefined;
      const dataSource = options.dataSource(entry.subgraph);
      if (!dataSource) return undefined;
      const started = process.hrtime.bigint();
      const schema = options.apiSchema();
      const given = (variables ?? {}) as Record<string, unknown>;
      // Apollo's checks, in its order; whatever fails is left to Apollo to answer.
      if ((entry.operation.variableDefinitions?.length ?? 0) > 0) {
        if (getVariableValues(schema, entry.operation.variableDefinitions ?? [], given).errors)
          return undefined;
        const [exceeded] = checkOperationLimits(
          entry.document,
          entry.operationName,
          schema,
          given,
          options.operationLimits,
        );
        if (exceeded) return undefined;
      }
      const rules = options.accessRules();
      if (rules.any && rules.decide(entry.document, schema, context.identity).denied.length > 0)
        return undefined;

      // Apollo sends the variables the fetch uses, as the client gave them.
      const sentVariables: Record<string, unknown> = {};
      for (const name of entry.variableUsages) {
        if (given[name] !== undefined) sentVariables[name] = given[name];
      }
      const request = {
        query: entry.query,
        operationName: entry.fetchOperationName,
        variables: sentVariables,
      };
      // In a trace, the subgraph's span is this one's child, as it would be `gateway.fetch`'s.
      const span = startInternalSpan('gateway.pass-through', { 'graphql.subgraph': entry.subgraph });
      const fetch = () =>
        dataSource.process({
          kind: 'incoming operation' as never,
          request,
          incomingRequestContext: { overallCachePolicy: undefined } as never,
          context,
        });
      let response: GatewayGraphQLResponse;
      try {
        response = await (span ? span.run(fetch) : fetch());
      } catch (error) {
        span?.end(error instanceof Error ? error.message : String(error));
        replays.set(headers, { subgraph: entry.subgraph, query: entry.query, outcome: { error } });
        return undefined;
      }
      span?.end();
      const { data, errors, extensions, http: _http, ...rest } = response;
      const cacheControl = (response.http?.headers as { get(name: string): string | null } | undefined)?.get(
        'cache-control',
      );
      if (
        errors !== undefined ||
        extensions !== undefined ||
        Object.keys(rest).length > 0 ||
        !isPlainObject(data) ||
        cacheable(cacheControl)
      ) {
        replays.set(headers, { subgraph: entry.subgraph, query: entry.query, outcome: { response } });
        return undefined;
      }
      answered += 1;
      options.observe(entry.operation.name?.value, Number(process.hrtime.bigint() - started) / 1e9);
      return {
        status: 200,
        // What Apollo's cache-control plugin answers when the subgraph gave no positive max-age.
        headers: { 'cache-control': 'no-store', 'content-type': 'application/json; charset=utf-8' },
        // Apollo Server's serialisation of a result: JSON and a newline.
        body: `${JSON.stringify({ data })}\n`,
      };
    },

    takeReplay(headers) {
      const replay = replays.get(headers);
      replays.delete(headers);
      return replay;
    },

    clear() {
      learned.clear();
    },

    stats() {
      let passThrough = 0;
      for (const entry of learned.values()) if (entry.kind === 'pass-through') passThrough += 1;
      return { passThrough, apollo: learned.size - passThrough, answered };
    },
  };
}

/** Whether a subgraph's `Cache-Control` would make Apollo answer a cacheable policy (a positive max-age). */
function cacheable(header: string | null | undefined): boolean {
  const maxAge = header ? /(?:^|,)\s*max-age=(\d+)/i.exec(header)?.[1] : undefined;
  return maxAge !== undefined && Number(maxAge) > 0;
}

function keyOf(query: string, operationName: string | undefined): string {
  return `${operationName ?? ''}\n${query}`;
}

/**
 * Whether Apollo would answer `application/json`: no `Accept`, `*\/*` or exactly
 * `application/json`. Other preferences (graphql-response+json, q-values) go through Apollo.
 */
function acceptsJson(headers: http.IncomingHttpHeaders): boolean {
  const accept = headers.accept;
  const contentType = headers['content-type'];
  return (
    (accept === undefined || accept === '*/*' || accept === 'application/json') &&
    contentType !== undefined &&
    /^application\/json\s*(;|$)/i.test(contentType)
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fragmentsOf(document: DocumentNode): Record<string, FragmentDefinitionNode> {
  const fragments: Record<string, FragmentDefinitionNode> = Object.create(null) as Record<
    string,
    FragmentDefinitionNode
  >;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  return fragments;
}

/**
 * A selection set as a string that is equal for two documents exactly when a GraphQL server
 * executing them returns the same response keys in the same order for the same data: fields with
 * their alias, arguments and directives, fragments (named ones expanded) with their type
 * condition and directives, in document order.
 */
function shapeOf(
  selectionSet: SelectionSetNode | undefined,
  fragments: Readonly<Record<string, FragmentDefinitionNode>>,
  depth = 0,
): string {
  if (!selectionSet) return '';
  // Fragment cycles are refused by validation; the bound only keeps a bad input from recursing forever.
  if (depth > 100) return INCOMPARABLE;
  const parts: string[] = [];
  for (const selection of selectionSet.selections) {
    switch (selection.kind) {
      case Kind.FIELD:
        parts.push(
          `${print({ ...selection, selectionSet: undefined })}{${shapeOf(selection.selectionSet, fragments, depth + 1)}}`,
        );
        break;
      case Kind.INLINE_FRAGMENT:
        parts.push(
          `...on ${selection.typeCondition?.name.value ?? ''} ${(selection.directives ?? []).map(print).join(' ')}{${shapeOf(selection.selectionSet, fragments, depth + 1)}}`,
        );
        break;
      case Kind.FRAGMENT_SPREAD: {
        const fragment = fragments[selection.name.value];
        if (!fragment) return INCOMPARABLE;
        parts.push(
          `...on ${fragment.typeCondition.name.value} ${(selection.directives ?? []).map(print).join(' ')}{${shapeOf(fragment.selectionSet, fragments, depth + 1)}}`,
        );
        break;
      }
      default: {
        const _exhaustive: never = selection;
        throw new Error(`Unknown selection ${String(_exhaustive)}`);
      }
    }
  }
  return parts.join(',');
}
