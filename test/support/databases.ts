import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { DatabaseConfig } from '@mlops/runtime/database';
import { TEST_POSTGRES_URL, serviceAvailable } from './services';

export type BackendKind = DatabaseConfig['kind'];

export interface TestDatabase {
  readonly config: DatabaseConfig;
  /** Drops the database (PostgreSQL) or deletes its directory (SQLite). */
  drop(): Promise<void>;
}

/** The backends a contract suite runs on: SQLite always, PostgreSQL when reachable (always under CI). */
export function backends(): BackendKind[] {
  return serviceAvailable('postgres') ? ['sqlite', 'postgresql'] : ['sqlite'];
}

/**
 * A fresh, empty database of its own for one suite, so suites run in parallel without sharing rows;
 * `label` (lower case, digits, `_`) names it: `mlops_<label>_<random>` on PostgreSQL,
 * `<label>.sqlite3` in a fresh directory on SQLite.
 */
export async function createTestDatabase(kind: BackendKind, label = 'test'): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const dir = await mkdtemp(path.join(os.tmpdir(), `mlops-${label}-`));
    return {
      config: { kind: 'sqlite', file: path.join(dir, `${label}.sqlite3`) },
      drop: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const name = `mlops_${label}_${randomBytes(6).toString('hex')}`;
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${name}`));
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    config: { kind: 'postgresql', url: url.toString() },
    drop: () =>
      withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

async function withAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
