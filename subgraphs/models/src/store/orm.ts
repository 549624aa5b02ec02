import 'reflect-metadata';
import { createOrm } from '@mlops/runtime/database';
import type { DatabaseConfig, SqlOrm } from '@mlops/runtime/database';
import { ENTITIES } from '../entities';
import { MIGRATIONS } from '../migrations';

export type ModelsOrm = SqlOrm;

/** Opens the models database (nothing connects before this is called); migrations in `models_migrations`. */
export function createModelsOrm(
  database: DatabaseConfig,
  /** Where MikroORM's own messages (migrator progress) go; default: dropped. */
  log?: (message: string) => void,
): Promise<ModelsOrm> {
  return createOrm(database, {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'models_migrations',
    log,
  });
}
