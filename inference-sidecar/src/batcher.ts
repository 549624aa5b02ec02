/**
 * Dynamic batching with the knobs and semantics of Triton's dynamic batcher (max batch size,
 * preferred batch sizes, queue delay, queue size, model instances), plus deadline-aware dropping.
 * It knows nothing of gRPC, tensors or ONNX Runtime: callers hand it opaque payloads and an
 * `execute` function, and convert its errors to transport statuses at their own boundary.
 */

/** A monotonic clock and one-shot timers; tests pass a fake one. */
export interface Clock {
  /** Milliseconds on a monotonic clock. Request deadlines are absolute times on this clock. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds unless cancelled first. */
  setTimer(ms: number, fn: () => void): TimerHandle;
}

export interface TimerHandle {
  cancel(): void;
}

/** `performance.now()` and `setTimeout`: the clock the batcher uses unless told otherwise. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(ms, fn) {
    const timer = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(timer) };
  },
};

export interface BatchRequest<TPayload> {
  /** Size of this request along the batch dimension; a positive integer. */
  readonly rows: number;
  /** Requests batch together only with an equal `shapeKey` (same non-batch dimensions and dtypes). */
  readonly shapeKey: string;
  /** Absolute time in ms on the batcher's clock after which the result is useless; `null` for none. */
  readonly deadline: number | null;
  readonly payload: TPayload;
}

/** What one executed batch looked like; meant for Prometheus histograms and counters. */
export interface BatchInfo {
  /** Number of requests in the batch. */
  readonly size: number;
  /** Total rows of the batch. */
  readonly rows: number;
  /** Time each request spent queued before dispatch, in µs, in batch order. */
  readonly queueMicros: readonly number[];
  /** Time from calling `execute` until it settled, in µs. */
  readonly executeMicros: number;
  /** `failed` when `execute` rejected, threw, or returned the wrong number of results. */
  readonly outcome: 'succeeded' | 'failed';
}

export interface DynamicBatcherOptions<TPayload, TResult> {
  /**
   * Most rows one batch may hold. `0` or `1` turns batching off: each request runs alone, in arrival
   * order, with no queue delay and no row limit. With batching on, a request with more rows is
   * rejected with `BatchTooLargeError`. Required.
   */
  readonly maxBatchSize: number;
  /**
   * Batch sizes (in rows) to dispatch at once, without waiting for the queue delay, whenever a FIFO
   * prefix of the oldest request's group adds up to one exactly (requests are never split); the
   * largest one achievable wins. Each must be an integer in `1..maxBatchSize`. Default: none.
   */
  readonly preferredBatchSizes?: readonly number[];
  /**
   * How long the oldest queued request may wait for its batch to fill before whatever is queued for
   * its `shapeKey` is dispatched anyway, in µs. `0` dispatches as soon as an instance is free. Required.
   */
  readonly maxQueueDelayMicros: number;
  /**
   * Most requests that may wait in the queue (executing batches do not count). Beyond it `submit`
   * rejects at once with `QueueFullError`, unless the new request completes a batch that is dispatched
   * at once. Unlike Triton, `0` does not mean unlimited: pass
   * `Infinity` to opt out of the bound explicitly. Required.
   */
  readonly maxQueueSize: number;
  /** Most batches executing at once (model instances); a positive integer. Required. */
  readonly instances: number;
  /**
   * Runs one batch and resolves with one result per request, in batch order. If it throws or
   * rejects, every request of the batch rejects with that error; if it resolves with the wrong number
   * of results, every request rejects with `ResultCountMismatchError`. Either way the batcher goes on.
   */
  execute(batch: readonly BatchRequest<TPayload>[]): Promise<readonly TResult[]>;
  /** Time source and timers. Default: `systemClock`. */
  readonly clock?: Clock;
  /**
   * Estimated execution time of a batch of `rows` rows, in ms; should not decrease as rows grow.
   * Requests that could not finish before their deadline are rejected instead of run. Default: an
   * exponentially weighted moving average of the observed time per batch (0 until a batch completes).
   */
  estimateExecutionMs?(rows: number): number;
  /**
   * Called after every executed batch, once its requests have settled. Must not throw: an error it
   * throws is re-thrown asynchronously, after the batcher's own bookkeeping is done. Default: none.
   */
  onBatch?(info: BatchInfo): void;
}

