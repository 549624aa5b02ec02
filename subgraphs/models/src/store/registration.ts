import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { ErrorCode } from '@mlops/schema';
import { DomainError, badInput, validateLength, validateTags } from '@mlops/runtime';
import type { Database } from '@mlops/runtime/database';
import type { ArtifactStore, StoredArtifact } from '../artifacts/artifact-store';
import { isSha256 } from '../artifacts/artifact-store';
import { readOnnxSignature } from '../onnx/onnx-signature';
import { MAX_RUN_ID_LENGTH } from './limits';
import { completeRegistration, insertPendingVersion, isArtifactReferenced } from './model-versions';
import type { KeyValue, ModelVersionRecord } from './records';
import { getRegisteredModel, validateDescription } from './registered-models';

/** Where a version's file comes from: an artifact already stored (`POST /artifacts`), or a path the service reads. */
export type ModelSource = { readonly artifactSha256: string } | { readonly path: string };

export interface RegisterModelVersionInput {
  readonly modelName: string;
  readonly source: { readonly artifactSha256?: string | null; readonly path?: string | null };
  readonly runId?: string | null;
  readonly description?: string | null;
  readonly tags?: readonly KeyValue[] | null;
}

/** What registration needs besides the database. */
export interface Registry {
  readonly artifacts: ArtifactStore;
  /** Largest file copied in from a path; larger ones answer LIMIT_EXCEEDED. */
  readonly maxArtifactBytes: number;
}

function toModelSource(source: RegisterModelVersionInput['source']): ModelSource {
  const { artifactSha256, path: filePath } = source;
  if ((artifactSha256 == null) === (filePath == null)) {
    throw badInput('source', 'source must give exactly one of artifactSha256 and path');
  }
  if (artifactSha256 != null) {
    if (!isSha256(artifactSha256))
      throw badInput('source.artifactSha256', 'source.artifactSha256 must be 64 lower-case hex characters');
    return { artifactSha256 };
  }
  if (!path.isAbsolute(filePath!)) throw badInput('source.path', 'source.path must be an absolute path');
  return { path: filePath! };
}

/** Copies a file the service can read into the store; an unreadable path is the caller's mistake. */
async function importFile(
  registry: Registry,
  filePath: string,
): Promise<{ artifact: StoredArtifact; created: boolean }> {
  try {
    // Opening first turns a missing or unreadable path (or a directory) into one clear error.
    const handle = await open(filePath, 'r');
    const isFile = (await handle.stat()).isFile();
    await handle.close();
    if (!isFile) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
    throw badInput('source.path', `source.path '${filePath}' cannot be read by the models service (${code})`);
  }
  const { created, ...artifact } = await registry.artifacts.put(createReadStream(filePath), {
    maxBytes: registry.maxArtifactBytes,
  });
  return { artifact, created };
}

/**
 * Registers a version: stores (or finds) the file, takes the model's next version number as
 * PENDING_REGISTRATION, loads the file with ONNX Runtime, and ends READY with the signature or
 * FAILED_REGISTRATION with the reason. A failed version keeps its row and reason, but not its file
 * when no other live version uses it. Input errors are raised before anything is stored.
 */
export async function registerModelVersion(
  db: Database,
  registry: Registry,
  input: RegisterModelVersionInput,
): Promise<ModelVersionRecord> {
  const source = toModelSource(input.source);
  const tags = input.tags ?? [];
  validateTags('tags', tags);
  const description = validateDescription('description', input.description);
  const runId = input.runId ?? null;
  if (runId !== null) {
    if (runId.trim() === '') throw badInput('runId', 'runId must not be empty');
    validateLength('runId', runId, MAX_RUN_ID_LENGTH);
  }
  await getRegisteredModel(db.knex, input.modelName, 'modelName');

  let artifact: StoredArtifact;
  if ('artifactSha256' in source) {
    const found = await registry.artifacts.stat(source.artifactSha256);
    if (!found) {
      throw new DomainError(ErrorCode.NOT_FOUND, `No artifact with sha256 '${source.artifactSha256}'`, {
        field: 'source.artifactSha256',
      });
    }
    artifact = found;
  } else {
    artifact = (await importFile(registry, source.path)).artifact;
  }

  const pending = await insertPendingVersion(db, {
    modelName: input.modelName,
    runId,
    description,
    tags,
    artifact,
  });
  try {
    const bytes = await buffer(await registry.artifacts.open(artifact.sha256));
    const outcome = await readOnnxSignature(bytes);
    const done = await completeRegistration(db, pending, outcome);
    if (!outcome.ok && !(await isArtifactReferenced(db, artifact.sha256, done))) {
      await registry.artifacts.delete(artifact.sha256);
    }
    return done;
  } catch (error) {
    // Never leave a version PENDING because of our own failure: record it, then report it.
    await completeRegistration(db, pending, { ok: false, reason: 'Registration failed: internal error' });
    throw error;
  }
}
