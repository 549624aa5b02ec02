import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { MikroORM } from '@mikro-orm/core';
import type { Options } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { BetterSqliteDriver } from '@mikro-orm/better-sqlite';
import type { AbstractSqlDriver } from '@mikro-orm/knex';
import type { DatabaseConfig } from '../config';
import { ENTITIES } from '../entities';
import { MIGRATIONS } from '../migrations';

export type ExperimentsOrm = MikroORM<AbstractSqlDriver>;

/** Opens the database (nothing connects before this is called). Never syncs the schema: see `migrateToLatest`. */
export async function createOrm(
  database: DatabaseConfig,
  /** Where MikroORM's own messages (migrator progress) go; default: dropped. */
  log: (message: string) => void = () => {},
): Promise<ExperimentsOrm> {
  const common: Options = {
    logger: log,
    entities: ENTITIES,
    discovery: { disableDynamicFileAccess: true },
    extensions: [Migrator],
    migrations: {
      migrationsList: MIGRATIONS,
      // One table per subgraph, so subgraphs may share a PostgreSQL database.
      tableName: 'experiments_migrations',
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
      })) as unknown as ExperimentsOrm;
    case 'sqlite': {
      fs.mkdirSync(path.dirname(database.file), { recursive: true });
      const orm = (await MikroORM.init({
        ...common,
        driver: BetterSqliteDriver,
        dbName: database.file,
      })) as unknown as ExperimentsOrm;
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
export async function migrateToLatest(orm: ExperimentsOrm): Promise<string[]> {
  const applied = await orm.getMigrator().up();
  return applied.map((m) => m.name);
}