export interface DynamicBatcher<TPayload, TResult> {
  /**
   * Queues a request and resolves with its result. Rejects with `BatcherClosedError`,
   * `BatchTooLargeError`, `QueueFullError` or `DeadlineExceededError`, or with the error of `execute`.
   */
  submit(request: BatchRequest<TPayload>): Promise<TResult>;
  /** Requests waiting in the queue. */
  readonly pending: number;
  /** Batches executing now. */
  readonly executing: number;
  /**
   * Stops accepting requests and resolves once queued and executing work has finished. Queued
   * requests no longer wait for the queue delay, since nothing can join their batches any more.
   */
  close(): Promise<void>;
}

/** What went wrong, for a single exhaustive `switch` where errors become transport statuses. */
export type BatcherErrorKind =
  'queue-full' | 'deadline-exceeded' | 'closed' | 'batch-too-large' | 'result-count-mismatch';

export abstract class BatcherError extends Error {
  abstract readonly kind: BatcherErrorKind;
}

/** The queue holds `maxQueueSize` requests already; the caller may retry later (gRPC UNAVAILABLE). */
export class QueueFullError extends BatcherError {
  readonly kind = 'queue-full';
  override readonly name = 'QueueFullError';
  constructor(readonly maxQueueSize: number) {
    super(`The inference queue is full (${maxQueueSize} requests waiting); retry later`);
  }
}

/** The request's deadline passed, or would pass before its batch could finish (DEADLINE_EXCEEDED). */
export class DeadlineExceededError extends BatcherError {
  readonly kind = 'deadline-exceeded';
  override readonly name = 'DeadlineExceededError';
}

/** `close()` was called; no request is accepted any more (gRPC UNAVAILABLE). */
export class BatcherClosedError extends BatcherError {
  readonly kind = 'closed';
  override readonly name = 'BatcherClosedError';
  constructor() {
    super('The batcher is shutting down and accepts no more requests');
  }
}

/** The request alone has more rows than a batch may hold (gRPC INVALID_ARGUMENT). */
export class BatchTooLargeError extends BatcherError {
  readonly kind = 'batch-too-large';
  override readonly name = 'BatchTooLargeError';
  constructor(
    readonly rows: number,
    readonly maxBatchSize: number,
  ) {
    super(`A request may hold at most ${maxBatchSize} rows (the model's max batch size); got ${rows}`);
  }
}

/** `execute` broke its contract of one result per request (gRPC INTERNAL). */
export class ResultCountMismatchError extends BatcherError {
  readonly kind = 'result-count-mismatch';
  override readonly name = 'ResultCountMismatchError';
  constructor(
    readonly expected: number,
    readonly got: number | null,
  ) {
    super(
      `execute must resolve with one result per request, in order: expected ${expected} results, got ` +
        (got === null ? 'a value that is not an array' : `${got}`),
    );
  }
}

/** Weight of the newest sample in the default execution-time average: roughly the last 10 batches count. */
const EWMA_WEIGHT = 0.2;

interface QueuedRequest<P, R> {
  readonly request: BatchRequest<P>;
  /** Arrival order across all shape groups. */
  readonly seq: number;
  readonly enqueuedAt: number;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

type Lifecycle =
  | { readonly phase: 'open' }
  | { readonly phase: 'draining'; readonly drained: Promise<void>; readonly resolve: () => void }
  | { readonly phase: 'closed'; readonly drained: Promise<void> };

type Decision =
  { readonly kind: 'dispatch'; readonly count: number } | { readonly kind: 'wait'; readonly until: number };

type Formation<P, R> =
  | { readonly kind: 'batch'; readonly entries: QueuedRequest<P, R>[] }
  | { readonly kind: 'dropped' }
  | { readonly kind: 'wait'; readonly until: number };

type Outcome<R> =
  { readonly ok: true; readonly results: readonly R[] } | { readonly ok: false; readonly error: unknown };

export function createDynamicBatcher<P, R>(options: DynamicBatcherOptions<P, R>): DynamicBatcher<P, R> {
  validateOptions(options);
  return new DynamicBatcherImpl(options);
}

class DynamicBatcherImpl<P, R> implements DynamicBatcher<P, R> {
  private readonly clock: Clock;
  private readonly batching: boolean;
  private readonly preferred: ReadonlySet<number>;
  private readonly delayMs: number;
  /** Queued requests by shape key, each FIFO; a key is deleted as soon as its queue empties. */
  private readonly groups = new Map<string, QueuedRequest<P, R>[]>();
  private lifecycle: Lifecycle = { phase: 'open' };
  private queued = 0;
  private running = 0;
  private nextSeq = 0;
  private averageExecutionMs: number | null = null;
  /** Earliest time a queued request may become hopeless; never later than the truth, sometimes earlier. */
  private sweepAt = Infinity;
  private timer: { readonly at: number; readonly handle: TimerHandle } | null = null;
  private pumping = false;
  private pumpAgain = false;

