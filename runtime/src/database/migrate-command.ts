import { createLogger } from '../logger';
import type { DatabaseConfig } from './sql';
import type { SqlOrm } from './orm';
import { migrateToLatest } from './orm';
import { readSubgraphMigrationConfig } from './subgraph-config';

/**
 * The body of every subgraph's `dist/migrate.js` (`npm run migrate`, the migration Job): applies the
 * subgraph's pending migrations and exits, 1 on failure, for deployments with MIGRATE_ON_START=false.
 * Reads only the database settings and LOG_LEVEL, not the service's configuration: a migration Job
 * needs no INTERNAL_IDENTITY_KEYS, even under NODE_ENV=production.
 */
export function runMigrateCommand(
  subgraph: string,
  openOrm: (database: DatabaseConfig, log: (message: string) => void) => Promise<SqlOrm>,
): void {
  const service = `${subgraph}-migrate`;
  const main = async () => {
    const config = readSubgraphMigrationConfig(process.env, { name: subgraph });
    const logger = createLogger({ service, level: config.logLevel });
    const orm = await openOrm(config.database, (message) => logger.debug(message));
    try {
      const applied = await migrateToLatest(orm);
      logger.info({ applied }, applied.length > 0 ? 'migrations applied' : 'schema is up to date');
    } finally {
      await orm.close();
    }
  };
  main().catch((error: unknown) => {
    createLogger({ service }).fatal({ err: error }, 'migration failed');
    process.exit(1);
  });
}
