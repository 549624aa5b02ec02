import http from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';
import { sendJson, startOutgoingCall } from '@mlops/runtime';
import type { Logger, RouteHandler } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import type { Identity } from '@mlops/schema';

export interface ArtifactProxyOptions {
  /** The models subgraph's GraphQL URL as routed now; undefined until the supergraph is loaded. */
  readonly modelsUrl: () => string | undefined;
  /** The signed identity headers the models subgraph verifies (none without internal keys). */
  readonly identityHeaders: (identity: Identity | null) => Record<string, string>;
  /**
   * Longest silence on either side before the exchange is given up: no byte of the upload for this
   * long, or no answer from the models subgraph. Transfers themselves may take as long as they need.
   */
  readonly idleTimeoutMs: number;
  readonly logger: Logger;
  /** Called once per request when it ends: the status answered (0 when the exchange was cut) and its duration. */
  readonly observe?: (status: number, seconds: number) => void;
}

/** What a client may send on to the models subgraph; the identity is the gateway's to sign. */
const REQUEST_HEADERS = ['content-type', 'content-length', 'if-none-match'] as const;
/** What the models subgraph answers that the client needs (the gateway sets its own security headers). */
const RESPONSE_HEADERS = [
  'content-type',
  'content-length',
  'etag',
  'x-artifact-sha256',
  'allow',
  'cache-control',
  'retry-after',
] as const;

/**
 * The models subgraph's artifact routes through the gateway, for clients that only reach the
 * gateway: `POST /artifacts` uploads a model file and `GET`/`HEAD /artifacts/<sha256>` downloads one.
 * The gateway has verified the caller's token by then (and admitted it past the rate limits); the
 * proxy streams both bodies without holding them, signs the caller's identity for the subgraph, and
 * passes on the subgraph's answer — status, codes and decisions (who may upload or download, size
 * limits, validation) stay the subgraph's. A models subgraph that cannot be reached answers 502
 * `UNAVAILABLE`, one that stays silent past `idleTimeoutMs` 504 `UNAVAILABLE`; a client that goes
 * away mid-upload aborts the upstream request, so the subgraph stores nothing.
 */
export function createArtifactProxy(options: ArtifactProxyOptions): Readonly<Record<string, RouteHandler>> {
  const { modelsUrl, identityHeaders, idleTimeoutMs, logger, observe } = options;

  const proxy: RouteHandler = async (req, res, context) => {
    const started = process.hrtime.bigint();
    res.once('close', () =>
      observe?.(res.writableFinished ? res.statusCode : 0, Number(process.hrtime.bigint() - started) / 1e9),
    );
    await forward(req, res, context);
  };

  const forward: RouteHandler = async (req, res, { requestId, identity }) => {
    const graphqlUrl = modelsUrl();
    if (graphqlUrl === undefined) {
      sendUnavailable(res, 503, 'The models subgraph is not routed yet');
      return;
    }
    // The artifact routes sit beside the subgraph's GraphQL endpoint, under any path prefix it has;
    // the path goes on as the gateway routed it (dot segments resolved), never as sent.
    const { pathname, search } = new URL(req.url ?? '/', 'http://localhost');
    const target = new URL(`.${pathname}${search}`, graphqlUrl.replace(/\/graphql\/?$/, '/'));
    const headers: Record<string, string> = { ...identityHeaders(identity), 'x-request-id': requestId };
    for (const name of REQUEST_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const method = req.method ?? 'GET';
    const span = startOutgoingCall(
      `${method} /artifacts`,
      { 'http.request.method': method, 'url.full': target.toString() },
      (key, value) => (headers[key] = value),
    );
    const client = target.protocol === 'https:' ? https : http;
    const upstream = client.request(target, { method, headers, timeout: idleTimeoutMs });

    let clientGone = false;
    try {
      const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
        upstream.once('response', resolve);
        upstream.once('error', reject);
        upstream.once('timeout', () =>
          upstream.destroy(new UpstreamTimeout(`no answer within ${idleTimeoutMs} ms`)),
        );
      });
      // The client's body goes up as it arrives, and a client that leaves before the end of it
      // aborts the upstream request. Not `pipeline`: a failed write upstream (the subgraph refused
      // early and closed) must leave its answer readable.
      req.pipe(upstream);
      req.once('close', () => {
        if (req.complete) return;
        clientGone = true;
        upstream.destroy(new Error('the client went away mid-request'));
      });
      const response = await answered;
      upstream.on('error', (error) => logger.debug({ err: error, requestId }, 'artifact upload cut short'));
      span?.setAttribute('http.response.status_code', response.statusCode ?? 0);
      res.statusCode = response.statusCode ?? 502;
      for (const name of RESPONSE_HEADERS) {
        const value = response.headers[name];
        if (value !== undefined) res.setHeader(name, value);
      }
      await pipeline(response, res);
      span?.end(res.statusCode >= 500 ? `HTTP ${res.statusCode}` : undefined);
    } catch (error) {
      span?.end((error as Error).message);
      upstream.destroy();
      if (res.headersSent || clientGone) {
        res.destroy();
        return;
      }
      const timedOut = error instanceof UpstreamTimeout;
      logger.warn({ err: error, requestId, target: target.toString() }, 'artifact proxy failed');
      // The cause (an internal address, a socket error) goes to the log, not to the client.
      sendUnavailable(
        res,
        timedOut ? 504 : 502,
        timedOut
          ? `The models subgraph did not answer the artifact request within ${idleTimeoutMs} ms`
          : 'The models subgraph could not be reached for the artifact request',
      );
    }
  };
  return { '/artifacts': proxy, '/artifacts/*': proxy };
}

class UpstreamTimeout extends Error {}

function sendUnavailable(res: http.ServerResponse, status: number, message: string): void {
  sendJson(res, status, { errors: [{ message, extensions: { code: ErrorCode.UNAVAILABLE } }] });
}
