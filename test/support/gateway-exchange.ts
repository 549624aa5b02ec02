/**
 * One GraphQL request to a gateway as the equivalence suites compare it: two gateways that must
 * answer alike are sent the same request and their exchanges compared with `toEqual`.
 */
export interface Exchange {
  readonly status: number;
  readonly contentType: string | null;
  /** Every response header but those that differ per request. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

// Per request, or (content-length) following the development-mode stack traces left out below.
const UNCOMPARED_HEADERS = new Set(['date', 'x-request-id', 'content-length']);

type Coded = { extensions?: Record<string, unknown> };

/** Stack traces (development mode) end where each path was called from: left out of the comparison. */
function withoutStackTraces(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  const answer = parsed as { errors?: Coded[]; extensions?: { valueCompletion?: Coded[] } };
  for (const error of [...(answer.errors ?? []), ...(answer.extensions?.valueCompletion ?? [])]) {
    delete error.extensions?.stacktrace;
  }
  return JSON.stringify(parsed);
}

/** POSTs `body` as JSON to `url` and records the exchange. */
export async function exchange(
  url: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Exchange> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const kept = [...response.headers].filter(([name]) => !UNCOMPARED_HEADERS.has(name));
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    headers: Object.fromEntries(kept),
    body: withoutStackTraces(await response.text()),
  };
}
