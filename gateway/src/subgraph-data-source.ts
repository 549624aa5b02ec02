import type { GraphQLDataSource } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import type { FetcherResponse } from '@apollo/utils.fetcher';
import { GraphQLError } from 'graphql';
import { codedError, injectTraceContext } from '@mlops/runtime';
import type { Logger, RequestContextBase } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import type { Identity } from '@mlops/schema';
import { createCircuitBreaker } from './resilience/circuit-breaker';
import type { CircuitBreakerOptions } from './resilience/circuit-breaker';
import { createDeduplicatingFetch } from './resilience/deduplicating-fetch';
import { createResilientFetch } from './resilience/resilient-fetch';
import type { SubgraphResilience } from './resilience/resilient-fetch';

/** The gateway's per-request GraphQL context: what the runtime's HTTP server gives every request. */
export type GatewayContext = RequestContextBase & {
  /** A subgraph answer this request already received (the pass-through declined it), used instead of fetching again. */
  readonly replay?: SubgraphReplay;
};

/** One subgraph exchange to be replayed to Apollo's run of the same request, once. */
export interface SubgraphReplay {
  readonly subgraph: string;
  /** The subgraph operation it answered; only a fetch of the same operation takes it. */
  readonly query: string;
  readonly outcome: { readonly response: GatewayGraphQLResponse } | { readonly error: unknown };
  used?: boolean;
}

export interface SubgraphDataSourceOptions {
  /** The subgraph's name in the supergraph; named in errors and logs. */
  readonly name: string;
  /** Where the subgraph answers GraphQL. */
  readonly url: string;
  readonly logger: Logger;
  /** The signed headers that tell the subgraph who the caller is (null: anonymous). */
  identityHeaders(identity: Identity | null): Record<string, string>;
  /** Timeout, retries and circuit breaking of this subgraph's fetches. */
  readonly resilience: SubgraphResilience & CircuitBreakerOptions;
  /** Records each fetch attempt's outcome and duration (metrics). */
  observeFetch(outcome: 'ok' | 'error', seconds: number): void;
}

type ProcessOptions = Parameters<GraphQLDataSource<GatewayContext>['process']>[0];

/**
 * How the gateway talks to one subgraph: what `RemoteGraphQLDataSource` does, without its per-request
 * node-fetch objects. Forwards the caller's `x-request-id` so one id follows a request through every
 * service's logs and the caller's verified identity, signed. An HTTP error status becomes a GraphQL
 * error as Apollo's data source makes it (401 UNAUTHENTICATED, 403 FORBIDDEN, the answer in
 * `extensions.response`); this is the one place where a subgraph that cannot be reached (refused
 * connection, reset, timeout, open circuit, non-JSON answer) becomes an `UNAVAILABLE` error.
 */
