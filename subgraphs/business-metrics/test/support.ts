import { randomBytes } from 'node:crypto';
import { createClient } from 'graphql-ws';
import type { Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createLogger } from '@mlops/runtime';
import type { Logger, PubSub } from '@mlops/runtime';
import type { Clock, DatabaseConfig } from '@mlops/runtime/database';
import { createTestDatabase as createSharedTestDatabase } from '../../../test/support/databases';
import type { BackendKind, TestDatabase } from '../../../test/support/databases';
import { readBusinessMetricsConfig, startBusinessMetricsService } from '../src';
import type { BusinessMetricsConfig, BusinessMetricsService } from '../src';

/**
 * Helpers of the business-metrics subgraph's own suites. They follow `test/support`, whose database and
 * service helpers they share: the jest global setup records whether PostgreSQL and Redis answer, a
 * suite that needs one skips without it unless CI=true (then the global setup has already failed
 * the run), and every database is a fresh one of its own.
 */
export { TEST_POSTGRES_URL, TEST_REDIS_URL } from '../../../test/support/services';
export { serviceAvailable as available } from '../../../test/support/services';
export { backends } from '../../../test/support/databases';
export type { BackendKind, TestDatabase } from '../../../test/support/databases';

/** A fresh, empty database of its own for one suite (see test/support/databases). */
export const createTestDatabase = (kind: BackendKind): Promise<TestDatabase> =>
  createSharedTestDatabase(kind, 'business_metrics');

/** A fixed wall clock (strategies' creation times), moved by hand. */
export interface TestClock extends Clock {
  advance(ms: number): void;
}

export function createTestClock(start = Date.UTC(2026, 11, 1, 12)): TestClock {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

export const silentLogger = (): Logger => createLogger({ service: 'business-metrics-test', level: 'silent' });

/** A unique pub/sub channel prefix per suite, so suites sharing one Redis never see each other's updates. */
export const uniqueChannel = () => `mlops:business-metrics:test:${randomBytes(6).toString('hex')}`;

export interface ReplicaOptions {
  readonly database: DatabaseConfig;
  readonly clock?: Clock;
  readonly pubsub?: PubSub;
  readonly config?: Partial<BusinessMetricsConfig>;
}

/** One business-metrics service on port 0, trusting every caller (no identity keys). */
export function startReplica({
  database,
  clock,
  pubsub,
  config = {},
}: ReplicaOptions): Promise<BusinessMetricsService> {
  return startBusinessMetricsService({
    config: { ...readBusinessMetricsConfig({}), port: 0, database, ...config },
    clock,
    pubsub,
    logger: silentLogger(),
  });
}

export interface GraphQLResponse {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary response shapes
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

export async function gql(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<GraphQLResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLResponse;
}

/** The data of a response that must not fail. */
export async function data(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<NonNullable<GraphQLResponse['data']>> {
  const response = await gql(url, query, variables);
  if (response.errors) throw new Error(`GraphQL errors: ${JSON.stringify(response.errors)}`);
  return response.data!;
}

/** The code, field and message of the first error. */
export function errorOf(response: GraphQLResponse): { code: unknown; field: unknown; message: unknown } {
  const error = response.errors?.[0];
  return { code: error?.extensions?.code, field: error?.extensions?.field, message: error?.message };
}

/** The real graphql-ws client over `ws`. */
export function connectWs(httpUrl: string): WsClient {
  return createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
  });
}

/** One subscription's results as they arrive, with a wait on their count and on its end. */
export interface Recorded {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary response shapes
  readonly results: { data?: Record<string, any> | null; errors?: unknown }[];
  readonly completed: Promise<unknown>;
  waitFor(count: number, timeoutMs?: number): Promise<Recorded['results']>;
  dispose(): void;
}

export function record(client: WsClient, query: string, variables: Record<string, unknown> = {}): Recorded {
  const results: Recorded['results'] = [];
  const waiters: { count: number; resolve(): void }[] = [];
  let settle: (end: unknown) => void = () => {};
  const completed = new Promise<unknown>((resolve) => (settle = resolve));
  const dispose = client.subscribe(
    { query, variables },
    {
      next: (result) => {
        results.push(result as Recorded['results'][number]);
        for (const waiter of [...waiters]) {
          if (results.length >= waiter.count) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        }
      },
      error: (error) => settle({ error }),
      complete: () => settle({ complete: true }),
    },
  );
  return {
    results,
    completed,
    dispose,
    waitFor(count, timeoutMs = 10_000) {
      if (results.length >= count) return Promise.resolve(results.slice());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${count} results; got ${JSON.stringify(results)}`)),
          timeoutMs,
        );
        void completed.then((end) => {
          if (results.length >= count) return;
          clearTimeout(timer);
          reject(
            new Error(`the subscription ended (${JSON.stringify(end)}) after ${results.length} results`),
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

export { createCountingPubSub } from '../../../test/support/counting-pubsub';
export type { CountingPubSub } from '../../../test/support/counting-pubsub';

/** Polls `check` until it holds (for server-side effects with no event to wait on). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
