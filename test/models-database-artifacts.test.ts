import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { ErrorCode } from '@mlops/schema';
import { DomainError, createLogger } from '@mlops/runtime';
import { createDatabase } from '@mlops/runtime/database';
import type { Database } from '@mlops/runtime/database';
import { readModelsConfig, startModelsService } from '@mlops/models';
import type { ArtifactStore, ModelsService } from '@mlops/models';
import { backends, createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { postGraphQL } from './support/graphql-http';
import { serviceAvailable } from './support/services';
import { sha256 } from './support/artifacts';

// The database artifact store (MODEL_ARTIFACT_STORE=database) keeps artifacts as rows, so that every
// models replica on one database sees the same ones. The store under test is the one a models
// service builds from its configuration, over the service's own migrated database.

const MiB = 1024 * 1024;
/** The store's chunk size: an artifact of n bytes has ceil(n / MiB) chunk rows. */
const CHUNK_BYTES = MiB;
const HOUR = 60 * 60 * 1000;
const quiet = () => createLogger({ service: 'models', level: 'silent' });

/** `bytes` in pieces of `piece` bytes, as an upload body or a file stream arrives. */
async function* pieces(bytes: Buffer, piece = 100_000): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += piece) yield bytes.subarray(offset, offset + piece);
}

