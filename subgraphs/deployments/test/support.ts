import type { Clock } from '@mlops/runtime/database';
import { createTestDatabase as createSharedTestDatabase } from '../../../test/support/databases';
import type { BackendKind, TestDatabase } from '../../../test/support/databases';

/**
 * Helpers of the deployments subgraph's own suites. They follow `test/support`, whose database
 * helpers they share: the jest global setup records whether PostgreSQL answers, a suite skips PostgreSQL
 * without it unless CI=true (then the global setup has already failed the run), and every database
 * is a fresh one of its own.
 */
export { TEST_POSTGRES_URL } from '../../../test/support/services';
export { backends } from '../../../test/support/databases';
export type { BackendKind, TestDatabase } from '../../../test/support/databases';

/** A fresh, empty database of its own for one suite (see test/support/databases). */
export const createTestDatabase = (kind: BackendKind): Promise<TestDatabase> =>
  createSharedTestDatabase(kind, 'deployments');

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
