import { Redis } from 'ioredis';
import type { Logger } from './logger';

/**
 * Fan-out of string messages between service replicas. Delivery is at most once: a message
 * published while a subscriber is disconnected is lost, and `onReconnect` tells the subscriber so
 * that it can catch up from its own store.
 */
export interface PubSub {
  /** Rejects when the broker cannot take the message (after the client's retries). */
  publish(channel: string, message: string): Promise<void>;
  /**
   * Resolves once the subscription is active (Redis SUBSCRIBE acknowledged); returns an unsubscribe.
   * Rejects when the broker cannot be reached.
   */
  subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>>;
  /** Called after the connection to the broker is re-established (messages may have been lost). */
  onReconnect(listener: () => void): () => void;
  /** Stops delivering and disconnects; idempotent. */
  close(): Promise<void>;
}

export interface PubSubOptions {
  /**
   * `redis://…`: one publisher and one subscriber connection shared by every channel of the process.
   * Undefined: an in-process bus (one replica only; messages never leave the process).
   */
  readonly redisUrl: string | undefined;
  readonly logger: Logger;
  /** The Redis `CLIENT SETNAME` of both connections, as operators see it in `CLIENT LIST`; default `mlops-pubsub`. */
  readonly clientName?: string;
}

type Listener = (message: string) => void;

export function createPubSub(options: PubSubOptions): PubSub {
  return options.redisUrl
    ? createRedisPubSub(options.redisUrl, options.logger, options.clientName ?? 'mlops-pubsub')
    : createInProcessPubSub(options.logger);
}

/** Calls each listener on its own, so one that throws neither stops the others nor the caller. */
function deliver(listeners: Iterable<Listener>, message: string, logger: Logger): void {
  for (const listener of [...listeners]) {
    try {
      listener(message);
    } catch (error) {
      logger.error({ err: error }, 'pubsub listener failed');
    }
  }
}

function createInProcessPubSub(logger: Logger): PubSub {
  const channels = new Map<string, Set<Listener>>();
  let closed = false;
  return {
    async publish(channel, message) {
      if (closed) throw new Error('PubSub is closed');
      const listeners = channels.get(channel);
      // Asynchronous like a broker: a publisher never runs subscriber code inside its own call.
      if (listeners) setImmediate(() => deliver(listeners, message, logger));
    },
    async subscribe(channel, listener) {
      if (closed) throw new Error('PubSub is closed');
      // A fresh function per subscription, so subscribing the same listener twice is two subscriptions.
      const entry: Listener = (message) => listener(message);
      const listeners = channels.get(channel) ?? new Set<Listener>();
      listeners.add(entry);
      channels.set(channel, listeners);
      return async () => {
        listeners.delete(entry);
        if (listeners.size === 0 && channels.get(channel) === listeners) channels.delete(channel);
      };
    },
    onReconnect: () => () => {},
    async close() {
      closed = true;
      channels.clear();
    },
  };
}

interface ChannelEntry {
  readonly listeners: Set<Listener>;
  /** Settles when Redis has acknowledged the SUBSCRIBE. */
  readonly active: Promise<void>;
}

type ConnectionPhase =
  | { readonly phase: 'never-ready' }
  | { readonly phase: 'ready' }
  | { readonly phase: 'lost' }
  | { readonly phase: 'closed' };

function createRedisPubSub(url: string, logger: Logger, clientName: string): PubSub {
  const connect = (role: string) =>
    new Redis(url, {
      lazyConnect: true,
      connectionName: `${clientName}-${role}`,
      maxRetriesPerRequest: 2,
      enableOfflineQueue: true,
      // Resubscribed by hand on 'ready', so that reconnect listeners run only once it is done.
      autoResubscribe: false,
      retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    });
  const publisher = connect('pub');
  const subscriber = connect('sub');
  const channels = new Map<string, ChannelEntry>();
  const reconnectListeners = new Set<() => void>();
  let state: ConnectionPhase = { phase: 'never-ready' };

  for (const [role, client] of [
    ['publisher', publisher],
    ['subscriber', subscriber],
  ] as const) {
    client.on('error', (error: Error) =>
      logger.warn({ err: error.message, role }, 'redis pubsub unavailable'),
    );
  }
  subscriber.on('message', (channel: string, message: string) => {
    const entry = channels.get(channel);
    if (entry) deliver(entry.listeners, message, logger);
  });
  subscriber.on('close', () => {
    if (state.phase === 'ready') state = { phase: 'lost' };
  });
  subscriber.on('ready', () => {
    const reconnected = state.phase === 'lost';
    if (state.phase === 'closed') return;
    state = { phase: 'ready' };
    if (!reconnected) return;
    const names = [...channels.keys()];
    void (async () => {
      try {
        if (names.length > 0) await subscriber.subscribe(...names);
      } catch (error) {
        // The connection dropped again; the next 'ready' retries.
        logger.warn({ err: (error as Error).message }, 'redis pubsub resubscribe failed');
        return;
      }
      logger.info({ channels: names.length }, 'redis pubsub reconnected');
      for (const listener of [...reconnectListeners]) {
        try {
          listener();
        } catch (error) {
          logger.error({ err: error }, 'pubsub reconnect listener failed');
        }
      }
    })();
  });

  const ensureConnected = async (client: Redis) => {
    // Lazy: the first command of a never-connected client connects it; `connect()` twice throws.
    if (client.status === 'wait') await client.connect().catch(() => undefined);
  };
  // A command waiting on a Redis that does not answer is not settled by ioredis when the client is
  // disconnected: `close()` rejects every such wait, so no caller hangs on a closed PubSub.
  const waiting = new Set<(error: Error) => void>();
  const untilClosed = <T>(operation: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      waiting.add(reject);
      operation.then(resolve, reject).finally(() => waiting.delete(reject));
    });

  return {
    async publish(channel, message) {
      if (state.phase === 'closed') throw new Error('PubSub is closed');
      await untilClosed(
        (async () => {
          await ensureConnected(publisher);
          await publisher.publish(channel, message);
        })(),
      );
    },
    async subscribe(channel, listener) {
      if (state.phase === 'closed') throw new Error('PubSub is closed');
      const entryListener: Listener = (message) => listener(message);
      let entry = channels.get(channel);
      if (!entry) {
        const created: ChannelEntry = {
          listeners: new Set(),
          active: untilClosed(
            (async () => {
              await ensureConnected(subscriber);
              await subscriber.subscribe(channel);
            })(),
          ),
        };
        entry = created;
        channels.set(channel, created);
        created.active.catch(() => {
          if (channels.get(channel) === created) channels.delete(channel);
        });
      }
      entry.listeners.add(entryListener);
      const current = entry;
      try {
        await current.active;
      } catch (error) {
        current.listeners.delete(entryListener);
        throw error;
      }
      return async () => {
        if (!current.listeners.delete(entryListener) || current.listeners.size > 0) return;
        if (channels.get(channel) !== current) return;
        channels.delete(channel);
        // Commands run in order on the connection, so a SUBSCRIBE issued after this one wins.
        await subscriber.unsubscribe(channel).catch((error: Error) => {
          logger.debug({ err: error.message, channel }, 'redis pubsub unsubscribe failed');
        });
      };
    },
    onReconnect(listener) {
      const entry = () => listener();
      reconnectListeners.add(entry);
      return () => void reconnectListeners.delete(entry);
    },
    async close() {
      if (state.phase === 'closed') return;
      state = { phase: 'closed' };
      channels.clear();
      reconnectListeners.clear();
      for (const reject of [...waiting]) reject(new Error('PubSub is closed'));
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}
