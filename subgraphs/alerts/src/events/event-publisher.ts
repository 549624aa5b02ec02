import type { Logger, PubSub } from '@mlops/runtime';
import type { AlertEventRecord } from '../store/records';

/** Default pub/sub channel of alert events; set `ALERTS_EVENTS_CHANNEL` per environment sharing a Redis. */
export const DEFAULT_EVENTS_CHANNEL = 'mlops:alerts:events';

/** Fans committed events out to every replica's subscriptions. */
export interface EventPublisher {
  /**
   * Publishes events, in cursor order, after their transaction committed. Never rejects: a message
   * the broker does not take is logged, and subscribers recover it from the database (gap
   * detection, reconnect and periodic catch-up).
   */
  publish(events: readonly AlertEventRecord[]): Promise<void>;
}

export function createEventPublisher(options: {
  /** Redis pub/sub across replicas, or in-process for one. */
  readonly pubsub: PubSub;
  /** `ALERTS_EVENTS_CHANNEL`. */
  readonly channel: string;
  /** Where unpublished events are reported (warn). */
  readonly logger: Logger;
}): EventPublisher {
  const { pubsub, channel, logger } = options;
  return {
    async publish(events) {
      for (const event of [...events].sort((a, b) => a.cursor - b.cursor)) {
        try {
          await pubsub.publish(channel, JSON.stringify(event));
        } catch (error) {
          logger.warn(
            { err: (error as Error).message, cursor: event.cursor },
            'alert event not published; subscribers will read it from the database',
          );
        }
      }
    },
  };
}
