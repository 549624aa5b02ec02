import 'reflect-metadata';
import { createOrm } from '@mlops/runtime/database';
import type { DatabaseConfig, SqlOrm } from '@mlops/runtime/database';
import { ENTITIES } from '../entities';
import { MIGRATIONS } from '../migrations';

export type BusinessMetricsOrm = SqlOrm;

/**
 * Opens the business-metrics database (nothing connects before this is called); migrations in
 * `business_metrics_migrations`.
 */
export function createBusinessMetricsOrm(
  database: DatabaseConfig,
  /** Where MikroORM's own messages (migrator progress) go; default: dropped. */
  log?: (message: string) => void,
): Promise<BusinessMetricsOrm> {
  return createOrm(database, {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'business_metrics_migrations',
    log,
  });
}
