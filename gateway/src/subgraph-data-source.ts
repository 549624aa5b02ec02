import { RemoteGraphQLDataSource } from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import { codedError } from '@mlops/runtime';
import type { Logger, RequestContextBase } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import type { Identity } from '@mlops/schema';
import type { Fetcher } from '@apollo/utils.fetcher';
import { createCircuitBreaker } from './resilience/circuit-breaker';
import type { CircuitBreakerOptions } from './resilience/circuit-breaker';
import { createDeduplicatingFetch } from './resilience/deduplicating-fetch';
import { createResilientFetch } from './resilience/resilient-fetch';
import type { SubgraphResilience } from './resilience/resilient-fetch';

/** The gateway's per-request GraphQL context: what the runtime's HTTP server gives every request. */
export type GatewayContext = RequestContextBase;

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

/**
 * How the gateway talks to one subgraph. Forwards the caller's `x-request-id` so one id follows a
 * request through every service's logs and the caller's verified identity, signed, and is the one place where a subgraph that cannot be
 * reached (refused connection, reset, non-JSON answer) becomes an `UNAVAILABLE` error.
 */
export function createSubgraphDataSource({
  name,
  url,
  logger,
  identityHeaders,
  resilience,
  observeFetch,
}: SubgraphDataSourceOptions): RemoteGraphQLDataSource<GatewayContext> {
  const resilient = createResilientFetch(name, resilience, createCircuitBreaker(resilience), observeFetch);
  const fetcher = resilience.deduplicate ? createDeduplicatingFetch(resilient) : resilient;
  return new RemoteGraphQLDataSource<GatewayContext>({
    url,
    fetcher: fetcher as unknown as Fetcher,
    willSendRequest(options) {
      const headers = options.request.http?.headers;
      // Health checks and schema loading run outside any incoming request: no id, anonymous.
      const incoming = 'incomingRequestContext' in options ? options.context : undefined;
      if (incoming) headers?.set('x-request-id', incoming.requestId);
      for (const [name, value] of Object.entries(identityHeaders(incoming?.identity ?? null))) {
        headers?.set(name, value);
      }
    },
    didEncounterError(error, _fetchRequest, _fetchResponse, context) {
      // The subgraph answered with an HTTP error status: already a GraphQL error, and its code (or the
      // lack of one) decides what the error formatter shows.
      if (error instanceof GraphQLError) throw error;
      logger.warn({ err: error, subgraph: name, url, requestId: context?.requestId }, 'subgraph unavailable');
      throw codedError(ErrorCode.UNAVAILABLE, `Subgraph '${name}' is unavailable`, { subgraph: name });
    },
  });
}
