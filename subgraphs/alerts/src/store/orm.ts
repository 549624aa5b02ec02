import 'reflect-metadata';
import { createOrm } from '@mlops/runtime/database';
import type { DatabaseConfig, SqlOrm } from '@mlops/runtime/database';
import { ENTITIES } from '../entities';
import { MIGRATIONS } from '../migrations';

export type AlertsOrm = SqlOrm;

/** Opens the alerts database (nothing connects before this is called); migrations in `alerts_migrations`. */
export function createAlertsOrm(
  database: DatabaseConfig,
  /** Where MikroORM's own messages (migrator progress) go; default: dropped. */
  log?: (message: string) => void,
): Promise<AlertsOrm> {
  return createOrm(database, {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'alerts_migrations',
    log,
  });
}
