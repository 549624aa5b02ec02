import fs from 'node:fs';
import path from 'node:path';
import { MikroORM } from '@mikro-orm/core';
import type { MigrationObject, Options } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { BetterSqliteDriver } from '@mikro-orm/better-sqlite';
import type { AbstractSqlDriver } from '@mikro-orm/knex';
import type { DatabaseConfig } from './sql';

export type SqlOrm = MikroORM<AbstractSqlDriver>;

export interface CreateOrmOptions {
  /** The service's MikroORM entity classes (decorated; import `reflect-metadata` before them). */
  readonly entities: NonNullable<Options['entities']>;
  /** Every migration of the service, in order. */
  readonly migrations: MigrationObject[];
  /**
   * The service's own migrations table (e.g. `experiments_migrations`), so that services may share
   * one PostgreSQL database without seeing each other's migrations.
   */
  readonly migrationsTableName: string;
  /** Where MikroORM's own messages (migrator progress) go; default: dropped. */
  readonly log?: (message: string) => void;
}

/**
 * Opens the database (nothing connects before this is called): PostgreSQL through a pool, or an
 * SQLite file (its directory created) in WAL mode with foreign keys on. Never syncs the schema:
 * see `migrateToLatest`. Rejects when the database cannot be reached.
 */
export async function createOrm(database: DatabaseConfig, options: CreateOrmOptions): Promise<SqlOrm> {
  const { entities, migrations, migrationsTableName, log = () => {} } = options;
  const common: Options = {
    logger: log,
    entities,
    discovery: { disableDynamicFileAccess: true },
    extensions: [Migrator],
    migrations: {
      migrationsList: migrations,
      tableName: migrationsTableName,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
    },
    allowGlobalContext: false,
  };
  switch (database.kind) {
    case 'postgresql':
      // The driver classes are typed as generic drivers; both are SQL drivers with a knex connection.
      return (await MikroORM.init({
        ...common,
        driver: PostgreSqlDriver,
        clientUrl: database.url,
        pool: { min: 0, max: 10 },
        // Every query here is a short API query with a LIMIT; launching parallel workers costs more
        // than it saves on a few cores, and made the same search swing from 20 to 45 ms.
        driverOptions: { connection: { options: '-c max_parallel_workers_per_gather=0' } },
      })) as unknown as SqlOrm;
    case 'sqlite': {
      fs.mkdirSync(path.dirname(database.file), { recursive: true });
      const orm = (await MikroORM.init({
        ...common,
        driver: BetterSqliteDriver,
        dbName: database.file,
      })) as unknown as SqlOrm;
      // WAL lets readers run beside the single writer; the busy timeout waits out a held write lock.
      await orm.em.getConnection().execute('PRAGMA journal_mode = WAL');
      await orm.em.getConnection().execute('PRAGMA foreign_keys = ON');
      return orm;
    }
    default: {
      const _exhaustive: never = database;
      throw new Error(`Unknown database kind ${String(_exhaustive)}`);
    }
  }
}

/** Applies every pending migration in one transaction; returns the names applied. */
export async function migrateToLatest(orm: SqlOrm): Promise<string[]> {
  const applied = await orm.getMigrator().up();
  return applied.map((m) => m.name);
}

/** `/ready` fails while migrations are pending: with MIGRATE_ON_START=false a pod must wait for `npm run migrate`. */
export async function assertNoPendingMigrations(orm: SqlOrm): Promise<void> {
  const pending = await orm.getMigrator().getPendingMigrations();
  if (pending.length > 0) throw new Error(`pending migrations: ${pending.map((m) => m.name).join(', ')}`);
}
