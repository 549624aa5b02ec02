import type { ErrorCode } from '@mlops/schema';

/**
 * An expected failure raised by domain code, independent of any transport. Each boundary converts
 * it once: GraphQL services in `createErrorFormatter`, gRPC services into a `Status`.
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Structured details for clients, e.g. `{ field: 'metrics', count: 1001, limit: 1000 }`. */
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
