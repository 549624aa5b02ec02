import { DomainError } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import type { Identity } from '@mlops/schema';

/** What a mutation that records its caller names in its errors. */
export interface ActingCallerOptions {
  /** The deprecated argument or input field that may only repeat the caller, e.g. `by`; named in FORBIDDEN. */
  readonly field: string;
  /** What the caller does, as the start of a sentence, e.g. `Acknowledging an alert`; names it in UNAUTHENTICATED. */
  readonly action: string;
}

/**
 * Who acts: always the verified caller the gateway forwarded. A deprecated `claimed` argument (an
 * acknowledger, a silence's creator) may only repeat that subject (FORBIDDEN naming `field`
 * otherwise, even when empty), so nobody acts in another's name. Without a verified caller (this
 * subgraph called without the gateway's signed identity, e.g. no `INTERNAL_IDENTITY_KEYS`) there is
 * nobody to record: UNAUTHENTICATED, whatever `claimed` says.
 */
export function actingCaller(
  identity: Identity | null,
  claimed: string | null | undefined,
  { field, action }: ActingCallerOptions,
): string {
  if (identity === null) {
    throw new DomainError(
      ErrorCode.UNAUTHENTICATED,
      `${action} takes a verified caller: call through the gateway with a token (the gateway and the alerts subgraph need the same INTERNAL_IDENTITY_KEYS)`,
    );
  }
  if (claimed !== null && claimed !== undefined && claimed !== identity.subject) {
    throw new DomainError(
      ErrorCode.FORBIDDEN,
      `'${field}' must be the verified caller '${identity.subject}' when given; got '${claimed}' (omit it: the caller is recorded)`,
      { field },
    );
  }
  return identity.subject;
}
