import { ErrorCode } from '@mlops/schema';
import { DomainError, validateTags } from '@mlops/runtime';
import { groupBy, query } from '@mlops/runtime/database';
import type { Database } from '@mlops/runtime/database';
import type { Knex } from '@mikro-orm/knex';
import type { StoredArtifact } from '../artifacts/artifact-store';
import type { SignatureOutcome } from '../onnx/onnx-signature';
import { validateVersion } from './limits';
import type { KeyValue, ModelVersionRecord } from './records';
import { parseVersionId, toModelVersionRecord, versionId } from './records';
import { getRegisteredModel, validateDescription } from './registered-models';

/** Versions by id (`<modelName>/<version>`); malformed ids are simply not found. */
export async function findModelVersions(
  knex: Knex,
  ids: readonly string[],
): Promise<Map<string, ModelVersionRecord>> {
  const keys = ids.flatMap((id) => {
    const key = parseVersionId(id);
    return key ? [[key.modelName, key.version]] : [];
  });
  if (keys.length === 0) return new Map();
  const rows = await knex('model_versions').whereIn(['model_name', 'version'], keys);
  return new Map(
    rows.map((r: Record<string, unknown>) => {
      const record = toModelVersionRecord(r);
      return [versionId(record.modelName, record.version), record];
    }),
  );
}

/** The version, or NOT_FOUND naming `modelName` (no such model) or `version`. */
export async function getModelVersion(
  knex: Knex,
  modelName: string,
  version: number,
): Promise<ModelVersionRecord> {
  validateVersion(version);
  const found = (await findModelVersions(knex, [versionId(modelName, version)])).get(
    versionId(modelName, version),
  );
  if (found) return found;
  await getRegisteredModel(knex, modelName, 'modelName');
  throw new DomainError(ErrorCode.NOT_FOUND, `Registered model '${modelName}' has no version ${version}`, {
    field: 'version',
  });
}

/** Every version of each model, newest first. */
export async function versionsOfModels(
  db: Database,
  names: readonly string[],
): Promise<Map<string, ModelVersionRecord[]>> {
  const rows = await db
    .knex('model_versions')
    .whereIn('model_name', [...names])
    .orderBy('version', 'desc');
  return groupBy(rows, 'model_name', toModelVersionRecord);
}

/** Every version registered from each run, by model name then version. */
export async function versionsOfRuns(
  db: Database,
  runIds: readonly string[],
): Promise<Map<string, ModelVersionRecord[]>> {
  const rows = await db
    .knex('model_versions')
    .whereIn('run_id', [...runIds])
    .orderBy([{ column: 'model_name' }, { column: 'version' }]);
  return groupBy(rows, 'run_id', toModelVersionRecord);
}

export interface NewVersion {
  readonly modelName: string;
  readonly runId: string | null;
  readonly description: string | null;
  readonly tags: readonly KeyValue[];
  readonly artifact: StoredArtifact;
}

/**
 * Inserts a PENDING_REGISTRATION version under the next number of its model. The model row's
 * counter is incremented with UPDATE … RETURNING in the same transaction as the insert: PostgreSQL
 * holds the row lock until commit, so concurrent registrations queue on it and get consecutive
 * numbers; SQLite serializes write transactions. A rolled-back insert gives its number back.
 */
export async function insertPendingVersion(db: Database, input: NewVersion): Promise<ModelVersionRecord> {
  const now = db.clock.now();
  const row = await db.knex.transaction(async (trx) => {
    const [counter] = await query(trx, {
      sql: 'UPDATE registered_models SET last_version = last_version + 1, updated_at = ? WHERE name = ? RETURNING last_version',
      bindings: [now, input.modelName],
    });
    if (!counter) {
      throw new DomainError(ErrorCode.NOT_FOUND, `No registered model named '${input.modelName}'`, {
        field: 'modelName',
      });
    }
    const inserted = {
      model_name: input.modelName,
      version: Number(counter.last_version),
      status: 'PENDING_REGISTRATION',
      status_message: null,
      description: input.description,
      run_id: input.runId,
      artifact_sha256: input.artifact.sha256,
      artifact_size: input.artifact.size,
      artifact_uri: input.artifact.uri,
      signature: null,
      created_at: now,
      updated_at: now,
    };
    await trx('model_versions').insert(inserted);
    if (input.tags.length > 0) {
      await trx('model_version_tags').insert(
        input.tags.map((t) => ({
          model_name: input.modelName,
          version: inserted.version,
          key: t.key,
          value: t.value,
        })),
      );
    }
    return inserted;
  });
  return toModelVersionRecord(row);
}

