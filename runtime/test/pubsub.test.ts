import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createLogger, createPubSub } from '../src';
import type { PubSub } from '../src';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisAvailable = process.env.MLOPS_TEST_REDIS === 'available';
if (!redisAvailable) console.warn(`Skipping the Redis PubSub tests: Redis is not reachable at ${REDIS_URL}`);

const logger = createLogger({ service: 'pubsub-test', level: 'silent' });
const channel = () => `mlops:test:${randomBytes(6).toString('hex')}`;

/** Collects messages and resolves once `count` have arrived. */
function inbox() {
  const messages: string[] = [];
  const waiters: { count: number; resolve(): void }[] = [];
  return {
    messages,
    listener: (message: string) => {
      messages.push(message);
      for (const waiter of [...waiters]) {
        if (messages.length < waiter.count) continue;
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
    waitFor(count: number, timeoutMs = 5_000): Promise<string[]> {
      if (messages.length >= count) return Promise.resolve(messages.slice());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`got ${messages.length} of ${count} messages`)),
          timeoutMs,
        );
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(messages.slice());
          },
        });
      });
    },
  };
}

describe('createPubSub without Redis (in-process)', () => {
  let pubsub: PubSub;
  beforeEach(() => {
    pubsub = createPubSub({ redisUrl: undefined, logger });
  });
  afterEach(() => pubsub.close());

  it('should deliver to every listener of the channel, after publish returns, and to no other channel', async () => {
    const first = inbox();
    const second = inbox();
    const other = inbox();
    await pubsub.subscribe('a', first.listener);
    await pubsub.subscribe('a', second.listener);
    await pubsub.subscribe('b', other.listener);
    await pubsub.publish('a', 'one');
    expect(first.messages).toEqual([]);
    expect(await first.waitFor(1)).toEqual(['one']);
    expect(await second.waitFor(1)).toEqual(['one']);
    await pubsub.publish('b', 'two');
    expect(await other.waitFor(1)).toEqual(['two']);
    expect(first.messages).toEqual(['one']);
  });

  it('should stop delivering to a listener that unsubscribed, and keep the others', async () => {
    const gone = inbox();
    const kept = inbox();
    const unsubscribe = await pubsub.subscribe('a', gone.listener);
    await pubsub.subscribe('a', kept.listener);
    await unsubscribe();
    await pubsub.publish('a', 'one');
    await kept.waitFor(1);
    expect(gone.messages).toEqual([]);
  });

  it('should keep delivering to the others when one listener throws', async () => {
    const kept = inbox();
    await pubsub.subscribe('a', () => {
      throw new Error('listener bug');
    });
    await pubsub.subscribe('a', kept.listener);
    await pubsub.publish('a', 'one');
    expect(await kept.waitFor(1)).toEqual(['one']);
  });

  it('should refuse publish and subscribe once closed', async () => {
    await pubsub.close();
    await expect(pubsub.publish('a', 'x')).rejects.toThrow('PubSub is closed');
    await expect(pubsub.subscribe('a', () => undefined)).rejects.toThrow('PubSub is closed');
  });
});

(redisAvailable ? describe : describe.skip)('createPubSub over Redis', () => {
  let admin: Redis;
  const opened: PubSub[] = [];
  const open = (clientName = `mlops-test-${randomBytes(4).toString('hex')}`) => {
    const pubsub = createPubSub({ redisUrl: REDIS_URL, logger, clientName });
    opened.push(pubsub);
    return pubsub;
  };
  const subscribers = async (name: string) => {
    const [, count] = (await admin.call('PUBSUB', 'NUMSUB', name)) as [string, number];
    return Number(count);
  };

  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await Promise.all(opened.map((p) => p.close()));
    admin.disconnect();
  });

  it('should deliver a message published by one replica to the listeners of every replica', async () => {
    const name = channel();
    const [a, b] = [open(), open()];
    const onA = inbox();
    const onB = inbox();
    await a.subscribe(name, onA.listener);
    await b.subscribe(name, onB.listener);
    await a.publish(name, 'hello');
    expect(await onA.waitFor(1)).toEqual(['hello']);
    expect(await onB.waitFor(1)).toEqual(['hello']);
  });

  it('should hold one Redis SUBSCRIBE per channel for all local listeners, and drop it with the last', async () => {
    const name = channel();
    const pubsub = open();
    const first = await pubsub.subscribe(name, () => undefined);
    const second = await pubsub.subscribe(name, () => undefined);
    expect(await subscribers(name)).toBe(1);
    await first();
    expect(await subscribers(name)).toBe(1);
    await second();
    expect(await subscribers(name)).toBe(0);
  });

  it('should resubscribe after the connection is killed, then report the reconnect', async () => {
    const name = channel();
    const clientName = `mlops-test-${randomBytes(4).toString('hex')}`;
    const pubsub = open(clientName);
    const received = inbox();
    await pubsub.subscribe(name, received.listener);
    const reconnected = new Promise<number>((resolve) =>
      pubsub.onReconnect(() => void subscribers(name).then(resolve)),
    );
    // Kill just our subscriber connection (found by its name), never other suites' clients.
    const list = String(await admin.call('CLIENT', 'LIST'));
    const line = list.split('\n').find((l) => l.includes(`name=${clientName}-sub`));
    expect(line).toBeDefined();
    const id = /\bid=(\d+)/.exec(line!)![1]!;
    await admin.call('CLIENT', 'KILL', 'ID', id);
    // The reconnect listener runs only once Redis has the subscription again.
    expect(await reconnected).toBe(1);
    await open().publish(name, 'after');
    expect(await received.waitFor(1)).toEqual(['after']);
  });

  it('should settle publish and subscribe still waiting on an unreachable Redis when closed', async () => {
    const pubsub = createPubSub({ redisUrl: 'redis://127.0.0.1:1', logger });
    opened.push(pubsub);
    const publishing = pubsub.publish('a', 'x');
    const subscribing = pubsub.subscribe('a', () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await pubsub.close();
    await expect(publishing).rejects.toThrow('PubSub is closed');
    await expect(subscribing).rejects.toThrow('PubSub is closed');
  });

  it('should reject publish and subscribe when Redis cannot be reached, without crashing', async () => {
    const pubsub = createPubSub({ redisUrl: 'redis://127.0.0.1:1', logger });
    opened.push(pubsub);
    await expect(pubsub.publish('a', 'x')).rejects.toThrow();
    await expect(pubsub.subscribe('a', () => undefined)).rejects.toThrow();
  }, 20_000);
});
