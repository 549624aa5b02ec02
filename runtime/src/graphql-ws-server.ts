import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, getOperationAST, parse, subscribe as graphqlSubscribe, validate } from 'graphql';
import type { DocumentNode, ExecutionArgs, ExecutionResult, GraphQLSchema } from 'graphql';
import { CloseCode, makeServer } from 'graphql-ws';
import type { Context as ProtocolContext, SubscribePayload } from 'graphql-ws';
import { WebSocket, WebSocketServer } from 'ws';
import { ErrorCode, WebSocketCloseCode } from '@mlops/schema';
import { codedError, createErrorFormatter } from './graphql-errors';
import type { Identity } from '@mlops/schema';
import { acceptedRequestId } from './http-server';
import type { RequestContextBase } from './http-server';
import { UnauthenticatedError } from './internal-identity';
import type { Logger } from './logger';

/** What every WebSocket operation's GraphQL context starts from. */
export interface WebSocketContextBase extends RequestContextBase {
  /**
   * The subscription's id on its connection (the graphql-ws `subscribe` message's `id`, chosen by
   * the client): with `requestId`, which is the connection's, it names one subscription in logs.
   */
  readonly subscriptionId: string;
  /** The `connection_init` payload (where a client puts its token). */
  readonly connectionParams: Readonly<Record<string, unknown>>;
  /** Closes this client's connection, e.g. with `WebSocketCloseCode.SLOW_CONSUMER`. */
  closeConnection(code: number, reason: string): void;
}

/** What a subscription's execution answers: a stream of results, or one result (an error). */
export type SubscriptionResult = AsyncIterable<ExecutionResult> | ExecutionResult;

export interface GraphQLWebSocketServerOptions<TContext> {
  /** The HTTP server whose `upgrade` requests on `path` are taken over; others are refused. */
  readonly server: http.Server;
  /** Default `/graphql`: the same path as GraphQL over HTTP. */
  readonly path?: string;
  readonly logger: Logger;
  /** Operations are validated against it; a function is read per operation (a gateway's schema changes). */
  readonly schema: GraphQLSchema | (() => GraphQLSchema);
  context(base: WebSocketContextBase): Promise<TContext> | TContext;
  /**
   * Establishes the caller once per connection, at `connection_init`, from the upgrade request's
   * headers and the init payload (where browsers put their token). Throwing `UnauthenticatedError`
   * closes the connection with 4401; default: every caller is anonymous.
   */
  authenticate?(request: {
    readonly headers: http.IncomingHttpHeaders;
    readonly connectionParams: Readonly<Record<string, unknown>>;
  }): Promise<Identity | null> | Identity | null;
  /** Executes subscriptions; default graphql-js `subscribe` over `schema`. */
  subscribe?(args: ExecutionArgs & { contextValue: TContext }): Promise<SubscriptionResult>;
  /**
   * Whether queries and mutations are accepted over the socket too; default true (executed by
   * graphql-js over `schema`). When false they are refused with BAD_USER_INPUT: use HTTP.
   */
  readonly allowQueries?: boolean;
  /** Masks uncoded errors as `createErrorFormatter` does over HTTP. */
  readonly production: boolean;
  /** A client that has not sent `connection_init` by then is closed with 4408; default 3 s. */
  readonly connectionInitTimeoutMs?: number;
  /** Interval of WebSocket pings; a client that has not answered the previous one is dropped. Default 12 s; 0 disables. */
  readonly keepAliveMs?: number;
  /** Active subscriptions one connection may hold; the next is answered LIMIT_EXCEEDED. Default 100. */
  readonly maxSubscriptionsPerConnection?: number;
  /** Active subscriptions across the process; the next is answered LIMIT_EXCEEDED. Default 50,000. */
  readonly maxSubscriptions?: number;
  /** Largest accepted client message; larger closes the connection with 1009. Default 64 KiB. */
  readonly maxPayloadBytes?: number;
  /**
   * How long a connection closed by the server (`closeConnection`) may take to finish the closing
   * handshake before it is dropped; a client that stopped reading never would. Default 10 s.
   */
  readonly closeGraceMs?: number;
}

export interface GraphQLWebSocketServer {
  /** Open connections. */
  connectionCount(): number;
  /** Active subscriptions over every connection. */
  subscriptionCount(): number;
  /**
   * Refuses new connections, closes every open one with 1001 (going away) so clients reconnect
   * elsewhere, and resolves when they are closed (terminating stragglers after `graceMs`, default 5 s).
   */
  close(graceMs?: number): Promise<void>;
}

interface ConnectionExtra {
  readonly socket: WebSocket;
  /** The upgrade request's headers (not the request itself, which would pin its buffers). */
  readonly headers: http.IncomingHttpHeaders;
  /** The upgrade request's `x-request-id` when acceptable, else a new one: every operation's. */
  readonly requestId: string;
  /** Ids of this connection's subscriptions that have started and not ended. */
  readonly active: Set<string>;
  /** Set at `connection_init` by `authenticate`. */
  identity: Identity | null;
}

