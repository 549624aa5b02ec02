import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Clock, DatabaseConfig } from '@mlops/runtime/database';
import { createDeploymentsOrm } from '../src/store/orm';

/**
 * Helpers of the deployments subgraph's own suites. They follow `test/support` (which workspaces do
 * not import): the jest global setup records whether PostgreSQL answers, a suite skips PostgreSQL
 * without it unless CI=true (then the global setup has already failed the run), and every database
 * is a fresh one of its own.
 */
export const TEST_POSTGRES_URL =
  process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export type BackendKind = DatabaseConfig['kind'];

export function backends(): BackendKind[] {
  return process.env.MLOPS_TEST_POSTGRES === 'available' ? ['sqlite', 'postgresql'] : ['sqlite'];
}

export interface TestDatabase {
  readonly config: DatabaseConfig;
  drop(): Promise<void>;
}

export async function createTestDatabase(kind: BackendKind): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mlops-deployments-'));
    return {
      config: { kind: 'sqlite', file: path.join(dir, 'deployments.sqlite3') },
      drop: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const name = `mlops_deployments_${randomBytes(6).toString('hex')}`;
  await withAdmin(`CREATE DATABASE ${name}`);
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    config: { kind: 'postgresql', url: url.toString() },
    drop: () => withAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** Runs one statement on the server's admin database, through this workspace's own driver. */
async function withAdmin(statement: string): Promise<void> {
  const orm = await createDeploymentsOrm({ kind: 'postgresql', url: TEST_POSTGRES_URL });
  try {
    await orm.em.getConnection().getKnex().raw(statement);
  } finally {
    await orm.close();
  }
}

/** A clock the test sets by hand. */
export interface TestClock extends Clock {
  advance(ms: number): void;
}

export function createTestClock(start = Date.UTC(2026, 11, 1, 12)): TestClock {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

/** Polls `check` until it holds (for effects with no event to wait on, e.g. a periodic sweep). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
