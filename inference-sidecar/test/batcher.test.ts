import {
  BatchTooLargeError,
  BatcherClosedError,
  BatcherError,
  DeadlineExceededError,
  QueueFullError,
  ResultCountMismatchError,
  createDynamicBatcher,
} from '../src/batcher';
import type {
  BatchInfo,
  BatchRequest,
  Clock,
  DynamicBatcher,
  DynamicBatcherOptions,
  TimerHandle,
} from '../src/batcher';

/** A clock that moves only when told to, firing due timers in time order. */
class FakeClock implements Clock {
  private time = 0;
  private readonly timers = new Set<{ readonly at: number; readonly fn: () => void }>();

  now(): number {
    return this.time;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer = { at: this.time + ms, fn };
    this.timers.add(timer);
    return { cancel: () => this.timers.delete(timer) };
  }

  get activeTimers(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      const [due] = [...this.timers].filter((timer) => timer.at <= target).sort((a, b) => a.at - b.at);
      if (!due) break;
      this.timers.delete(due);
      this.time = Math.max(this.time, due.at);
      due.fn();
    }
    this.time = target;
  }

  /** Moves time without firing timers, as when the event loop was blocked. */
  jump(ms: number): void {
    this.time += ms;
  }
}

interface ExecuteCall {
  readonly payloads: readonly string[];
  resolve(results: readonly string[]): void;
  reject(error: unknown): void;
  /** Resolves with `out:<payload>` for every request, in order. */
  echo(): void;
}

type Settled<T> =
  | { readonly status: 'pending' }
  | { readonly status: 'resolved'; readonly value: T }
  | { readonly status: 'rejected'; readonly error: unknown };

/** Observes a promise without awaiting it, so a test can assert it has not settled yet. */
function track<T>(promise: Promise<T>): { readonly state: Settled<T> } {
  const tracked: { state: Settled<T> } = { state: { status: 'pending' } };
  promise.then(
    (value) => (tracked.state = { status: 'resolved', value }),
    (error: unknown) => (tracked.state = { status: 'rejected', error }),
  );
  return tracked;
}

