import type { Logger, PubSub, RequestContextBase } from '@mlops/runtime';
import type { Database } from '@mlops/runtime/database';
import type { StrategyOperations } from '../operations';

export interface BusinessMetricsContext extends RequestContextBase {
  readonly db: Database;
  readonly operations: StrategyOperations;
  readonly pubsub: PubSub;
  /** The prefix of the per-strategy pub/sub channels. */
  readonly channelPrefix: string;
  readonly logger: Logger;
}
