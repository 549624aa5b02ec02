/**
 * The SQL persistence kit of the subgraphs, a separate entry (`@mlops/runtime/database`) so that
 * services without a database (gateway, inference sidecar) never load MikroORM or its drivers.
 */
export { createOrm, migrateToLatest, assertNoPendingMigrations } from './orm';
export type { SqlOrm, CreateOrmOptions } from './orm';
export { createDatabase, query, systemClock } from './database';
export type { Clock, Database } from './database';
export type { DatabaseConfig, SqlDialect, SqlFragment } from './sql';
export { groupBy, toNumber } from './rows';
export { runMigrateCommand } from './migrate-command';
export {
  readSubgraphCommonConfig,
  readSubgraphDatabaseConfig,
  readSubgraphMigrationConfig,
} from './subgraph-config';
export type {
  SubgraphCommonConfig,
  SubgraphConfigOptions,
  SubgraphDatabaseConfig,
  SubgraphMigrationConfig,
} from './subgraph-config';
