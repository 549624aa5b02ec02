import { IDENTITY_HEADER } from '@mlops/runtime';

interface SharedAnswer {
  readonly status: number;
  readonly headers: [string, string][];
  readonly body: string;
}

/**
 * Sends identical in-flight subgraph queries once: a request with the same URL, caller identity
 * and body (query and variables, entity representations included) as one still waiting for its
 * answer shares that answer. Many clients asking the same thing at once (a dashboard, a burst)
 * then cost the subgraph one request. Only queries are shared, never mutations; the request id is
 * not part of the key, so the subgraph logs the first caller's.
 */
export function createDeduplicatingFetch(inner: typeof fetch): typeof fetch {
  const inflight = new Map<string, Promise<SharedAnswer>>();
  return async (input, init) => {
    const body = init?.body;
    if (typeof body !== 'string' || !isQuery(body)) return inner(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const key = `${url}\n${headers[IDENTITY_HEADER] ?? ''}\n${body}`;
    let shared = inflight.get(key);
    if (!shared) {
      shared = inner(input, init)
        .then(async (response) => ({
          status: response.status,
          headers: [...response.headers.entries()],
          body: await response.text(),
        }))
        .finally(() => inflight.delete(key));
      inflight.set(key, shared);
    }
    const answer = await shared;
    return new Response(answer.body, { status: answer.status, headers: answer.headers });
  };
}

/** Whether a GraphQL-over-HTTP body holds a query (the gateway's fetches always name their kind). */
export function isQuery(body: string): boolean {
  return body.startsWith('{"query":"query') || body.startsWith('{"query":"{');
}
