import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Knex } from '@mikro-orm/knex';
import type { SqlOrm } from './orm';
import type { SqlDialect, SqlFragment } from './sql';

/** Wall-clock source; tests substitute their own. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** What store functions need: a knex handle (or transaction), the SQL dialect and a clock. */
export interface Database {
  readonly knex: Knex;
  readonly dialect: SqlDialect;
  readonly clock: Clock;
  /** True when a driver error is a unique or primary-key violation (MikroORM's exception converter). */
  isUniqueViolation(error: unknown): boolean;
}

export function createDatabase(orm: SqlOrm, dialect: SqlDialect, clock: Clock = systemClock): Database {
  const driver = orm.em.getDriver();
  return {
    knex: orm.em.getConnection().getKnex(),
    dialect,
    clock,
    isUniqueViolation(error) {
      // Not `instanceof Error`: better-sqlite3's native binding keeps the error class of the first
      // realm that loaded it, so in a second jest module registry (or vm context) its errors come
      // from another realm. The converter reads only `code` and `message`.
      if (typeof error !== 'object' || error === null || !('message' in error)) return false;
      return driver.convertException(error as Error) instanceof UniqueConstraintViolationException;
    },
  };
}

/** Runs a fragment on the database or transaction. */
export async function query(knex: Knex, sql: SqlFragment): Promise<Record<string, unknown>[]> {
  const result = (await knex.raw(sql.sql, sql.bindings as Knex.RawBinding[])) as unknown;
  // pg answers { rows }, better-sqlite3 answers the rows themselves.
  if (Array.isArray(result)) return result as Record<string, unknown>[];
  return ((result as { rows?: Record<string, unknown>[] }).rows ?? []) as Record<string, unknown>[];
}
