import DataLoader from 'dataloader';
import type { Logger, PubSub, RequestContextBase } from '@mlops/runtime';
import type { Database } from '@mlops/runtime/database';
import type { StrategyOperations } from '../operations';
import type { StrategyRecord } from '../store/records';
import { strategiesOfDeployments } from '../store/strategies';

/**
 * Per-request batching: the gateway resolves `deployments { strategies }` as one `_entities` call
 * with every deployment, and each one's strategies would otherwise be a query of its own.
 */
export interface RequestLoaders {
  /** By deployment name; the strategies trading its predictions, by name. */
  readonly deploymentStrategies: DataLoader<string, StrategyRecord[]>;
}

export function createLoaders(db: Database): RequestLoaders {
  return {
    deploymentStrategies: new DataLoader(async (names) => {
      const found = await strategiesOfDeployments(db.knex, names);
      return names.map((name) => found.get(name) ?? []);
    }),
  };
}

export interface BusinessMetricsContext extends RequestContextBase {
  readonly db: Database;
  readonly operations: StrategyOperations;
  readonly pubsub: PubSub;
  /** The prefix of the per-strategy pub/sub channels. */
  readonly channelPrefix: string;
  readonly logger: Logger;
  readonly loaders: RequestLoaders;
}
