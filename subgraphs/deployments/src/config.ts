import path from 'node:path';
import { createEnvReader, readInternalIdentityKeys } from '@mlops/runtime';
import type { InternalIdentityKeys } from '@mlops/runtime';
import type { DatabaseConfig } from '@mlops/runtime/database';
import { SUBGRAPHS } from '@mlops/schema';

export interface DeploymentsConfig {
  /** `PORT`; default 4003. */
  readonly port: number;
  /** `HOST`; default 127.0.0.1 (use 0.0.0.0 in a container). */
  readonly host: string;
  /**
   * `DEPLOYMENTS_DATABASE_URL`, else `DATABASE_URL` (`postgres://…`) selects PostgreSQL; without
   * either, an SQLite file `deployments.sqlite3` under `DATA_DIR` (default `./data`).
   */
  readonly database: DatabaseConfig;
  /**
   * `ENDPOINT_HEARTBEAT_TIMEOUT_MS`; default 15000. An endpoint whose last heartbeat is older reports
   * DOWN and takes no part in rollouts.
   */
  readonly heartbeatTimeoutMs: number;
  /**
   * `ENDPOINT_PROBE_INTERVAL_MS`; default 5000. How often every endpoint's gRPC `ServerReady` is
   * called; a failed or not-ready answer marks it DOWN until the next probe. 0 turns probing off.
   */
  readonly probeIntervalMs: number;
  /**
   * `ROLLOUT_TIMEOUT_MS`; default 30000. How long a rollout (loads, readiness polling, traffic) may
   * take on all endpoints before it is FAILED and the previous revision keeps serving.
   */
  readonly rolloutTimeoutMs: number;
  /**
   * `MODELS_SUBGRAPH_URL`; default `http://127.0.0.1:4002/graphql`. The model registry every rollout's
   * versions are checked against; unreachable answers UNAVAILABLE.
   */
  readonly modelsSubgraphUrl: string;
  /** `REDIS_URL`; optional. When set, `/ready` also checks Redis. */
  readonly redisUrl: string | undefined;
  /** `MIGRATE_ON_START`: `true` (default) applies pending migrations at start-up; `false` leaves it to `npm run migrate`. */
  readonly migrateOnStart: boolean;
  /** `NODE_ENV=production` masks internal errors and turns introspection off. */
  readonly production: boolean;
  /**
   * `INTERNAL_IDENTITY_KEYS` (`id:base64secret,…`, the gateway's keys): requests without the gateway's
   * signed identity are answered 401. Required in production; unset in development trusts every caller.
   */
  readonly internalIdentityKeys: InternalIdentityKeys | undefined;
  /** `LOG_LEVEL`; default info. */
  readonly logLevel: string;
}

const DEFAULT_PORT = SUBGRAPHS.find((s) => s.name === 'deployments')?.defaultPort ?? 4003;

export function readDeploymentsConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): DeploymentsConfig {
  const read = createEnvReader(env);
  const databaseVariable = env.DEPLOYMENTS_DATABASE_URL ? 'DEPLOYMENTS_DATABASE_URL' : 'DATABASE_URL';
  const databaseUrl = read.url(databaseVariable, ['postgres', 'postgresql']);
  const dataDir = path.resolve(read.string('DATA_DIR', 'data'));
  const config: DeploymentsConfig = {
    port: read.port('PORT', DEFAULT_PORT),
    host: read.string('HOST', '127.0.0.1'),
    database: databaseUrl
      ? { kind: 'postgresql', url: databaseUrl }
      : { kind: 'sqlite', file: path.join(dataDir, 'deployments.sqlite3') },
    heartbeatTimeoutMs: read.int('ENDPOINT_HEARTBEAT_TIMEOUT_MS', 15_000, { min: 1 }), // 15 s
    probeIntervalMs: read.int('ENDPOINT_PROBE_INTERVAL_MS', 5_000, { min: 0 }), // 5 s
    rolloutTimeoutMs: read.int('ROLLOUT_TIMEOUT_MS', 30_000, { min: 1 }), // 30 s
    modelsSubgraphUrl: read.url('MODELS_SUBGRAPH_URL', ['http', 'https']) ?? 'http://127.0.0.1:4002/graphql',
    redisUrl: read.url('REDIS_URL', ['redis', 'rediss']),
    migrateOnStart: read.oneOf('MIGRATE_ON_START', ['true', 'false'], 'true') === 'true',
    production: read.oneOf('NODE_ENV', ['development', 'production', 'test'], 'development') === 'production',
    internalIdentityKeys: readInternalIdentityKeys(read, (env.NODE_ENV ?? '').trim() === 'production'),
    logLevel: read.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  };
  read.done();
  return config;
}