/** Ends registration: READY with the signature, or FAILED_REGISTRATION with the reason. */
export async function completeRegistration(
  db: Database,
  version: ModelVersionRecord,
  outcome: SignatureOutcome,
): Promise<ModelVersionRecord> {
  const update = outcome.ok
    ? { status: 'READY', status_message: null, signature: JSON.stringify(outcome.signature) }
    : { status: 'FAILED_REGISTRATION', status_message: outcome.reason, signature: null };
  await db
    .knex('model_versions')
    .where({ model_name: version.modelName, version: version.version })
    .update({ ...update, updated_at: db.clock.now() });
  return getModelVersion(db.knex, version.modelName, version.version);
}

/** Whether a version other than `except` that is not FAILED still points at the artifact. */
export async function isArtifactReferenced(
  db: Database,
  sha256: string,
  except: ModelVersionRecord,
): Promise<boolean> {
  const row = await db
    .knex('model_versions')
    .where({ artifact_sha256: sha256 })
    .whereNot('status', 'FAILED_REGISTRATION')
    .whereNot((w) => w.where({ model_name: except.modelName, version: except.version }))
    .first('version');
  return row !== undefined;
}

export async function updateModelVersion(
  db: Database,
  modelName: string,
  version: number,
  description: string | null,
): Promise<ModelVersionRecord> {
  const checked = validateDescription('description', description);
  await getModelVersion(db.knex, modelName, version);
  await db
    .knex('model_versions')
    .where({ model_name: modelName, version })
    .update({ description: checked, updated_at: db.clock.now() });
  return getModelVersion(db.knex, modelName, version);
}

export async function setModelVersionTag(
  db: Database,
  modelName: string,
  version: number,
  tag: KeyValue,
): Promise<ModelVersionRecord> {
  validateTags('tag', [tag]);
  const record = await getModelVersion(db.knex, modelName, version);
  await db
    .knex('model_version_tags')
    .insert({ model_name: modelName, version, key: tag.key, value: tag.value })
    .onConflict(['model_name', 'version', 'key'])
    .merge(['value']);
  return record;
}

export async function deleteModelVersionTag(
  db: Database,
  modelName: string,
  version: number,
  key: string,
): Promise<ModelVersionRecord> {
  const record = await getModelVersion(db.knex, modelName, version);
  const deleted = await db.knex('model_version_tags').where({ model_name: modelName, version, key }).delete();
  if (deleted === 0) {
    throw new DomainError(ErrorCode.NOT_FOUND, `Version ${version} of '${modelName}' has no tag '${key}'`, {
      field: 'key',
    });
  }
  return record;
}

/** Tags of each version, by version id. */
export async function modelVersionTags(
  db: Database,
  ids: readonly string[],
): Promise<Map<string, KeyValue[]>> {
  const keys = ids.flatMap((id) => {
    const key = parseVersionId(id);
    return key ? [[key.modelName, key.version]] : [];
  });
  if (keys.length === 0) return new Map();
  const rows = await db.knex('model_version_tags').whereIn(['model_name', 'version'], keys).orderBy('key');
  const withId = rows.map((r: Record<string, unknown>) => ({
    ...r,
    id: versionId(String(r.model_name), Number(r.version)),
  }));
  return groupBy(withId, 'id', (r) => ({ key: String(r.key), value: String(r.value) }));
}
