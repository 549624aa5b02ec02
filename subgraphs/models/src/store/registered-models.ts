import { ErrorCode } from '@mlops/schema';
import {
  DomainError,
  decodeCursor,
  encodeCursor,
  queryFingerprint,
  validateLength,
  validateName,
  validatePageSize,
  validateTags,
} from '@mlops/runtime';
import { groupBy } from '@mlops/runtime/database';
import type { Database } from '@mlops/runtime/database';
import type { Knex } from '@mikro-orm/knex';
import { MAX_DESCRIPTION_LENGTH, MAX_MODEL_NAME_LENGTH } from './limits';
import type { KeyValue, RegisteredModelRecord } from './records';
import { toRegisteredModelRecord } from './records';

export function validateDescription(field: string, description: string | null | undefined): string | null {
  if (description === null || description === undefined) return null;
  validateLength(field, description, MAX_DESCRIPTION_LENGTH);
  return description;
}

export async function createRegisteredModel(
  db: Database,
  input: { name: string; description?: string | null; tags: readonly KeyValue[] },
): Promise<RegisteredModelRecord> {
  const name = validateName('name', input.name, MAX_MODEL_NAME_LENGTH);
  const description = validateDescription('description', input.description);
  validateTags('tags', input.tags);
  const now = db.clock.now();
  const row = { name, description, last_version: 0, created_at: now, updated_at: now };
  try {
    await db.knex.transaction(async (trx) => {
      await trx('registered_models').insert(row);
      if (input.tags.length > 0) {
        await trx('registered_model_tags').insert(
          input.tags.map((t) => ({ model_name: name, key: t.key, value: t.value })),
        );
      }
    });
  } catch (error) {
    if (db.isUniqueViolation(error)) {
      throw new DomainError(ErrorCode.CONFLICT, `A registered model named '${name}' already exists`, {
        field: 'name',
      });
    }
    throw error;
  }
  return toRegisteredModelRecord(row);
}

export async function findRegisteredModels(
  knex: Knex,
  names: readonly string[],
): Promise<Map<string, RegisteredModelRecord>> {
  if (names.length === 0) return new Map();
  const rows = await knex('registered_models').whereIn('name', [...names]);
  return new Map(rows.map((r: Record<string, unknown>) => [String(r.name), toRegisteredModelRecord(r)]));
}

/** The model, or NOT_FOUND naming `field` (the argument that carried the name). */
export async function getRegisteredModel(
  knex: Knex,
  name: string,
  field = 'name',
): Promise<RegisteredModelRecord> {
  const found = (await findRegisteredModels(knex, [name])).get(name);
  if (!found) throw new DomainError(ErrorCode.NOT_FOUND, `No registered model named '${name}'`, { field });
  return found;
}

export interface RegisteredModelPage {
  readonly models: readonly RegisteredModelRecord[];
  readonly endCursor: string | null;
  readonly hasNextPage: boolean;
}

/** Models newest first, paged by keyset on (created_at, name). */
export async function listRegisteredModels(
  db: Database,
  options: { first?: number | null; after?: string | null },
): Promise<RegisteredModelPage> {
  const first = validatePageSize(options.first);
  const fingerprint = queryFingerprint(['registered_models']);
  const builder = db.knex('registered_models');
  if (options.after) {
    const position = decodeCursor(options.after, fingerprint, 1);
    const createdAt = Number(position.values[0]);
    builder.where((w) =>
      w
        .where('created_at', '<', createdAt)
        .orWhere((e) => e.where('created_at', '=', createdAt).andWhere('name', '>', position.id)),
    );
  }
  const rows = (
    await builder
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'name', order: 'asc' },
      ])
      .limit(first + 1)
  ).map(toRegisteredModelRecord);
  const page = rows.slice(0, first);
  const last = page[page.length - 1];
  return {
    models: page,
    hasNextPage: rows.length > first,
    endCursor: last ? encodeCursor({ values: [last.createdAt], id: last.name }, fingerprint) : null,
  };
}

export async function updateRegisteredModel(
  db: Database,
  name: string,
  description: string | null,
): Promise<RegisteredModelRecord> {
  const checked = validateDescription('description', description);
  await getRegisteredModel(db.knex, name);
  await db
    .knex('registered_models')
    .where({ name })
    .update({ description: checked, updated_at: db.clock.now() });
  return getRegisteredModel(db.knex, name);
}

export async function setRegisteredModelTag(
  db: Database,
  name: string,
  tag: KeyValue,
): Promise<RegisteredModelRecord> {
  validateTags('tag', [tag]);
  const model = await getRegisteredModel(db.knex, name);
  await db
    .knex('registered_model_tags')
    .insert({ model_name: name, key: tag.key, value: tag.value })
    .onConflict(['model_name', 'key'])
    .merge(['value']);
  return model;
}

export async function deleteRegisteredModelTag(
  db: Database,
  name: string,
  key: string,
): Promise<RegisteredModelRecord> {
  const model = await getRegisteredModel(db.knex, name);
  const deleted = await db.knex('registered_model_tags').where({ model_name: name, key }).delete();
  if (deleted === 0)
    throw new DomainError(ErrorCode.NOT_FOUND, `Registered model '${name}' has no tag '${key}'`, {
      field: 'key',
    });
  return model;
}

export async function registeredModelTags(
  db: Database,
  names: readonly string[],
): Promise<Map<string, KeyValue[]>> {
  const rows = await db
    .knex('registered_model_tags')
    .whereIn('model_name', [...names])
    .orderBy('key');
  return groupBy(rows, 'model_name', (r) => ({ key: String(r.key), value: String(r.value) }));
}
