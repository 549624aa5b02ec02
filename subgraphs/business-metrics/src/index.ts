export { readBusinessMetricsConfig } from './config';
export type { BusinessMetricsConfig } from './config';
export { startBusinessMetricsService } from './service';
export type { BusinessMetricsService, BusinessMetricsServiceOptions } from './service';
export { buildBusinessMetricsSchema, printSubgraphSdl } from './graphql/schema';
export { DEFAULT_EVENTS_CHANNEL } from './events/performance-publisher';
export {
  DEFAULT_PERIODS_PER_YEAR,
  maxDrawdown,
  periodReturns,
  sharpeRatio,
  summarize,
} from './domain/performance';
export type { PerformancePoint, PerformanceStats } from './domain/performance';
export { MAX_POINTS_PER_BATCH, MAX_WINDOW_POINTS } from './domain/limits';
