import type { PerformancePoint as PointRecord } from '../domain/performance';
import type { PerformanceSummaryRecord } from '../store/performance';
import type { StrategyRecord } from '../store/records';
import type { PerformancePoint, PerformanceSummary, TradingStrategy } from './types';

export function toStrategyNode(record: StrategyRecord): TradingStrategy {
  return {
    id: record.id,
    name: record.name,
    description: record.description,
    deploymentName: record.deploymentName,
    createdAt: new Date(record.createdAt),
  };
}

export function toPointNode(record: PointRecord): PerformancePoint {
  return { at: new Date(record.at), equity: record.equity, volume: record.volume };
}

export function toSummaryNode(record: PerformanceSummaryRecord): PerformanceSummary {
  return {
    from: new Date(record.from),
    to: new Date(record.to),
    count: record.count,
    totalReturn: record.totalReturn,
    pnl: record.pnl,
    volume: record.volume,
    sharpe: record.sharpe,
    maxDrawdown: record.maxDrawdown,
    periodsPerYear: record.periodsPerYear,
    points: record.points.map(toPointNode),
  };
}
