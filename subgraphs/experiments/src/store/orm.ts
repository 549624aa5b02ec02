import 'reflect-metadata';
import { createOrm } from '@mlops/runtime/database';
import type { DatabaseConfig, SqlOrm } from '@mlops/runtime/database';
import { ENTITIES } from '../entities';
import { MIGRATIONS } from '../migrations';

export type ExperimentsOrm = SqlOrm;

/** Opens the experiments database (nothing connects before this is called); migrations in `experiments_migrations`. */
export function createExperimentsOrm(
  database: DatabaseConfig,
  /** Where MikroORM's own messages (migrator progress) go; default: dropped. */
  log?: (message: string) => void,
): Promise<ExperimentsOrm> {
  return createOrm(database, {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'experiments_migrations',
    log,
  });
}
