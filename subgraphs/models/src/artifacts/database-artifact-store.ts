import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { DomainError } from '@mlops/runtime';
import { query, toNumber } from '@mlops/runtime/database';
import type { Database } from '@mlops/runtime/database';
import type { Knex } from '@mikro-orm/knex';
import { ErrorCode } from '@mlops/schema';
import type { ArtifactPutOptions, ArtifactPutResult, ArtifactStore, StoredArtifact } from './artifact-store';
import { isSha256 } from './artifact-store';

const ARTIFACTS = 'model_artifacts';
const CHUNKS = 'model_artifact_chunks';

/** Bytes per chunk row: a few fit in memory, and a 256 MiB file is only 256 rows. */
const CHUNK_BYTES = 1024 * 1024; // 1 MiB
/** Chunks a reader fetches per query: 4 MiB in memory per download at most, besides the stream's buffer. */
const CHUNKS_PER_READ = 4;
/**
 * An upload whose newest chunk is older than this was abandoned by a process that died mid-put; the
 * next put removes its chunks. Live uploads write a chunk per MiB, far more often than this.
 */
const ABANDONED_AFTER_MS = 60 * 60 * 1000; // 1 hour

/**
 * Artifacts as rows of the service's own database, so that every replica sees the same ones:
 * `model_artifacts` (sha256, size) and their bytes in `model_artifact_chunks` (owner, seq, data)
 * of 1 MiB each. A put writes its chunks under a fresh upload id (`upload:<uuid>`, stamped with
 * `written_at`) while hashing, then in one transaction either finds the hash stored (and drops its
 * chunks) or inserts the artifact row and re-keys its chunks to the hash. Readers look chunks up by
 * hash only after finding the row, so they never see a partial artifact; the primary key on the hash
 * settles two concurrent puts of the same bytes. Each put first removes the chunks of abandoned
 * uploads (see `ABANDONED_AFTER_MS`). Works on PostgreSQL (bytea) and SQLite (blob) alike.
 */
export function createDatabaseArtifactStore(db: Database): ArtifactStore {
  const { knex } = db;
  const describe = (sha256: string, size: number): StoredArtifact => ({
    sha256,
    size,
    uri: `urn:mlops:artifact:sha256:${sha256}`,
  });
  const sizeOf = async (sha256: string): Promise<number | undefined> => {
    if (!isSha256(sha256)) return undefined;
    const row = (await knex(ARTIFACTS).select('size').where({ sha256 }).first()) as
      { size: unknown } | undefined;
    return row === undefined ? undefined : toNumber(row.size);
  };

  return {
    async put(
      content,
      { maxBytes = Number.POSITIVE_INFINITY }: ArtifactPutOptions = {},
    ): Promise<ArtifactPutResult> {
      await removeAbandonedUploads(db);
      const upload = `upload:${randomUUID()}`;
      const hash = createHash('sha256');
      let size = 0;
      let chunks = 0;
      const write = async (data: Buffer) => {
        await knex(CHUNKS).insert({ owner: upload, seq: chunks, data, written_at: db.clock.now() });
        chunks += 1;
      };
      try {
        let pending: Uint8Array[] = [];
        let pendingBytes = 0;
        for await (const piece of content) {
          size += piece.length;
          if (size > maxBytes) {
            throw new DomainError(ErrorCode.LIMIT_EXCEEDED, `An artifact may be at most ${maxBytes} bytes`, {
              field: 'artifact',
              limit: maxBytes,
            });
          }
          hash.update(piece);
          pending.push(piece);
          pendingBytes += piece.length;
          if (pendingBytes < CHUNK_BYTES) continue;
          // Cut exact chunks, so that a stored artifact has ceil(size / CHUNK_BYTES) of them.
          const joined = Buffer.concat(pending, pendingBytes);
          let offset = 0;
          for (; joined.length - offset >= CHUNK_BYTES; offset += CHUNK_BYTES) {
            await write(joined.subarray(offset, offset + CHUNK_BYTES));
          }
          pending = offset < joined.length ? [joined.subarray(offset)] : [];
          pendingBytes = joined.length - offset;
        }
        if (pendingBytes > 0) await write(Buffer.concat(pending, pendingBytes));
        const sha256 = hash.digest('hex');
        const created = await commitUpload(db, upload, chunks, sha256, size);
        return { ...describe(sha256, size), created };
      } catch (error) {
        // Best effort: should the database be gone too, the next put's sweep removes these chunks.
        await knex(CHUNKS)
          .where({ owner: upload })
          .delete()
          .catch(() => undefined);
        throw error;
      }
    },
    async open(sha256) {
      const size = await sizeOf(sha256);
      if (size === undefined) {
        throw new DomainError(ErrorCode.NOT_FOUND, `No artifact with sha256 '${sha256}'`, {
          field: 'artifactSha256',
        });
      }
      // Bytes, not objects: the stream buffers one chunk ahead of its reader, not sixteen.
      return Readable.from(readChunks(knex, sha256, size), { objectMode: false, highWaterMark: CHUNK_BYTES });
    },
    async stat(sha256) {
      const size = await sizeOf(sha256);
      return size === undefined ? undefined : describe(sha256, size);
    },
    async has(sha256) {
      return (await sizeOf(sha256)) !== undefined;
    },
    async delete(sha256) {
      if (!isSha256(sha256)) return false;
      return knex.transaction(async (trx) => {
        const deleted = await trx(ARTIFACTS).where({ sha256 }).delete();
        await trx(CHUNKS).where({ owner: sha256 }).delete();
        return deleted > 0;
      });
    },
  };
}

