import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The id of the request being served, for work that has no request object in hand: a gRPC client
 * called from deep in a rollout forwards it as `x-request-id` metadata. Off by default because an
 * AsyncLocalStorage has a cost on every promise; a service whose outgoing calls need the id turns it
 * on once with `enableRequestScope()` before serving.
 */
let scope: AsyncLocalStorage<string> | undefined;

/** From now on, every HTTP request this process serves runs in a scope carrying its request id. */
export function enableRequestScope(): void {
  scope ??= new AsyncLocalStorage<string>();
}

/**
 * Runs `fn` as the request `requestId`: `currentRequestId()` answers it in `fn` and in everything it
 * starts, background work included. Just calls `fn` while the scope is off.
 */
export function runInRequestScope<T>(requestId: string, fn: () => T): T {
  return scope ? scope.run(requestId, fn) : fn();
}

/**
 * The id of the request whose work is running (its `x-request-id`, or the one the server made up);
 * undefined outside a request, e.g. in a timer's work, or while the scope is off.
 */
export function currentRequestId(): string | undefined {
  return scope?.getStore();
}
