import { endpointHealth } from '../store/pools';
import type { DeploymentRecord, EndpointRecord, PoolRecord, RevisionRecord } from '../store/records';
import type { Deployment, DeploymentRevision, ServingEndpoint, ServingPool } from './types';

const date = (ms: number | null) => (ms === null ? null : new Date(ms));

export function toPoolNode(record: PoolRecord): ServingPool {
  return { name: record.name, createdAt: new Date(record.createdAt) };
}

export function toEndpointNode(
  record: EndpointRecord,
  now: number,
  heartbeatTimeoutMs: number,
  reconcileStatus: string | null = null,
): ServingEndpoint {
  const health = endpointHealth(record, now, heartbeatTimeoutMs);
  return {
    id: record.id,
    pool: record.poolName,
    grpcAddress: record.grpcAddress,
    status: health.status,
    statusReason: health.reason ?? reconcileStatus,
    lastHeartbeatAt: new Date(record.lastHeartbeatAt),
    lastProbedAt: date(record.probe?.at ?? null),
  };
}

export function toDeploymentNode(record: DeploymentRecord): Deployment {
  return {
    name: record.name,
    poolName: record.poolName,
    currentRevisionNumber: record.currentRevision,
    createdAt: new Date(record.createdAt),
  };
}

export function toRevisionNode(record: RevisionRecord): DeploymentRevision {
  return {
    deploymentName: record.deploymentName,
    number: record.number,
    kind: record.kind,
    strategy: record.strategy,
    status: record.state.phase,
    statusMessage: record.state.phase === 'FAILED' ? record.state.reason : null,
    models: record.models.map((m) => ({ ...m })),
    createdAt: new Date(record.createdAt),
    activatedAt: date(record.activatedAt),
    supersededAt: date(record.supersededAt),
  };
}
