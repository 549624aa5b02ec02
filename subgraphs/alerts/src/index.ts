export { readAlertsConfig } from './config';
export type { AlertsConfig } from './config';
export { startAlertsService } from './service';
export type { AlertsService, AlertsServiceOptions } from './service';
export type { EvaluationSummary } from './evaluator';
export { buildAlertsSchema, printSubgraphSdl } from './graphql/schema';
export { DEFAULT_EVENTS_CHANNEL } from './events/event-publisher';
export type { AlertEventRecord } from './store/records';
export type { AlertEventType, AlertState, Comparison, Severity } from './domain/alert-lifecycle';