/** Lets settled executions and request promises run their callbacks. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function request(
  payload: string,
  { rows = 1, shapeKey = 'fp32[3]', deadline = null }: Partial<Omit<BatchRequest<string>, 'payload'>> = {},
): BatchRequest<string> {
  return { payload, rows, shapeKey, deadline };
}

function setup(overrides: Partial<DynamicBatcherOptions<string, string>> = {}) {
  const clock = new FakeClock();
  const calls: ExecuteCall[] = [];
  const batches: BatchInfo[] = [];
  const batcher: DynamicBatcher<string, string> = createDynamicBatcher<string, string>({
    maxBatchSize: 4,
    maxQueueDelayMicros: 10_000, // 10 ms
    maxQueueSize: 100,
    instances: 1,
    clock,
    execute: (batch) =>
      new Promise((resolve, reject) => {
        const payloads = batch.map((r) => r.payload);
        calls.push({ payloads, resolve, reject, echo: () => resolve(payloads.map((p) => `out:${p}`)) });
      }),
    onBatch: (info) => batches.push(info),
    ...overrides,
  });
  const submit = (payload: string, options?: Partial<Omit<BatchRequest<string>, 'payload'>>) =>
    batcher.submit(request(payload, options));
  const call = (index: number): ExecuteCall => {
    const found = calls[index];
    if (!found) throw new Error(`execute was called ${calls.length} times; expected call #${index}`);
    return found;
  };
  return { clock, calls, call, batches, batcher, submit };
}

describe('createDynamicBatcher', () => {
  it('should dispatch a full batch at once and resolve each request with its own result', async () => {
    const { clock, calls, call, batcher, submit } = setup();

    const results = ['a', 'b', 'c', 'd'].map((p) => submit(p));

    expect(calls.map((c) => c.payloads)).toEqual([['a', 'b', 'c', 'd']]);
    expect(batcher.pending).toBe(0);
    expect(batcher.executing).toBe(1);
    call(0).resolve(['A', 'B', 'C', 'D']);
    await expect(Promise.all(results)).resolves.toEqual(['A', 'B', 'C', 'D']);
    expect(batcher.executing).toBe(0);
    expect(clock.activeTimers).toBe(0);
  });

  it('should dispatch at once when the next request would not fit, without splitting it', async () => {
    const { clock, calls, call, submit } = setup({ instances: 2 });

    void submit('a', { rows: 3 });
    void submit('b', { rows: 3 });

    expect(calls.map((c) => c.payloads)).toEqual([['a']]);
    clock.advance(9);
    expect(calls).toHaveLength(1);
    clock.advance(1);
    expect(calls.map((c) => c.payloads)).toEqual([['a'], ['b']]);
    call(0).echo();
    call(1).echo();
    await flush();
    expect(clock.activeTimers).toBe(0);
  });

  it('should wait for the queue delay, measured from the oldest queued request', async () => {
    const { clock, calls, call, batches, submit } = setup();

    const a = submit('a');
    clock.advance(6);
    const b = submit('b');
    clock.advance(3.5);
    expect(calls).toHaveLength(0);
    clock.advance(0.5);

    expect(calls.map((c) => c.payloads)).toEqual([['a', 'b']]);
    call(0).echo();
    await expect(Promise.all([a, b])).resolves.toEqual(['out:a', 'out:b']);
    expect(batches[0]?.queueMicros).toEqual([10_000, 4_000]);
  });

  it('should dispatch as soon as an instance is free when the queue delay is 0', () => {
    const { calls, submit } = setup({ maxQueueDelayMicros: 0 });

    void submit('a');

    expect(calls.map((c) => c.payloads)).toEqual([['a']]);
  });

  it('should dispatch a preferred batch size at once, without waiting for the delay', () => {
    const { calls, submit } = setup({ maxBatchSize: 8, preferredBatchSizes: [2, 4] });

    void submit('a');
    expect(calls).toHaveLength(0);
    void submit('b');

    expect(calls.map((c) => c.payloads)).toEqual([['a', 'b']]);
  });

  it('should dispatch the largest achievable preferred batch size when an instance frees up', async () => {
    const { clock, calls, call, submit } = setup({ maxBatchSize: 8, preferredBatchSizes: [2, 4] });
    void submit('busy', { rows: 8 });
    for (const p of ['a', 'b', 'c', 'd', 'e']) void submit(p);

    call(0).echo();
    await flush();
    expect(calls.map((c) => c.payloads)).toEqual([['busy'], ['a', 'b', 'c', 'd']]);

    call(1).echo();
    await flush();
    expect(calls).toHaveLength(2);
    clock.advance(10);
    expect(calls[2]?.payloads).toEqual(['e']);
  });

  it('should not treat a preferred size as reached when only splitting a request would reach it', () => {
    const { clock, calls, submit } = setup({ maxBatchSize: 8, preferredBatchSizes: [4] });

    void submit('a', { rows: 3 });
    void submit('b', { rows: 3 });
    clock.advance(9);
    expect(calls).toHaveLength(0);
    clock.advance(1);

    expect(calls.map((c) => c.payloads)).toEqual([['a', 'b']]);
  });

  it('should run at most `instances` batches at once and form the next batch the moment one frees up', async () => {
    const { clock, calls, call, batcher, submit } = setup({ maxBatchSize: 2, instances: 2 });

    for (const p of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) void submit(p);
    expect(calls.map((c) => c.payloads)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    expect(batcher.executing).toBe(2);
    expect(batcher.pending).toBe(3);

    call(0).echo();
    await flush();
    expect(calls[2]?.payloads).toEqual(['e', 'f']);
    expect(batcher.executing).toBe(2);

    // g's delay runs out while every instance is busy; it goes as soon as one frees up.
    clock.advance(20);
    expect(calls).toHaveLength(3);
    call(1).echo();
    await flush();
    expect(calls[3]?.payloads).toEqual(['g']);
  });

  it('should never mix shape keys in one batch', async () => {
    const { clock, calls, call, submit } = setup();

    void submit('x1', { shapeKey: 'x' });
    void submit('y1', { shapeKey: 'y' });
    void submit('x2', { shapeKey: 'x' });
    void submit('y2', { shapeKey: 'y' });
    clock.advance(10);
    call(0).echo();
    await flush();

    expect(calls.map((c) => c.payloads)).toEqual([
      ['x1', 'x2'],
      ['y1', 'y2'],
    ]);
  });

  it('should serve the oldest request first, so a busy shape key cannot starve another', async () => {
    const { clock, calls, call, submit } = setup({ maxBatchSize: 2 });
    void submit('x1', { shapeKey: 'x' });
    void submit('x2', { shapeKey: 'x' });
    void submit('y1', { shapeKey: 'y' });
    for (const p of ['x3', 'x4', 'x5', 'x6']) void submit(p, { shapeKey: 'x' });

    call(0).echo();
    await flush();
    // The instance stays free for y1 until its delay is up, although full x batches are waiting.
    expect(calls).toHaveLength(1);
    clock.advance(10);
    call(1).echo();
    await flush();
    call(2).echo();
    await flush();

    expect(calls.map((c) => c.payloads)).toEqual([['x1', 'x2'], ['y1'], ['x3', 'x4'], ['x5', 'x6']]);
  });

  it('should let a younger full batch use a spare instance while keeping one free for the oldest group', async () => {
    const { clock, calls, call, submit } = setup({ maxBatchSize: 2, instances: 2 });

    void submit('x1', { shapeKey: 'x' });
    void submit('y1', { shapeKey: 'y' });
    void submit('y2', { shapeKey: 'y' });
    void submit('z1', { shapeKey: 'z' });
    void submit('z2', { shapeKey: 'z' });
    expect(calls.map((c) => c.payloads)).toEqual([['y1', 'y2']]);

    clock.advance(10);
    expect(calls.map((c) => c.payloads)).toEqual([['y1', 'y2'], ['x1']]);
    call(0).echo();
    await flush();
    expect(calls[2]?.payloads).toEqual(['z1', 'z2']);
  });

  it('should reject with QueueFullError at once when the queue is full, and accept again once it drains', async () => {
    const { calls, call, batcher, submit } = setup({ maxBatchSize: 2, maxQueueSize: 2 });
    void submit('busy1');
    void submit('busy2');
    void submit('a');
    void submit('b');

    const rejected = submit('c');
    await expect(rejected).rejects.toThrow(QueueFullError);
    await expect(rejected).rejects.toThrow('The inference queue is full (2 requests waiting); retry later');
    expect(batcher.pending).toBe(2);

    call(0).echo();
    await flush();
    expect(calls[1]?.payloads).toEqual(['a', 'b']);
    void submit('d');
    expect(batcher.pending).toBe(1);
  });

  it('should admit a request into a full queue when it completes a batch that runs at once', async () => {
    const { calls, batcher, submit } = setup({ maxBatchSize: 2, maxQueueSize: 1 });

    void submit('a');
    const b = submit('b');

    expect(calls.map((c) => c.payloads)).toEqual([['a', 'b']]);
    expect(batcher.pending).toBe(0);
    calls[0]?.echo();
    await expect(b).resolves.toBe('out:b');
  });

  it('should not count requests past their deadline against the queue size', async () => {
    const { clock, calls, call, batcher, submit } = setup({ maxBatchSize: 2, maxQueueSize: 1 });
    void submit('busy1');
    void submit('busy2');
    const stale = submit('stale', { deadline: 5 });

    clock.jump(6); // the deadline timer has not fired yet
    const fresh = submit('fresh');

    await expect(stale).rejects.toThrow(DeadlineExceededError);
    expect(batcher.pending).toBe(1);
    call(0).echo();
    clock.advance(10);
    await flush();
    expect(calls[1]?.payloads).toEqual(['fresh']);
    call(1).echo();
    await expect(fresh).resolves.toBe('out:fresh');
  });

  it('should reject a request with more rows than maxBatchSize with BatchTooLargeError', async () => {
    const { calls, batcher, submit } = setup({ maxBatchSize: 4 });

    const rejected = submit('big', { rows: 5 });

    await expect(rejected).rejects.toThrow(BatchTooLargeError);
    await expect(rejected).rejects.toThrow(
      "A request may hold at most 4 rows (the model's max batch size); got 5",
    );
    expect(calls).toHaveLength(0);
    expect(batcher.pending).toBe(0);
  });

  it('should reject a request whose rows are not a positive integer', async () => {
    const { submit } = setup();

    await expect(submit('empty', { rows: 0 })).rejects.toThrow('rows must be a positive integer; got 0');
  });

  it('should reject a queued request when its deadline passes, without running it', async () => {
    const { clock, calls, call, batcher, submit } = setup({ maxBatchSize: 2 });
    void submit('busy1');
    void submit('busy2');
    const late = track(submit('late', { deadline: 3 }));
    void submit('patient');

    clock.advance(2.5);
    await flush();
    expect(late.state.status).toBe('pending');
    clock.advance(0.5);
    await flush();

    expect(late.state).toEqual({ status: 'rejected', error: expect.any(DeadlineExceededError) });
    expect(batcher.pending).toBe(1);
    call(0).echo();
    clock.advance(10);
    await flush();
    expect(calls[1]?.payloads).toEqual(['patient']);
  });

  it('should reject at submit a request that could not finish before its deadline, per the estimate', async () => {
    const { calls, batcher, submit } = setup({ estimateExecutionMs: (rows) => rows * 2 });

    const rejected = submit('a', { rows: 2, deadline: 3 });

    await expect(rejected).rejects.toThrow(DeadlineExceededError);
    await expect(rejected).rejects.toThrow(
      "The request's deadline is 3 ms away, but a batch of 2 rows is estimated to take 4 ms; it was not run",
    );
    expect(calls).toHaveLength(0);
    expect(batcher.pending).toBe(0);
  });

  it('should reject a queued request once it can no longer finish in time, before its deadline', async () => {
    const { clock, submit } = setup({ maxBatchSize: 2, estimateExecutionMs: () => 3 });
    void submit('busy1');
    void submit('busy2');
    const hopeless = track(submit('a', { deadline: 10 }));

    clock.advance(6.5);
    await flush();
    expect(hopeless.state.status).toBe('pending');
    clock.advance(0.5);
    await flush();

    expect(hopeless.state).toEqual({ status: 'rejected', error: expect.any(DeadlineExceededError) });
  });

  it('should drop at dispatch a request its batch would finish too late for, and batch the rest', async () => {
    const { clock, calls, submit } = setup({ estimateExecutionMs: (rows) => rows * 2 });

    // Alone, `tight` would finish at 2 ms; in the full batch of 4 rows only at 8 ms.
    const tight = submit('tight', { deadline: 5 });
    for (const p of ['b', 'c', 'd']) void submit(p);

    await expect(tight).rejects.toThrow(
      "The request's deadline is 5 ms away, but a batch of 4 rows is estimated to take 8 ms; it was not run",
    );
    expect(calls).toHaveLength(0);
    clock.advance(10);
    expect(calls.map((c) => c.payloads)).toEqual([['b', 'c', 'd']]);
  });

  it('should estimate the execution time from completed batches when no estimate is given', async () => {
    const { clock, calls, call, submit } = setup({ maxQueueDelayMicros: 0 });
    void submit('first');
    clock.advance(4);
    call(0).echo();
    await flush();

    await expect(submit('hopeless', { deadline: clock.now() + 3 })).rejects.toThrow(
      'a batch of 1 rows is estimated to take 4 ms',
    );
    void submit('feasible', { deadline: clock.now() + 5 });
    expect(calls.map((c) => c.payloads)).toEqual([['first'], ['feasible']]);
  });

  it('should reject every request of a batch with the error of execute, and keep working', async () => {
    const { call, batches, submit } = setup({ maxBatchSize: 2 });
    const failed = [submit('a'), submit('b')];
    const boom = new Error('ORT session failed');

    call(0).reject(boom);

    for (const result of failed) await expect(result).rejects.toBe(boom);
    const ok = [submit('c'), submit('d')];
    call(1).echo();
    await expect(Promise.all(ok)).resolves.toEqual(['out:c', 'out:d']);
    expect(batches.map((b) => b.outcome)).toEqual(['failed', 'succeeded']);
  });

  it('should reject every request of a batch when execute throws synchronously', async () => {
    const boom = new Error('bad input tensor');
    const { batcher } = setup({
      maxBatchSize: 2,
      execute: () => {
        throw boom;
      },
    });

    const results = [batcher.submit(request('a')), batcher.submit(request('b'))];

    for (const result of results) await expect(result).rejects.toBe(boom);
    expect(batcher.executing).toBe(0);
  });

  it('should reject every request with ResultCountMismatchError when execute returns the wrong number of results', async () => {
    const { call, submit } = setup({ maxBatchSize: 2 });
    const results = [submit('a'), submit('b')];

    call(0).resolve(['only one']);

    for (const result of results) {
      await expect(result).rejects.toThrow(ResultCountMismatchError);
      await expect(result).rejects.toThrow(
        'execute must resolve with one result per request, in order: expected 2 results, got 1',
      );
    }
  });

  it('should drain queued and executing work on close, without waiting for the queue delay', async () => {
    const { clock, calls, call, batcher, submit } = setup({ maxBatchSize: 2 });
    void submit('busy1');
    void submit('busy2');
    const queued = submit('queued');

    const closed = track(batcher.close());
    await expect(submit('late')).rejects.toThrow(BatcherClosedError);
    call(0).echo();
    await flush();
    expect(calls[1]?.payloads).toEqual(['queued']);
    expect(closed.state.status).toBe('pending');
    call(1).echo();
    await flush();

    expect(closed.state.status).toBe('resolved');
    await expect(queued).resolves.toBe('out:queued');
    await expect(batcher.close()).resolves.toBeUndefined();
    expect(clock.activeTimers).toBe(0);
  });

  it('should resolve close at once when idle and reject later submits with BatcherClosedError', async () => {
    const { batcher, submit } = setup();

    await batcher.close();

    await expect(submit('a')).rejects.toThrow('The batcher is shutting down and accepts no more requests');
  });

  it.each([0, 1])(
    'should run each request alone, in arrival order and with no delay, when maxBatchSize is %i',
    async (maxBatchSize) => {
      const { call, calls, submit } = setup({ maxBatchSize });

      const results = [
        submit('a', { rows: 5, shapeKey: 'x' }),
        submit('b', { shapeKey: 'y' }),
        submit('c', { shapeKey: 'x' }),
      ];
      for (let index = 0; index < 3; index += 1) {
        call(index).echo();
        await flush();
      }

      expect(calls.map((c) => c.payloads)).toEqual([['a'], ['b'], ['c']]);
      await expect(Promise.all(results)).resolves.toEqual(['out:a', 'out:b', 'out:c']);
    },
  );

  it('should report each batch with its size, rows, queue times and execution time', async () => {
    const { clock, call, batches, submit } = setup({ maxBatchSize: 4 });

    void submit('a', { rows: 1 });
    clock.advance(0.25);
    void submit('b', { rows: 3 });
    clock.advance(3);
    call(0).echo();
    await flush();

    expect(batches).toEqual([
      { size: 2, rows: 4, queueMicros: [250, 0], executeMicros: 3000, outcome: 'succeeded' },
    ]);
  });

  it.each<[string, Partial<DynamicBatcherOptions<string, string>>, string]>([
    ['a negative maxBatchSize', { maxBatchSize: -1 }, 'maxBatchSize must be a non-negative integer; got -1'],
    ['a preferred size above maxBatchSize', { preferredBatchSizes: [8] }, 'preferredBatchSizes must be'],
    [
      'preferred sizes with batching off',
      { maxBatchSize: 1, preferredBatchSizes: [1] },
      'preferredBatchSizes need batching on',
    ],
    ['a negative queue delay', { maxQueueDelayMicros: -1 }, 'maxQueueDelayMicros must be'],
    ['a queue size of 0', { maxQueueSize: 0 }, 'maxQueueSize must be a positive integer or Infinity; got 0'],
    ['0 instances', { instances: 0 }, 'instances must be a positive integer; got 0'],
  ])('should refuse %s, naming the option', (_case, overrides, message) => {
    expect(() => setup(overrides)).toThrow(message);
  });

  it('should give every error a kind for one exhaustive conversion to transport statuses', () => {
    const errors: BatcherError[] = [
      new QueueFullError(1),
      new DeadlineExceededError('late'),
      new BatcherClosedError(),
      new BatchTooLargeError(5, 4),
      new ResultCountMismatchError(2, null),
    ];

    expect(errors.every((e) => e instanceof BatcherError && e instanceof Error)).toBe(true);
    expect(errors.map((e) => [e.name, e.kind])).toEqual([
      ['QueueFullError', 'queue-full'],
      ['DeadlineExceededError', 'deadline-exceeded'],
      ['BatcherClosedError', 'closed'],
      ['BatchTooLargeError', 'batch-too-large'],
      ['ResultCountMismatchError', 'result-count-mismatch'],
    ]);
  });

  it('should batch on the system clock when no clock is given, leaving no timers behind', async () => {
    const batcher = createDynamicBatcher<string, string>({
      maxBatchSize: 4,
      maxQueueDelayMicros: 1_000, // 1 ms of real time: the one unavoidable wait
      maxQueueSize: 10,
      instances: 1,
      execute: async (batch) => batch.map((r) => `out:${r.payload}`),
    });

    const results = await Promise.all([batcher.submit(request('a')), batcher.submit(request('b'))]);
    await batcher.close();

    expect(results).toEqual(['out:a', 'out:b']);
  });
});
