import type { FetcherResponse } from '@apollo/utils.fetcher';
import { IDENTITY_HEADER } from '@mlops/runtime';
import type { SubgraphFetch } from './http-fetch';

/**
 * Sends identical in-flight subgraph queries once: a request with the same URL, caller identity
 * and body (query and variables, entity representations included) as one still waiting for its
 * answer shares that answer. Many clients asking the same thing at once (a dashboard, a burst)
 * then cost the subgraph one request. Only queries are shared, never mutations; the request id is
 * not part of the key, so the subgraph logs the first caller's. Each sharer reads its own clone,
 * so no two requests ever hold the same parsed objects.
 */
export function createDeduplicatingFetch(inner: SubgraphFetch): SubgraphFetch {
  const inflight = new Map<string, Promise<FetcherResponse>>();
  return async (url, init) => {
    const body = init?.body;
    if (typeof body !== 'string' || !isQuery(body)) return inner(url, init);
    const key = `${url}\n${init?.headers?.[IDENTITY_HEADER] ?? ''}\n${body}`;
    let shared = inflight.get(key);
    if (!shared) {
      shared = inner(url, init).finally(() => inflight.delete(key));
      inflight.set(key, shared);
      return shared;
    }
    return (await shared).clone();
  };
}

/** Whether a GraphQL-over-HTTP body holds a query (the gateway's fetches always name their kind). */
export function isQuery(body: string): boolean {
  return body.startsWith('{"query":"query') || body.startsWith('{"query":"{');
}
