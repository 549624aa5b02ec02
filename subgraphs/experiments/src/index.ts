export { readExperimentsConfig } from './config';
export type { ExperimentsConfig, DatabaseConfig } from './config';
export { startExperimentsService } from './service';
export type { ExperimentsService, ExperimentsServiceOptions } from './service';
export { buildExperimentsSchema, printSubgraphSdl } from './graphql/schema';
export type { Clock } from '@mlops/runtime/database';
export { BATCH_LIMITS } from './store/limits';
