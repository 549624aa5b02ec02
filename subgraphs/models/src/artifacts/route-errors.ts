import type http from 'node:http';
import { sendJson } from '@mlops/runtime';
import type { DomainError } from '@mlops/runtime';

/** Answers a domain error in the GraphQL error shape: `{ errors: [{ message, extensions: { code, … } }] }`. */
export function sendArtifactError(res: http.ServerResponse, status: number, error: DomainError): void {
  sendJson(res, status, {
    errors: [{ message: error.message, extensions: { ...error.details, code: error.code } }],
  });
}
