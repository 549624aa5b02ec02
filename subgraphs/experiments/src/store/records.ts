import { toNumber } from '@mlops/runtime/database';
import type { LifecycleStage, RunStatus } from '../entities';

/** Rows as the store returns them: camelCase, times in epoch milliseconds. */
export interface ExperimentRecord {
  readonly id: string;
  readonly name: string;
  readonly lifecycleStage: LifecycleStage;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface RunRecord {
  readonly id: string;
  readonly experimentId: string;
  readonly name: string;
  readonly status: RunStatus;
  readonly startTime: number | null;
  readonly endTime: number | null;
  readonly lifecycleStage: LifecycleStage;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

export interface MetricPoint {
  readonly key: string;
  readonly value: number;
  readonly timestamp: number;
  readonly step: number;
}

export interface DatasetInputRecord {
  readonly name: string;
  readonly digest: string;
  readonly sourceType: string;
  readonly source: string;
  readonly context: string;
}

type Row = Record<string, unknown>;

function toNullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : toNumber(value);
}

export function toExperimentRecord(row: Row): ExperimentRecord {
  return {
    id: String(row.id),
    name: String(row.name),
    lifecycleStage: row.lifecycle_stage as LifecycleStage,
    createdAt: toNumber(row.created_at),
    updatedAt: toNumber(row.updated_at),
  };
}

export function toRunRecord(row: Row): RunRecord {
  return {
    id: String(row.id),
    experimentId: String(row.experiment_id),
    name: String(row.name),
    status: row.status as RunStatus,
    startTime: toNullableNumber(row.start_time),
    endTime: toNullableNumber(row.end_time),
    lifecycleStage: row.lifecycle_stage as LifecycleStage,
    createdAt: toNumber(row.created_at),
    updatedAt: toNumber(row.updated_at),
  };
}

export function toMetricPoint(row: Row): MetricPoint {
  return {
    key: String(row.key),
    value: toNumber(row.value),
    timestamp: toNumber(row.timestamp),
    step: toNumber(row.step),
  };
}
