import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { DomainError } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import type { ArtifactPutOptions, ArtifactPutResult, ArtifactStore, StoredArtifact } from './artifact-store';
import { isSha256 } from './artifact-store';

/**
 * Artifacts as files under `root`: `<sha256[0:2]>/<sha256>`. A put writes to `root/.tmp` while
 * hashing, then renames into place — atomic on one file system, so readers never see a partial file
 * and two puts of the same bytes leave one file.
 */
export function createLocalArtifactStore(root: string): ArtifactStore {
  const tmpDir = path.join(root, '.tmp');
  const fileOf = (sha256: string) => {
    // The hash becomes a path: anything but 64 hex characters could walk out of `root`.
    if (!isSha256(sha256)) throw new Error(`Not a sha256: '${sha256.slice(0, 80)}'`);
    return path.join(root, sha256.slice(0, 2), sha256);
  };
  const describe = (sha256: string, size: number): StoredArtifact => ({
    sha256,
    size,
    uri: pathToFileURL(fileOf(sha256)).href,
  });
  const sizeOf = async (sha256: string) => {
    try {
      return (await stat(fileOf(sha256))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };

  return {
    async put(
      content,
      { maxBytes = Number.POSITIVE_INFINITY }: ArtifactPutOptions = {},
    ): Promise<ArtifactPutResult> {
      await mkdir(tmpDir, { recursive: true });
      const tmp = path.join(tmpDir, randomUUID());
      const hash = createHash('sha256');
      let size = 0;
      const measure = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          size += chunk.length;
          if (size > maxBytes) {
            callback(
              new DomainError(ErrorCode.LIMIT_EXCEEDED, `An artifact may be at most ${maxBytes} bytes`, {
                field: 'artifact',
                limit: maxBytes,
              }),
            );
            return;
          }
          hash.update(chunk);
          callback(null, chunk);
        },
      });
      // Opened before streaming, so the file surely exists (and is closed) before a failure removes
      // it: a stream destroyed while its own open was pending would create the file afterwards.
      const handle = await open(tmp, 'wx');
      try {
        await pipeline(Readable.from(content), measure, handle.createWriteStream());
        const sha256 = hash.digest('hex');
        const target = fileOf(sha256);
        if ((await sizeOf(sha256)) !== undefined) {
          await rm(tmp, { force: true });
          return { ...describe(sha256, size), created: false };
        }
        await mkdir(path.dirname(target), { recursive: true });
        await rename(tmp, target);
        return { ...describe(sha256, size), created: true };
      } catch (error) {
        await handle.close().catch(() => undefined);
        await rm(tmp, { force: true });
        throw error;
      }
    },
    async open(sha256) {
      if (!isSha256(sha256) || (await sizeOf(sha256)) === undefined) {
        throw new DomainError(ErrorCode.NOT_FOUND, `No artifact with sha256 '${sha256}'`, {
          field: 'artifactSha256',
        });
      }
      return createReadStream(fileOf(sha256));
    },
    async stat(sha256) {
      if (!isSha256(sha256)) return undefined;
      const size = await sizeOf(sha256);
      return size === undefined ? undefined : describe(sha256, size);
    },
    async has(sha256) {
      return isSha256(sha256) && (await sizeOf(sha256)) !== undefined;
    },
    async delete(sha256) {
      if (!(await this.has(sha256))) return false;
      await rm(fileOf(sha256), { force: true });
      return true;
    },
  };
}
