import { randomBytes } from 'node:crypto';
import { createClient } from 'graphql-ws';
import type { Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createLogger, createPubSub, parseInternalIdentityKeys, signIdentityHeaders } from '@mlops/runtime';
import type { InternalIdentityKeys, Logger, PubSub } from '@mlops/runtime';
import type { Clock, DatabaseConfig } from '@mlops/runtime/database';
import { createTestDatabase as createSharedTestDatabase } from '../../../test/support/databases';
import type { BackendKind, TestDatabase } from '../../../test/support/databases';
import { readAlertsConfig, startAlertsService } from '../src';
import type { AlertsConfig, AlertsService } from '../src';

/**
 * Helpers of the alerts subgraph's own suites. They follow `test/support`, whose database and
 * service helpers they share: the jest global setup records whether PostgreSQL and Redis answer, a suite that needs one
 * skips without it unless CI=true (then the global setup has already failed the run), and every
 * database is a fresh one of its own.
 */
export { TEST_POSTGRES_URL, TEST_REDIS_URL } from '../../../test/support/services';
export { serviceAvailable as available } from '../../../test/support/services';
export { backends } from '../../../test/support/databases';
export type { BackendKind, TestDatabase } from '../../../test/support/databases';

/** A fresh, empty database of its own for one suite (see test/support/databases). */
export const createTestDatabase = (kind: BackendKind): Promise<TestDatabase> =>
  createSharedTestDatabase(kind, 'alerts');

/** A wall clock the test moves forward by hand. */
export interface TestClock extends Clock {
  advance(ms: number): void;
}

