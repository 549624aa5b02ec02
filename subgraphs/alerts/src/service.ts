import { createLogger, createPubSub, redactUrl, startGraphQLService } from '@mlops/runtime';
import type { Logger, PubSub, ReadinessCheck } from '@mlops/runtime';
import {
  assertNoPendingMigrations,
  createDatabase,
  migrateToLatest,
  systemClock,
} from '@mlops/runtime/database';
import type { Clock } from '@mlops/runtime/database';
import type { AlertsConfig } from './config';
import { createAlertEvaluator, scheduleEvaluation } from './evaluator';
import type { EvaluationSummary } from './evaluator';
import { createEventPublisher } from './events/event-publisher';
import type { AlertsContext } from './graphql/context';
import { buildAlertsSchema } from './graphql/schema';
import { createAlertOperations } from './operations';
import type { SilenceRecord } from './store/records';
import { activeSilences } from './store/silences';
import { createAlertsOrm } from './store/orm';
import type { AlertsOrm } from './store/orm';

export interface AlertsServiceOptions {
  readonly config: AlertsConfig;
  /** Default: JSON logs on stdout at `config.logLevel`. */
  readonly logger?: Logger;
  /** Default: the system clock. Evaluation, sample staleness, silences and event times read it. */
  readonly clock?: Clock;
  /**
   * Default: Redis pub/sub at `config.redisUrl`, else in-process. A given one is not closed with the
   * service (tests share one between replicas, or drop messages on purpose).
   */
  readonly pubsub?: PubSub;
}

export interface AlertsService {
  readonly url: string;
  readonly port: number;
  readonly orm: AlertsOrm;
  /** Evaluates every rule now, as the schedule does; resolves with what it committed. */
  evaluateNow(): Promise<EvaluationSummary>;
  /** Stops the schedule (waiting for a running evaluation), closes subscriptions, HTTP, pub/sub and the database. */
  close(): Promise<void>;
}

/**
 * Opens the database, applies pending migrations when configured to, starts the evaluation schedule
 * and serves the subgraph over HTTP (`/graphql`, `/health`, `/ready`) and graphql-ws (the
 * `alertEvents` subscription) on one port. Fails (closing what it opened) if any step fails.
 */
export async function startAlertsService(options: AlertsServiceOptions): Promise<AlertsService> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ service: 'alerts', level: config.logLevel });
  const orm = await createAlertsOrm(config.database, (message) => logger.debug(message));
  const ownPubSub = options.pubsub === undefined;
  const pubsub =
    options.pubsub ?? createPubSub({ redisUrl: config.redisUrl, logger, clientName: 'mlops-alerts' });
  let stopSchedule = async () => {};
  try {
    if (config.migrateOnStart) {
      const applied = await migrateToLatest(orm);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    }
    const db = createDatabase(orm, config.database.kind, options.clock ?? systemClock);
    const publisher = createEventPublisher({ pubsub, channel: config.eventsChannel, logger });
    const evaluator = createAlertEvaluator({
      db,
      publisher,
      sampleStalenessMs: config.sampleStalenessMs,
      logger,
    });
    const operations = createAlertOperations({
      db,
      evaluator,
      publisher,
      evaluateOnRecord: config.evaluateOnRecord,
      logger,
    });
    const readinessChecks: ReadinessCheck[] = [
      { name: 'database', check: async () => void (await db.knex.raw('SELECT 1')) },
      { name: 'migrations', check: () => assertNoPendingMigrations(orm) },
    ];
    const service = await startGraphQLService<AlertsContext>({
      schema: await buildAlertsSchema(),
      logger,
      production: config.production,
      readinessChecks,
      redisUrl: config.redisUrl,
      context: async (base) => {
        let silences: { at: number; records: Promise<readonly SilenceRecord[]> } | undefined;
        return {
          ...base,
          db,
          operations,
          pubsub,
          channel: config.eventsChannel,
          catchupIntervalMs: config.catchupIntervalMs,
          logger,
          activeSilences() {
            // A subscription's context lives for hours: re-read at most once a second.
            const now = db.clock.now();
            if (!silences || now - silences.at > 1_000)
              silences = { at: now, records: activeSilences(db.knex, now) };
            return silences.records;
          },
        };
      },
      port: config.port,
      host: config.host,
      internalIdentityKeys: config.internalIdentityKeys,
      name: 'alerts',
    });
    const schedule = scheduleEvaluation({ evaluator, intervalMs: config.evaluationIntervalMs, logger });
    stopSchedule = () => schedule.stop();
    const { url, port } = service;
    logger.info(
      {
        url,
        database:
          config.database.kind === 'postgresql' ? redactUrl(config.database.url) : config.database.file,
        pubsub: config.redisUrl ? redactUrl(config.redisUrl) : 'in-process',
        evaluationIntervalMs: config.evaluationIntervalMs,
      },
      'alerts subgraph ready',
    );
    return {
      url,
      port,
      orm,
      evaluateNow: () => operations.evaluateNow(),
      async close() {
        await stopSchedule();
        await service.close();
        if (ownPubSub) await pubsub.close();
        await orm.close();
      },
    };
  } catch (error) {
    await stopSchedule();
    if (ownPubSub) await pubsub.close();
    await orm.close();
    throw error;
  }
}
