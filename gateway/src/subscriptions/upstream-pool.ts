import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { FormattedExecutionResult, GraphQLFormattedError } from 'graphql';
import { createClient } from 'graphql-ws';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { codedError } from '@mlops/runtime';
import type { Logger } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';

/** Who an upstream subscription runs as: part of what makes two subscriptions identical. */
export interface ForwardedIdentity {
  /** Equal for callers that may share one upstream subscription; `''` for anonymous callers. */
  readonly key: string;
  /** Sent to the subgraph in `connection_init` as `{ headers }`; called at each (re)connect, so a signature is fresh. */
  headers(): Readonly<Record<string, string>>;
}

export interface UpstreamListener {
  next(result: FormattedExecutionResult): void;
  /** The upstream subscription ended: completed (no error) or failed with a coded error. */
  end(error?: GraphQLError): void;
}

export interface UpstreamRequest {
  readonly serviceName: string;
  readonly operation: string;
  readonly operationName: string | undefined;
  readonly variables: Readonly<Record<string, unknown>>;
  readonly identity: ForwardedIdentity;
}

export interface UpstreamPoolOptions {
  /** The subgraph's graphql-ws URL (`ws://…/graphql`). */
  webSocketUrl(serviceName: string): string;
  readonly logger: Logger;
  /** graphql-ws protocol pings to each subgraph; default 10 s. */
  readonly keepAliveMs?: number;
}

/** One listener's place in an upstream subscription. */
export interface UpstreamMembership {
  /**
   * The upstream subscription's id: its graphql-ws `id` at the subgraph, which the subgraph logs
   * with the `x-request-id` of the socket (see `UpstreamPool`). Shared by every listener of it.
   */
  readonly upstreamId: string;
  /** Leaves the upstream subscription; the last listener leaving ends it. */
  leave(): void;
}

/**
 * Subscriptions to subgraphs over graphql-ws, shared: identical requests (same subgraph, operation,
 * variables and identity) ride one upstream subscription, and every subscription to one subgraph
 * as one identity shares one socket. A broken socket ends its subscriptions with UNAVAILABLE rather
 * than silently resubscribing, because only the client knows the cursor to resume from.
 *
 * Since both are shared, neither carries a client's request id: each socket's upgrade request
 * carries an `x-request-id` of its own (logged here when it opens), and each upstream subscription
 * is sent with a graphql-ws `id` made here (`UpstreamMembership.upstreamId`), so the subgraph's
 * log lines of one upstream subscription name both, and the gateway's log of each client
 * subscription names the upstream id it rides.
 */
export interface UpstreamPool {
  /** Starts (or joins) the upstream subscription. */
  subscribe(request: UpstreamRequest, listener: UpstreamListener): UpstreamMembership;
  /** Upstream subscriptions running now. */
  size(): number;
  /** Ends every upstream subscription (listeners get no further calls) and closes the sockets. */
  close(): Promise<void>;
}

interface SharedSubscription {
  readonly id: string;
  readonly listeners: Set<UpstreamListener>;
  dispose(): void;
}

export function createUpstreamPool(options: UpstreamPoolOptions): UpstreamPool {
  const { logger, keepAliveMs = 10_000 } = options; // 10 s
  const clients = new Map<string, Client>();
  const shared = new Map<string, SharedSubscription>();
  // graphql-ws asks for a subscription's id synchronously inside `subscribe`, with its payload.
  const upstreamIds = new WeakMap<object, string>();

  const clientFor = (serviceName: string, identity: ForwardedIdentity): Client => {
    const key = `${serviceName}\u0000${identity.key}`;
    let client = clients.get(key);
    if (!client) {
      client = createClient({
        url: options.webSocketUrl(serviceName),
        webSocketImpl: socketWithRequestId((requestId) =>
          logger.debug({ subgraph: serviceName, upstreamRequestId: requestId }, 'upstream socket opening'),
        ),
        generateID: (payload) => upstreamIds.get(payload) ?? randomUUID(),
        connectionParams: () => ({ headers: identity.headers() }),
        lazy: true,
        lazyCloseTimeout: 1_000, // 1 s: a resubscribe right after the last leaves reuses the socket
        keepAlive: keepAliveMs,
        retryAttempts: 0,
      });
      clients.set(key, client);
    }
    return client;
  };

  const start = (key: string, request: UpstreamRequest): SharedSubscription => {
    const id = randomUUID();
    const listeners = new Set<UpstreamListener>();
    const finish = (error?: GraphQLError): void => {
      if (shared.get(key) !== entry) return;
      shared.delete(key);
      for (const listener of listeners) listener.end(error);
    };
    const payload = {
      query: request.operation,
      operationName: request.operationName,
      variables: { ...request.variables },
    };
    upstreamIds.set(payload, id);
    const dispose = clientFor(request.serviceName, request.identity).subscribe<Record<string, unknown>>(
      payload,
      {
        next: (result) => {
          for (const listener of listeners) listener.next(result as FormattedExecutionResult);
        },
        error: (error) => finish(upstreamError(request.serviceName, id, error, logger)),
        complete: () => finish(),
      },
    );
    const entry: SharedSubscription = { id, listeners, dispose };
    return entry;
  };

  return {
    subscribe(request, listener) {
      const key = JSON.stringify([
        request.serviceName,
        request.identity.key,
        request.operationName ?? null,
        request.operation,
        request.variables,
      ]);
      const running = shared.get(key);
      const entry = running ?? start(key, request);
      if (!running) shared.set(key, entry);
      entry.listeners.add(listener);
      return {
        upstreamId: entry.id,
        leave() {
          if (!entry.listeners.delete(listener) || entry.listeners.size > 0) return;
          if (shared.get(key) === entry) shared.delete(key);
          entry.dispose();
        },
      };
    },
    size: () => shared.size,
    async close() {
      const entries = [...shared.values()];
      shared.clear();
      for (const entry of entries) entry.dispose();
      await Promise.all([...clients.values()].map((client) => client.dispose()));
      clients.clear();
    },
  };
}

/**
 * The `ws` socket graphql-ws opens, with an `x-request-id` of its own on the upgrade request (the
 * subgraph logs the connection's work with it), reported to `opening` as each socket is made.
 */
function socketWithRequestId(
  opening: (requestId: string) => void,
): new (address: string | URL, protocols?: string | string[]) => WebSocket {
  return class extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      const requestId = randomUUID();
      super(address, protocols, { headers: { 'x-request-id': requestId } });
      opening(requestId);
    }
  };
}

/** The one place an upstream failure becomes the error a client sees. */
function upstreamError(
  serviceName: string,
  upstreamId: string,
  error: unknown,
  logger: Logger,
): GraphQLError {
  if (Array.isArray(error) && error.length > 0) {
    // The subgraph refused the subscription (validation, limits): pass its first coded error on.
    const first = error[0] as GraphQLFormattedError;
    const code = typeof first.extensions?.code === 'string' ? first.extensions.code : ErrorCode.UNAVAILABLE;
    return new GraphQLError(first.message, {
      extensions: { ...first.extensions, code, subgraph: serviceName },
    });
  }
  const closeCode =
    typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : undefined;
  logger.warn(
    { subgraph: serviceName, upstreamId, closeCode, err: error instanceof Error ? error : undefined },
    'upstream subscription failed',
  );
  return codedError(
    ErrorCode.UNAVAILABLE,
    `The subscription to subgraph '${serviceName}' ended` +
      (closeCode === undefined ? '' : ` (connection closed with ${closeCode})`) +
      '; subscribe again from the last cursor received',
    { subgraph: serviceName },
  );
}
