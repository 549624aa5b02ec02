import type { Database } from '@mlops/runtime/database';
import type { PerformancePublisher } from './events/performance-publisher';
import type { PointInput, RecordOutcome } from './store/performance';
import { recordPerformance, validatePoints } from './store/performance';
import type { StrategyRecord } from './store/records';
import type { StrategyInput } from './store/strategies';
import { createStrategy, deleteStrategy } from './store/strategies';

/** The mutations of the subgraph: those that change a series publish what they committed, after the commit. */
export interface StrategyOperations {
  createStrategy(input: StrategyInput): Promise<StrategyRecord>;
  /** Validates the whole batch, stores it all or nothing, then publishes the points it stored. */
  recordPerformance(strategy: string, points: readonly PointInput[]): Promise<RecordOutcome>;
  /** Deletes the strategy and its series; its live subscriptions complete. */
  deleteStrategy(name: string): Promise<StrategyRecord>;
}

export function createStrategyOperations(options: {
  readonly db: Database;
  readonly publisher: PerformancePublisher;
}): StrategyOperations {
  const { db, publisher } = options;
  return {
    createStrategy: (input) => createStrategy(db, input),
    async recordPerformance(strategy, points) {
      const outcome = await recordPerformance(db, strategy, validatePoints(points));
      if (outcome.recorded.length > 0) {
        await publisher.publish({
          kind: 'recorded',
          strategyId: outcome.strategy.id,
          points: outcome.recorded,
        });
      }
      return outcome;
    },
    async deleteStrategy(name) {
      const strategy = await deleteStrategy(db, name);
      await publisher.publish({ kind: 'deleted', strategyId: strategy.id });
      return strategy;
    },
  };
}