const DOCUMENT_CACHE_SIZE = 1_000;

type Context = ProtocolContext<Record<string, unknown>, ConnectionExtra>;

/**
 * Serves the `graphql-transport-ws` protocol (the `graphql-ws` library's protocol machine, adapted
 * to `ws` here) on an HTTP server's upgrade path, with the limits a shared server needs.
 */
export function serveGraphQLOverWebSocket<TContext>(
  options: GraphQLWebSocketServerOptions<TContext>,
): GraphQLWebSocketServer {
  const {
    server,
    path = '/graphql',
    logger,
    allowQueries = true,
    connectionInitTimeoutMs = 3_000, // 3 s
    keepAliveMs = 12_000, // 12 s
    maxSubscriptionsPerConnection = 100,
    maxSubscriptions = 50_000,
    maxPayloadBytes = 64 * 1024, // 64 KiB
    closeGraceMs = 10_000, // 10 s
  } = options;
  const formatError = createErrorFormatter(options.production);
  const schemaOf = (): GraphQLSchema =>
    typeof options.schema === 'function' ? options.schema() : options.schema;
  let subscriptions = 0;
  let accepting = true;

  const release = (extra: ConnectionExtra, id: string): void => {
    if (!extra.active.delete(id)) return;
    subscriptions -= 1;
    logger.debug({ requestId: extra.requestId, subscriptionId: id }, 'subscription ended');
  };

  const protocol = makeServer<Record<string, unknown>, ConnectionExtra>({
    connectionInitWaitTimeout: connectionInitTimeoutMs,
    async onConnect(ctx: Context) {
      if (!options.authenticate) return true;
      try {
        ctx.extra.identity = await options.authenticate({
          headers: ctx.extra.headers,
          connectionParams: ctx.connectionParams ?? {},
        });
        return true;
      } catch (error) {
        if (!(error instanceof UnauthenticatedError)) throw error;
        ctx.extra.socket.close(CloseCode.Unauthorized, `Unauthorized: ${error.message}`.slice(0, 120));
        return false;
      }
    },
    async onSubscribe(ctx: Context, id: string, payload: SubscribePayload) {
      const prepared = prepare(payload);
      if (Array.isArray(prepared)) return prepared;
      const args = prepared as Omit<ExecutionArgs, 'contextValue'>;
      if (ctx.extra.active.size >= maxSubscriptionsPerConnection) {
        return [
          codedError(
            ErrorCode.LIMIT_EXCEEDED,
            `A connection may hold at most ${maxSubscriptionsPerConnection} active subscriptions`,
          ),
        ];
      }
      if (subscriptions >= maxSubscriptions) {
        return [
          codedError(ErrorCode.LIMIT_EXCEEDED, 'This server holds its maximum of subscriptions; retry later'),
        ];
      }
      ctx.extra.active.add(id);
      subscriptions += 1;
      logger.debug(
        { requestId: ctx.extra.requestId, subscriptionId: id, operationName: args.operationName },
        'subscription started',
      );
      const contextValue = await options.context({
        requestId: ctx.extra.requestId,
        subscriptionId: id,
        headers: ctx.extra.headers,
        identity: ctx.extra.identity,
        connectionParams: ctx.connectionParams ?? {},
        closeConnection: (code, reason) => closeWithin(ctx.extra.socket, code, reason, closeGraceMs),
      });
      return { ...args, contextValue };
    },
    subscribe: (args) =>
      options.subscribe
        ? options.subscribe(args as ExecutionArgs & { contextValue: TContext })
        : graphqlSubscribe(args),
    onComplete: (ctx, id) => release(ctx.extra, id),
    onError(ctx, id, _payload, errors) {
      release(ctx.extra, id);
      return errors.map((error) => formatError(withCode(error).toJSON(), error));
    },
    onNext(_ctx, _id, _payload, _args, result) {
      if (!result.errors) return;
      return {
        ...result,
        errors: result.errors.map((error) => formatError(error.toJSON(), error)),
      };
    },
  });

  // Parsed and validated documents by query text, for the schema they were validated against:
  // thousands of clients sending the same subscription share one document (memory and CPU).
  let documentsFor: GraphQLSchema | undefined;
  const documents = new Map<string, DocumentNode | GraphQLError[]>();

  function parseAndValidate(query: string, schema: GraphQLSchema): DocumentNode | GraphQLError[] {
    if (documentsFor !== schema) {
      documents.clear();
      documentsFor = schema;
    }
    const cached = documents.get(query);
    if (cached) return cached;
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (error) {
      return [
        codedError(ErrorCode.BAD_USER_INPUT, (error as Error).message, { reason: 'GRAPHQL_PARSE_FAILED' }),
      ];
    }
    const invalid = validate(schema, document);
    const outcome = invalid.length > 0 ? invalid.map(withCode) : document;
    if (documents.size >= DOCUMENT_CACHE_SIZE) documents.delete(documents.keys().next().value as string);
    documents.set(query, outcome);
    return outcome;
  }

  /** Parses and validates a subscribe message, or answers coded errors for it. */
  function prepare(payload: SubscribePayload): Omit<ExecutionArgs, 'contextValue'> | GraphQLError[] {
    const schema = schemaOf();
    const document = parseAndValidate(payload.query, schema);
    if (Array.isArray(document)) return document;
    const operationName = payload.operationName ?? undefined;
    const operation = getOperationAST(document, operationName);
    if (!operation) {
      return [
        codedError(ErrorCode.BAD_USER_INPUT, 'The document names no operation to run (set operationName)'),
      ];
    }
    if (operation.operation !== 'subscription' && !allowQueries) {
      return [
        codedError(
          ErrorCode.BAD_USER_INPUT,
          `Only subscriptions are served over WebSocket here; send ${operation.operation} operations over HTTP`,
        ),
      ];
    }
    return { schema, document, operationName, variableValues: payload.variables ?? undefined };
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: maxPayloadBytes });
  const onUpgrade = (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (pathname !== path || !accepting) {
      socket.end(
        `HTTP/1.1 ${accepting ? 404 : 503} ${accepting ? 'Not Found' : 'Service Unavailable'}\r\n\r\n`,
      );
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => accept(ws, request));
  };
  server.on('upgrade', onUpgrade);

  function accept(socket: WebSocket, request: http.IncomingMessage): void {
    const extra: ConnectionExtra = {
      socket,
      headers: request.headers,
      requestId: acceptedRequestId(request.headers['x-request-id']) ?? randomUUID(),
      active: new Set(),
      identity: null,
    };
    const stopKeepAlive = keepAlive(socket, keepAliveMs);
    socket.on('error', (error) =>
      logger.debug({ err: error, requestId: extra.requestId }, 'websocket error'),
    );
    const closed = protocol.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve) => {
            if (socket.readyState !== WebSocket.OPEN) return resolve();
            // Resolving on the write callback is the backpressure: a subscription's loop pulls its
            // next event only once the previous one has left, so a slow client fills its queue.
            socket.send(data, () => resolve());
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handler) =>
          socket.on('message', (data: Buffer) => {
            handler(data.toString('utf8')).catch((error: unknown) => {
              logger.warn({ err: error, requestId: extra.requestId }, 'websocket message failed');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      extra,
    );
    socket.once('close', (code, reason) => {
      stopKeepAlive();
      for (const id of [...extra.active]) release(extra, id);
      closed(code, reason.toString('utf8')).catch((error: unknown) =>
        logger.warn({ err: error, requestId: extra.requestId }, 'websocket close handling failed'),
      );
    });
  }

  return {
    connectionCount: () => wss.clients.size,
    subscriptionCount: () => subscriptions,
    async close(graceMs = 5_000) {
      accepting = false;
      server.off('upgrade', onUpgrade);
      const open = [...wss.clients];
      const allClosed = Promise.all(
        open.map((socket) =>
          socket.readyState === WebSocket.CLOSED
            ? undefined
            : new Promise<void>((resolve) => socket.once('close', () => resolve())),
        ),
      );
      for (const socket of open) socket.close(WebSocketCloseCode.GOING_AWAY, 'Server shutting down');
      const timer = setTimeout(() => open.forEach((socket) => socket.terminate()), graceMs);
      await allClosed;
      clearTimeout(timer);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/**
 * Pings the socket every `intervalMs` and drops it when the previous ping went unanswered. Each
 * socket keeps its own phase (a random first delay), so thousands of connections opened together
 * are not all pinged in one tick of the event loop.
 */
function keepAlive(socket: WebSocket, intervalMs: number): () => void {
  if (intervalMs <= 0) return () => {};
  let answered = true;
  socket.on('pong', () => (answered = true));
  let timer: NodeJS.Timeout = setTimeout(function ping() {
    if (!answered) {
      socket.terminate();
      return;
    }
    answered = false;
    socket.ping();
    timer = setTimeout(ping, intervalMs);
    timer.unref();
  }, Math.random() * intervalMs);
  timer.unref();
  return () => clearTimeout(timer);
}

/** Starts the closing handshake and drops the connection if it has not finished within `graceMs`. */
function closeWithin(socket: WebSocket, code: number, reason: string, graceMs: number): void {
  if (socket.readyState === WebSocket.CLOSED) return;
  socket.close(code, reason);
  const timer = setTimeout(() => socket.terminate(), graceMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/** GraphQL validation errors carry no code of their own; give them the one Apollo uses over HTTP. */
function withCode(error: GraphQLError): GraphQLError {
  if (error.extensions.code !== undefined || error.originalError) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    extensions: { ...error.extensions, code: 'GRAPHQL_VALIDATION_FAILED' },
  });
}
