import type { Knex } from '@mikro-orm/knex';
import { ErrorCode } from '@mlops/schema';
import { DomainError } from '@mlops/runtime';
import type { Logger, PubSub } from '@mlops/runtime';
import type { EventFilter } from '../store/events';
import { eventMatches, eventsAfter, latestCursor } from '../store/events';
import type { AlertEventRecord } from '../store/records';

export interface AlertEventStreamOptions {
  readonly knex: Knex;
  readonly pubsub: PubSub;
  readonly channel: string;
  /** Replays every event with a cursor above this first; null: only events after the stream opened. */
  readonly after: number | null;
  readonly filter: EventFilter;
  /** Re-reads the log this often (ms) as a safety net for lost messages; 0: never. */
  readonly catchupIntervalMs: number;
  readonly logger: Logger;
  /** Events read from the database per query while replaying; default 500. */
  readonly pageSize?: number;
  /**
   * Live messages held for a consumer that has not pulled them yet; default 1000. Past it they are
   * dropped and read back from the database when the consumer catches up: a slow consumer costs
   * bounded memory and loses nothing.
   */
  readonly maxBufferedLive?: number;
}

/**
 * One subscriber's ordered, gap-free and duplicate-free view of the event log: replay from the
 * database, then live pub/sub messages, then the database again whenever a message may be missing.
 *
 * The pub/sub subscription is active before the replay reads anything, so an event committed during
 * the replay arrives live and is skipped if the replay already delivered it (cursor ≤ the last one
 * seen). Every cursor is tracked before the filter applies: a live message whose cursor is not the
 * next one after the last seen means messages were lost (Redis was down, a publisher failed), and
 * the log is read from the database up to its newest cursor first. Cursor order is commit order
 * (see `appendEvents`), so reading up to the newest cursor never leaves a hole to be filled later.
 * The same catch-up runs when the pub/sub reconnects and every `catchupIntervalMs`. Events are read
 * from the database page by page as the consumer pulls, so a long replay holds one page in memory.
 * `return()` unsubscribes and stops the timer.
 */
export async function openAlertEventStream(
  options: AlertEventStreamOptions,
): Promise<AsyncIterableIterator<AlertEventRecord>> {
  const { knex, pubsub, channel, filter, catchupIntervalMs, logger } = options;
  const pageSize = options.pageSize ?? 500;
  const maxBufferedLive = options.maxBufferedLive ?? 1000;

  const live: AlertEventRecord[] = [];
  const ready: AlertEventRecord[] = [];
  /** Every cursor up to this one has been seen (delivered or filtered out) or does not exist. */
  let lastSeen = 0;
  let catchUpWanted = options.after !== null;
  /** The newest cursor of the catch-up under way (read once, then paged up to). */
  let catchUpTarget: number | null = null;
  let closed = false;
  let wake: (() => void) | undefined;
  const signal = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  const requestCatchUp = () => {
    catchUpWanted = true;
    signal();
  };

  const unsubscribe = await subscribeOrUnavailable(
    pubsub,
    channel,
    (message) => {
      if (closed) return;
      const event = parseEvent(message);
      if (!event || live.length >= maxBufferedLive) {
        // Unreadable or over the bound: the database has it.
        live.length = 0;
        requestCatchUp();
        return;
      }
      live.push(event);
      signal();
    },
    logger,
  );
  const stopReconnect = pubsub.onReconnect(requestCatchUp);
  const timer = catchupIntervalMs > 0 ? setInterval(requestCatchUp, catchupIntervalMs) : undefined;
  timer?.unref();

  const close = () => {
    if (closed) return;
    closed = true;
    live.length = 0;
    ready.length = 0;
    if (timer) clearInterval(timer);
    stopReconnect();
    unsubscribe().catch((error: unknown) => logger.debug({ err: error }, 'alert event unsubscribe failed'));
    signal();
  };

  try {
    lastSeen = options.after ?? (await latestCursor(knex));
  } catch (error) {
    close();
    logger.warn({ err: error }, 'alert event stream cannot read the event log');
    throw unavailable('the event log cannot be read');
  }

  /** One step of work: a catch-up page, or one live message. False when there was nothing to do. */
  async function step(): Promise<boolean> {
    if (catchUpWanted || catchUpTarget !== null) {
      catchUpWanted = false;
      const target = catchUpTarget ?? (await latestCursor(knex));
      const page = target > lastSeen ? await eventsAfter(knex, lastSeen, pageSize, filter, target) : [];
      if (closed) return true;
      ready.push(...page);
      if (page.length === pageSize) {
        lastSeen = page[page.length - 1]!.cursor;
        catchUpTarget = target;
      } else {
        lastSeen = Math.max(lastSeen, target);
        catchUpTarget = null;
      }
      return true;
    }
    const event = live.shift();
    if (!event) return false;
    if (event.cursor <= lastSeen) return true; // already delivered by a replay or catch-up
    if (event.cursor !== lastSeen + 1) {
      // A gap: the database holds this event and the ones before it (or it is not from our log).
      catchUpWanted = true;
      return true;
    }
    lastSeen = event.cursor;
    if (eventMatches(event, filter)) ready.push(event);
    return true;
  }

  let failures = 0;
  /** Works until an event is ready or the stream closed; database failures are retried with backoff. */
  async function fill(): Promise<void> {
    while (!closed && ready.length === 0) {
      let worked: boolean;
      try {
        worked = await step();
        failures = 0;
      } catch (error) {
        failures += 1;
        catchUpWanted = true;
        const delayMs = Math.min(250 * 2 ** (failures - 1), 10_000);
        logger.warn({ err: error, delayMs }, 'alert event stream cannot read the event log; retrying');
        await new Promise<void>((resolve) => {
          const retry = setTimeout(resolve, delayMs);
          wake = () => {
            clearTimeout(retry);
            resolve();
          };
        });
        continue;
      }
      if (!worked) await new Promise<void>((resolve) => (wake = resolve));
    }
  }

  let pulling: Promise<unknown> = Promise.resolve();
  const iterator: AsyncIterableIterator<AlertEventRecord> = {
    next() {
      // Pulls are served one at a time, in order.
      const result = pulling.then(async (): Promise<IteratorResult<AlertEventRecord>> => {
        if (ready.length === 0) await fill();
        const event = closed ? undefined : ready.shift();
        return event ? { value: event, done: false } : { value: undefined, done: true };
      });
      pulling = result.catch(() => undefined);
      return result;
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

function parseEvent(message: string): AlertEventRecord | null {
  try {
    const event = JSON.parse(message) as AlertEventRecord;
    return typeof event === 'object' &&
      event !== null &&
      Number.isSafeInteger(event.cursor) &&
      event.cursor > 0
      ? event
      : null;
  } catch {
    return null;
  }
}

const unavailable = (reason: string) =>
  new DomainError(
    ErrorCode.UNAVAILABLE,
    `The alert event stream is unavailable (${reason}); subscribe again later`,
  );

/** The pub/sub subscription, or UNAVAILABLE when the broker cannot be reached (the cause is logged). */
async function subscribeOrUnavailable(
  pubsub: PubSub,
  channel: string,
  listener: (message: string) => void,
  logger: Logger,
): Promise<() => Promise<void>> {
  try {
    return await pubsub.subscribe(channel, listener);
  } catch (error) {
    logger.warn({ err: error, channel }, 'alert event stream cannot subscribe to the pub/sub');
    throw unavailable('the pub/sub broker cannot be reached');
  }
}