describe.each(backends())('database artifact store on %s', (kind) => {
  let database: TestDatabase;
  let service: ModelsService;
  let store: ArtifactStore;
  let db: Database;
  let now = Date.UTC(2026, 11, 1);
  const clock = { now: () => now };

  /** Chunk rows by owner: an artifact's sha256, or `upload:…` for an upload in progress. */
  async function chunkCounts(): Promise<Record<string, number>> {
    const rows = (await db
      .knex('model_artifact_chunks')
      .select('owner')
      .count({ chunks: '*' })
      .groupBy('owner')) as { owner: string; chunks: unknown }[];
    return Object.fromEntries(rows.map((r) => [r.owner, Number(r.chunks)]));
  }
  const uploadsInProgress = async () =>
    Object.keys(await chunkCounts()).filter((owner) => owner.startsWith('upload:'));
  const artifactRows = async (hash: string) => db.knex('model_artifacts').where({ sha256: hash });

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    service = await startModelsService({
      config: { ...readModelsConfig({}), port: 0, database: database.config, artifactStore: 'database' },
      logger: quiet(),
      clock,
    });
    store = service.artifacts;
    db = createDatabase(service.orm, kind, clock);
  });
  afterAll(async () => {
    await service?.close();
    await database?.drop();
  });

  it('should store a multi-chunk file and stream it back byte-identical', async () => {
    const bytes = randomBytes(5 * MiB + 123);
    const hash = sha256(bytes);

    const put = await store.put(pieces(bytes));

    expect(put).toEqual({
      sha256: hash,
      size: bytes.length,
      uri: `urn:mlops:artifact:sha256:${hash}`,
      created: true,
    });
    expect(await chunkCounts()).toMatchObject({ [hash]: Math.ceil(bytes.length / CHUNK_BYTES) });
    expect(await store.stat(hash)).toEqual({ sha256: hash, size: bytes.length, uri: put.uri });
    expect(await store.has(hash)).toBe(true);
    const read = await buffer(await store.open(hash));
    expect(read.length).toBe(bytes.length);
    expect(sha256(read)).toBe(hash);
    expect(read.equals(bytes)).toBe(true);
    expect(await uploadsInProgress()).toEqual([]);
  });

  it('should store an empty file as an artifact without chunks', async () => {
    const empty = sha256(Buffer.alloc(0));
    expect(await store.put(pieces(Buffer.alloc(0)))).toMatchObject({ sha256: empty, size: 0, created: true });
    expect((await buffer(await store.open(empty))).length).toBe(0);
    expect((await chunkCounts())[empty]).toBeUndefined();
  });

  it('should store identical content once: the second put answers created false and adds no rows', async () => {
    const bytes = randomBytes(2 * MiB + 7);
    const hash = sha256(bytes);
    expect((await store.put(pieces(bytes))).created).toBe(true);
    const before = await chunkCounts();

    const again = await store.put(pieces(bytes, 65_536));

    expect(again).toMatchObject({ sha256: hash, size: bytes.length, created: false });
    expect(await artifactRows(hash)).toHaveLength(1);
    expect(await chunkCounts()).toEqual(before);
  });

  it('should end concurrent puts of the same bytes with one artifact and no stray chunks', async () => {
    const bytes = randomBytes(3 * MiB + 11);
    const hash = sha256(bytes);

    const results = await Promise.all(Array.from({ length: 4 }, () => store.put(pieces(bytes))));

    for (const result of results) expect(result).toMatchObject({ sha256: hash, size: bytes.length });
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await artifactRows(hash)).toHaveLength(1);
    expect((await chunkCounts())[hash]).toBe(4);
    expect(await uploadsInProgress()).toEqual([]);
    expect((await buffer(await store.open(hash))).equals(bytes)).toBe(true);
  });

  it('should refuse content over maxBytes with LIMIT_EXCEEDED and remove the chunks it wrote', async () => {
    const bytes = randomBytes(3 * MiB);
    const before = await chunkCounts();

    const put = store.put(pieces(bytes), { maxBytes: 2 * MiB + 1 });

    await expect(put).rejects.toBeInstanceOf(DomainError);
    await expect(put).rejects.toMatchObject({
      code: ErrorCode.LIMIT_EXCEEDED,
      message: `An artifact may be at most ${2 * MiB + 1} bytes`,
      details: { field: 'artifact', limit: 2 * MiB + 1 },
    });
    expect(await chunkCounts()).toEqual(before);
    expect(await store.has(sha256(bytes))).toBe(false);
  });

  it('should reject with the stream error and store nothing when the source fails midway', async () => {
    const before = await chunkCounts();
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield randomBytes(2 * MiB + 5);
      throw new Error('connection reset by peer');
    }

    await expect(store.put(failing())).rejects.toThrow('connection reset by peer');

    expect(await chunkCounts()).toEqual(before);
  });

  it('should answer NOT_FOUND opening an unknown or malformed hash, and nothing from stat, has or delete', async () => {
    const stored = (await store.put(pieces(Buffer.from('a stored artifact')))).sha256;
    for (const key of ['0'.repeat(64), '../../etc/passwd', stored.toUpperCase(), `${stored}0`, '']) {
      await expect(store.open(key)).rejects.toMatchObject({
        code: ErrorCode.NOT_FOUND,
        details: { field: 'artifactSha256' },
      });
      expect(await store.stat(key)).toBeUndefined();
      expect(await store.has(key)).toBe(false);
      expect(await store.delete(key)).toBe(false);
    }
    expect(await store.has(stored)).toBe(true);
  });

  it('should delete the artifact row and its chunks together', async () => {
    const bytes = randomBytes(MiB + 1);
    const { sha256: hash } = await store.put(pieces(bytes));
    expect((await chunkCounts())[hash]).toBe(2);

    expect(await store.delete(hash)).toBe(true);

    expect(await store.has(hash)).toBe(false);
    expect(await artifactRows(hash)).toHaveLength(0);
    expect((await chunkCounts())[hash]).toBeUndefined();
    await expect(store.open(hash)).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND });
    expect(await store.delete(hash)).toBe(false);
    // Stored again afterwards, it is new again.
    expect((await store.put(pieces(bytes))).created).toBe(true);
  });

  it('should fail a download, not end it early, when the artifact is deleted while it is read', async () => {
    const bytes = randomBytes(9 * MiB);
    const { sha256: hash } = await store.put(pieces(bytes));
    const stream = await store.open(hash);
    const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const first = await iterator.next();
    expect(first.value?.length).toBe(CHUNK_BYTES);

    await store.delete(hash);

    // The reader holds a few chunks, not the file: past them, the deleted chunks are missed.
    let received = first.value?.length ?? 0;
    const drain = async () => {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        received += next.value.length;
      }
    };
    await expect(drain()).rejects.toThrow(/deleted while read/);
    expect(received).toBeLessThan(bytes.length);
  });

  it('should remove the chunks of uploads abandoned over an hour ago on the next put, keeping live ones', async () => {
    const chunk = { seq: 0, data: Buffer.from('partial upload') };
    await db.knex('model_artifact_chunks').insert([
      // A process died mid-put two hours ago.
      { ...chunk, owner: 'upload:crashed', written_at: now - 2 * HOUR },
      { ...chunk, seq: 1, owner: 'upload:crashed', written_at: now - 2 * HOUR + 1000 },
      // A slow upload that started long ago but wrote its last chunk a minute ago.
      { ...chunk, owner: 'upload:slow', written_at: now - 2 * HOUR },
      { ...chunk, seq: 1, owner: 'upload:slow', written_at: now - 60_000 },
    ]);

    await store.put(pieces(Buffer.from('any put sweeps')));

    expect((await uploadsInProgress()).sort()).toEqual(['upload:slow']);
    now += HOUR;
    await store.put(pieces(Buffer.from('an hour later')));
    expect(await uploadsInProgress()).toEqual([]);
  });
});

