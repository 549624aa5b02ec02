import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { ErrorCode } from '@mlops/schema';
import { ConfigError, DomainError, createLogger } from '@mlops/runtime';
import { createDatabase } from '@mlops/runtime/database';
import { createLocalArtifactStore, readModelsConfig, startModelsService } from '@mlops/models';
import type { ArtifactStore, ModelsService } from '@mlops/models';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';

async function* chunks(count: number, size: number, fill = 1): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < count; i++) yield Buffer.alloc(size, fill);
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('models configuration', () => {
  it('should default to port 4002, an SQLite file and an artifact directory under DATA_DIR, and 256 MiB uploads', () => {
    const config = readModelsConfig({ DATA_DIR: '/tmp/x' });
    expect(config.port).toBe(4002);
    expect(config.database).toEqual({ kind: 'sqlite', file: '/tmp/x/models.sqlite3' });
    expect(config.artifactStore).toBe('files');
    expect(config.artifactDir).toBe('/tmp/x/artifacts');
    expect(config.maxArtifactBytes).toBe(256 * 1024 * 1024);
  });

  it('should select PostgreSQL from DATABASE_URL, and MODELS_DATABASE_URL over it', () => {
    expect(readModelsConfig({ DATABASE_URL: 'postgres://u@db/x' }).database).toEqual({
      kind: 'postgresql',
      url: 'postgres://u@db/x',
    });
    expect(
      readModelsConfig({ DATABASE_URL: 'postgres://u@db/x', MODELS_DATABASE_URL: 'postgres://u@db/m' })
        .database,
    ).toEqual({ kind: 'postgresql', url: 'postgres://u@db/m' });
  });

  it('should keep artifacts in the database on PostgreSQL and in files on SQLite, unless MODEL_ARTIFACT_STORE says', () => {
    expect(readModelsConfig({}).artifactStore).toBe('files');
    expect(readModelsConfig({ DATABASE_URL: 'postgres://u@db/x' }).artifactStore).toBe('database');
    expect(readModelsConfig({ MODELS_DATABASE_URL: 'postgres://u@db/m' }).artifactStore).toBe('database');
    expect(readModelsConfig({ MODEL_ARTIFACT_STORE: 'database' }).artifactStore).toBe('database');
    expect(
      readModelsConfig({ DATABASE_URL: 'postgres://u@db/x', MODEL_ARTIFACT_STORE: 'files' }).artifactStore,
    ).toBe('files');
  });

  it('should refuse an unknown MODEL_ARTIFACT_STORE by name', () => {
    expect(() => readModelsConfig({ MODEL_ARTIFACT_STORE: 's3' })).toThrow(ConfigError);
    expect(() => readModelsConfig({ MODEL_ARTIFACT_STORE: 's3' })).toThrow(
      "MODEL_ARTIFACT_STORE must be one of database, files; got 's3'",
    );
  });

  it('should refuse to start naming every bad variable', () => {
    let error: unknown;
    try {
      readModelsConfig({ PORT: 'x', MODEL_MAX_ARTIFACT_BYTES: '0', MODELS_DATABASE_URL: 'mysql://db/x' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/PORT/);
    expect(problems).toMatch(/MODEL_MAX_ARTIFACT_BYTES/);
    expect(problems).toMatch(/MODELS_DATABASE_URL/);
  });
});

describe('local artifact store', () => {
  let root: string;
  let store: ArtifactStore;

  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'mlops-store-'));
    store = createLocalArtifactStore(root);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('should refuse a stream over maxBytes with LIMIT_EXCEEDED and leave no file behind', async () => {
    const put = store.put(chunks(10, 1024), { maxBytes: 4096 });
    await expect(put).rejects.toBeInstanceOf(DomainError);
    await expect(store.put(chunks(10, 1024), { maxBytes: 4096 })).rejects.toMatchObject({
      code: ErrorCode.LIMIT_EXCEEDED,
    });
    expect(await filesUnder(root)).toEqual([]);
  });

  it('should store identical content once under <sha256[0:2]>/<sha256>, even when put concurrently', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => store.put(chunks(3, 1000, 9))));
    const sha = results[0]!.sha256;
    for (const result of results) expect(result).toMatchObject({ sha256: sha, size: 3000 });
    expect(await filesUnder(root)).toEqual([path.join(sha.slice(0, 2), sha)]);
    expect(await store.has(sha)).toBe(true);
    expect(await store.delete(sha)).toBe(true);
    expect(await store.has(sha)).toBe(false);
    expect(await store.delete(sha)).toBe(false);
  });

  it('should answer NOT_FOUND opening an unknown or malformed hash, never a path outside the store', async () => {
    await expect(store.open('0'.repeat(64))).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND });
    await expect(store.open('../../etc/passwd')).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND });
    expect(await store.has('../../etc/passwd')).toBe(false);
  });
});

describe('models service uploads', () => {
  let database: TestDatabase;
  let artifactDir: string;
  let service: ModelsService;

  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
    artifactDir = await mkdtemp(path.join(os.tmpdir(), 'mlops-artifacts-'));
    service = await startModelsService({
      config: {
        ...readModelsConfig({}),
        port: 0,
        database: database.config,
        artifactDir,
        maxArtifactBytes: 4096,
      },
      logger: createLogger({ service: 'models', level: 'silent' }),
    });
  });
  afterAll(async () => {
    await service?.close();
    await database?.drop();
    await rm(artifactDir, { recursive: true, force: true });
  });

  it('should recognise a unique violation raised in another realm (regression: CONFLICT became INTERNAL_SERVER_ERROR in the second SQLite suite of a jest worker)', () => {
    const db = createDatabase(service.orm, 'sqlite');
    const foreign = vm.runInNewContext(
      `Object.assign(new Error('UNIQUE constraint failed: registered_models.name'), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' })`,
    ) as unknown;
    expect(foreign instanceof Error).toBe(false);
    expect(db.isUniqueViolation(foreign)).toBe(true);
    expect(db.isUniqueViolation(new Error('no such table: x'))).toBe(false);
    expect(db.isUniqueViolation('UNIQUE constraint failed')).toBe(false);
  });

  it('should answer 413 to a chunked upload without content-length that grows past the limit, storing nothing', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(new Uint8Array(1024).fill(i));
        controller.close();
      },
    });
    const response = await fetch(new URL('/artifacts', service.url), {
      method: 'POST',
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({
      errors: [{ extensions: { code: 'LIMIT_EXCEEDED', limit: 4096 } }],
    });
    expect(await filesUnder(artifactDir)).toEqual([]);
  });
});
