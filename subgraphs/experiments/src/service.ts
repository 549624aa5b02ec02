import { createLogger, redactUrl, startGraphQLService } from '@mlops/runtime';
import {
  assertNoPendingMigrations,
  createDatabase,
  migrateToLatest,
  systemClock,
} from '@mlops/runtime/database';
import type { Logger, ReadinessCheck } from '@mlops/runtime';
import type { Clock } from '@mlops/runtime/database';
import type { ExperimentsConfig } from './config';
import type { ExperimentsContext } from './graphql/context';
import { createLoaders } from './graphql/context';
import { buildExperimentsSchema } from './graphql/schema';
import { createExperimentsOrm } from './store/orm';
import type { ExperimentsOrm } from './store/orm';

export interface ExperimentsServiceOptions {
  readonly config: ExperimentsConfig;
  /** Default: JSON logs on stdout at `config.logLevel`. */
  readonly logger?: Logger;
  /** Default: the system clock. */
  readonly clock?: Clock;
}

export interface ExperimentsService {
  readonly url: string;
  readonly port: number;
  readonly orm: ExperimentsOrm;
  close(): Promise<void>;
}

/**
 * Opens the database, applies pending migrations when configured to, and serves the subgraph over
 * HTTP with `/health` and `/ready`. Fails (closing what it opened) if any step fails.
 */
export async function startExperimentsService(
  options: ExperimentsServiceOptions,
): Promise<ExperimentsService> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ service: 'experiments', level: config.logLevel });
  const orm = await createExperimentsOrm(config.database, (message) => logger.debug(message));
  try {
    if (config.migrateOnStart) {
      const applied = await migrateToLatest(orm);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    }
    const db = createDatabase(orm, config.database.kind, options.clock ?? systemClock);
    const readinessChecks: ReadinessCheck[] = [
      { name: 'database', check: async () => void (await db.knex.raw('SELECT 1')) },
      {
        // With MIGRATE_ON_START=false a pod must not take traffic before `npm run migrate` has run.
        name: 'migrations',
        check: () => assertNoPendingMigrations(orm),
      },
    ];
    const service = await startGraphQLService<ExperimentsContext>({
      schema: await buildExperimentsSchema(),
      logger,
      production: config.production,
      readinessChecks,
      redisUrl: config.redisUrl,
      context: async (base) => ({ ...base, db, loaders: createLoaders(db) }),
      port: config.port,
      host: config.host,
      internalIdentityKeys: config.internalIdentityKeys,
      name: 'experiments',
    });
    const { url, port } = service;
    logger.info(
      {
        url,
        database:
          config.database.kind === 'postgresql' ? redactUrl(config.database.url) : config.database.file,
      },
      'experiments subgraph ready',
    );
    return {
      url,
      port,
      orm,
      async close() {
        await service.close();
        await orm.close();
      },
    };
  } catch (error) {
    await orm.close();
    throw error;
  }
}
