import net from 'node:net';
import { ConfigError, createLogger } from '@mlops/runtime';
import { readExperimentsConfig, startExperimentsService } from '@mlops/experiments';
import type { ExperimentsConfig, ExperimentsService } from '@mlops/experiments';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { TEST_REDIS_URL, serviceAvailable } from './support/services';

const logger = createLogger({ service: 'experiments', level: 'silent' });

async function readiness(service: ExperimentsService): Promise<{
  status: number;
  body: { ready: boolean; checks: Record<string, { ok: boolean; error?: string }> };
}> {
  const response = await fetch(new URL('/ready', service.url));
  return { status: response.status, body: (await response.json()) as never };
}

/** A port nothing listens on: bound, then released. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('experiments configuration', () => {
  it('should default to an SQLite file under DATA_DIR and port 4001', () => {
    const config = readExperimentsConfig({ DATA_DIR: '/tmp/x' });
    expect(config.port).toBe(4001);
    expect(config.database).toEqual({ kind: 'sqlite', file: '/tmp/x/experiments.sqlite3' });
    expect(config.migrateOnStart).toBe(true);
  });

  it('should select PostgreSQL from DATABASE_URL, and EXPERIMENTS_DATABASE_URL over it', () => {
    expect(readExperimentsConfig({ DATABASE_URL: 'postgres://u@db/x' }).database).toEqual({
      kind: 'postgresql',
      url: 'postgres://u@db/x',
    });
    expect(
      readExperimentsConfig({
        DATABASE_URL: 'postgres://u@db/x',
        EXPERIMENTS_DATABASE_URL: 'postgresql://u@db/e',
      }).database,
    ).toEqual({
      kind: 'postgresql',
      url: 'postgresql://u@db/e',
    });
  });

  it('should refuse to start naming every bad variable, without echoing passwords', () => {
    let error: unknown;
    try {
      readExperimentsConfig({
        PORT: 'abc',
        DATABASE_URL: 'mysql://root:secret@db/x',
        REDIS_URL: 'http://r',
        MIGRATE_ON_START: 'yes',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const variable of ['PORT', 'DATABASE_URL', 'REDIS_URL', 'MIGRATE_ON_START'])
      expect(message).toContain(variable);
    expect(message).not.toContain('secret');
  });
});

describe('experiments service health', () => {
  let database: TestDatabase;
  const started: ExperimentsService[] = [];
  const start = async (overrides: Partial<ExperimentsConfig> = {}) => {
    const config = { ...readExperimentsConfig({}), port: 0, database: database.config, ...overrides };
    const service = await startExperimentsService({ config, logger });
    started.push(service);
    return service;
  };

  beforeEach(async () => {
    database = await createTestDatabase('sqlite');
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.close()));
    await database.drop();
  });

  it('should answer /health and /ready once migrated, and apply no migration twice', async () => {
    const first = await start();
    expect((await fetch(new URL('/health', first.url))).status).toBe(200);
    expect(await readiness(first)).toMatchObject({ status: 200, body: { ready: true } });
    await first.close();
    started.splice(0);
    const second = await start();
    expect(await second.orm.getMigrator().getPendingMigrations()).toEqual([]);
  });

  it('should not be ready while migrations are pending (MIGRATE_ON_START=false)', async () => {
    const service = await start({ migrateOnStart: false });
    const report = await readiness(service);
    expect(report.status).toBe(503);
    expect(report.body.checks.migrations).toMatchObject({
      ok: false,
      error: expect.stringContaining('Migration20261122000000_initial'),
    });
    expect((await fetch(new URL('/health', service.url))).status).toBe(200);
  });

  it('should report Redis unready, naming it, when REDIS_URL points at nothing, and stay alive', async () => {
    const service = await start({ redisUrl: `redis://127.0.0.1:${await closedPort()}` });
    const report = await readiness(service);
    expect(report.status).toBe(503);
    expect(report.body.checks.redis?.ok).toBe(false);
    expect(report.body.checks.database?.ok).toBe(true);
    expect((await fetch(new URL('/health', service.url))).status).toBe(200);
  });

  const withRedis = serviceAvailable('redis') ? it : it.skip;
  if (!serviceAvailable('redis'))
    console.warn('Redis readiness test skipped: Redis is not reachable (see jest global setup)');
  withRedis('should be ready with a reachable Redis configured', async () => {
    const service = await start({ redisUrl: TEST_REDIS_URL });
    expect(await readiness(service)).toMatchObject({
      status: 200,
      body: { checks: { redis: { ok: true }, database: { ok: true } } },
    });
  });
});