  constructor(private readonly options: DynamicBatcherOptions<P, R>) {
    this.clock = options.clock ?? systemClock;
    this.batching = options.maxBatchSize > 1;
    this.preferred = new Set(options.preferredBatchSizes ?? []);
    this.delayMs = options.maxQueueDelayMicros / 1000;
  }

  get pending(): number {
    return this.queued;
  }

  get executing(): number {
    return this.running;
  }

  submit(request: BatchRequest<P>): Promise<R> {
    if (this.lifecycle.phase !== 'open') return Promise.reject(new BatcherClosedError());
    const { rows, deadline } = request;
    if (!Number.isInteger(rows) || rows < 1) {
      return Promise.reject(new RangeError(`rows must be a positive integer; got ${rows}`));
    }
    if (deadline !== null && Number.isNaN(deadline)) {
      return Promise.reject(
        new RangeError('deadline must be a number of ms on the batcher clock or null; got NaN'),
      );
    }
    const { maxBatchSize, maxQueueSize } = this.options;
    if (this.batching && rows > maxBatchSize) {
      return Promise.reject(new BatchTooLargeError(rows, maxBatchSize));
    }
    const now = this.clock.now();
    const estimateMs = this.estimateMs(rows);
    if (missesDeadline(deadline, now, estimateMs)) {
      return Promise.reject(deadlineError(deadline, now, estimateMs, rows));
    }
    // Requests that can no longer make their deadline must not hold queue slots.
    this.sweepIfDue(now);
    let entry!: QueuedRequest<P, R>;
    const result = new Promise<R>((resolve, reject) => {
      entry = { request, seq: this.nextSeq++, enqueuedAt: now, resolve, reject };
    });
    const group = this.groups.get(request.shapeKey);
    if (group) group.push(entry);
    else this.groups.set(request.shapeKey, [entry]);
    this.queued += 1;
    this.sweepAt = Math.min(this.sweepAt, hopelessAt(deadline, estimateMs));
    this.pump();
    // The bound applies to requests left waiting, so one that completes a batch dispatched at once is
    // admitted even into a full queue; the newest request is the one over the bound.
    if (this.queued > maxQueueSize && this.groups.get(request.shapeKey)?.at(-1) === entry) {
      this.remove(request.shapeKey, new Set([entry]));
      entry.reject(new QueueFullError(maxQueueSize));
    }
    return result;
  }

  close(): Promise<void> {
    const { lifecycle } = this;
    switch (lifecycle.phase) {
      case 'open': {
        let resolve!: () => void;
        const drained = new Promise<void>((done) => (resolve = done));
        this.lifecycle = { phase: 'draining', drained, resolve };
        this.pump();
        return drained;
      }
      case 'draining':
      case 'closed':
        return lifecycle.drained;
      default: {
        const _exhaustive: never = lifecycle;
        return _exhaustive;
      }
    }
  }

  /** Dispatches every batch that is due; re-entrant calls (from `execute` or callbacks) run after. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.pumpOnce();
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
    const { lifecycle } = this;
    if (lifecycle.phase === 'draining' && this.queued === 0 && this.running === 0) {
      this.lifecycle = { phase: 'closed', drained: lifecycle.drained };
      lifecycle.resolve();
    }
  }

  private pumpOnce(): void {
    const now = this.clock.now();
    this.sweepIfDue(now);
    let delayUntil = Infinity;
    while (this.queued > 0 && this.running < this.options.instances) {
      const next = this.dispatchNext(now);
      if (next.kind === 'wait') {
        delayUntil = next.until;
        break;
      }
    }
    if (this.queued === 0) this.sweepAt = Infinity;
    this.armTimer(now, Math.min(this.sweepAt, delayUntil));
  }

  /** Dispatches or drops something, or says until when the oldest group waits. */
  private dispatchNext(
    now: number,
  ): { readonly kind: 'progress' } | { readonly kind: 'wait'; readonly until: number } {
    const byAge = [...this.groups].sort(([, a], [, b]) => a[0]!.seq - b[0]!.seq);
    let until = Infinity;
    for (const [index, [shapeKey, entries]] of byAge.entries()) {
      // A younger group may take an instance only while another stays free for the oldest group,
      // so a stream of full batches elsewhere never holds the oldest request past its queue delay.
      if (index > 0 && this.options.instances - this.running < 2) break;
      const formation = this.form(shapeKey, entries, now);
      switch (formation.kind) {
        case 'batch':
          this.run(formation.entries, now);
          return { kind: 'progress' };
        case 'dropped':
          return { kind: 'progress' };
        case 'wait':
          if (index === 0) until = formation.until;
          break;
        default: {
          const _exhaustive: never = formation;
          return _exhaustive;
        }
      }
    }
    return { kind: 'wait', until };
  }

