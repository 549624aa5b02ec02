import type { Logger, PubSub } from '@mlops/runtime';
import type { PerformancePoint } from '../domain/performance';

/** Default prefix of the per-strategy pub/sub channels; set `BUSINESS_METRICS_EVENTS_CHANNEL` per environment sharing a Redis. */
export const DEFAULT_EVENTS_CHANNEL = 'mlops:business-metrics:performance';

/** What one strategy's channel carries: points a `recordPerformance` stored, or the strategy's end. */
export type PerformanceMessage =
  | { readonly kind: 'recorded'; readonly strategyId: string; readonly points: readonly PerformancePoint[] }
  | { readonly kind: 'deleted'; readonly strategyId: string };

/**
 * One channel per strategy (`<prefix>:<strategy id>`), so Redis delivers a replica only the
 * messages of strategies someone there watches.
 */
export const strategyChannel = (prefix: string, strategyId: string) => `${prefix}:${strategyId}`;

/** Fans committed changes out to every replica's `strategyPerformance` subscriptions. */
export interface PerformancePublisher {
  /**
   * Publishes after the commit. Never rejects: a message the broker does not take is logged and
   * lost for live subscribers (delivery is at most once), while the points stay stored and every
   * later update's summary, read from the database, counts them.
   */
  publish(message: PerformanceMessage): Promise<void>;
}

export function createPerformancePublisher(options: {
  /** Redis pub/sub across replicas, or in-process for one. */
  readonly pubsub: PubSub;
  /** `BUSINESS_METRICS_EVENTS_CHANNEL`. */
  readonly channelPrefix: string;
  /** Where unpublished messages are reported (warn). */
  readonly logger: Logger;
}): PerformancePublisher {
  const { pubsub, channelPrefix, logger } = options;
  return {
    async publish(message) {
      try {
        await pubsub.publish(strategyChannel(channelPrefix, message.strategyId), JSON.stringify(message));
      } catch (error) {
        logger.warn(
          { err: (error as Error).message, strategyId: message.strategyId, kind: message.kind },
          'performance update not published; live subscribers miss it',
        );
      }
    },
  };
}
