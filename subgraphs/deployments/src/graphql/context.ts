import type { RequestContextBase } from '@mlops/runtime';
import type { Database } from '@mlops/runtime/database';
import type { EndpointProber } from '../controller/endpoint-prober';
import type { EndpointReconciler } from '../controller/endpoint-reconciler';
import type { DeploymentOperations } from '../operations';

export interface DeploymentsContext extends RequestContextBase {
  readonly db: Database;
  readonly operations: DeploymentOperations;
  readonly prober: EndpointProber;
  readonly reconciler: EndpointReconciler;
  readonly heartbeatTimeoutMs: number;
}
