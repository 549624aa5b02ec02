import { ApolloServer } from '@apollo/server';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import type { Redis } from 'ioredis';
import { createErrorFormatter } from './graphql-errors';
import { serveGraphQLOverWebSocket } from './graphql-ws-server';
import type { WebSocketContextBase } from './graphql-ws-server';
import { createServiceHttpServer } from './http-server';
import { createServiceMetrics } from './service-metrics';
import { verifyIdentityHeaders } from './internal-identity';
import type { InternalIdentityKeys } from './internal-identity';
import type { RequestContextBase, RouteHandler } from './http-server';
import type { Logger } from './logger';
import type { ReadinessCheck } from './readiness';
import { createRedisClient, redisReadinessCheck } from './redis';

export interface GraphQLServiceOptions<TContext extends BaseContext> {
  readonly schema: GraphQLSchema;
  readonly logger: Logger;
  /** Masks uncoded errors, drops stack traces and turns introspection off. */
  readonly production: boolean;
  /** The service's own dependencies (database, migrations); Redis is added when `redisUrl` is set. */
  readonly readinessChecks: readonly ReadinessCheck[];
  /** When set, a lazily connected client whose ping `/ready` also checks. */
  readonly redisUrl: string | undefined;
  /** The context of an HTTP request, and of a WebSocket operation (whose base has more). */
  context(base: RequestContextBase | WebSocketContextBase): Promise<TContext>;
  /** Extra HTTP routes beside `/graphql`, e.g. an upload endpoint. */
  readonly routes?: Readonly<Record<string, RouteHandler>>;
  readonly port: number;
  readonly host: string;
  /**
   * When set, every request (HTTP and WebSocket) must carry the gateway's signed identity headers,
   * else it is answered 401 (WebSocket: closed 4401); the identity is in the context. Unset: every
   * caller is anonymous and trusted (development).
   */
  readonly internalIdentityKeys?: InternalIdentityKeys;
  /** The service's name in its metrics (`service` label); default `service`. */
  readonly name?: string;
}

export interface GraphQLService {
  readonly url: string;
  readonly port: number;
  /** Stops accepting and drains HTTP, stops Apollo, disconnects Redis. */
  close(): Promise<void>;
}

/**
 * What every subgraph serves the same way: Apollo Server with the shared error formatter over the
 * runtime's HTTP server (`/graphql`, `/health`, `/ready`), plus the optional Redis readiness check.
 * A schema with a Subscription type is also served over `graphql-ws` on the same port and path.
 * Rejects, with whatever it started stopped, when Apollo cannot start or the port cannot be bound.
 */
export async function startGraphQLService<TContext extends BaseContext>(
  options: GraphQLServiceOptions<TContext>,
): Promise<GraphQLService> {
  const { logger, production, internalIdentityKeys: keys } = options;
  const readinessChecks = [...options.readinessChecks];
  let redis: Redis | undefined;
  if (options.redisUrl) {
    redis = createRedisClient(options.redisUrl);
    redis.on('error', (error: Error) => logger.warn({ err: error.message }, 'redis unavailable'));
    readinessChecks.push(redisReadinessCheck(redis));
  }
  const metrics = createServiceMetrics(options.name ?? 'service');
  const apollo = new ApolloServer<TContext>({
    schema: options.schema,
    plugins: [metrics.plugin as ApolloServerPlugin<TContext>],
    formatError: createErrorFormatter(production),
    introspection: !production,
    includeStacktraceInErrorResponses: !production,
    // The process entry owns SIGINT/SIGTERM (`stopOnSignals`): Apollo's own handler would re-raise
    // the signal once Apollo alone had stopped, killing the process before the rest closed (the
    // database, buffered spans).
    stopOnTerminationSignals: false,
    logger: { debug: () => {}, info: () => {}, warn: (m) => logger.warn(m), error: (m) => logger.error(m) },
  });
  try {
    await apollo.start();
    const http = createServiceHttpServer<TContext>({
      apollo,
      logger,
      readinessChecks,
      context: options.context,
      routes: options.routes,
      metrics: metrics.route,
      authenticate: keys ? (headers) => verifyIdentityHeaders(headers, { keys }) : undefined,
    });
    const websocket = options.schema.getSubscriptionType()
      ? serveGraphQLOverWebSocket<TContext>({
          server: http.server,
          logger,
          schema: options.schema,
          context: options.context,
          // The gateway's upstream connection carries the signed headers in `connection_init`.
          authenticate: keys
            ? ({ connectionParams }) =>
                verifyIdentityHeaders((connectionParams.headers ?? {}) as Record<string, string>, { keys })
            : undefined,
          production,
        })
      : undefined;
    const { url, port } = await http.listen(options.port, options.host).catch(async (error: unknown) => {
      await websocket?.close();
      throw error;
    });
    return {
      url,
      port,
      async close() {
        // Sockets first: an open WebSocket would keep the HTTP server from closing.
        await websocket?.close();
        await http.close();
        await apollo.stop();
        redis?.disconnect();
      },
    };
  } catch (error) {
    await apollo.stop().catch(() => undefined);
    redis?.disconnect();
    throw error;
  }
}
