import { createClient } from 'graphql-ws';
import type { Client, ClientOptions } from 'graphql-ws';
import type { FormattedExecutionResult, GraphQLFormattedError } from 'graphql';
import WebSocket from 'ws';

/** The real graphql-ws client over `ws`, pointed at an `http://…/graphql` URL's WebSocket twin. */
export function connectGraphQLWs(httpUrl: string, options: Partial<ClientOptions> = {}): Client {
  return createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    // Tests observe connection failures through each subscription's end, not the console.
    onNonLazyError: () => {},
    ...options,
  });
}

/** How a subscription stream ended, as the client saw it. */
export type StreamEnd =
  | { readonly kind: 'complete' }
  | { readonly kind: 'errors'; readonly errors: readonly GraphQLFormattedError[] }
  | { readonly kind: 'closed'; readonly code: number; readonly reason: string }
  | { readonly kind: 'failed'; readonly error: Error };

/** One subscription's results as they arrive, with waits on counts and on its end. */
export interface RecordedStream {
  readonly results: FormattedExecutionResult[];
  /** Resolves once `count` results have arrived (rejects if the stream ends first or after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<FormattedExecutionResult[]>;
  /** Resolves with how the stream ended. */
  readonly ended: Promise<StreamEnd>;
  dispose(): void;
}

export function recordSubscription(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
): RecordedStream {
  const results: FormattedExecutionResult[] = [];
  const waiters: { count: number; resolve(): void }[] = [];
  let settle: (end: StreamEnd) => void = () => {};
  const ended = new Promise<StreamEnd>((resolve) => (settle = resolve));
  const finish = (end: StreamEnd): void => settle(end);
  const dispose = client.subscribe(
    { query, variables },
    {
      next(result) {
        results.push(result as FormattedExecutionResult);
        for (const waiter of [...waiters]) {
          if (results.length >= waiter.count) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        }
      },
      error(error: unknown) {
        if (Array.isArray(error)) finish({ kind: 'errors', errors: error as GraphQLFormattedError[] });
        else if (error && typeof (error as { code?: unknown }).code === 'number') {
          const event = error as { code: number; reason?: string };
          finish({ kind: 'closed', code: event.code, reason: event.reason ?? '' });
        } else finish({ kind: 'failed', error: error instanceof Error ? error : new Error(String(error)) });
      },
      complete: () => finish({ kind: 'complete' }),
    },
  );
  return {
    results,
    ended,
    dispose,
    waitFor(count, timeoutMs = 10_000) {
      if (results.length >= count) return Promise.resolve(results.slice());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`Timed out waiting for ${count} results; got ${results.length}`)),
          timeoutMs,
        );
        void ended.then((end) => {
          if (results.length >= count) return;
          clearTimeout(timer);
          reject(
            new Error(
              `The stream ended (${JSON.stringify(end)}) after ${results.length} of ${count} results`,
            ),
          );
        });
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(results.slice());
          },
        });
      });
    },
  };
}
