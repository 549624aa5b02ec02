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

/**
 * Subscriptions to subgraphs over graphql-ws, shared: identical requests (same subgraph, operation,
 * variables and identity) ride one upstream subscription, and every subscription to one subgraph
 * as one identity shares one socket. A broken socket ends its subscriptions with UNAVAILABLE rather
 * than silently resubscribing, because only the client knows the cursor to resume from.
 */
export interface UpstreamPool {
  /** Starts (or joins) the upstream subscription; the returned function leaves it. */
  subscribe(request: UpstreamRequest, listener: UpstreamListener): () => void;
  /** Upstream subscriptions running now. */
  size(): number;
  /** Ends every upstream subscription (listeners get no further calls) and closes the sockets. */
  close(): Promise<void>;
}

interface SharedSubscription {
  readonly listeners: Set<UpstreamListener>;
  dispose(): void;
}

export function createUpstreamPool(options: UpstreamPoolOptions): UpstreamPool {
  const { logger, keepAliveMs = 10_000 } = options; // 10 s
  const clients = new Map<string, Client>();
  const shared = new Map<string, SharedSubscription>();

  const clientFor = (serviceName: string, identity: ForwardedIdentity): Client => {
    const key = `${serviceName}\u0000${identity.key}`;
    let client = clients.get(key);
    if (!client) {
      client = createClient({
        url: options.webSocketUrl(serviceName),
        webSocketImpl: WebSocket,
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
    const listeners = new Set<UpstreamListener>();
    const finish = (error?: GraphQLError): void => {
      if (shared.get(key) !== entry) return;
      shared.delete(key);
      for (const listener of listeners) listener.end(error);
    };
    const dispose = clientFor(request.serviceName, request.identity).subscribe<Record<string, unknown>>(
      { query: request.operation, operationName: request.operationName, variables: { ...request.variables } },
      {
        next: (result) => {
          for (const listener of listeners) listener.next(result as FormattedExecutionResult);
        },
        error: (error) => finish(upstreamError(request.serviceName, error, logger)),
        complete: () => finish(),
      },
    );
    const entry: SharedSubscription = { listeners, dispose };
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
      let entry = shared.get(key);
      if (!entry) {
        entry = start(key, request);
        shared.set(key, entry);
      }
      entry.listeners.add(listener);
      const joined = entry;
      return () => {
        if (!joined.listeners.delete(listener) || joined.listeners.size > 0) return;
        if (shared.get(key) === joined) shared.delete(key);
        joined.dispose();
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

/** The one place an upstream failure becomes the error a client sees. */
function upstreamError(serviceName: string, error: unknown, logger: Logger): GraphQLError {
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
    { subgraph: serviceName, closeCode, err: error instanceof Error ? error : undefined },
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
