import { DomainError } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import type { Identity } from '@mlops/schema';

/**
 * Who acknowledges: always the verified caller the gateway forwarded. The deprecated `by` argument
 * may only repeat that subject (FORBIDDEN otherwise), so nobody acknowledges in another's name.
 * Without a verified caller (this subgraph called without the gateway's signed identity, e.g. no
 * `INTERNAL_IDENTITY_KEYS`) there is nobody to record: UNAUTHENTICATED.
 */
export function acknowledgerOf(identity: Identity | null, by: string | null | undefined): string {
  if (identity === null) {
    throw new DomainError(
      ErrorCode.UNAUTHENTICATED,
      'Acknowledging an alert takes a verified caller: call through the gateway with a token (the gateway and the alerts subgraph need the same INTERNAL_IDENTITY_KEYS)',
    );
  }
  if (by !== null && by !== undefined && by !== identity.subject) {
    throw new DomainError(
      ErrorCode.FORBIDDEN,
      `'by' must be the verified caller '${identity.subject}' when given; got '${by}' (omit it: the caller is recorded)`,
      { field: 'by' },
    );
  }
  return identity.subject;
}
