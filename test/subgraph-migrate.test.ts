/**
 * `node subgraphs/<name>/dist/migrate.js` (`npm run migrate`, the migration Job) reads only where
 * its database is: under NODE_ENV=production it must run without INTERNAL_IDENTITY_KEYS or any other
 * setting only a serving process needs, and still refuse a bad database setting by name.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '@mlops/runtime';
import { readSubgraphMigrationConfig } from '@mlops/runtime/database';
import { SUBGRAPHS } from '@mlops/schema';
import { backends, createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';

const ROOT = path.resolve(__dirname, '..');
const run = promisify(execFile);

interface MigrationRun {
  readonly code: number;
  /** The JSON log lines it wrote, parsed. */
  readonly logs: readonly Record<string, unknown>[];
  readonly output: string;
}

/** Runs a subgraph's built migration with only `env` (plus PATH), as the Job's container does. */
async function migrate(name: string, env: Record<string, string>): Promise<MigrationRun> {
  const entry = path.join(ROOT, 'subgraphs', name, 'dist', 'migrate.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` before the tests`);
  const options = { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' as const };
  const { code, stdout, stderr } = await run(process.execPath, [entry], options).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  const logs = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { code, logs, output: `${stdout}${stderr}` };
}

const NAMES = SUBGRAPHS.map((s) => s.name);

describe('readSubgraphMigrationConfig', () => {
  it('should accept production without INTERNAL_IDENTITY_KEYS and read nothing a server needs', () => {
    const read = new Set<string>();
    const env = new Proxy(
      { NODE_ENV: 'production', DATABASE_URL: 'postgres://u@db/x', PORT: 'not a port' },
      {
        get(target: Record<string, string | undefined>, name) {
          if (typeof name === 'string') read.add(name);
          return typeof name === 'string' ? target[name] : undefined;
        },
      },
    );

    expect(readSubgraphMigrationConfig(env, { name: 'models' })).toEqual({
      database: { kind: 'postgresql', url: 'postgres://u@db/x' },
      dataDir: path.resolve('data'),
      logLevel: 'info',
    });
    expect([...read].sort()).toEqual(['DATABASE_URL', 'DATA_DIR', 'LOG_LEVEL', 'MODELS_DATABASE_URL']);
  });

  it("should select the subgraph's own database over DATABASE_URL, else SQLite under DATA_DIR", () => {
    const env = { DATABASE_URL: 'postgres://u@db/x', ALERTS_DATABASE_URL: 'postgresql://u@db/a' };
    expect(readSubgraphMigrationConfig(env, { name: 'alerts' }).database).toEqual({
      kind: 'postgresql',
      url: 'postgresql://u@db/a',
    });
    expect(readSubgraphMigrationConfig({ DATA_DIR: 'state' }, { name: 'alerts' }).database).toEqual({
      kind: 'sqlite',
      file: path.resolve('state', 'alerts.sqlite3'),
    });
  });

  it('should refuse naming every bad variable, without echoing passwords', () => {
    let error: unknown;
    try {
      readSubgraphMigrationConfig(
        { NODE_ENV: 'production', EXPERIMENTS_DATABASE_URL: 'mysql://root:secret@db/x', LOG_LEVEL: 'loud' },
        { name: 'experiments' },
      );
    } catch (e) {
      error = e;
    }

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      "EXPERIMENTS_DATABASE_URL must use postgres:// or postgresql://; got 'mysql://'",
      "LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got 'loud'",
    ]);
    expect(String(error)).not.toMatch(/secret/);
  });
});

describe.each(backends())('subgraphs/<name>/dist/migrate.js on %s', (kind) => {
  let database: TestDatabase;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    // Only the database settings, in production mode as the image runs them: no INTERNAL_IDENTITY_KEYS.
    env =
      database.config.kind === 'postgresql'
        ? { NODE_ENV: 'production', DATABASE_URL: database.config.url }
        : { NODE_ENV: 'production', DATA_DIR: path.dirname(database.config.file) };
  });
  afterAll(() => database.drop());

  it('should migrate every subgraph in production with only the database settings, then find none pending', async () => {
    // One after the other into one database, as `npm run migrate` and the Job do.
    for (const name of NAMES) {
      const first = await migrate(name, env);
      expect({ name, code: first.code, output: first.code === 0 ? '' : first.output }).toEqual({
        name,
        code: 0,
        output: '',
      });
      expect(first.logs.at(-1)).toMatchObject({ service: `${name}-migrate`, msg: 'migrations applied' });
      expect(first.logs.at(-1)?.applied).toEqual(expect.arrayContaining([expect.any(String)]));
      if (database.config.kind === 'sqlite') {
        expect(existsSync(path.join(env.DATA_DIR ?? '', `${name}.sqlite3`))).toBe(true);
      }
    }
    for (const name of NAMES) {
      const again = await migrate(name, env);
      expect(again.code).toBe(0);
      expect(again.logs.at(-1)).toMatchObject({ msg: 'schema is up to date', applied: [] });
    }
  }, 60_000); // two processes per subgraph, one after the other
});

describe('subgraphs/<name>/dist/migrate.js with a bad database setting', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'mlops-migrate-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it.each(NAMES)('%s should exit 1 naming the variable, without its password', async (name) => {
    const own = `${name.toUpperCase().replace(/-/g, '_')}_DATABASE_URL`;
    const result = await migrate(name, {
      NODE_ENV: 'production',
      DATA_DIR: dataDir,
      [own]: 'mysql://root:secret@db/x',
    });

    expect(result.code).toBe(1);
    expect(result.logs.at(-1)).toMatchObject({
      level: 60,
      msg: 'migration failed',
      err: { problems: [`${own} must use postgres:// or postgresql://; got 'mysql://'`] },
    });
    expect(result.output).not.toMatch(/secret/);
    expect(existsSync(path.join(dataDir, `${name}.sqlite3`))).toBe(false);
  });
});
