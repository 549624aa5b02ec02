import 'reflect-metadata';
import { createOrm } from '@mlops/runtime/database';
import type { DatabaseConfig, SqlOrm } from '@mlops/runtime/database';
import { ENTITIES } from '../entities';
import { MIGRATIONS } from '../migrations';

export type DeploymentsOrm = SqlOrm;

/** Opens the deployments database (nothing connects before this is called); migrations in `deployments_migrations`. */
export function createDeploymentsOrm(
  database: DatabaseConfig,
  /** Where MikroORM's own messages (migrator progress) go; default: dropped. */
  log?: (message: string) => void,
): Promise<DeploymentsOrm> {
  return createOrm(database, {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'deployments_migrations',
    log,
  });
}
