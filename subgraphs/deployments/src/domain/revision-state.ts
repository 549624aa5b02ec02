import { ErrorCode } from '@mlops/schema';
import { DomainError } from '@mlops/runtime';

export const STRATEGIES = ['DIRECT', 'CANARY', 'AB', 'BLUE_GREEN', 'SHADOW'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** Why a revision was created. */
export const REVISION_KINDS = ['CREATE', 'ROLLOUT', 'SET_TRAFFIC', 'PROMOTE', 'ROLLBACK'] as const;
export type RevisionKind = (typeof REVISION_KINDS)[number];

export const REVISION_PHASES = [
  'PENDING',
  'ROLLING_OUT',
  'ACTIVE',
  'ROLLING_BACK',
  'ROLLED_BACK',
  'FAILED',
] as const;
export type RevisionPhase = (typeof REVISION_PHASES)[number];

/**
 * A revision's lifecycle: PENDING → ROLLING_OUT → ACTIVE for a change, PENDING → ROLLING_BACK →
 * ROLLED_BACK for a rollback, and FAILED (with the reason) from either rolling phase.
 */
export type RevisionState =
  | { readonly phase: 'PENDING' }
  | { readonly phase: 'ROLLING_OUT' }
  | { readonly phase: 'ROLLING_BACK' }
  | { readonly phase: 'ACTIVE'; readonly activatedAt: number }
  | { readonly phase: 'ROLLED_BACK'; readonly activatedAt: number }
  | { readonly phase: 'FAILED'; readonly reason: string };

/** Whether a revision in this phase serves (or served) traffic. */
export function isServingPhase(state: RevisionState): boolean {
  switch (state.phase) {
    case 'ACTIVE':
    case 'ROLLED_BACK':
      return true;
    case 'PENDING':
    case 'ROLLING_OUT':
    case 'ROLLING_BACK':
    case 'FAILED':
      return false;
    default: {
      const _exhaustive: never = state;
      return _exhaustive;
    }
  }
}

const NEXT: Readonly<Record<RevisionPhase, readonly RevisionPhase[]>> = {
  PENDING: ['ROLLING_OUT', 'ROLLING_BACK'],
  ROLLING_OUT: ['ACTIVE', 'FAILED'],
  ROLLING_BACK: ['ROLLED_BACK', 'FAILED'],
  ACTIVE: [],
  ROLLED_BACK: [],
  FAILED: [],
};

/** The transition, or INVALID_STATE when the state machine does not allow it. */
export function transition(from: RevisionState, to: RevisionState): RevisionState {
  if (!NEXT[from.phase].includes(to.phase)) {
    throw new DomainError(ErrorCode.INVALID_STATE, `A revision cannot go from ${from.phase} to ${to.phase}`);
  }
  return to;
}

/** The state as stored: a phase column, a message column and the activation time. */
export function stateFromColumns(
  phase: RevisionPhase,
  message: string | null,
  activatedAt: number | null,
): RevisionState {
  switch (phase) {
    case 'PENDING':
    case 'ROLLING_OUT':
    case 'ROLLING_BACK':
      return { phase };
    case 'ACTIVE':
    case 'ROLLED_BACK':
      return { phase, activatedAt: activatedAt ?? 0 };
    case 'FAILED':
      return { phase, reason: message ?? '' };
    default: {
      const _exhaustive: never = phase;
      return _exhaustive;
    }
  }
}