/**
 * Turns a finished upload into the artifact `sha256`; true when it is new. When the hash is already
 * stored, or a concurrent put of the same bytes commits first (the primary key refuses the second
 * row), the upload's chunks are dropped and the stored artifact stands.
 */
async function commitUpload(
  db: Database,
  upload: string,
  chunks: number,
  sha256: string,
  size: number,
): Promise<boolean> {
  try {
    return await db.knex.transaction(async (trx) => {
      if (await trx(ARTIFACTS).where({ sha256 }).first()) {
        await trx(CHUNKS).where({ owner: upload }).delete();
        return false;
      }
      await trx(ARTIFACTS).insert({ sha256, size, created_at: db.clock.now() });
      const moved = await trx(CHUNKS).where({ owner: upload }).update({ owner: sha256, written_at: null });
      // Only a sweep that took this upload for abandoned (stalled over an hour) removes its chunks.
      if (moved !== chunks) {
        throw new Error(`Upload ${upload} lost chunks before it completed: ${moved} of ${chunks} remain`);
      }
      return true;
    });
  } catch (error) {
    if (!db.isUniqueViolation(error)) throw error;
    await db.knex(CHUNKS).where({ owner: upload }).delete();
    return false;
  }
}

/** Removes the chunks of uploads whose newest chunk is older than `ABANDONED_AFTER_MS`. */
async function removeAbandonedUploads(db: Database): Promise<void> {
  // Only upload chunks carry `written_at` (indexed), so the inner query reads none of the artifacts'.
  await query(db.knex, {
    sql: `DELETE FROM ${CHUNKS} WHERE owner IN (SELECT owner FROM ${CHUNKS} WHERE written_at IS NOT NULL GROUP BY owner HAVING MAX(written_at) < ?)`,
    bindings: [db.clock.now() - ABANDONED_AFTER_MS],
  });
}

/** The artifact's chunks in order, `CHUNKS_PER_READ` per query; fails when they end before `size` bytes. */
async function* readChunks(knex: Knex, sha256: string, size: number): AsyncGenerator<Buffer> {
  let seq = 0;
  let read = 0;
  while (read < size) {
    const rows = (await knex(CHUNKS)
      .select('seq', 'data')
      .where({ owner: sha256 })
      .andWhere('seq', '>=', seq)
      .orderBy('seq')
      .limit(CHUNKS_PER_READ)) as { seq: unknown; data: Buffer }[];
    if (rows.length === 0) {
      // The artifact was deleted while being read: a truncated download must not look complete.
      throw new Error(`Artifact ${sha256} ended after ${read} of ${size} bytes (deleted while read?)`);
    }
    for (const row of rows) {
      if (toNumber(row.seq) !== seq) throw new Error(`Artifact ${sha256} is missing chunk ${seq}`);
      seq += 1;
      read += row.data.length;
      yield row.data;
    }
  }
}
