import { createLogger, createPubSub } from '@mlops/runtime';
import type { PubSub } from '@mlops/runtime';

/** An in-process pub/sub that counts active subscriptions: tests wait until a subscriber is live. */
export interface CountingPubSub extends PubSub {
  subscriptions(): number;
}

export function createCountingPubSub(
  inner: PubSub = createPubSub({
    redisUrl: undefined,
    logger: createLogger({ service: 'test', level: 'silent' }),
  }),
): CountingPubSub {
  let active = 0;
  return {
    publish: (channel, message) => inner.publish(channel, message),
    async subscribe(channel, listener) {
      const unsubscribe = await inner.subscribe(channel, listener);
      active += 1;
      let done = false;
      return async () => {
        if (!done) active -= 1;
        done = true;
        await unsubscribe();
      };
    },
    onReconnect: (listener) => inner.onReconnect(listener),
    close: () => inner.close(),
    subscriptions: () => active,
  };
}
