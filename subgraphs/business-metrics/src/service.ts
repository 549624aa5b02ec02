import { createLogger, createPubSub, redactUrl, startGraphQLService } from '@mlops/runtime';
import type { Logger, PubSub, ReadinessCheck } from '@mlops/runtime';
import {
  assertNoPendingMigrations,
  createDatabase,
  migrateToLatest,
  systemClock,
} from '@mlops/runtime/database';
import type { Clock } from '@mlops/runtime/database';
import type { BusinessMetricsConfig } from './config';
import { createPerformancePublisher } from './events/performance-publisher';
import { createLoaders } from './graphql/context';
import type { BusinessMetricsContext } from './graphql/context';
import { buildBusinessMetricsSchema } from './graphql/schema';
import { createStrategyOperations } from './operations';
import { createBusinessMetricsOrm } from './store/orm';
import type { BusinessMetricsOrm } from './store/orm';

export interface BusinessMetricsServiceOptions {
  readonly config: BusinessMetricsConfig;
  /** Default: JSON logs on stdout at `config.logLevel`. */
  readonly logger?: Logger;
  /** Default: the system clock. Strategies' creation times read it. */
  readonly clock?: Clock;
  /**
   * Default: Redis pub/sub at `config.redisUrl`, else in-process. A given one is not closed with the
   * service (tests share one between replicas).
   */
  readonly pubsub?: PubSub;
}

export interface BusinessMetricsService {
  readonly url: string;
  readonly port: number;
  readonly orm: BusinessMetricsOrm;
  /** Closes subscriptions, HTTP, pub/sub (when its own) and the database. */
  close(): Promise<void>;
}

/**
 * Opens the database, applies pending migrations when configured to, and serves the subgraph over
 * HTTP (`/graphql`, `/health`, `/ready`) and graphql-ws (the `strategyPerformance` subscription) on
 * one port. Fails (closing what it opened) if any step fails.
 */
export async function startBusinessMetricsService(
  options: BusinessMetricsServiceOptions,
): Promise<BusinessMetricsService> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ service: 'business-metrics', level: config.logLevel });
  const orm = await createBusinessMetricsOrm(config.database, (message) => logger.debug(message));
  const ownPubSub = options.pubsub === undefined;
  const pubsub =
    options.pubsub ??
    createPubSub({ redisUrl: config.redisUrl, logger, clientName: 'mlops-business-metrics' });
  try {
    if (config.migrateOnStart) {
      const applied = await migrateToLatest(orm);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    }
    const db = createDatabase(orm, config.database.kind, options.clock ?? systemClock);
    const publisher = createPerformancePublisher({ pubsub, channelPrefix: config.eventsChannel, logger });
    const operations = createStrategyOperations({ db, publisher });
    const readinessChecks: ReadinessCheck[] = [
      { name: 'database', check: async () => void (await db.knex.raw('SELECT 1')) },
      // With MIGRATE_ON_START=false a pod must not take traffic before `npm run migrate` has run.
      { name: 'migrations', check: () => assertNoPendingMigrations(orm) },
    ];
    const service = await startGraphQLService<BusinessMetricsContext>({
      schema: await buildBusinessMetricsSchema(),
      logger,
      production: config.production,
      readinessChecks,
      redisUrl: config.redisUrl,
      context: async (base) => ({
        ...base,
        db,
        operations,
        pubsub,
        channelPrefix: config.eventsChannel,
        logger,
        loaders: createLoaders(db),
      }),
      port: config.port,
      host: config.host,
      internalIdentityKeys: config.internalIdentityKeys,
      name: 'business-metrics',
    });
    const { url, port } = service;
    logger.info(
      {
        url,
        database:
          config.database.kind === 'postgresql' ? redactUrl(config.database.url) : config.database.file,
        pubsub: config.redisUrl ? redactUrl(config.redisUrl) : 'in-process',
      },
      'business-metrics subgraph ready',
    );
    return {
      url,
      port,
      orm,
      async close() {
        await service.close();
        if (ownPubSub) await pubsub.close();
        await orm.close();
      },
    };
  } catch (error) {
    if (ownPubSub) await pubsub.close();
    await orm.close();
    throw error;
  }
}
