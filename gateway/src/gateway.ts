import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import {
  codedError,
  createErrorFormatter,
  createLogger,
  createRedisClient,
  createServiceHttpServer,
  createServiceMetrics,
  redisReadinessCheck,
  serveGraphQLOverWebSocket,
} from '@mlops/runtime';
import type { GraphQLWebSocketServer, Logger, ReadinessCheck, ServiceHttpServer } from '@mlops/runtime';
import type { GraphQLDataSource } from '@apollo/gateway';
import { ErrorCode } from '@mlops/schema';
import { readGatewayConfig, subgraphUrlVariable } from './config';
import type { GatewayConfig, GatewayConfigOverrides, GatewayEnv } from './config';
import { createSubgraphDataSource } from './subgraph-data-source';
import type { GatewayContext } from './subgraph-data-source';
import { createArtifactProxy } from './artifacts/artifact-proxy';
import { readAccessRules } from './auth/access-rules';
import type { AccessRules } from './auth/access-rules';
import { authorizingGateway } from './auth/authorizing-gateway';
import { createCallerAuthenticator } from './auth/caller-authenticator';
import { checkOperationLimits, createOperationLimitsPlugin } from './limits';
import { createRedisDocumentCache } from './persisted/redis-document-cache';
import {
  createTrustedDocumentStore,
  createTrustedDocumentsPlugin,
  readTrustedDocumentManifest,
} from './persisted/trusted-documents';
import { createSingleFetchPassThrough } from './pass-through/single-fetch-pass-through';
import { createPlanExecution } from './execution/plan-execution';
import { createQueryPlanning } from './planning/query-planning';
import { createRequestRateLimiter } from './rate-limiting/request-rate-limiter';
import { createSubscriptionEngine } from './subscriptions/subscription-engine';
import type { SubscriptionContext } from './subscriptions/subscription-engine';
import { assertOverridesKnown, loadSupergraph } from './supergraph';

type Redis = ReturnType<typeof createRedisClient>;

/**
 * Everything `GatewayConfig` holds (each given option wins over its environment variable), plus
 * what only code can pass.
 */
export interface GatewayOptions extends GatewayConfigOverrides {
  /**
   * Environment read for every setting not given explicitly; default `process.env`. Tests pass `{}`
   * so the developer's shell cannot change them. Invalid variables make `createGateway` reject with
   * a `ConfigError` naming each one.
   */
  readonly env?: GatewayEnv;
  /** Where the gateway (and Apollo) log; default JSON lines on stdout at `logLevel`, service `gateway`. */
  readonly logger?: Logger;
}

