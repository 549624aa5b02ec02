import { randomUUID } from 'node:crypto';
import type { Knex } from '@mikro-orm/knex';
import { ErrorCode } from '@mlops/schema';
import {
  DomainError,
  decodeCursor,
  encodeCursor,
  queryFingerprint,
  validateLength,
  validateName,
  validatePageSize,
} from '@mlops/runtime';
import type { Database } from '@mlops/runtime/database';
import { MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH } from '../domain/limits';
import type { StrategyRecord } from './records';
import { toStrategyRecord } from './records';

export interface StrategyInput {
  readonly name: string;
  readonly description?: string | null;
  readonly deploymentName?: string | null;
}

/**
 * Creates a strategy: BAD_USER_INPUT naming `name`, `description` or `deploymentName`; CONFLICT
 * when the name is taken. The deployment is a reference to the deployments subgraph, not checked
 * (as alert rules name theirs): a strategy may be set up before its deployment.
 */
export async function createStrategy(db: Database, input: StrategyInput): Promise<StrategyRecord> {
  const name = validateName('name', input.name, MAX_NAME_LENGTH);
  const description = input.description ?? null;
  if (description !== null) validateLength('description', description, MAX_DESCRIPTION_LENGTH);
  const deploymentName =
    input.deploymentName === null || input.deploymentName === undefined
      ? null
      : validateName('deploymentName', input.deploymentName, MAX_NAME_LENGTH);
  const row = {
    id: randomUUID(),
    name,
    description,
    deployment_name: deploymentName,
    created_at: db.clock.now(),
  };
  try {
    await db.knex('strategies').insert(row);
  } catch (error) {
    if (db.isUniqueViolation(error)) {
      throw new DomainError(ErrorCode.CONFLICT, `A strategy named '${name}' already exists`, {
        field: 'name',
      });
    }
    throw error;
  }
  return toStrategyRecord(row);
}

/** The strategy named `name`; NOT_FOUND naming `field` (the argument the caller passed it as). */
export async function getStrategyByName(knex: Knex, name: string, field = 'name'): Promise<StrategyRecord> {
  const row = (await knex('strategies').where({ name }).first()) as Record<string, unknown> | undefined;
  if (!row) throw new DomainError(ErrorCode.NOT_FOUND, `No strategy named '${name}'`, { field });
  return toStrategyRecord(row);
}

/** Deletes the strategy and its performance series in one transaction; answers what was deleted. */
export async function deleteStrategy(db: Database, name: string): Promise<StrategyRecord> {
  const strategy = await getStrategyByName(db.knex, name);
  const deleted = await db.knex.transaction(async (trx): Promise<number> => {
    // Explicitly, not only through ON DELETE CASCADE: an SQLite connection opened without
    // `PRAGMA foreign_keys = ON` would keep the points.
    await trx('performance_points').where({ strategy_id: strategy.id }).delete();
    return trx('strategies').where({ id: strategy.id }).delete();
  });
  if (deleted === 0)
    throw new DomainError(ErrorCode.NOT_FOUND, `No strategy named '${name}'`, { field: 'name' });
  return strategy;
}

/** The strategies trading each deployment's predictions, by name, in one read for every deployment. */
export async function strategiesOfDeployments(
  knex: Knex,
  deploymentNames: readonly string[],
): Promise<Map<string, StrategyRecord[]>> {
  const found = new Map<string, StrategyRecord[]>();
  for (let i = 0; i < deploymentNames.length; i += 500) {
    const rows: Record<string, unknown>[] = await knex('strategies')
      .whereIn('deployment_name', deploymentNames.slice(i, i + 500))
      .orderBy('name');
    for (const row of rows) {
      const strategy = toStrategyRecord(row);
      const key = strategy.deploymentName as string;
      const list = found.get(key);
      if (list) list.push(strategy);
      else found.set(key, [strategy]);
    }
  }
  return found;
}

export interface StrategyPage {
  readonly strategies: readonly StrategyRecord[];
  readonly endCursor: string | null;
  readonly hasNextPage: boolean;
}

/** Strategies newest first, paged by keyset on (created_at, id) as experiments and models page. */
export async function listStrategies(
  knex: Knex,
  options: { first?: number | null; after?: string | null },
): Promise<StrategyPage> {
  const first = validatePageSize(options.first);
  const fingerprint = queryFingerprint(['strategies']);
  const builder = knex('strategies');
  if (options.after) {
    const position = decodeCursor(options.after, fingerprint, 1);
    const createdAt = Number(position.values[0]);
    builder.where((w) =>
      w
        .where('created_at', '<', createdAt)
        .orWhere((e) => e.where('created_at', '=', createdAt).andWhere('id', '>', position.id)),
    );
  }
  const rows = (
    (await builder
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'asc' },
      ])
      .limit(first + 1)) as Record<string, unknown>[]
  ).map(toStrategyRecord);
  const page = rows.slice(0, first);
  const last = page[page.length - 1];
  return {
    strategies: page,
    hasNextPage: rows.length > first,
    endCursor: last ? encodeCursor({ values: [last.createdAt], id: last.id }, fingerprint) : null,
  };
}
