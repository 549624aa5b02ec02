import { createLogger } from '@mlops/runtime';
import { migrateToLatest } from '@mlops/runtime/database';
import { readModelsConfig } from './config';
import { createModelsOrm } from './store/orm';

/** `npm run migrate`: applies pending migrations and exits, for deployments with MIGRATE_ON_START=false. */
async function main(): Promise<void> {
  const config = readModelsConfig();
  const logger = createLogger({ service: 'models-migrate', level: config.logLevel });
  const orm = await createModelsOrm(config.database, (message) => logger.debug(message));
  try {
    const applied = await migrateToLatest(orm);
    logger.info({ applied }, applied.length > 0 ? 'migrations applied' : 'schema is up to date');
  } finally {
    await orm.close();
  }
}

main().catch((error: unknown) => {
  createLogger({ service: 'models-migrate' }).fatal({ err: error }, 'migration failed');
  process.exit(1);
});
