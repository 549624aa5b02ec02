import type { FetcherResponse } from '@apollo/utils.fetcher';
import type { CircuitBreaker } from './circuit-breaker';
import { isQuery } from './deduplicating-fetch';
import { httpFetch, SubgraphTimeoutError } from './http-fetch';
import type { SubgraphFetch, SubgraphRequestInit } from './http-fetch';

export interface SubgraphResilience {
  /** Longest wait for one subgraph answer, in ms; then the fetch fails (UNAVAILABLE). */
  readonly timeoutMs: number;
  /** Extra attempts for a query whose fetch failed or answered 502/503/504; mutations never retry. */
  readonly retries: number;
  /** First retry delay in ms, doubled per attempt, with jitter. */
  readonly backoffMs: number;
  /**
   * Retries allowed per request on average (a token bucket: each request adds this much, each
   * retry takes one, at most 10 saved), so a failing subgraph is not hit with a multiple of its load.
   */
  readonly retryBudgetRatio: number;
  /** Identical in-flight queries to the subgraph share one request (`createDeduplicatingFetch`). */
  readonly deduplicate: boolean;
}

/** Why a subgraph fetch was not attempted or did not finish. */
export class SubgraphFetchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SubgraphFetchError';
  }
}

const RETRYABLE_STATUS = new Set([502, 503, 504]);
const MAX_SAVED_RETRIES = 10;

/**
 * The `fetch` one subgraph's data source uses: a timeout per attempt, the subgraph's circuit
 * breaker, and retries with backoff for queries only (a mutation may have taken effect before its
 * answer was lost), within a retry budget.
 */
export function createResilientFetch(
  name: string,
  policy: SubgraphResilience,
  breaker: CircuitBreaker,
  observe: (outcome: 'ok' | 'error', seconds: number) => void = () => {},
  baseFetch: SubgraphFetch = httpFetch,
): SubgraphFetch {
  let budget = MAX_SAVED_RETRIES;

  const attempt = async (url: string, init: SubgraphRequestInit | undefined): Promise<FetcherResponse> => {
    if (!breaker.allow()) {
      throw new SubgraphFetchError(`Subgraph '${name}' is failing; its circuit is open`);
    }
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const response = await baseFetch(url, { ...init, timeoutMs: policy.timeoutMs });
      const failed = RETRYABLE_STATUS.has(response.status);
      if (failed) breaker.failed();
      else breaker.succeeded();
      observe(failed ? 'error' : 'ok', seconds());
      return response;
    } catch (error) {
      breaker.failed();
      observe('error', seconds());
      const timedOut = error instanceof SubgraphTimeoutError;
      throw new SubgraphFetchError(
        timedOut
          ? `Subgraph '${name}' did not answer within ${policy.timeoutMs} ms`
          : `Subgraph '${name}' could not be reached`,
        { cause: error },
      );
    }
  };

  return async (url, init) => {
    budget = Math.min(MAX_SAVED_RETRIES, budget + policy.retryBudgetRatio);
    const retryable = typeof init?.body === 'string' && isQuery(init.body);
    for (let retry = 0; ; retry++) {
      let outcome: FetcherResponse | SubgraphFetchError;
      try {
        outcome = await attempt(url, init);
      } catch (error) {
        if (!(error instanceof SubgraphFetchError)) throw error;
        outcome = error;
      }
      const failed = outcome instanceof SubgraphFetchError || RETRYABLE_STATUS.has(outcome.status);
      if (!failed || !retryable || retry >= policy.retries || budget < 1 || breaker.phase !== 'closed') {
        if (outcome instanceof SubgraphFetchError) throw outcome;
        return outcome;
      }
      budget -= 1;
      const delay = policy.backoffMs * 2 ** retry * (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  };
}
