import path from 'node:path';
import { createEnvReader, readInternalIdentityKeys } from '@mlops/runtime';
import type { InternalIdentityKeys } from '@mlops/runtime';
import type { DatabaseConfig } from '@mlops/runtime/database';
import { SUBGRAPHS } from '@mlops/schema';

export type { DatabaseConfig };

export interface ExperimentsConfig {
  /** `PORT`; default 4001. */
  readonly port: number;
  /** `HOST`; default 127.0.0.1 (use 0.0.0.0 in a container). */
  readonly host: string;
  /**
   * `EXPERIMENTS_DATABASE_URL`, else `DATABASE_URL` (`postgres://…`) selects PostgreSQL; without
   * either, an SQLite file `experiments.sqlite3` under `DATA_DIR` (default `./data`).
   */
  readonly database: DatabaseConfig;
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

const DEFAULT_PORT = SUBGRAPHS.find((s) => s.name === 'experiments')?.defaultPort ?? 4001;

export function readExperimentsConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ExperimentsConfig {
  const read = createEnvReader(env);
  const databaseVariable = env.EXPERIMENTS_DATABASE_URL ? 'EXPERIMENTS_DATABASE_URL' : 'DATABASE_URL';
  const databaseUrl = read.url(databaseVariable, ['postgres', 'postgresql']);
  const dataDir = path.resolve(read.string('DATA_DIR', 'data'));
  const config: ExperimentsConfig = {
    port: read.port('PORT', DEFAULT_PORT),
    host: read.string('HOST', '127.0.0.1'),
    database: databaseUrl
      ? { kind: 'postgresql', url: databaseUrl }
      : { kind: 'sqlite', file: path.join(dataDir, 'experiments.sqlite3') },
    redisUrl: read.url('REDIS_URL', ['redis', 'rediss']),
    migrateOnStart: read.oneOf('MIGRATE_ON_START', ['true', 'false'], 'true') === 'true',
    production: read.oneOf('NODE_ENV', ['development', 'production', 'test'], 'development') === 'production',
    internalIdentityKeys: readInternalIdentityKeys(read, (env.NODE_ENV ?? '').trim() === 'production'),
    logLevel: read.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  };
  read.done();
  return config;
}
