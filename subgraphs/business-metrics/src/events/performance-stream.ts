import { ErrorCode } from '@mlops/schema';
import { DomainError } from '@mlops/runtime';
import type { Logger, PubSub } from '@mlops/runtime';
import type { PerformancePoint } from '../domain/performance';
import type { PerformanceMessage } from './performance-publisher';
import { strategyChannel } from './performance-publisher';

export interface PerformanceStreamOptions {
  readonly pubsub: PubSub;
  /** `BUSINESS_METRICS_EVENTS_CHANNEL`. */
  readonly channelPrefix: string;
  readonly strategyId: string;
  readonly logger: Logger;
  /**
   * Batches held for a consumer that has not pulled them yet; default 100. Past it the oldest is
   * dropped (and logged): a slow consumer costs bounded memory, and the summary of the next update
   * it pulls, read from the database, still counts every stored point.
   */
  readonly maxBuffered?: number;
}

/**
 * The batches of points stored for one strategy from now on, one per `recordPerformance` that
 * stored any, in publish order. Live only (no replay): a client that needs every point re-reads
 * `performance` after (re)subscribing. The stream ends when the strategy is deleted; `return()`
 * unsubscribes. UNAVAILABLE when the pub/sub broker cannot be reached.
 */
export async function openPerformanceStream(
  options: PerformanceStreamOptions,
): Promise<AsyncIterableIterator<readonly PerformancePoint[]>> {
  const { pubsub, channelPrefix, strategyId, logger } = options;
  const maxBuffered = options.maxBuffered ?? 100;
  const ready: (readonly PerformancePoint[])[] = [];
  let phase: 'open' | 'ended' = 'open';
  let wake: (() => void) | undefined;
  const signal = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };

  let unsubscribe: () => Promise<void>;
  try {
    unsubscribe = await pubsub.subscribe(strategyChannel(channelPrefix, strategyId), (raw) => {
      if (phase === 'ended') return;
      const message = parseMessage(raw);
      if (!message || message.strategyId !== strategyId) {
        logger.warn({ strategyId }, 'unreadable performance update ignored');
        return;
      }
      if (message.kind === 'deleted') {
        // Whatever is buffered is still delivered; then the stream completes.
        phase = 'ended';
        void unsubscribe().catch(() => undefined);
        signal();
        return;
      }
      if (ready.length >= maxBuffered) {
        ready.shift();
        logger.warn({ strategyId, maxBuffered }, 'slow performance subscriber: oldest update dropped');
      }
      ready.push(message.points);
      signal();
    });
  } catch (error) {
    logger.warn({ err: error, strategyId }, 'performance stream cannot subscribe to the pub/sub');
    throw new DomainError(
      ErrorCode.UNAVAILABLE,
      'The performance stream is unavailable (the pub/sub broker cannot be reached); subscribe again later',
    );
  }

  const close = () => {
    if (phase === 'open') void unsubscribe().catch(() => undefined);
    phase = 'ended';
    ready.length = 0;
    signal();
  };

  const iterator: AsyncIterableIterator<readonly PerformancePoint[]> = {
    async next() {
      while (ready.length === 0 && phase === 'open') await new Promise<void>((resolve) => (wake = resolve));
      const points = ready.shift();
      return points ? { value: points, done: false } : { value: undefined, done: true };
    },
    async return() {
      close();
      return { value: undefined, done: true };
    },
    async throw(error?: unknown) {
      close();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

function parseMessage(raw: string): PerformanceMessage | null {
  try {
    const message = JSON.parse(raw) as PerformanceMessage;
    if (typeof message !== 'object' || message === null || typeof message.strategyId !== 'string')
      return null;
    if (message.kind === 'deleted') return message;
    if (message.kind === 'recorded' && Array.isArray(message.points)) return message;
    return null;
  } catch {
    return null;
  }
}
