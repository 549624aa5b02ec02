import { runMigrateCommand } from '@mlops/runtime/database';
import { createModelsOrm } from './store/orm';

/** `npm run migrate` and the migration Job: applies pending migrations and exits (see `runMigrateCommand`). */
runMigrateCommand('models', createModelsOrm);
