/** The platform's roles, lowest to highest privilege; a token's `roles` claim names them. */
export const ROLES = ['viewer', 'data-scientist', 'ml-engineer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * A caller's verified identity: what the gateway derives from a valid JWT and forwards, signed, to
 * subgraphs. Anonymous callers have none.
 */
export interface Identity {
  /** The token's `sub`. */
  readonly subject: string;
  /** The token's `iss`. */
  readonly issuer: string | undefined;
  /** Known roles from the token's roles claim; unknown role names are dropped. */
  readonly roles: readonly Role[];
  /** From `scope` (space-separated) or `scp` (list). */
  readonly scopes: readonly string[];
  /** The token's `exp`, in seconds since the epoch. */
  readonly expiresAt: number;
}
