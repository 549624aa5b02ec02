import { toNumber } from '@mlops/runtime/database';
import type { WeightedVersion } from '../domain/revision-spec';
import { stateFromColumns } from '../domain/revision-state';
import type { RevisionKind, RevisionPhase, RevisionState, Strategy } from '../domain/revision-state';

/** Rows as the store returns them: camelCase, times in epoch milliseconds. */
export interface PoolRecord {
  readonly name: string;
  readonly createdAt: number;
}

export type ProbeStatus = 'UP' | 'DOWN';

export interface EndpointRecord {
  readonly id: string;
  readonly poolName: string;
  readonly grpcAddress: string;
  readonly lastHeartbeatAt: number;
  /** The last ServerReady probe; null before the first. */
  readonly probe: {
    readonly status: ProbeStatus;
    readonly message: string | null;
    readonly at: number;
  } | null;
  readonly createdAt: number;
}

export interface DeploymentRecord {
  readonly name: string;
  readonly poolName: string;
  readonly currentRevision: number;
  readonly createdAt: number;
}

export interface RevisionRecord {
  readonly deploymentName: string;
  readonly number: number;
  readonly kind: RevisionKind;
  readonly strategy: Strategy;
  readonly state: RevisionState;
  readonly models: readonly WeightedVersion[];
  readonly createdAt: number;
  readonly activatedAt: number | null;
  readonly supersededAt: number | null;
}

type Row = Record<string, unknown>;

const nullableNumber = (value: unknown): number | null =>
  value === null || value === undefined ? null : toNumber(value);

export function toPoolRecord(row: Row): PoolRecord {
  return { name: String(row.name), createdAt: toNumber(row.created_at) };
}

export function toEndpointRecord(row: Row): EndpointRecord {
  return {
    id: String(row.id),
    poolName: String(row.pool_name),
    grpcAddress: String(row.grpc_address),
    lastHeartbeatAt: toNumber(row.last_heartbeat_at),
    probe:
      row.probe_status === null || row.probe_status === undefined
        ? null
        : {
            status: row.probe_status as ProbeStatus,
            message: row.probe_message === null ? null : String(row.probe_message),
            at: toNumber(row.probed_at),
          },
    createdAt: toNumber(row.created_at),
  };
}

export function toDeploymentRecord(row: Row): DeploymentRecord {
  return {
    name: String(row.name),
    poolName: String(row.pool_name),
    currentRevision: toNumber(row.current_revision),
    createdAt: toNumber(row.created_at),
  };
}

export function toRevisionRecord(row: Row, models: readonly WeightedVersion[]): RevisionRecord {
  const activatedAt = nullableNumber(row.activated_at);
  return {
    deploymentName: String(row.deployment_name),
    number: toNumber(row.number),
    kind: row.kind as RevisionKind,
    strategy: row.strategy as Strategy,
    state: stateFromColumns(
      row.status as RevisionPhase,
      row.status_message === null ? null : String(row.status_message),
      activatedAt,
    ),
    models,
    createdAt: toNumber(row.created_at),
    activatedAt,
    supersededAt: nullableNumber(row.superseded_at),
  };
}

export function toWeightedVersion(row: Row): WeightedVersion {
  return { modelName: String(row.model_name), version: toNumber(row.version), weight: toNumber(row.weight) };
}
