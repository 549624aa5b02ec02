import { runMigrateCommand } from '@mlops/runtime/database';
import { createExperimentsOrm } from './store/orm';

/** `npm run migrate` and the migration Job: applies pending migrations and exits (see `runMigrateCommand`). */
runMigrateCommand('experiments', createExperimentsOrm);
