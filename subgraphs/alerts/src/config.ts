import path from 'node:path';
import { createEnvReader, readInternalIdentityKeys } from '@mlops/runtime';
import type { InternalIdentityKeys } from '@mlops/runtime';
import type { DatabaseConfig } from '@mlops/runtime/database';
import { SUBGRAPHS } from '@mlops/schema';
import { DEFAULT_EVENTS_CHANNEL } from './events/event-publisher';

export interface AlertsConfig {
  /** `PORT`; default 4004. */
  readonly port: number;
  /** `HOST`; default 127.0.0.1 (use 0.0.0.0 in a container). */
  readonly host: string;
  /**
   * `ALERTS_DATABASE_URL`, else `DATABASE_URL` (`postgres://…`) selects PostgreSQL; without either,
   * an SQLite file `alerts.sqlite3` under `DATA_DIR` (default `./data`).
   */
  readonly database: DatabaseConfig;
  /**
   * `REDIS_URL`; optional. When set, alert events are fanned out to every replica through Redis
   * pub/sub and `/ready` also checks Redis; without it the event stream is in-process (one replica).
   */
  readonly redisUrl: string | undefined;
  /**
   * `ALERTS_EVALUATION_INTERVAL_MS`; default 15000. How often every rule is evaluated against the
   * latest samples; 0 turns the schedule off (evaluation then runs only after `recordMetrics`).
   */
  readonly evaluationIntervalMs: number;
  /**
   * `ALERTS_SAMPLE_STALENESS_MS`; default 300000 (5 min). A sample older than this no longer counts:
   * a rule without a fresh sample evaluates false (its alert resolves).
   */
  readonly sampleStalenessMs: number;
  /**
   * `ALERTS_EVALUATE_ON_RECORD`: `true` (default) evaluates the rules watching the recorded
   * (deployment, metric) pairs right after `recordMetrics` commits; `false` leaves it to the schedule.
   */
  readonly evaluateOnRecord: boolean;
  /**
   * `ALERTS_CATCHUP_INTERVAL_MS`; default 5000. How often each `alertEvents` subscription re-reads the
   * event log as a safety net for messages pub/sub lost; 0 turns the timer off (gaps are still
   * recovered when the next live event or a reconnect reveals them).
   */
  readonly catchupIntervalMs: number;
  /**
   * `ALERTS_EVENTS_CHANNEL`; default `mlops:alerts:events`. The pub/sub channel of alert events:
   * every replica sharing one database must use the same one, and environments sharing one Redis
   * different ones (a subscriber takes foreign cursors for lost messages and re-reads its log).
   */
  readonly eventsChannel: string;
  /** `MIGRATE_ON_START`: `true` (default) applies pending migrations at start-up; `false` leaves it to `npm run migrate`. */
  readonly migrateOnStart: boolean;
  /** `NODE_ENV=production` masks internal errors and turns introspection off. */
  readonly production: boolean;
  /**
   * `INTERNAL_IDENTITY_KEYS` (`id:base64secret,…`, the gateway's keys): requests without the gateway's
   * signed identity are answered 401. Required in production; unset in development trusts every caller.
   */
  readonly internalIdentityKeys: InternalIdentityKeys | undefined;
  /** `LOG_LEVEL`; default info. */
  readonly logLevel: string;
}

const DEFAULT_PORT = SUBGRAPHS.find((s) => s.name === 'alerts')?.defaultPort ?? 4004;

export function readAlertsConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): AlertsConfig {
  const read = createEnvReader(env);
  const databaseVariable = env.ALERTS_DATABASE_URL ? 'ALERTS_DATABASE_URL' : 'DATABASE_URL';
  const databaseUrl = read.url(databaseVariable, ['postgres', 'postgresql']);
  const dataDir = path.resolve(read.string('DATA_DIR', 'data'));
  const config: AlertsConfig = {
    port: read.port('PORT', DEFAULT_PORT),
    host: read.string('HOST', '127.0.0.1'),
    database: databaseUrl
      ? { kind: 'postgresql', url: databaseUrl }
      : { kind: 'sqlite', file: path.join(dataDir, 'alerts.sqlite3') },
    redisUrl: read.url('REDIS_URL', ['redis', 'rediss']),
    evaluationIntervalMs: read.int('ALERTS_EVALUATION_INTERVAL_MS', 15_000, { min: 0 }), // 15 s
    sampleStalenessMs: read.int('ALERTS_SAMPLE_STALENESS_MS', 300_000, { min: 1 }), // 5 min
    evaluateOnRecord: read.oneOf('ALERTS_EVALUATE_ON_RECORD', ['true', 'false'], 'true') === 'true',
    catchupIntervalMs: read.int('ALERTS_CATCHUP_INTERVAL_MS', 5_000, { min: 0 }), // 5 s
    eventsChannel: read.string('ALERTS_EVENTS_CHANNEL', DEFAULT_EVENTS_CHANNEL),
    migrateOnStart: read.oneOf('MIGRATE_ON_START', ['true', 'false'], 'true') === 'true',
    production: read.oneOf('NODE_ENV', ['development', 'production', 'test'], 'development') === 'production',
    internalIdentityKeys: readInternalIdentityKeys(read, (env.NODE_ENV ?? '').trim() === 'production'),
    logLevel: read.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  };
  read.done();
  return config;
}
