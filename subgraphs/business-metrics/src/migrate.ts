import { runMigrateCommand } from '@mlops/runtime/database';
import { createBusinessMetricsOrm } from './store/orm';

/** `npm run migrate` and the migration Job: applies pending migrations and exits (see `runMigrateCommand`). */
runMigrateCommand('business-metrics', createBusinessMetricsOrm);
