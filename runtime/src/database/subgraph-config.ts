import path from 'node:path';
import { createEnvReader } from '../config-reader';
import type { EnvReader } from '../config-reader';
import { readInternalIdentityKeys } from '../internal-identity';
import type { InternalIdentityKeys } from '../internal-identity';
import type { DatabaseConfig } from './sql';

type Env = Readonly<Record<string, string | undefined>>;

/** Where a subgraph's data lives: all its migration needs besides a log level. */
export interface SubgraphDatabaseConfig {
  /**
   * `<NAME>_DATABASE_URL` (e.g. `EXPERIMENTS_DATABASE_URL`), else `DATABASE_URL` (`postgres://…`)
   * selects PostgreSQL; without either, an SQLite file `<name>.sqlite3` under `DATA_DIR` (default
   * `./data`).
   */
  readonly database: DatabaseConfig;
  /** `DATA_DIR`, resolved; default `./data`. Where the SQLite file (and other local state) lives. */
  readonly dataDir: string;
}

/** What every subgraph reads the same way; each service's config extends it with its own settings. */
export interface SubgraphCommonConfig extends SubgraphDatabaseConfig {
  /** `PORT`; default the subgraph's port in `SUBGRAPHS` (4001 experiments … 4004 alerts). */
  readonly port: number;
  /** `HOST`; default 127.0.0.1 (use 0.0.0.0 in a container). */
  readonly host: string;
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

/**
 * What a subgraph's `migrate.js` reads: its database and `LOG_LEVEL`, and nothing a serving process
 * needs (no port, no identity keys), so that a migration Job holds no secret but the database's.
 */
export interface SubgraphMigrationConfig extends SubgraphDatabaseConfig {
  /** `LOG_LEVEL`; default info. */
  readonly logLevel: string;
}

/** Which subgraph a reader reads for: its name (`experiments`) names its database variable and SQLite file. */
export interface SubgraphConfigOptions {
  readonly name: string;
}

/**
 * Reads where a subgraph's data lives through `read` (whose `done()` the caller still calls).
 * `env` is the same environment, to see whether the subgraph's own database variable is set.
 */
export function readSubgraphDatabaseConfig(
  read: EnvReader,
  env: Env,
  { name }: SubgraphConfigOptions,
): SubgraphDatabaseConfig {
  const ownDatabase = `${name.toUpperCase().replace(/-/g, '_')}_DATABASE_URL`;
  const databaseUrl = read.url(env[ownDatabase] ? ownDatabase : 'DATABASE_URL', ['postgres', 'postgresql']);
  const dataDir = path.resolve(read.string('DATA_DIR', 'data'));
  return {
    database: databaseUrl
      ? { kind: 'postgresql', url: databaseUrl }
      : { kind: 'sqlite', file: path.join(dataDir, `${name}.sqlite3`) },
    dataDir,
  };
}

/**
 * Reads a subgraph migration's settings from `env` (default `process.env`); throws a `ConfigError`
 * naming every bad variable. Unlike the service's own reader it never requires
 * `INTERNAL_IDENTITY_KEYS`, even under `NODE_ENV=production`.
 */
export function readSubgraphMigrationConfig(
  env: Env = process.env,
  options: SubgraphConfigOptions,
): SubgraphMigrationConfig {
  const read = createEnvReader(env);
  const config: SubgraphMigrationConfig = {
    ...readSubgraphDatabaseConfig(read, env, options),
    logLevel: readLogLevel(read),
  };
  read.done();
  return config;
}

/**
 * Reads the settings every subgraph shares through `read` (whose `done()` the caller still calls
 * after reading its own). `name` is the subgraph's (`experiments`), naming its database variable
 * and SQLite file.
 */
export function readSubgraphCommonConfig(
  read: EnvReader,
  env: Env,
  { name, defaultPort }: SubgraphConfigOptions & { readonly defaultPort: number },
): SubgraphCommonConfig {
  const { database, dataDir } = readSubgraphDatabaseConfig(read, env, { name });
  return {
    port: read.port('PORT', defaultPort),
    host: read.string('HOST', '127.0.0.1'),
    database,
    dataDir,
    redisUrl: read.url('REDIS_URL', ['redis', 'rediss']),
    migrateOnStart: read.oneOf('MIGRATE_ON_START', ['true', 'false'], 'true') === 'true',
    production: read.oneOf('NODE_ENV', ['development', 'production', 'test'], 'development') === 'production',
    internalIdentityKeys: readInternalIdentityKeys(read, (env.NODE_ENV ?? '').trim() === 'production'),
    logLevel: readLogLevel(read),
  };
}

function readLogLevel(read: EnvReader): string {
  return read.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info');
}
