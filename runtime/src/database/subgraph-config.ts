import path from 'node:path';
import type { EnvReader } from '../config-reader';
import { readInternalIdentityKeys } from '../internal-identity';
import type { InternalIdentityKeys } from '../internal-identity';
import type { DatabaseConfig } from './sql';

/** What every subgraph reads the same way; each service's config extends it with its own settings. */
export interface SubgraphCommonConfig {
  /** `PORT`; default the subgraph's port in `SUBGRAPHS` (4001 experiments … 4004 alerts). */
  readonly port: number;
  /** `HOST`; default 127.0.0.1 (use 0.0.0.0 in a container). */
  readonly host: string;
  /**
   * `<NAME>_DATABASE_URL` (e.g. `EXPERIMENTS_DATABASE_URL`), else `DATABASE_URL` (`postgres://…`)
   * selects PostgreSQL; without either, an SQLite file `<name>.sqlite3` under `DATA_DIR` (default
   * `./data`).
   */
  readonly database: DatabaseConfig;
  /** `DATA_DIR`, resolved; default `./data`. Where the SQLite file (and other local state) lives. */
  readonly dataDir: string;
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
 * Reads the settings every subgraph shares through `read` (whose `done()` the caller still calls
 * after reading its own). `name` is the subgraph's (`experiments`), naming its database variable
 * and SQLite file.
 */
export function readSubgraphCommonConfig(
  read: EnvReader,
  env: Readonly<Record<string, string | undefined>>,
  { name, defaultPort }: { readonly name: string; readonly defaultPort: number },
): SubgraphCommonConfig {
  const ownDatabase = `${name.toUpperCase().replace(/-/g, '_')}_DATABASE_URL`;
  const databaseUrl = read.url(env[ownDatabase] ? ownDatabase : 'DATABASE_URL', ['postgres', 'postgresql']);
  const dataDir = path.resolve(read.string('DATA_DIR', 'data'));
  return {
    port: read.port('PORT', defaultPort),
    host: read.string('HOST', '127.0.0.1'),
    database: databaseUrl
      ? { kind: 'postgresql', url: databaseUrl }
      : { kind: 'sqlite', file: path.join(dataDir, `${name}.sqlite3`) },
    dataDir,
    redisUrl: read.url('REDIS_URL', ['redis', 'rediss']),
    migrateOnStart: read.oneOf('MIGRATE_ON_START', ['true', 'false'], 'true') === 'true',
    production: read.oneOf('NODE_ENV', ['development', 'production', 'test'], 'development') === 'production',
    internalIdentityKeys: readInternalIdentityKeys(read, (env.NODE_ENV ?? '').trim() === 'production'),
    logLevel: read.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  };
}
