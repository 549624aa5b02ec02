import type http from 'node:http';
import { buffer } from 'node:stream/consumers';
import { ErrorCode } from '@mlops/schema';
import { DomainError, sendJson } from '@mlops/runtime';
import type { RouteHandler } from '@mlops/runtime';
import { readOnnxSignature } from '../onnx/onnx-signature';
import type { ArtifactStore } from './artifact-store';
import { sendArtifactError } from './route-errors';

export interface ArtifactUploadRouteOptions {
  readonly artifacts: ArtifactStore;
  /** Larger bodies answer 413 and store nothing. */
  readonly maxBytes: number;
}

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.BAD_USER_INPUT]: 400,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.LIMIT_EXCEEDED]: 413,
};

/**
 * `POST /artifacts`: streams the body into the store and answers `{ sha256, size, uri }` — 201 when
 * stored now, 200 when identical content was already there. `?validate=onnx` also loads the file
 * with ONNX Runtime and answers 422 (keeping nothing it stored) when it is not a loadable model.
 * Errors carry the same codes as GraphQL errors: `{ errors: [{ message, extensions: { code } }] }`.
 */
export function createArtifactUploadRoute(options: ArtifactUploadRouteOptions): RouteHandler {
  const { artifacts, maxBytes } = options;
  const tooLarge = new DomainError(ErrorCode.LIMIT_EXCEEDED, `An artifact may be at most ${maxBytes} bytes`, {
    field: 'artifact',
    limit: maxBytes,
  });
  return async (req, res) => {
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

/** Answers an error without reading the rest of the body, then drops the connection. */
function refuseBody(req: http.IncomingMessage, res: http.ServerResponse, error: DomainError): void {
  res.setHeader('connection', 'close');
  res.once('finish', () => req.destroy());
  sendArtifactError(res, STATUS_BY_CODE[error.code] ?? 400, error);
}