export interface GatewayHandle {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:4000/graphql`. */
  readonly url: string;
  /** The port listened on; the one picked when the configured port was 0. */
  readonly port: number;
  /**
   * Stops accepting requests (`/ready` answers 503 from now on), lets in-flight ones finish, then
   * stops Apollo and the gateway and disconnects Redis. Safe to call more than once.
   */
  close(): Promise<void>;
  /** What the WebSocket side holds now: open connections, client subscriptions, shared streams, upstream subscriptions. */
  stats(): GatewayStats;
}

export interface GatewayStats {
  readonly connections: number;
  readonly subscriptions: number;
  readonly streams: number;
  readonly upstreams: number;
}

type GatewayPhase =
  { readonly phase: 'starting' } | { readonly phase: 'serving' } | { readonly phase: 'stopping' };

/**
 * Starts the federated gateway: loads the supergraph, routes each subgraph to its (possibly
 * overridden) URL and serves `/graphql`, `/health` and `/ready` over `node:http`. Rejects, with
 * everything it started stopped again, when the configuration is invalid, the supergraph cannot be
 * loaded or the port cannot be bound.
 */
export async function createGateway(options: GatewayOptions = {}): Promise<GatewayHandle> {
  const { env = process.env, logger: givenLogger, ...overrides } = options;
  const config = readGatewayConfig(env, overrides);
  const logger = givenLogger ?? createLogger({ service: 'gateway', level: config.logLevel });
  let state: GatewayPhase = { phase: 'starting' };

  const supergraphSdl = await loadSupergraph(
    config.supergraph,
    config.subgraphUrls,
    logger,
    config.supergraphPollMs,
  );
  // @apollo/gateway otherwise probes cloud metadata endpoints and sends usage data to Apollo; the
  // platform never phones home. The library reads this variable itself, at construction.
  process.env.APOLLO_TELEMETRY_DISABLED ??= 'true';
  const callers = createCallerAuthenticator(config.auth, config.internalIdentityKeys);
  const metrics = createServiceMetrics('gateway');
  const routedSubgraphs = new Map<string, { url: string; dataSource: GraphQLDataSource }>();
  const planning = createQueryPlanning(config.queryPlanning, {
    logger,
    observePlanning: metrics.histogram(
      'gateway_query_planning_seconds',
      'Time to plan an operation (plan-cache misses and warm-up)',
    ),
  });
  let hidesFields = false;
  const passThrough = createSingleFetchPassThrough({
    enabled: () => config.passThrough && !hidesFields,
    dataSource: (name) => routedSubgraphs.get(name)?.dataSource,
    apiSchema: () => subscriptions.apiSchema(),
    accessRules: () => accessRules,
    operationLimits: config.operationLimits,
    observe: (operationName, seconds) => metrics.observeOperation(operationName, 'query', [], seconds),
  });
  const execution =
    config.planExecutor === 'compiled'
      ? createPlanExecution({
          dataSource: (name) => routedSubgraphs.get(name)?.dataSource,
          didResolveQueryPlan: config.passThrough ? passThrough.learn : undefined,
        })
      : undefined;
  const gateway = new ApolloGateway({
    supergraphSdl,
    logger,
    queryPlannerConfig: planning.plannerConfig,
    experimental_didResolveQueryPlan: config.passThrough ? passThrough.learn : undefined,
    buildService({ name, url }) {
      const target = config.subgraphUrls[name] ?? url;
      if (target === undefined) {
        throw new Error(
          `Subgraph '${name}' has no routing URL in the supergraph; set ${subgraphUrlVariable(name)}`,
        );
      }
      const dataSource = createSubgraphDataSource({
        name,
        url: target,
        logger,
        identityHeaders: callers.signedHeaders,
        resilience: config.resilience,
        observeFetch: (outcome, seconds) => metrics.observeFetch(name, outcome, seconds),
      });
      routedSubgraphs.set(name, { url: target, dataSource });
      return dataSource;
    },
  });
  // Subscriptions: @apollo/gateway cannot execute them, so the engine plans them with the same
  // supergraph, subscribes to the owning subgraph over graphql-ws and runs the rest of each plan
  // through this gateway's data sources.
  const subscriptions = createSubscriptionEngine({
    logger,
    dataSource: (name) => routedSubgraphs.get(name)?.dataSource,
    webSocketUrl: (name) => {
      const routed = routedSubgraphs.get(name);
      if (!routed) throw new Error(`Subgraph '${name}' is not routed`);
      return routed.url.replace(/^http/, 'ws');
    },
    queueCapacity: config.subscriptions.queueCapacity,
    accessRules: () => accessRules,
  });
  let accessRules: AccessRules = readAccessRules('type Query { _: Int }');
  gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => {
    accessRules = readAccessRules(coreSupergraphSdl);
    planning.setSupergraph(coreSupergraphSdl);
    passThrough.clear();
    hidesFields = coreSupergraphSdl.includes('@inaccessible');
    subscriptions.setSupergraph(coreSupergraphSdl);
  });
  metrics.counter(
    'gateway_query_plan_cache_lookups_total',
    'Query plan cache lookups by outcome: hit, miss (planned now), refused (past the planning bound)',
    'outcome',
    () => {
      const { hits, misses, refused } = planning.stats();
      return { hit: hits, miss: misses, refused };
    },
  );
  metrics.gauge('gateway_query_plan_cache_plans', 'Query plans cached', () => planning.stats().plans);
  if (execution) {
    metrics.counter(
      'gateway_query_plan_executions_total',
      "Query plans run by the gateway's compiled executor, or declined to Apollo's (@defer, introspection)",
      'executor',
      () => {
        const { executed, declined } = execution.stats();
        return { compiled: executed, apollo: declined };
      },
    );
  }
  const artifactAnswers: Record<number, number> = {};
  metrics.counter(
    'gateway_artifact_requests_total',
    'Artifact uploads and downloads proxied to the models subgraph, by the status answered (0: cut short)',
    'status',
    () => artifactAnswers,
  );
  const observeArtifactRequest = metrics.histogram(
    'gateway_artifact_request_duration_seconds',
    'Artifact uploads and downloads through the gateway, from the request to the last byte of the answer',
    [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
  );
  metrics.counter(
    'gateway_pass_through_answers_total',
    'Single-subgraph queries answered without the Apollo request pipeline (GATEWAY_PASS_THROUGH)',
    'kind',
    () => ({ query: passThrough.stats().answered }),
  );
  metrics.counter(
    'gateway_query_plans_warmed_total',
    'Plans made ahead of requests after a supergraph reload',
    'reason',
    () => ({ reload: planning.stats().warmed }),
  );
  // Redis carries rate-limit counters, persisted queries and trusted documents across replicas.
  const redis: Redis | undefined =
    config.redisUrl === undefined ? undefined : createRedisClient(config.redisUrl);
  if (redis) {
    redis.on('error', (error: unknown) => logger.warn({ err: error }, 'redis error'));
    // Counted in memory until connected, and while it is down.
    redis.connect().catch((error: unknown) => logger.warn({ err: error }, 'redis not reachable yet'));
  }
  const trusted =
    config.trustedDocuments === undefined
      ? undefined
      : await createTrustedDocumentStore(
          await readTrustedDocumentManifest(config.trustedDocuments),
          redis,
        ).catch(async (error: unknown) => {
          if (redis) await disconnectRedis(redis);
          throw error;
        });
  const apollo = new ApolloServer<GatewayContext>({
    persistedQueries: {
      cache: redis ? createRedisDocumentCache(redis, 'mlops:apq:', logger) : undefined,
      ttl: 7 * 24 * 3600, // a week: clients re-register on a miss
    },
    gateway: authorizingGateway(gateway, () => accessRules, planning, execution),
    logger,
    formatError: createErrorFormatter(config.production),
    introspection: !config.production,
    includeStacktraceInErrorResponses: !config.production,
    // The process entry owns signal handling (`stopOnSignals`); Apollo must not race it.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      refuseSubscriptionsOverHttp(),
      metrics.plugin as ApolloServerPlugin<GatewayContext>,
      ...(trusted ? [createTrustedDocumentsPlugin(trusted) as ApolloServerPlugin<GatewayContext>] : []),
      createOperationLimitsPlugin(config.operationLimits),
    ],
  });

  let apolloStarted = false;
  let http: ServiceHttpServer | undefined;
  let websocket: GraphQLWebSocketServer | undefined;
  const stopAll = async (): Promise<void> => {
    state = { phase: 'stopping' };
    // Subscribers first (1001: reconnect elsewhere); an open socket would keep HTTP from closing.
    await websocket?.close();
    await subscriptions.close();
    await http?.close();
    if (apolloStarted) await apollo.stop();
    if (redis) await disconnectRedis(redis);
  };

  try {
    await startApollo(apollo, config);
    apolloStarted = true;
    assertOverridesKnown(config.subgraphUrls, new Set(routedSubgraphs.keys()));
    const rateLimiter = createRequestRateLimiter(config.rateLimits, redis, logger);
    http = createServiceHttpServer<GatewayContext>({
      apollo,
      logger,
      path: '/graphql',
      maxBodyBytes: config.maxBodyBytes,
      readinessChecks: readinessChecks(() => state, redis),
      authenticate: (headers) => callers.fromHeaders(headers),
      admit: (request, identity) => rateLimiter.admit(request, identity),
      corsOrigins: config.corsOrigins,
      routes: createArtifactProxy({
        modelsUrl: () => routedSubgraphs.get('models')?.url,
        identityHeaders: callers.signedHeaders,
        idleTimeoutMs: config.artifactIdleTimeoutMs,
        logger,
        observe: (status, seconds) => {
          artifactAnswers[status] = (artifactAnswers[status] ?? 0) + 1;
          observeArtifactRequest(seconds);
        },
      }),
      metrics: metrics.route,
      hsts: config.production,
      shortcut: config.passThrough ? (request, base) => passThrough.answer(request, base) : undefined,
      context: async (base) => {
        const replay = passThrough.takeReplay(base.headers);
        return replay ? { ...base, replay } : base;
      },
    });
    const limits = config.subscriptions;
    websocket = serveGraphQLOverWebSocket<SubscriptionContext>({
      server: http.server,
      logger,
      schema: () => subscriptions.apiSchema(),
      authenticate: (request) => callers.fromConnection(request),
      context: (base) => ({ ...base, forwarded: callers.forwarded(base.identity) }),
      subscribe: async (args) => {
        const [exceeded] = checkOperationLimits(
          args.document,
          args.operationName ?? undefined,
          subscriptions.apiSchema(),
          (args.variableValues ?? {}) as Record<string, unknown>,
          config.operationLimits,
        );
        if (!exceeded) return subscriptions.subscribe(args);
        // The HTTP status in the extensions means nothing over a socket.
        const { http: _status, ...extensions } = exceeded.extensions;
        return { errors: [new GraphQLError(exceeded.message, { extensions })] };
      },
      // Queries and mutations go over HTTP, where the gateway's plugins and limits apply.
      allowQueries: false,
      production: config.production,
      connectionInitTimeoutMs: limits.connectionInitTimeoutMs,
      keepAliveMs: limits.keepAliveMs,
      maxSubscriptionsPerConnection: limits.maxPerConnection,
      maxSubscriptions: limits.maxTotal,
    });
    const socketsForMetrics = websocket;
    metrics.gauge('gateway_websocket_connections', 'Open graphql-ws connections', () =>
      socketsForMetrics.connectionCount(),
    );
    metrics.gauge('gateway_active_subscriptions', 'Active client subscriptions', () =>
      socketsForMetrics.subscriptionCount(),
    );
    metrics.gauge(
      'gateway_upstream_subscriptions',
      'Subscriptions to subgraphs (shared)',
      () => subscriptions.stats().upstreams,
    );
    const { port, url } = await http.listen(config.port, config.host);
    state = { phase: 'serving' };
    let closing: Promise<void> | undefined;
    const socketServer = websocket;
    return {
      url,
      port,
      close: () => (closing ??= stopAll()),
      stats: () => {
        const { streams, upstreams } = subscriptions.stats();
        return {
          connections: socketServer.connectionCount(),
          subscriptions: socketServer.subscriptionCount(),
          streams,
          upstreams,
        };
      },
    };
  } catch (error) {
    await stopAll().catch((stopError: unknown) =>
      logger.error({ err: stopError }, 'cleanup after failed start failed'),
    );
    throw error;
  }
}

/** Subscriptions run over WebSocket; over HTTP @apollo/gateway would fail them with an internal error. */
function refuseSubscriptionsOverHttp(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation !== 'subscription') return;
          throw codedError(
            ErrorCode.BAD_USER_INPUT,
            'Subscriptions are served over WebSocket (graphql-transport-ws protocol) at this same URL',
            { http: { status: 400 } },
          );
        },
      };
    },
  };
}

/** Starts Apollo, which makes the gateway load (and validate) the supergraph. */
async function startApollo(apollo: ApolloServer<GatewayContext>, config: GatewayConfig): Promise<void> {
  try {
    await apollo.start();
  } catch (error) {
    const source =
      config.supergraph.kind === 'file'
        ? `the supergraph at '${config.supergraph.path}' (SUPERGRAPH_PATH)`
        : 'a supergraph by introspecting the subgraphs (SUPERGRAPH_INTROSPECT=true)';
    throw new Error(`The gateway could not load ${source}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Ready once the supergraph is loaded and the server listens, until `close()` starts. Subgraphs are
 * deliberately not checked: one subgraph down should cost only its fields (partial data), not take
 * every gateway replica out of the load balancer.
 */
function readinessChecks(phase: () => GatewayPhase, redis: Redis | undefined): ReadinessCheck[] {
  const supergraph: ReadinessCheck = {
    name: 'supergraph',
    async check() {
      const { phase: current } = phase();
      switch (current) {
        case 'serving':
          return;
        case 'starting':
          throw new Error('the supergraph is not loaded yet');
        case 'stopping':
          throw new Error('the gateway is shutting down');
        default: {
          const _exhaustive: never = current;
          throw new Error(`Unknown phase ${String(_exhaustive)}`);
        }
      }
    },
  };
  return redis ? [supergraph, redisReadinessCheck(redis)] : [supergraph];
}

async function disconnectRedis(redis: Redis): Promise<void> {
  // Only a live connection can QUIT cleanly; on any other (lazy, reconnecting) QUIT would wait on a connection.
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
