import { ErrorCode } from '@mlops/schema';
import { DomainError } from '@mlops/runtime';
import { groupBy } from '@mlops/runtime/database';
import type { Database } from '@mlops/runtime/database';
import { validateAlias } from './limits';
import { getModelVersion } from './model-versions';
import type { AliasRecord, ModelVersionRecord, RegisteredModelRecord } from './records';
import { toModelVersionRecord } from './records';
import { getRegisteredModel } from './registered-models';

/**
 * Points the alias at a READY version, creating or moving it in one upsert: a reader sees the old
 * version or the new one, never neither.
 */
export async function setAlias(
  db: Database,
  modelName: string,
  alias: string,
  version: number,
): Promise<ModelVersionRecord> {
  validateAlias(alias);
  const target = await getModelVersion(db.knex, modelName, version);
  if (target.status !== 'READY') {
    throw new DomainError(
      ErrorCode.INVALID_STATE,
      `Version ${version} of '${modelName}' is ${target.status}; only READY versions take aliases`,
      { field: 'version' },
    );
  }
  await db
    .knex('model_aliases')
    .insert({ model_name: modelName, alias, version, updated_at: db.clock.now() })
    .onConflict(['model_name', 'alias'])
    .merge(['version', 'updated_at']);
  return target;
}

export async function deleteAlias(
  db: Database,
  modelName: string,
  alias: string,
): Promise<RegisteredModelRecord> {
  const model = await getRegisteredModel(db.knex, modelName, 'modelName');
  const deleted = await db.knex('model_aliases').where({ model_name: modelName, alias }).delete();
  if (deleted === 0) {
    throw new DomainError(ErrorCode.NOT_FOUND, `Registered model '${modelName}' has no alias '${alias}'`, {
      field: 'alias',
    });
  }
  return model;
}

/**
 * The version an alias names. Besides set aliases, `latest` is the newest READY version and
 * `v<n>` is version n, as in MLflow model URIs.
 */
export async function resolveAlias(
  db: Database,
  modelName: string,
  alias: string,
): Promise<ModelVersionRecord> {
  const numbered = /^v(\d+)$/i.exec(alias);
  if (numbered) return getModelVersion(db.knex, modelName, Number(numbered[1]));
  const notFound = () =>
    new DomainError(ErrorCode.NOT_FOUND, `Registered model '${modelName}' has no alias '${alias}'`, {
      field: 'alias',
    });
  if (alias.toLowerCase() === 'latest') {
    const row = await db
      .knex('model_versions')
      .where({ model_name: modelName, status: 'READY' })
      .orderBy('version', 'desc')
      .first();
    if (row) return toModelVersionRecord(row);
    await getRegisteredModel(db.knex, modelName, 'modelName');
    throw notFound();
  }
  const row = await db
    .knex('model_aliases')
    .join('model_versions', (j) =>
      j
        .on('model_versions.model_name', 'model_aliases.model_name')
        .andOn('model_versions.version', 'model_aliases.version'),
    )
    .where({ 'model_aliases.model_name': modelName, 'model_aliases.alias': alias })
    .first('model_versions.*');
  if (row) return toModelVersionRecord(row);
  await getRegisteredModel(db.knex, modelName, 'modelName');
  throw notFound();
}

/** Each model's aliases, by alias name. */
export async function aliasesOfModels(
  db: Database,
  names: readonly string[],
): Promise<Map<string, AliasRecord[]>> {
  const rows = await db
    .knex('model_aliases')
    .whereIn('model_name', [...names])
    .orderBy('alias');
  return groupBy(rows, 'model_name', (r) => ({ alias: String(r.alias), version: Number(r.version) }));
}
