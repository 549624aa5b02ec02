/**
 * The one public list of error codes. Every GraphQL error a service answers carries one of these in
 * `extensions.code`; clients branch on the code, never on the message.
 */
export enum ErrorCode {
  /** An argument is malformed or out of range; `extensions.field` names it where one field is at fault. */
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  /** A request exceeds a documented limit (batch sizes, page sizes); the message names the counts. */
  LIMIT_EXCEEDED = 'LIMIT_EXCEEDED',
  /** An id or name does not exist. */
  NOT_FOUND = 'NOT_FOUND',
  /** The change contradicts stored state: a duplicate name, a write-once value written differently. */
  CONFLICT = 'CONFLICT',
  /** The target exists but its lifecycle forbids the change (e.g. logging to a deleted run). */
  INVALID_STATE = 'INVALID_STATE',
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  /** Too many requests from one address or caller; HTTP 429 with `Retry-After` (seconds). */
  RATE_LIMITED = 'RATE_LIMITED',
  FORBIDDEN = 'FORBIDDEN',
  /** A dependency (database, cache, subgraph) did not answer. */
  UNAVAILABLE = 'UNAVAILABLE',
  /**
   * A live subscription ended because the schema it was planned against was replaced (supergraph
   * reload); subscribe again, from the last cursor received, to continue on the new schema.
   */
  SUBSCRIPTION_RESTART = 'SUBSCRIPTION_RESTART',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}
