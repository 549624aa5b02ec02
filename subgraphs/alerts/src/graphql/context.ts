import type { Logger, PubSub, RequestContextBase } from '@mlops/runtime';
import type { Database } from '@mlops/runtime/database';
import type { AlertOperations } from '../operations';
import type { SilenceRecord } from '../store/records';

export interface AlertsContext extends RequestContextBase {
  readonly db: Database;
  readonly operations: AlertOperations;
  readonly pubsub: PubSub;
  /** The pub/sub channel of alert events. */
  readonly channel: string;
  readonly catchupIntervalMs: number;
  readonly logger: Logger;
  /** Silences in force now; read at most once a second per context. */
  activeSilences(): Promise<readonly SilenceRecord[]>;
}
