import DataLoader from 'dataloader';
import type { RequestContextBase } from '@mlops/runtime';
import type { Database } from '@mlops/runtime/database';
import { experimentTags, findExperiments } from '../store/experiments';
import type {
  DatasetInputRecord,
  ExperimentRecord,
  KeyValue,
  MetricPoint,
  RunRecord,
} from '../store/records';
import { findRuns, runInputs, runLatestMetrics, runParams, runTags } from '../store/runs';

/** Per-request batching: a page of 100 runs reads each child table once, not 100 times. */
export interface RequestLoaders {
  readonly experiment: DataLoader<string, ExperimentRecord | null>;
  readonly experimentTags: DataLoader<string, KeyValue[]>;
  readonly run: DataLoader<string, RunRecord | null>;
  readonly runTags: DataLoader<string, KeyValue[]>;
  readonly runParams: DataLoader<string, KeyValue[]>;
  readonly runMetrics: DataLoader<string, MetricPoint[]>;
  readonly runInputs: DataLoader<string, DatasetInputRecord[]>;
}

export interface ExperimentsContext extends RequestContextBase {
  readonly db: Database;
  readonly loaders: RequestLoaders;
}

function loader<V>(
  fetch: (ids: readonly string[]) => Promise<Map<string, V>>,
  missing: V,
): DataLoader<string, V> {
  return new DataLoader(async (ids) => {
    const found = await fetch(ids);
    return ids.map((id) => found.get(id) ?? missing);
  });
}

export function createLoaders(db: Database): RequestLoaders {
  return {
    experiment: loader((ids) => findExperiments(db, ids), null),
    experimentTags: loader((ids) => experimentTags(db, ids), []),
    run: loader((ids) => findRuns(db.knex, ids), null),
    runTags: loader((ids) => runTags(db, ids), []),
    runParams: loader((ids) => runParams(db, ids), []),
    runMetrics: loader((ids) => runLatestMetrics(db, ids), []),
    runInputs: loader((ids) => runInputs(db, ids), []),
  };
}
