import type http from 'node:http';
import { pipeline } from 'node:stream/promises';
import { DomainError } from '@mlops/runtime';
import type { RouteHandler } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import { authorizeArtifactRead } from './artifact-access';
import type { ArtifactStore } from './artifact-store';
import { isSha256 } from './artifact-store';
import { sendArtifactError } from './route-errors';

export interface ArtifactDownloadRouteOptions {
  readonly artifacts: ArtifactStore;
  /**
   * True when the service verifies the gateway's signed identity (`INTERNAL_IDENTITY_KEYS` set):
   * downloads then follow `authorizeArtifactRead`. False: every caller may download (development).
   */
  readonly identityRequired: boolean;
}

/** The path prefix the download route answers under: `/artifacts/<sha256>`. */
export const ARTIFACT_DOWNLOAD_PREFIX = '/artifacts/';

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
};

/**
 * `GET /artifacts/<sha256>`: streams the stored file (200, `application/octet-stream`, its
 * `content-length`, `etag: "<sha256>"`, `x-artifact-sha256`), or 304 when `if-none-match` names it;
 * `HEAD` answers the same headers without a body. 400 BAD_USER_INPUT when the path is not a sha256
 * (64 hex characters), 404 NOT_FOUND when nothing is stored under it, 405 for other methods, and
 * 401/403 as `authorizeArtifactRead` decides. Errors have the upload route's JSON shape.
 */
export function createArtifactDownloadRoute(options: ArtifactDownloadRouteOptions): RouteHandler {
  const { artifacts, identityRequired } = options;
  return async (req, res, { identity }) => {
    try {
      authorizeArtifactRead(identity, identityRequired);
    } catch (error) {
      if (error instanceof DomainError) {
        sendArtifactError(res, STATUS_BY_CODE[error.code] ?? 403, error);
        return;
      }
      throw error;
    }
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendArtifactError(
        res,
        405,
        new DomainError(
          ErrorCode.BAD_USER_INPUT,
          'Download artifacts with GET or HEAD; upload with POST /artifacts',
        ),
      );
      return;
    }
    const key = new URL(req.url ?? '/', 'http://localhost').pathname.slice(ARTIFACT_DOWNLOAD_PREFIX.length);
    // The key becomes a file name in the store: nothing but 64 hex characters gets that far.
    const sha256 = key.toLowerCase();
    if (!isSha256(sha256)) {
      sendArtifactError(
        res,
        400,
        new DomainError(
          ErrorCode.BAD_USER_INPUT,
          `An artifact is named by its sha256, 64 hex characters: GET /artifacts/<sha256>; got '${key.slice(0, 80)}'`,
          { field: 'sha256' },
        ),
      );
      return;
    }
    const stored = await artifacts.stat(sha256);
    if (!stored) {
      sendArtifactError(res, 404, notFound(sha256));
      return;
    }
    const etag = `"${sha256}"`;
    res.setHeader('etag', etag);
    res.setHeader('x-artifact-sha256', sha256);
    // Content-addressed: the bytes under a hash never change (the artifact may only disappear).
    res.setHeader('cache-control', 'private, max-age=31536000, immutable');
    if (matchesIfNoneMatch(req.headers['if-none-match'], sha256)) {
      res.writeHead(304).end();
      return;
    }
    const headers = { 'content-type': 'application/octet-stream', 'content-length': stored.size };
    if (method === 'HEAD') {
      res.writeHead(200, headers).end();
      return;
    }
    let content;
    try {
      content = await artifacts.open(sha256);
    } catch (error) {
      // Deleted between stat and open (its last version went away): still nothing sent.
      if (error instanceof DomainError && error.code === ErrorCode.NOT_FOUND) {
        sendArtifactError(res, 404, notFound(sha256));
        return;
      }
      throw error;
    }
    res.writeHead(200, headers);
    await streamTo(content, res);
  };
}

function notFound(sha256: string): DomainError {
  return new DomainError(ErrorCode.NOT_FOUND, `No artifact with sha256 '${sha256}'`, { field: 'sha256' });
}

const CLIENT_GONE = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'EPIPE', 'ECONNRESET']);

/** Streams with backpressure; a client that goes away ends it quietly (the file is closed). */
async function streamTo(content: NodeJS.ReadableStream, res: http.ServerResponse): Promise<void> {
  try {
    await pipeline(content, res);
  } catch (error) {
    if (CLIENT_GONE.has((error as NodeJS.ErrnoException).code ?? '')) return;
    // Headers are out: the server drops the connection, so the client sees a short body, not a whole one.
    throw error;
  }
}

/** `if-none-match` (RFC 9110, weak comparison): `*`, or a list of entity tags of which one is ours. */
function matchesIfNoneMatch(header: string | undefined, sha256: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const value = tag.trim().replace(/^W\//, '');
    return value === '*' || value.replace(/^"(.*)"$/, '$1').toLowerCase() === sha256;
  });
}
