export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit; default 5. */
  readonly failureThreshold?: number;
  /** How long an open circuit fails calls at once before one probe may pass, in ms; default 10 s. */
  readonly openMs?: number;
  /** Default `Date.now`. */
  readonly now?: () => number;
}

type CircuitState =
  | { readonly phase: 'closed'; readonly failures: number }
  | { readonly phase: 'open'; readonly until: number }
  | { readonly phase: 'half-open' };

/**
 * One subgraph's circuit breaker: after `failureThreshold` consecutive failures, calls fail at once
 * (no socket, no timeout to wait out) for `openMs`; then one probe call is let through, and its
 * outcome closes the circuit or opens it again.
 */
export interface CircuitBreaker {
  /** Whether a call may go ahead now; false while open (or while the half-open probe is out). */
  allow(): boolean;
  succeeded(): void;
  failed(): void;
  readonly phase: CircuitState['phase'];
}

export function createCircuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreaker {
  const { failureThreshold = 5, openMs = 10_000, now = Date.now } = options; // 10 s
  let state: CircuitState = { phase: 'closed', failures: 0 };
  return {
    get phase() {
      return state.phase;
    },
    allow() {
      switch (state.phase) {
        case 'closed':
          return true;
        case 'open':
          if (now() < state.until) return false;
          state = { phase: 'half-open' };
          return true;
        case 'half-open':
          return false;
        default: {
          const _exhaustive: never = state;
          throw new Error(`Unknown circuit state ${JSON.stringify(_exhaustive)}`);
        }
      }
    },
    succeeded() {
      state = { phase: 'closed', failures: 0 };
    },
    failed() {
      const failures = state.phase === 'closed' ? state.failures + 1 : failureThreshold;
      state =
        failures >= failureThreshold
          ? { phase: 'open', until: now() + openMs }
          : { phase: 'closed', failures };
    },
  };
}
