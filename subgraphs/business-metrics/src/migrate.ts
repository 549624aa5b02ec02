import { createLogger } from '@mlops/runtime';
import { migrateToLatest, readSubgraphMigrationConfig } from '@mlops/runtime/database';
import { createBusinessMetricsOrm } from './store/orm';

/**
 * `npm run migrate`: applies pending migrations and exits, for deployments with MIGRATE_ON_START=false.
 * Reads only the database settings and LOG_LEVEL, not the service's configuration: a migration Job
 * needs no INTERNAL_IDENTITY_KEYS, even under NODE_ENV=production.
 */
async function main(): Promise<void> {
  const config = readSubgraphMigrationConfig(process.env, { name: 'business-metrics' });
  const logger = createLogger({ service: 'business-metrics-migrate', level: config.logLevel });
  const orm = await createBusinessMetricsOrm(config.database, (message) => logger.debug(message));
  try {
    const applied = await migrateToLatest(orm);
    logger.info({ applied }, applied.length > 0 ? 'migrations applied' : 'schema is up to date');
  } finally {
    await orm.close();
  }
}

main().catch((error: unknown) => {
  createLogger({ service: 'business-metrics-migrate' }).fatal({ err: error }, 'migration failed');
  process.exit(1);
});
