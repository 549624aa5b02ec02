import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap } from '@apollo/server';
import type { ApolloServer, BaseContext, HTTPGraphQLRequest } from '@apollo/server';
import type { Identity } from '@mlops/schema';
import { ErrorCode } from '@mlops/schema';
import { UnauthenticatedError } from './internal-identity';

/** Thrown by an `admit` hook: answers 429 with `Retry-After` and code RATE_LIMITED. */
export class RateLimitedError extends Error {
  constructor(
    message: string,
    /** Seconds until a request may succeed again. */
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'RateLimitedError';
  }
}
import type { Logger } from './logger';
import { runReadinessChecks } from './readiness';
import type { ReadinessCheck } from './readiness';
import { runInRequestScope } from './request-scope';
import { nameServerSpanByOperation, serveInServerSpan, tracingEnabled } from './tracing';

/** What every request's GraphQL context starts from. */
export interface RequestContextBase {
  /** The caller's `x-request-id`, or a new one; echoed in the response and in every log line. */
  readonly requestId: string;
  /** The incoming headers, lower-cased. */
  readonly headers: http.IncomingHttpHeaders;
  /** Who is calling, as `authenticate` established; null for an anonymous caller. */
  readonly identity: Identity | null;
}

/**
 * Establishes the caller of a request from its headers (a verified JWT at the gateway, the signed
 * internal identity at a service). Throwing `UnauthenticatedError` answers 401 without running
 * anything; returning null lets the request through as anonymous.
 */
export type Authenticate = (headers: http.IncomingHttpHeaders) => Promise<Identity | null> | Identity | null;

/**
 * A handler for one extra path beside GraphQL. It owns the request (its body stream) and answers
 * the response itself, including the method check; when it throws, the server answers 500 (or
 * destroys the connection when the headers have already gone out).
 */
export type RouteHandler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  context: RequestContextBase,
) => Promise<void>;

export interface ServiceHttpServerOptions<TContext extends BaseContext> {
  apollo: ApolloServer<TContext>;
  logger: Logger;
  /** Dependencies `/ready` checks; an empty list means ready as soon as the process serves. */
  readinessChecks?: readonly ReadinessCheck[];
  /** Builds the per-request GraphQL context. */
  context(base: RequestContextBase): Promise<TContext>;
  /** GraphQL endpoint path; default `/graphql`. */
  path?: string;
  /** Largest accepted request body in bytes; default 1 MiB. Larger bodies answer 413. */
  maxBodyBytes?: number;
  /**
   * Extra handlers by exact pathname, e.g. `{ '/artifacts': upload }`, or by prefix with a key
   * ending in `*` (`{ '/artifacts/*': download }` answers every path under `/artifacts/`; an exact
   * key wins, then the longest prefix); default none. `/health`, `/ready` and the GraphQL `path`
   * take precedence. `maxBodyBytes` does not apply: a route reads (and limits) its own body.
   */
  routes?: Readonly<Record<string, RouteHandler>>;
  /**
   * Runs for GraphQL requests and extra routes (not `/health` or `/ready`); default: every caller is
   * anonymous.
   */
  authenticate?: Authenticate;
  /**
   * Runs after `authenticate` for GraphQL requests and extra routes: throwing `RateLimitedError`
   * answers 429 with `Retry-After`. Default: every request is admitted.
   */
  admit?(request: http.IncomingMessage, identity: Identity | null): Promise<void>;
  /**
   * Browser origins allowed to call cross-origin (CORS), e.g. `https://console.example.com`; default
   * none. An allowed origin's preflight answers 204 and its responses carry
   * `Access-Control-Allow-Origin`; any other origin's preflight answers 403.
   */
  corsOrigins?: readonly string[];
  /** Adds `Strict-Transport-Security` (serve behind TLS only); default false. */
  hsts?: boolean;
  /** Serves `/metrics` (Prometheus), like `/health` without authentication; default none. */
  metrics?: RouteHandler;
  /**
   * Answers a GraphQL request without Apollo when it can, after authentication, admission and the
   * body limit (the gateway's pass-through of single-subgraph queries); resolving undefined hands
   * the request to Apollo. Default none.
   */
  shortcut?(request: ShortcutRequest, context: RequestContextBase): Promise<ShortcutAnswer | undefined>;
}