export function createTestClock(start = Date.UTC(2026, 10, 22, 12)): TestClock {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

export const silentLogger = (): Logger => createLogger({ service: 'alerts-test', level: 'silent' });

/** A unique pub/sub channel per suite, so suites sharing one Redis never see each other's events. */
export const uniqueChannel = () => `mlops:alerts:test:${randomBytes(6).toString('hex')}`;

export interface ReplicaOptions {
  readonly database: DatabaseConfig;
  readonly clock?: Clock;
  readonly pubsub?: PubSub;
  readonly config?: Partial<AlertsConfig>;
}

/** One alerts service on port 0 with the schedule off (tests call `evaluateNow`). */
export function startReplica({
  database,
  clock,
  pubsub,
  config = {},
}: ReplicaOptions): Promise<AlertsService> {
  return startAlertsService({
    config: {
      ...readAlertsConfig({}),
      port: 0,
      database,
      evaluationIntervalMs: 0,
      catchupIntervalMs: 0,
      ...config,
    },
    clock,
    pubsub,
    logger: silentLogger(),
  });
}

/** The gateway's keys, as a replica given `internalIdentityKeys` checks them. */
export const TEST_IDENTITY_KEYS: InternalIdentityKeys = parseInternalIdentityKeys(
  `test:${Buffer.alloc(32, 7).toString('base64')}`,
);

/** What the gateway sends for a verified caller: the identity of `subject` (a viewer), signed now. */
export const callerHeaders = (subject: string): Record<string, string> =>
  signIdentityHeaders(
    {
      subject,
      issuer: 'test',
      roles: ['viewer'],
      scopes: [],
      expiresAt: Math.floor(Date.now() / 1000) + 3600,
    },
    TEST_IDENTITY_KEYS,
  );

/**
 * A second replica of a database another replica has migrated, given the gateway's keys: it knows
 * who calls from `callerHeaders` (mutations that record their caller need that) and answers 401
 * to a request without them.
 */
export function startVerifiedReplica({ config = {}, ...options }: ReplicaOptions): Promise<AlertsService> {
  return startReplica({
    ...options,
    config: { migrateOnStart: false, internalIdentityKeys: TEST_IDENTITY_KEYS, ...config },
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
  headers: Record<string, string> = {},
): Promise<GraphQLResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLResponse;
}

/** The data of a response that must not fail. */
export async function data(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<NonNullable<GraphQLResponse['data']>> {
  const response = await gql(url, query, variables, headers);
  if (response.errors) throw new Error(`GraphQL errors: ${JSON.stringify(response.errors)}`);
  return response.data!;
}

/** The code and field of the first error. */
export function errorOf(response: GraphQLResponse): { code: unknown; field: unknown } {
  const error = response.errors?.[0];
  return { code: error?.extensions?.code, field: error?.extensions?.field };
}

/** The real graphql-ws client over `ws`. */
export function connectWs(httpUrl: string): WsClient {
  return createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    // Tests close sockets on purpose; the default handler would print every close to the console.
    onNonLazyError: () => undefined,
  });
}

/** One subscription's payloads as they arrive, with a wait on their count. */
export interface Recorded<T> {
  readonly items: T[];
  readonly errors: unknown[];
  waitFor(count: number, timeoutMs?: number): Promise<T[]>;
  dispose(): void;
}

export function record<T>(
  client: WsClient,
  query: string,
  variables: Record<string, unknown> = {},
): Recorded<T> {
  const items: T[] = [];
  const errors: unknown[] = [];
  const waiters: { count: number; resolve(): void; reject(error: Error): void }[] = [];
  const settle = () => {
    for (const waiter of [...waiters]) {
      if (items.length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      } else if (errors.length > 0) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.reject(new Error(`subscription failed: ${JSON.stringify(errors)}`));
      }
    }
  };
  const dispose = client.subscribe(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) errors.push(result.errors);
        else items.push(Object.values(result.data ?? {})[0] as T);
        settle();
      },
      error: (error) => {
        errors.push(error);
        settle();
      },
      complete: () => undefined,
    },
  );
  return {
    items,
    errors,
    dispose,
    waitFor(count, timeoutMs = 10_000) {
      if (items.length >= count) return Promise.resolve(items.slice());
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `timed out waiting for ${count} events; got ${items.length}: ${JSON.stringify(items)}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        settle();
      }).then(() => items.slice());
    },
  };
}

/**
 * An in-process pub/sub that counts listeners, can drop chosen publishes (what a Redis outage
 * does) and can report a reconnect on demand.
 */
export interface ControlledPubSub extends PubSub {
  /** Drops the next `count` publishes (they are still committed: the database has them). */
  dropNext(count: number): void;
  listenerCount(): number;
  reconnect(): void;
  readonly published: string[];
}

export function createControlledPubSub(): ControlledPubSub {
  const inner = createPubSub({ redisUrl: undefined, logger: silentLogger() });
  const reconnectListeners = new Set<() => void>();
  let drop = 0;
  let listeners = 0;
  const published: string[] = [];
  return {
    published,
    async publish(channel, message) {
      published.push(message);
      if (drop > 0) {
        drop -= 1;
        return;
      }
      await inner.publish(channel, message);
    },
    async subscribe(channel, listener) {
      const unsubscribe = await inner.subscribe(channel, listener);
      listeners += 1;
      let done = false;
      return async () => {
        if (!done) listeners -= 1;
        done = true;
        await unsubscribe();
      };
    },
    onReconnect(listener) {
      reconnectListeners.add(listener);
      return () => void reconnectListeners.delete(listener);
    },
    reconnect: () => reconnectListeners.forEach((l) => l()),
    dropNext: (count) => void (drop += count),
    listenerCount: () => listeners,
    close: () => inner.close(),
  };
}

/** Polls `check` until it holds (for effects with no event to wait on, e.g. a server-side cleanup). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const RULE_FIELDS =
  'id name metric comparison threshold forSeconds severity labels { name value } deployment { name }';
export const ALERT_FIELDS =
  'id fingerprint state value activeAt firedAt resolvedAt acknowledgedBy acknowledgedAt silenced labels { name value } deployment { name } rule { id }';
export const EVENT_FIELDS =
  'cursor type state value silenced ruleId severity deployment { name } alert { id state }';