const postgresMissing = serviceAvailable('postgres') ? undefined : 'PostgreSQL is not reachable';
if (postgresMissing) {
  if (process.env.CI) throw new Error(`The models replicas suite needs what is missing: ${postgresMissing}`);
  console.warn(`Skipping the models replicas suite: ${postgresMissing}`);
}

(postgresMissing ? describe.skip : describe)('two models replicas on one PostgreSQL database', () => {
  const HEAVY_MODEL = path.resolve(__dirname, '..', 'inference-sidecar', 'models', 'stock-heavy', '1');
  let database: TestDatabase;
  let replicaA: ModelsService;
  let replicaB: ModelsService;

  beforeAll(async () => {
    database = await createTestDatabase('postgresql');
    // As the manifests run them: DATABASE_URL set, so the store defaults to the database.
    const env = { DATABASE_URL: database.config.kind === 'postgresql' ? database.config.url : '' };
    const config = { ...readModelsConfig(env), port: 0, maxArtifactBytes: 64 * MiB };
    expect(config.artifactStore).toBe('database');
    replicaA = await startModelsService({ config, logger: quiet() });
    replicaB = await startModelsService({ config, logger: quiet() });
  });
  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.close();
    await database?.drop();
  });

  it('should serve a file uploaded through one replica from the other, and register a version from it there', async () => {
    const model = await readFile(path.join(HEAVY_MODEL, 'model.onnx'));
    const hash = sha256(model);
    expect(model.length).toBeGreaterThan(4 * CHUNK_BYTES);

    const upload = await fetch(new URL('/artifacts', replicaA.url), {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: model,
    });
    expect(upload.status).toBe(201);
    expect(await upload.json()).toEqual({
      sha256: hash,
      size: model.length,
      uri: `urn:mlops:artifact:sha256:${hash}`,
    });

    const download = await fetch(new URL(`/artifacts/${hash}`, replicaB.url));
    expect(download.status).toBe(200);
    expect(download.headers.get('content-length')).toBe(String(model.length));
    const body = Buffer.from(await download.arrayBuffer());
    expect(sha256(body)).toBe(hash);
    expect(body.equals(model)).toBe(true);

    const created = await postGraphQL(
      replicaB.url,
      `mutation { createRegisteredModel(input: { name: "heavy" }) { name } }`,
    );
    expect(created.body.errors).toBeUndefined();
    const registered = await postGraphQL(
      replicaB.url,
      `mutation($sha: String!) { registerModelVersion(input: { modelName: "heavy", source: { artifactSha256: $sha } }) { version status statusMessage source { sha256 size uri } } }`,
      { variables: { sha: hash } },
    );
    expect(registered.body).toEqual({
      data: {
        registerModelVersion: {
          version: 1,
          status: 'READY',
          statusMessage: null,
          source: { sha256: hash, size: model.length, uri: `urn:mlops:artifact:sha256:${hash}` },
        },
      },
    });
    // Seen from replica A too: one registry, one store.
    expect(await replicaA.artifacts.stat(hash)).toMatchObject({ sha256: hash, size: model.length });
  });
});