  /** Takes the group's next batch off the queue if one is due, after dropping members that would be late. */
  private form(shapeKey: string, entries: QueuedRequest<P, R>[], now: number): Formation<P, R> {
    const decision = this.decide(entries, now);
    if (decision.kind === 'wait') return decision;
    const candidate = entries.slice(0, decision.count);
    const rows = sumRows(candidate);
    const estimateMs = this.estimateMs(rows);
    const late = candidate.filter((entry) => missesDeadline(entry.request.deadline, now, estimateMs));
    if (late.length > 0) {
      // Dropping changes the group, so the caller decides afresh rather than running a short batch.
      this.remove(shapeKey, new Set(late));
      for (const entry of late) entry.reject(deadlineError(entry.request.deadline, now, estimateMs, rows));
      return { kind: 'dropped' };
    }
    entries.splice(0, candidate.length);
    if (entries.length === 0) this.groups.delete(shapeKey);
    this.queued -= candidate.length;
    return { kind: 'batch', entries: candidate };
  }

  /** Triton's rule: a full batch at once, else the largest preferred size at once, else after the delay. */
  private decide(entries: readonly QueuedRequest<P, R>[], now: number): Decision {
    if (!this.batching) return { kind: 'dispatch', count: 1 };
    const { maxBatchSize } = this.options;
    let rows = 0;
    let count = 0;
    let preferredCount = 0;
    for (const entry of entries) {
      if (rows + entry.request.rows > maxBatchSize) break;
      rows += entry.request.rows;
      count += 1;
      if (this.preferred.has(rows)) preferredCount = count;
    }
    const cannotGrow = count < entries.length || rows === maxBatchSize;
    if (cannotGrow) return { kind: 'dispatch', count };
    if (preferredCount > 0) return { kind: 'dispatch', count: preferredCount };
    const until = entries[0]!.enqueuedAt + this.delayMs;
    if (now >= until || this.lifecycle.phase !== 'open') return { kind: 'dispatch', count };
    return { kind: 'wait', until };
  }

  private run(entries: QueuedRequest<P, R>[], dispatchedAt: number): void {
    this.running += 1;
    let execution: Promise<readonly R[]>;
    try {
      execution = Promise.resolve(this.options.execute(entries.map((entry) => entry.request)));
    } catch (error) {
      execution = Promise.reject(error);
    }
    execution.then(
      (results) => this.finish(entries, dispatchedAt, { ok: true, results }),
      (error: unknown) => this.finish(entries, dispatchedAt, { ok: false, error }),
    );
  }

  private finish(entries: readonly QueuedRequest<P, R>[], dispatchedAt: number, outcome: Outcome<R>): void {
    const finishedAt = this.clock.now();
    this.running -= 1;
    if (outcome.ok) this.observeExecution(finishedAt - dispatchedAt);
    const checked = checkResultCount(outcome, entries.length);
    entries.forEach((entry, index) => {
      if (checked.ok) entry.resolve(checked.results[index] as R);
      else entry.reject(checked.error);
    });
    this.report({
      size: entries.length,
      rows: sumRows(entries),
      queueMicros: entries.map((entry) => (dispatchedAt - entry.enqueuedAt) * 1000),
      executeMicros: (finishedAt - dispatchedAt) * 1000,
      outcome: checked.ok ? 'succeeded' : 'failed',
    });
    this.pump();
  }