/** A GraphQL request as `shortcut` sees it: the parsed JSON body (any shape the client sent). */
export interface ShortcutRequest {
  readonly method: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: unknown;
}

/** A complete answer from `shortcut`. */
export interface ShortcutAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface ServiceHttpServer {
  readonly server: http.Server;
  listen(port: number, host?: string): Promise<{ port: number; url: string }>;
  /** Stops accepting, lets in-flight requests finish, then closes idle keep-alive sockets. */
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A plain `node:http` server that serves one Apollo Server at `path`, plus `/health` (liveness: the
 * process answers) and `/ready` (readiness: every dependency answers).
 */
export function createServiceHttpServer<TContext extends BaseContext>(
  options: ServiceHttpServerOptions<TContext>,
): ServiceHttpServer {
  const {
    apollo,
    logger,
    readinessChecks = [],
    path = '/graphql',
    maxBodyBytes = 1024 * 1024, // 1 MiB
    routes = {},
    authenticate = () => null,
    corsOrigins = [],
    hsts = false,
  } = options;
  const allowedOrigins = new Set(corsOrigins);
  const prefixRoutes = Object.entries(routes)
    .filter(([key]) => key.endsWith('*'))
    .map(([key, handler]) => [key.slice(0, -1), handler] as const)
    .sort(([a], [b]) => b.length - a.length);
  const routeFor = (pathname: string): RouteHandler | undefined => {
    if (pathname === path) return undefined;
    if (Object.hasOwn(routes, pathname) && !pathname.endsWith('*')) return routes[pathname];
    return prefixRoutes.find(([prefix]) => pathname.startsWith(prefix))?.[1];
  };

  const server = http.createServer((req, res) =>
    tracingEnabled() ? serveInServerSpan(req, res, () => serve(req, res)) : serve(req, res),
  );

  function serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const requestId = acceptedRequestId(req.headers['x-request-id']) ?? randomUUID();
    res.setHeader('x-request-id', requestId);
    setSecurityHeaders(res, hsts);
    if (applyCors(req, res, allowedOrigins)) return;
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      logger.debug(
        { requestId, method: req.method, url: req.url, status: res.statusCode, durationMs },
        'request',
      );
    });
    runInRequestScope(requestId, () => handle(req, res, requestId)).catch((error: unknown) => {
      if (error instanceof RateLimitedError && !res.headersSent) {
        res.setHeader('retry-after', String(error.retryAfterSeconds));
        sendJson(res, 429, {
          errors: [{ message: error.message, extensions: { code: ErrorCode.RATE_LIMITED } }],
        });
        return;
      }
      const status =
        error instanceof HttpError ? error.status : error instanceof UnauthenticatedError ? 401 : 500;
      if (status === 500) logger.error({ err: error, requestId }, 'request failed');
      if (!res.headersSent) {
        const message = status === 500 ? 'Internal server error' : (error as Error).message;
        sendJson(res, status, { errors: [{ message, extensions: { code: codeForStatus(status) } }] });
      } else {
        res.destroy();
      }
    });
  }

  async function handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    requestId: string,
  ): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/health') {
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (url.pathname === '/metrics' && options.metrics) {
      await options.metrics(req, res, { requestId, headers: req.headers, identity: null });
      return;
    }
    if (url.pathname === '/ready') {
      const report = await runReadinessChecks(readinessChecks);
      sendJson(res, report.ready ? 200 : 503, report);
      return;
    }
    const route = routeFor(url.pathname);
    if (!route && url.pathname !== path) {
      sendJson(res, 404, { errors: [{ message: `No route for ${url.pathname}` }] });
      return;
    }
    const identity = await authenticate(req.headers);
    await options.admit?.(req, identity);
    if (route) {
      await route(req, res, { requestId, headers: req.headers, identity });
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const body = await readBody(req, req.headers['content-type'], maxBodyBytes);
    nameServerSpanByOperation(method, path, body, url.search);
    const base: RequestContextBase = { requestId, headers: req.headers, identity };
    const shortcut =
      options.shortcut && (await options.shortcut({ method, headers: req.headers, body }, base));
    if (shortcut) {
      res.statusCode = shortcut.status;
      for (const [key, value] of Object.entries(shortcut.headers)) res.setHeader(key, value);
      res.end(shortcut.body);
      return;
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const httpGraphQLRequest: HTTPGraphQLRequest = { method, headers, search: url.search, body };
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: () => options.context(base),
    });
    res.statusCode = response.status ?? 200;
    for (const [key, value] of response.headers) res.setHeader(key, value);
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  }

  return {
    server,
    listen(port, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          resolve({ port: address.port, url: `http://${host}:${address.port}${path}` });
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}

async function readBody(
  req: http.IncomingMessage,
  contentType: string | undefined,
  maxBodyBytes: number,
): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBodyBytes) {
    req.resume();
    throw new HttpError(413, `Request body exceeds ${maxBodyBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) throw new HttpError(413, `Request body exceeds ${maxBodyBytes} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  if (contentType?.toLowerCase().startsWith('application/json')) {
    let body: unknown;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      throw new HttpError(400, 'Request body is not valid JSON');
    }
    // No store of ours can hold U+0000 (PostgreSQL refuses it in text), and no name or filter needs
    // it: refused here, once, instead of failing deep in a database driver.
    // JSON can only carry U+0000 as the escape \u0000, so most bodies skip the walk.
    if (text.includes('\\u0000') && containsNul(body)) {
      throw new HttpError(400, 'Strings may not contain the NUL character (U+0000)');
    }
    return body;
  }
  return text;
}

