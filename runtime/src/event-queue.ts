export interface EventQueueOptions {
  /**
   * Most events held for a consumer that has not pulled them yet. The push that would exceed it is
   * refused, the queue ends at once (dropping what it held) and `onOverflow` runs: a slow consumer
   * costs at most this many events of memory.
   */
  readonly capacity: number;
  /** Called once, on the first refused push. */
  onOverflow?(): void;
  /** Called once when the queue stops for good: consumer `return()`, overflow, `end()` drained or `fail()`. */
  onClose?(): void;
}

/**
 * A push-to-pull bridge with a bound: producers `push` events as they happen, one consumer pulls
 * them with `for await`. Ending the iteration early (`return()`) closes the queue.
 */
export interface EventQueue<T> extends AsyncIterableIterator<T> {
  /** Queues an event; false when the queue is closed or this push overflowed it. */
  push(event: T): boolean;
  /** Completes the iteration after the queued events are consumed. */
  end(): void;
  /** Rejects the consumer's next pull with `error` once the queued events are consumed. */
  fail(error: Error): void;
  /** Closes the queue (dropping what it holds) and completes any pending pull. */
  return(): Promise<IteratorResult<T>>;
  readonly size: number;
}

type QueueState =
  | { readonly phase: 'open' }
  | { readonly phase: 'ending'; readonly error?: Error }
  | { readonly phase: 'closed' };

export function createEventQueue<T>(options: EventQueueOptions): EventQueue<T> {
  const { capacity } = options;
  let buffer: T[] = [];
  let head = 0;
  let state: QueueState = { phase: 'open' };
  let waiting: { resolve(r: IteratorResult<T>): void; reject(e: Error): void } | undefined;

  const close = (): void => {
    if (state.phase === 'closed') return;
    state = { phase: 'closed' };
    buffer = [];
    head = 0;
    options.onClose?.();
  };

  const settleWaiting = (): void => {
    if (!waiting || state.phase === 'open') return;
    const consumer = waiting;
    waiting = undefined;
    const error = state.phase === 'ending' ? state.error : undefined;
    close();
    if (error) consumer.reject(error);
    else consumer.resolve({ value: undefined, done: true });
  };

  const queue: EventQueue<T> = {
    get size() {
      return buffer.length - head;
    },
    push(event) {
      if (state.phase !== 'open') return false;
      if (waiting) {
        const consumer = waiting;
        waiting = undefined;
        consumer.resolve({ value: event, done: false });
        return true;
      }
      if (buffer.length - head >= capacity) {
        close();
        options.onOverflow?.();
        return false;
      }
      buffer.push(event);
      return true;
    },
    end() {
      if (state.phase !== 'open') return;
      state = { phase: 'ending' };
      if (queue.size === 0) settleWaiting();
    },
    fail(error) {
      if (state.phase !== 'open') return;
      state = { phase: 'ending', error };
      if (queue.size === 0) settleWaiting();
    },
    next() {
      if (head < buffer.length) {
        const value = buffer[head] as T;
        head += 1;
        // Compact now and then so a long-lived queue does not keep a growing array.
        if (head > 1024 && head * 2 > buffer.length) {
          buffer = buffer.slice(head);
          head = 0;
        }
        return Promise.resolve({ value, done: false });
      }
      if (state.phase === 'closed') return Promise.resolve({ value: undefined, done: true });
      if (state.phase === 'ending') {
        const error = state.error;
        close();
        return error ? Promise.reject(error) : Promise.resolve({ value: undefined, done: true });
      }
      return new Promise<IteratorResult<T>>((resolve, reject) => {
        waiting = { resolve, reject };
      });
    },
    return() {
      close();
      const consumer = waiting;
      waiting = undefined;
      consumer?.resolve({ value: undefined, done: true });
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return queue;
    },
  };
  return queue;
}
