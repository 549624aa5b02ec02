import DataLoader from 'dataloader';
import type { RequestContextBase } from '@mlops/runtime';
import type { Database } from '@mlops/runtime/database';
import { aliasesOfModels } from '../store/aliases';
import {
  findModelVersions,
  modelVersionTags,
  versionsOfModels,
  versionsOfRuns,
} from '../store/model-versions';
import type { AliasRecord, KeyValue, ModelVersionRecord, RegisteredModelRecord } from '../store/records';
import { findRegisteredModels, registeredModelTags } from '../store/registered-models';
import type { Registry } from '../store/registration';

/** Per-request batching: a page of models reads each child table once, not once per model. */
export interface RequestLoaders {
  readonly model: DataLoader<string, RegisteredModelRecord | null>;
  readonly modelTags: DataLoader<string, KeyValue[]>;
  readonly modelVersions: DataLoader<string, ModelVersionRecord[]>;
  readonly modelAliases: DataLoader<string, AliasRecord[]>;
  /** By version id, `<modelName>/<version>`. */
  readonly version: DataLoader<string, ModelVersionRecord | null>;
  readonly versionTags: DataLoader<string, KeyValue[]>;
  /** By run id. */
  readonly runVersions: DataLoader<string, ModelVersionRecord[]>;
}

export interface ModelsContext extends RequestContextBase {
  readonly db: Database;
  readonly registry: Registry;
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
    model: loader((names) => findRegisteredModels(db.knex, names), null),
    modelTags: loader((names) => registeredModelTags(db, names), []),
    modelVersions: loader((names) => versionsOfModels(db, names), []),
    modelAliases: loader((names) => aliasesOfModels(db, names), []),
    version: loader((ids) => findModelVersions(db.knex, ids), null),
    versionTags: loader((ids) => modelVersionTags(db, ids), []),
    runVersions: loader((runIds) => versionsOfRuns(db, runIds), []),
  };
}