export function createSubgraphDataSource({
  name,
  url,
  logger,
  identityHeaders,
  resilience,
  observeFetch,
}: SubgraphDataSourceOptions): GraphQLDataSource<GatewayContext> {
  const resilient = createResilientFetch(name, resilience, createCircuitBreaker(resilience), observeFetch);
  const send = resilience.deduplicate ? createDeduplicatingFetch(resilient) : resilient;

  const unavailable = (error: unknown, requestId: string | undefined): GraphQLError => {
    logger.warn({ err: error, subgraph: name, url, requestId }, 'subgraph unavailable');
    return codedError(ErrorCode.UNAVAILABLE, `Subgraph '${name}' is unavailable`, { subgraph: name });
  };

  return {
    async process(options: ProcessOptions): Promise<GatewayGraphQLResponse> {
      const { http, query, ...rest } = options.request;
      if (!query) throw new Error('Missing query');
      const replay = 'incomingRequestContext' in options ? options.context.replay : undefined;
      if (replay && !replay.used && replay.subgraph === name && replay.query === query) {
        replay.used = true;
        if ('error' in replay.outcome) throw replay.outcome.error;
        const { response } = replay.outcome;
        if (response.http && 'incomingRequestContext' in options) {
          restrictCachePolicy(
            options.incomingRequestContext.overallCachePolicy,
            response.http as FetcherResponse,
          );
        }
        return response;
      }
      const headers: Record<string, string> = {};
      if (http?.headers) for (const [header, value] of http.headers) headers[header.toLowerCase()] = value;
      headers['content-type'] = 'application/json';
      // Health checks and schema loading run outside any incoming request: no id, anonymous.
      const incoming = 'incomingRequestContext' in options ? options : undefined;
      const requestId = incoming?.context.requestId;
      if (requestId !== undefined) headers['x-request-id'] = requestId;
      Object.assign(headers, identityHeaders(incoming?.context.identity ?? null));
      // The active span is @apollo/gateway's `gateway.fetch`: the subgraph's span becomes its child.
      injectTraceContext((key, value) => (headers[key] = value));

      let response: FetcherResponse;
      let body: unknown;
      try {
        response = await send(url, { method: 'POST', headers, body: JSON.stringify({ query, ...rest }) });
        if (!response.ok) throw await errorFromResponse(response);
        body = await parseBody(response);
      } catch (error) {
        // The subgraph answered with an HTTP error status: already a GraphQL error, and its code (or
        // the lack of one) decides what the error formatter shows.
        if (error instanceof GraphQLError) throw error;
        throw unavailable(error, requestId);
      }
      if (typeof body !== 'object' || body === null) {
        throw unavailable(new Error(`Expected a JSON object, got: ${String(body).slice(0, 200)}`), requestId);
      }
      restrictCachePolicy(incoming?.incomingRequestContext.overallCachePolicy, response);
      return { ...(body as GatewayGraphQLResponse), http: response } as GatewayGraphQLResponse;
    },
  };
}

async function parseBody(response: FetcherResponse): Promise<unknown> {
  const contentType = response.headers.get('content-type');
  const json =
    contentType !== null &&
    (contentType.startsWith('application/json') ||
      contentType.startsWith('application/graphql-response+json'));
  return json ? response.json() : response.text();
}

/** `RemoteGraphQLDataSource.errorFromResponse`: the same message, codes and `extensions.response`. */
async function errorFromResponse(response: FetcherResponse): Promise<GraphQLError> {
  const extensions: Record<string, unknown> = {
    response: {
      url: response.url,
      status: response.status,
      statusText: response.statusText,
      body: await parseBody(response).catch(() => undefined),
    },
  };
  if (response.status === 401) extensions.code = 'UNAUTHENTICATED';
  else if (response.status === 403) extensions.code = 'FORBIDDEN';
  return new GraphQLError(`${response.status}: ${response.statusText}`, { extensions });
}

type CachePolicy = { restrict?: (hint: { maxAge?: number; scope?: 'PUBLIC' | 'PRIVATE' }) => void };

/** The answer's `Cache-Control` narrows the response's cache policy, as in `RemoteGraphQLDataSource`. */
function restrictCachePolicy(policy: unknown, response: FetcherResponse): void {
  const restrict = (policy as CachePolicy | undefined)?.restrict;
  if (typeof restrict !== 'function') return;
  const header = response.headers.get('cache-control') ?? '';
  const maxAge = /(?:^|,)\s*max-age=(\d+)\s*(?:,|$)/i.exec(header)?.[1];
  const hint: { maxAge: number; scope?: 'PUBLIC' | 'PRIVATE' } = { maxAge: maxAge ? Number(maxAge) : 0 };
  if (/(?:^|,)\s*private\s*(?:,|$)/i.test(header)) hint.scope = 'PRIVATE';
  if (/(?:^|,)\s*public\s*(?:,|$)/i.test(header)) hint.scope = 'PUBLIC';
  restrict.call(policy, hint);
}