function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return ErrorCode.BAD_USER_INPUT;
    case 401:
      return ErrorCode.UNAUTHENTICATED;
    case 413:
      return ErrorCode.LIMIT_EXCEEDED;
    default:
      return ErrorCode.INTERNAL_SERVER_ERROR;
  }
}

function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(containsNul);
  if (value !== null && typeof value === 'object') return Object.values(value).some(containsNul);
  return false;
}

/** An API answers JSON only: nothing of it may be framed, sniffed or leak its URL as a referrer. */
function setSecurityHeaders(res: http.ServerResponse, hsts: boolean): void {
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
  res.setHeader('cross-origin-resource-policy', 'same-origin');
  if (hsts) res.setHeader('strict-transport-security', 'max-age=31536000; includeSubDomains');
}

/** Sets the CORS headers of an allowed origin; answers a preflight itself (returns true then). */
function applyCors(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  allowed: ReadonlySet<string>,
): boolean {
  const origin = headerValue(req.headers.origin, /^[\w.:/-]{1,255}$/);
  const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
  res.setHeader('vary', 'origin');
  if (origin === undefined || !allowed.has(origin)) {
    if (!preflight) return false;
    sendJson(res, 403, {
      errors: [{ message: 'This origin may not call this API', extensions: { code: ErrorCode.FORBIDDEN } }],
    });
    return true;
  }
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('access-control-expose-headers', 'x-request-id, retry-after');
  if (!preflight) return false;
  res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
  res.setHeader(
    'access-control-allow-headers',
    'content-type, authorization, apollo-require-preflight, x-apollo-operation-name, x-request-id',
  );
  res.setHeader('access-control-max-age', '600');
  res.statusCode = 204;
  res.end();
  return true;
}

/** What a service accepts as a caller's `x-request-id`: no log injection, no huge values. */
const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The caller's request id when it is acceptable (see `REQUEST_ID`), else undefined. */
export function acceptedRequestId(value: string | string[] | undefined): string | undefined {
  return headerValue(value, REQUEST_ID);
}

function headerValue(value: string | string[] | undefined, pattern: RegExp): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v && pattern.test(v) ? v : undefined;
}

/** Answers a JSON body with its length; for route handlers too. */
export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