  private report(info: BatchInfo): void {
    try {
      this.options.onBatch?.(info);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  private observeExecution(ms: number): void {
    if (this.options.estimateExecutionMs) return;
    this.averageExecutionMs =
      this.averageExecutionMs === null
        ? ms
        : this.averageExecutionMs + EWMA_WEIGHT * (ms - this.averageExecutionMs);
    // The estimate moved, so every queued request's hopeless time did too: sweep on the next pump.
    this.sweepAt = -Infinity;
  }

  private estimateMs(rows: number): number {
    const estimate = this.options.estimateExecutionMs
      ? this.options.estimateExecutionMs(rows)
      : (this.averageExecutionMs ?? 0);
    // A broken estimate must not drop requests that could still make it.
    return Number.isFinite(estimate) && estimate > 0 ? estimate : 0;
  }

  /** Rejects queued requests that could not finish in time even alone, if any can be due by now. */
  private sweepIfDue(now: number): void {
    if (now < this.sweepAt) return;
    let next = Infinity;
    for (const [shapeKey, entries] of this.groups) {
      const late = new Set<QueuedRequest<P, R>>();
      for (const entry of entries) {
        const { rows, deadline } = entry.request;
        const estimateMs = this.estimateMs(rows);
        if (missesDeadline(deadline, now, estimateMs)) {
          late.add(entry);
          entry.reject(deadlineError(deadline, now, estimateMs, rows));
        } else {
          next = Math.min(next, hopelessAt(deadline, estimateMs));
        }
      }
      if (late.size > 0) this.remove(shapeKey, late);
    }
    this.sweepAt = next;
  }

  private remove(shapeKey: string, doomed: ReadonlySet<QueuedRequest<P, R>>): void {
    const entries = this.groups.get(shapeKey) ?? [];
    const kept = entries.filter((entry) => !doomed.has(entry));
    this.queued -= entries.length - kept.length;
    if (kept.length > 0) this.groups.set(shapeKey, kept);
    else this.groups.delete(shapeKey);
  }

  /** Keeps at most one timer, and none when nothing is due (idle or closed). */
  private armTimer(now: number, at: number): void {
    if (this.timer?.at === at) return;
    this.timer?.handle.cancel();
    this.timer = null;
    if (at === Infinity) return;
    const handle = this.clock.setTimer(Math.max(0, at - now), () => {
      this.timer = null;
      this.pump();
    });
    this.timer = { at, handle };
  }
}

function checkResultCount<R>(outcome: Outcome<R>, expected: number): Outcome<R> {
  if (!outcome.ok) return outcome;
  const { results } = outcome;
  // `execute` is foreign code: guard the contract at runtime, whatever its declared type says.
  if (Array.isArray(results) && results.length === expected) return outcome;
  const got = Array.isArray(results) ? results.length : null;
  return { ok: false, error: new ResultCountMismatchError(expected, got) };
}

function sumRows(entries: readonly { readonly request: { readonly rows: number } }[]): number {
  return entries.reduce((rows, entry) => rows + entry.request.rows, 0);
}

/**
 * Finishing exactly at the deadline counts as missing it: the response still has to travel.
 * `estimateMs` is for the batch the request would run in (alone, while it is only queued).
 */
function missesDeadline(deadline: number | null, now: number, estimateMs: number): boolean {
  return deadline !== null && now + estimateMs >= deadline;
}

function hopelessAt(deadline: number | null, estimateMs: number): number {
  return deadline === null ? Infinity : deadline - estimateMs;
}

function deadlineError(
  deadline: number | null,
  now: number,
  estimateMs: number,
  rows: number,
): DeadlineExceededError {
  const remainingMs = (deadline ?? Infinity) - now;
  if (remainingMs <= 0) {
    return new DeadlineExceededError(
      `The request's deadline passed ${formatMs(-remainingMs)} ms ago; it was not run`,
    );
  }
  return new DeadlineExceededError(
    `The request's deadline is ${formatMs(remainingMs)} ms away, but a batch of ${rows} rows is estimated ` +
      `to take ${formatMs(estimateMs)} ms; it was not run`,
  );
}

function formatMs(ms: number): string {
  return Number(ms.toFixed(3)).toString();
}

function validateOptions(options: DynamicBatcherOptions<unknown, unknown>): void {
  const { maxBatchSize, preferredBatchSizes = [], maxQueueDelayMicros, maxQueueSize, instances } = options;
  const fail = (message: string): never => {
    throw new RangeError(`Invalid dynamic batcher options: ${message}`);
  };
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 0) {
    fail(`maxBatchSize must be a non-negative integer; got ${maxBatchSize}`);
  }
  if (maxBatchSize <= 1 && preferredBatchSizes.length > 0) {
    fail(`preferredBatchSizes need batching on (maxBatchSize > 1); got maxBatchSize ${maxBatchSize}`);
  }
  for (const size of preferredBatchSizes) {
    if (!Number.isInteger(size) || size < 1 || size > maxBatchSize) {
      fail(`preferredBatchSizes must be integers in 1..${maxBatchSize} (maxBatchSize); got ${size}`);
    }
  }
  if (!Number.isFinite(maxQueueDelayMicros) || maxQueueDelayMicros < 0) {
    fail(`maxQueueDelayMicros must be a finite number ≥ 0; got ${maxQueueDelayMicros}`);
  }
  if (!(Number.isInteger(maxQueueSize) || maxQueueSize === Infinity) || maxQueueSize < 1) {
    fail(`maxQueueSize must be a positive integer or Infinity; got ${maxQueueSize}`);
  }
  if (!Number.isInteger(instances) || instances < 1) {
    fail(`instances must be a positive integer; got ${instances}`);
  }
}
