import { createEnvReader } from '@mlops/runtime';
import { readSubgraphCommonConfig } from '@mlops/runtime/database';
import type { SubgraphCommonConfig } from '@mlops/runtime/database';
import { SUBGRAPHS } from '@mlops/schema';
import { DEFAULT_EVENTS_CHANNEL } from './events/performance-publisher';

/** The business-metrics subgraph's settings: the ones every subgraph shares, and its own. */
export interface BusinessMetricsConfig extends SubgraphCommonConfig {
  /**
   * `REDIS_URL`; optional. When set, performance updates are fanned out to every replica through
   * Redis pub/sub and `/ready` also checks Redis; without it they stay in-process (one replica).
   */
  readonly redisUrl: string | undefined;
  /**
   * `BUSINESS_METRICS_EVENTS_CHANNEL`; default `mlops:business-metrics:performance`. The prefix of
   * the per-strategy pub/sub channels: every replica sharing one database must use the same one, and
   * environments sharing one Redis different ones (else one environment's subscribers would see
   * updates of another's strategies whenever their ids met, which random UUIDs make unlikely but
   * a copied database makes certain).
   */
  readonly eventsChannel: string;
}

const DEFAULT_PORT = SUBGRAPHS.find((s) => s.name === 'business-metrics')?.defaultPort ?? 4005;

export function readBusinessMetricsConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): BusinessMetricsConfig {
  const read = createEnvReader(env);
  const common = readSubgraphCommonConfig(read, env, { name: 'business-metrics', defaultPort: DEFAULT_PORT });
  const config: BusinessMetricsConfig = {
    ...common,
    eventsChannel: read.string('BUSINESS_METRICS_EVENTS_CHANNEL', DEFAULT_EVENTS_CHANNEL),
  };
  read.done();
  return config;
}
