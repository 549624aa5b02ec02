import type { ExperimentRecord, MetricPoint, RunRecord } from '../store/records';
import type { Experiment, LifecycleStage, Metric, Run } from './types';

const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

export function toExperimentNode(record: ExperimentRecord): Experiment {
  return {
    id: record.id,
    name: record.name,
    lifecycleStage: record.lifecycleStage as LifecycleStage,
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
  };
}

export function toRunNode(record: RunRecord): Run {
  return {
    id: record.id,
    experimentId: record.experimentId,
    name: record.name,
    status: record.status,
    startTime: date(record.startTime),
    endTime: date(record.endTime),
    lifecycleStage: record.lifecycleStage as LifecycleStage,
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
  };
}

export function toMetricNode(point: MetricPoint): Metric {
  return { key: point.key, value: point.value, timestamp: new Date(point.timestamp), step: point.step };
}

/** GraphQL dates arrive as Date; the store speaks epoch milliseconds. */
export function epochMs(value: Date | null | undefined): number | null {
  return value == null ? null : value.getTime();
}
