import type http from 'node:http';
import { buffer } from 'node:stream/consumers';
import { ErrorCode } from '@mlops/schema';
import { DomainError, sendJson } from '@mlops/runtime';
import type { RouteHandler } from '@mlops/runtime';
import { readOnnxSignature } from '../onnx/onnx-signature';
import { authorizeArtifactWrite } from './artifact-access';
import type { ArtifactStore } from './artifact-store';
import { sendArtifactError } from './route-errors';

export interface ArtifactUploadRouteOptions {
  readonly artifacts: ArtifactStore;
  /** Larger bodies answer 413 and store nothing. */
  readonly maxBytes: number;
  /** Whether uploads require a verified caller with a registry role (see `authorizeArtifactWrite`). */
  readonly identityRequired: boolean;
}

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.BAD_USER_INPUT]: 400,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.LIMIT_EXCEEDED]: 413,
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
};

/**
 * `POST /artifacts`: streams the body into the store and answers `{ sha256, size, uri }` — 201 when
 * stored now, 200 when identical content was already there. `?validate=onnx` also loads the file
 * with ONNX Runtime and answers 422 (keeping nothing it stored) when it is not a loadable model.
 * Errors carry the same codes as GraphQL errors: `{ errors: [{ message, extensions: { code } }] }`;
 * a caller `authorizeArtifactWrite` refuses answers 401/403 before any byte is read.
 */
export function createArtifactUploadRoute(options: ArtifactUploadRouteOptions): RouteHandler {
  const { artifacts, maxBytes, identityRequired } = options;
  const tooLarge = new DomainError(ErrorCode.LIMIT_EXCEEDED, `An artifact may be at most ${maxBytes} bytes`, {
    field: 'artifact',
    limit: maxBytes,
  });
  return async (req, res, { identity }) => {
    try {
      authorizeArtifactWrite(identity, identityRequired);
    } catch (error) {
      if (error instanceof DomainError) {
        refuseBody(req, res, error);
        return;
      }
      throw error;
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      sendArtifactError(res, 405, new DomainError(ErrorCode.BAD_USER_INPUT, 'Upload artifacts with POST'));
      return;
    }
    const validate = new URL(req.url ?? '/', 'http://localhost').searchParams.get('validate');
    if (validate !== null && validate !== 'onnx') {
      sendArtifactError(
        res,
        400,
        new DomainError(ErrorCode.BAD_USER_INPUT, `validate must be 'onnx'; got '${validate}'`, {
          field: 'validate',
        }),
      );
      return;
    }
    if (Number(req.headers['content-length'] ?? 0) > maxBytes) {
      refuseBody(req, res, tooLarge);
      return;
    }
    let stored;
    try {
      // Without destroyOnReturn the request survives an aborted put, so the 413 can still be sent.
      stored = await artifacts.put(req.iterator({ destroyOnReturn: false }), { maxBytes });
    } catch (error) {
      if (error instanceof DomainError && error.code === ErrorCode.LIMIT_EXCEEDED) {
        refuseBody(req, res, error);
        return;
      }
      throw error;
    }
    const { created, ...artifact } = stored;
    if (validate === 'onnx') {
      const outcome = await readOnnxSignature(await buffer(await artifacts.open(artifact.sha256)));
      if (!outcome.ok) {
        if (created) await artifacts.delete(artifact.sha256);
        sendArtifactError(
          res,
          422,
          new DomainError(ErrorCode.BAD_USER_INPUT, outcome.reason, { field: 'artifact' }),
        );
        return;
      }
      sendJson(res, created ? 201 : 200, { ...artifact, signature: outcome.signature });
      return;
    }
    sendJson(res, created ? 201 : 200, artifact);
  };
}

/** How much of a refused body is read and dropped (for `DRAIN_REFUSED_MS` at most) before the connection is cut. */
const DRAIN_REFUSED_BYTES = 64 * 1024 * 1024; // 64 MiB
const DRAIN_REFUSED_MS = 10_000; // 10 s

/**
 * Answers an error at once and drops the rest of the body as it arrives, up to a bound, then cuts
 * the connection. Closing with unread bytes would reset it, and a client (or the gateway proxying
 * the upload) still sending would often lose the answer with it.
 */
function refuseBody(req: http.IncomingMessage, res: http.ServerResponse, error: DomainError): void {
  let dropped = 0;
  const cut = () => req.destroy();
  const timer = setTimeout(cut, DRAIN_REFUSED_MS).unref();
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > DRAIN_REFUSED_BYTES) cut();
  });
  req.once('close', () => clearTimeout(timer));
  req.resume();
  sendArtifactError(res, STATUS_BY_CODE[error.code] ?? 400, error);
}
