import { createEventQueue } from '@mlops/runtime';

async function drain<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const seen: T[] = [];
  for await (const value of iterable) seen.push(value);
  return seen;
}

describe('createEventQueue', () => {
  it('should hand events to a waiting consumer in order and finish after end()', async () => {
    const queue = createEventQueue<number>({ capacity: 2 });
    const consumed = drain(queue);
    for (let i = 0; i < 10; i++) {
      expect(queue.push(i)).toBe(true);
      await Promise.resolve();
    }
    queue.end();

    expect(await consumed).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('should deliver what it holds before ending', async () => {
    const queue = createEventQueue<string>({ capacity: 3 });
    queue.push('a');
    queue.push('b');
    queue.end();

    expect(queue.push('c')).toBe(false);
    expect(await drain(queue)).toEqual(['a', 'b']);
  });

  it('should refuse the push past capacity, drop what it held and report the overflow once', async () => {
    const overflows: number[] = [];
    const closes: number[] = [];
    const queue = createEventQueue<number>({
      capacity: 2,
      onOverflow: () => overflows.push(1),
      onClose: () => closes.push(1),
    });
    expect(queue.push(1)).toBe(true);
    expect(queue.push(2)).toBe(true);

    expect(queue.push(3)).toBe(false);
    expect(queue.push(4)).toBe(false);
    expect(overflows).toHaveLength(1);
    expect(closes).toHaveLength(1);
    expect(queue.size).toBe(0);
    expect(await queue.next()).toEqual({ value: undefined, done: true });
  });

  it('should reject the next pull with the failure after the held events', async () => {
    const queue = createEventQueue<number>({ capacity: 5 });
    queue.push(1);
    queue.fail(new Error('upstream gone'));

    expect(await queue.next()).toEqual({ value: 1, done: false });
    await expect(queue.next()).rejects.toThrow('upstream gone');
    expect(await queue.next()).toEqual({ value: undefined, done: true });
  });

  it('should close when the consumer returns early and release a pending pull', async () => {
    let closed = 0;
    const queue = createEventQueue<number>({ capacity: 5, onClose: () => (closed += 1) });
    const pending = queue.next();

    await queue.return();

    expect(await pending).toEqual({ value: undefined, done: true });
    expect(closed).toBe(1);
    expect(queue.push(1)).toBe(false);
  });
});
