export { Experiment, ExperimentTag } from './experiment.entity';
export type { LifecycleStage } from './experiment.entity';
export { Run, RunTag, Param, RunInput, RUN_STATUSES } from './run.entity';
export type { RunStatus } from './run.entity';
export { Metric, LatestMetric } from './metric.entity';

import { Experiment, ExperimentTag } from './experiment.entity';
import { Run, RunTag, Param, RunInput } from './run.entity';
import { Metric, LatestMetric } from './metric.entity';

export const ENTITIES = [Experiment, ExperimentTag, Run, RunTag, Param, RunInput, Metric, LatestMetric];
