import { toNumber } from '@mlops/runtime/database';
import type { PerformancePoint } from '../domain/performance';

/** A strategy as the store returns it: camelCase, times in epoch milliseconds. */
export interface StrategyRecord {
  readonly id: string;
  readonly name: string;
  readonly description: string | null;
  readonly deploymentName: string | null;
  readonly createdAt: number;
}

type Row = Record<string, unknown>;

const nullableString = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(value);

export function toStrategyRecord(row: Row): StrategyRecord {
  return {
    id: String(row.id),
    name: String(row.name),
    description: nullableString(row.description),
    deploymentName: nullableString(row.deployment_name),
    createdAt: toNumber(row.created_at),
  };
}

/** PostgreSQL answers BIGINT as a string; doubles come back exactly as stored on both backends. */
export function toPointRecord(row: Row): PerformancePoint {
  return { at: toNumber(row.at), equity: toNumber(row.equity), volume: toNumber(row.volume) };
}
