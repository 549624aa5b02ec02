import { createEnvReader } from '@mlops/runtime';
import { readSubgraphCommonConfig } from '@mlops/runtime/database';
import type { SubgraphCommonConfig } from '@mlops/runtime/database';
import { SUBGRAPHS } from '@mlops/schema';
import { DEFAULT_EVENTS_CHANNEL } from './events/event-publisher';

/** The alerts subgraph's settings: the ones every subgraph shares, and its own. */
export interface AlertsConfig extends SubgraphCommonConfig {
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
}

const DEFAULT_PORT = SUBGRAPHS.find((s) => s.name === 'alerts')?.defaultPort ?? 4004;

export function readAlertsConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): AlertsConfig {
  const read = createEnvReader(env);
  const common = readSubgraphCommonConfig(read, env, { name: 'alerts', defaultPort: DEFAULT_PORT });
  const config: AlertsConfig = {
    ...common,
    evaluationIntervalMs: read.int('ALERTS_EVALUATION_INTERVAL_MS', 15_000, { min: 0 }), // 15 s
    sampleStalenessMs: read.int('ALERTS_SAMPLE_STALENESS_MS', 300_000, { min: 1 }), // 5 min
    evaluateOnRecord: read.oneOf('ALERTS_EVALUATE_ON_RECORD', ['true', 'false'], 'true') === 'true',
    catchupIntervalMs: read.int('ALERTS_CATCHUP_INTERVAL_MS', 5_000, { min: 0 }), // 5 s
    eventsChannel: read.string('ALERTS_EVENTS_CHANNEL', DEFAULT_EVENTS_CHANNEL),
  };
  read.done();
  return config;
}
