import http from 'node:http';
import https from 'node:https';
import type { FetcherHeaders, FetcherResponse } from '@apollo/utils.fetcher';

// One pool of persistent connections per protocol for every subgraph: a federated query makes many
// small requests, and a new TCP connection (or Apollo's default fetcher stack) per request costs
// more than the request itself (bench/RESULTS.md, federation).
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' });

export interface SubgraphRequestInit {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** The whole exchange, answer body included, must finish within this many ms; default none. */
  readonly timeoutMs?: number;
}

/** How the gateway sends one request to a subgraph; the answer is read to its end before it resolves. */
export type SubgraphFetch = (url: string, init?: SubgraphRequestInit) => Promise<FetcherResponse>;

/** The exchange did not finish within `timeoutMs`; the connection was destroyed. */
export class SubgraphTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`No complete answer within ${timeoutMs} ms`);
    this.name = 'SubgraphTimeoutError';
  }
}

interface Target {
  readonly agent: http.Agent;
  readonly request: typeof http.request;
  readonly hostname: string;
  readonly port: string;
  readonly path: string;
}

const targets = new Map<string, Target>();

function targetOf(url: string): Target {
  let target = targets.get(url);
  if (!target) {
    const parsed = new URL(url);
    const secure = parsed.protocol === 'https:';
    if (!secure && parsed.protocol !== 'http:') throw new TypeError(`Unsupported subgraph URL '${url}'`);
    target = {
      agent: secure ? httpsAgent : httpAgent,
      request: secure ? https.request : http.request,
      // `new URL` keeps IPv6 literals in brackets; `http.request` wants them bare.
      hostname: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: parsed.port,
      path: parsed.pathname + parsed.search,
    };
    targets.set(url, target);
  }
  return target;
}

/**
 * A subgraph request over the keep-alive agents with nothing between the gateway and `node:http`:
 * no WHATWG streams or header objects per request (node-fetch and undici cost more CPU than the
 * request itself in the federation benchmark). Rejects on connection errors and timeouts.
 */
export const httpFetch: SubgraphFetch = (url, init = {}) =>
  new Promise<FetcherResponse>((resolve, reject) => {
    const target = targetOf(url);
    const body = init.body ?? '';
    let timer: NodeJS.Timeout | undefined;
    const request = target.request(
      {
        agent: target.agent,
        hostname: target.hostname,
        port: target.port,
        path: target.path,
        method: init.method ?? 'POST',
        headers: { ...init.headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', fail);
        response.on('end', () => {
          clearTimeout(timer);
          resolve(
            new BufferedResponse(
              url,
              response.statusCode ?? 0,
              response.statusMessage ?? '',
              new ResponseHeaders(response.headers),
              chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks),
            ),
          );
        });
      },
    );
    function fail(error: Error): void {
      clearTimeout(timer);
      reject(error);
    }
    request.on('error', fail);
    if (init.timeoutMs !== undefined) {
      const { timeoutMs } = init;
      timer = setTimeout(() => request.destroy(new SubgraphTimeoutError(timeoutMs)), timeoutMs);
    }
    request.end(body);
  });

/** A complete answer held in memory: its body can be read any number of times, and clones are free. */
export class BufferedResponse implements FetcherResponse {
  readonly redirected = false;
  bodyUsed = false;

  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
    readonly headers: FetcherHeaders,
    private readonly body: Buffer,
  ) {}

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  async text(): Promise<string> {
    this.bodyUsed = true;
    return this.body.toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    this.bodyUsed = true;
    const copy = new ArrayBuffer(this.body.byteLength);
    new Uint8Array(copy).set(this.body);
    return copy;
  }

  clone(): BufferedResponse {
    return new BufferedResponse(this.url, this.status, this.statusText, this.headers, this.body);
  }
}

/** The answer's headers, read-only (names lower-case, as `node:http` gives them). */
class ResponseHeaders implements FetcherHeaders {
  constructor(private readonly raw: http.IncomingHttpHeaders) {}

  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }

  append(): void {
    throw new TypeError('The headers of a subgraph answer are read-only');
  }

  delete(): void {
    throw new TypeError('The headers of a subgraph answer are read-only');
  }

  set(): void {
    throw new TypeError('The headers of a subgraph answer are read-only');
  }

  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.raw)) {
      const value = this.get(name);
      if (value !== null) yield [name, value];
    }
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}
