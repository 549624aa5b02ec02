import type { EventQueue, Logger } from '@mlops/runtime';
import { createEventQueue } from '@mlops/runtime';
import { startTestSubgraph } from './federation-subgraph';
import type { TestSubgraph } from './federation-subgraph';

/**
 * A small federation for subscription tests: a `ticker` subgraph serving `ticks(symbol:)` from a
 * topic the test publishes to, and a `catalog` subgraph resolving each tick's `Quote` entity.
 */
export const FEDERATION =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])';

export interface Tick {
  seq: number;
  symbol: string;
  note?: string;
}

/** The ticks every `ticks(symbol:)` subscription at the ticker subgraph receives. */
export class TickTopic {
  readonly subscribers = new Set<{ symbol: string; queue: EventQueue<Tick> }>();
  /** Every `ticks` subscription the subgraph started (what the gateway's sharing saves). */
  started = 0;

  open(symbol: string): AsyncIterable<{ ticks: Tick }> {
    this.started += 1;
    const entry = {
      symbol,
      queue: createEventQueue<Tick>({
        capacity: 100_000,
        onClose: () => this.subscribers.delete(entry),
      }),
    };
    this.subscribers.add(entry);
    const { queue } = entry;
    return {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          const step = await queue.next();
          return step.done ? step : { done: false, value: { ticks: step.value } };
        },
        return: async () => {
          await queue.return();
          return { done: true, value: undefined };
        },
      }),
    };
  }

  publish(tick: Tick): void {
    for (const subscriber of this.subscribers)
      if (subscriber.symbol === tick.symbol) subscriber.queue.push(tick);
  }

  async waitForSubscribers(count: number): Promise<void> {
    for (let i = 0; i < 500 && this.subscribers.size !== count; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(this.subscribers.size).toBe(count);
  }
}

export const NAMES: Record<string, string> = { ACME: 'Acme Corp', INIT: 'Initech' };
export const PRICES: Record<string, number> = { ACME: 101.5, INIT: 7.25 };

/** `logger`: where the ticker's HTTP and WebSocket servers log; default nowhere. */
export function startTicker(topic: TickTopic, logger?: Logger): Promise<TestSubgraph> {
  return startTestSubgraph({
    name: 'ticker',
    logger,
    sdl: `${FEDERATION}
      type Query { tickerStatus: String }
      type Subscription { ticks(symbol: String!): Tick! }
      type Tick { seq: Int!  note: String  quote: Quote! }
      type Quote @key(fields: "symbol") { symbol: String! }`,
    resolvers: {
      Query: { tickerStatus: () => 'ok' },
      Subscription: {
        ticks: { subscribe: (_: unknown, { symbol }: { symbol: string }) => topic.open(symbol) },
      },
      Tick: { quote: (tick: Tick) => ({ symbol: tick.symbol }) },
    } as never,
  });
}

export function startCatalog(): Promise<TestSubgraph> {
  return startTestSubgraph({
    name: 'catalog',
    sdl: `${FEDERATION}
      type Query { catalogSize: Int }
      type Quote @key(fields: "symbol") { symbol: String!  name: String! }`,
    resolvers: {
      Query: { catalogSize: () => Object.keys(NAMES).length },
      Quote: { __resolveReference: ({ symbol }: { symbol: string }) => ({ symbol, name: NAMES[symbol] }) },
    },
  });
}
