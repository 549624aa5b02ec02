import os from 'node:os';
import path from 'node:path';
import { ConfigError, createEnvReader, parseInternalIdentityKeys } from '@mlops/runtime';
import type { EnvReader, InternalIdentityKeys } from '@mlops/runtime';
import type { JwksSource } from './auth/jwks';
import type { OperationLimitsOptions } from './limits';
import type { QueryPlanningOptions } from './planning/query-planning';
import type { RateLimits } from './rate-limiting/request-rate-limiter';
import type { CircuitBreakerOptions } from './resilience/circuit-breaker';
import type { SubgraphResilience } from './resilience/resilient-fetch';
import { GATEWAY_DEFAULT_PORT, SUBGRAPHS } from '@mlops/schema';

/** The environment as the gateway reads it; `process.env` by default. */
export type GatewayEnv = Readonly<Record<string, string | undefined>>;

/** Where the gateway gets its supergraph from. */
export type SupergraphSource =
  /** The composed supergraph file written by `npm run compose` (the default, and the only production mode). */
  | { readonly kind: 'file'; readonly path: string }
  /** Introspect every subgraph at start-up and compose in process (`IntrospectAndCompose`); development only. */
  | { readonly kind: 'introspect' };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The gateway's whole configuration; `readGatewayConfig` builds it from the environment. */
export interface GatewayConfig {
  /**
   * TCP port to listen on. `GATEWAY_PORT`; default 4000 (`GATEWAY_DEFAULT_PORT`); 0 picks a free port.
   * A value outside 0–65535 fails start-up; a port in use makes `createGateway` reject with `EADDRINUSE`.
   */
  readonly port: number;
  /** Interface to bind. `GATEWAY_HOST`; default `127.0.0.1` (use `0.0.0.0` in a container). */
  readonly host: string;
  /**
   * Worker processes sharing the port (`node gateway/dist/main.js` only; `createGateway` always
   * serves in its own process). `GATEWAY_WORKERS`: a count, or `auto` for one per available CPU;
   * default 1.
   */
  readonly workers: number;
  /**
   * Where the supergraph comes from. `SUPERGRAPH_PATH` names the file; default the checked-in
   * `schema/supergraph.graphql` of `@mlops/schema`. `SUPERGRAPH_INTROSPECT=true` introspects the
   * subgraphs instead (development only: refused when `production`). A missing or invalid file, or
   * an unreachable subgraph when introspecting, makes `createGateway` reject.
   */
  readonly supergraph: SupergraphSource;
  /**
   * How often the supergraph file is checked for changes, in ms; a changed file is loaded without
   * dropping in-flight requests (running subscriptions end with SUBSCRIPTION_RESTART). A file that
   * does not compose is logged and ignored. `SUPERGRAPH_POLL_MS`; default 0 (off). File mode only.
   */
  readonly supergraphPollMs: number;
  /**
   * Routing URL per subgraph name, overriding the URL written in the supergraph (or the default
   * `http://127.0.0.1:<defaultPort>/graphql` when introspecting). `SUBGRAPH_<NAME>_URL` for every
   * subgraph in `SUBGRAPHS` (name upper-cased, dashes to underscores); default none. A name the
   * supergraph does not contain makes `createGateway` reject with a `ConfigError`.
   */
  readonly subgraphUrls: Readonly<Record<string, string>>;
  /**
   * Production mode: GraphQL introspection is refused and errors without a public code are masked to
   * `INTERNAL_SERVER_ERROR`. `NODE_ENV=production`; default false.
   */
  readonly production: boolean;
  /** When set, `/ready` also pings this Redis. `REDIS_URL` (`redis://` or `rediss://`); default unset. */
  readonly redisUrl: string | undefined;
  /** Minimum log level. `LOG_LEVEL`, one of `LOG_LEVELS`; default `info`. */
  readonly logLevel: LogLevel;
  /** Largest accepted request body in bytes; larger bodies answer 413. `MAX_BODY_BYTES`; default 1 MiB. */
  readonly maxBodyBytes: number;
  /**
   * Artifact transfers through the gateway (`/artifacts`, proxied to the models subgraph, whose own
   * size limit applies instead of `maxBodyBytes`) are given up after this long without a byte or an
   * answer: 504 when nothing was answered yet. `ARTIFACT_IDLE_TIMEOUT_MS`; default 60000 (an upload
   * with `?validate=onnx` is answered only once the model has loaded).
   */
  readonly artifactIdleTimeoutMs: number;
  /**
   * Browser origins allowed to call the gateway cross-origin, e.g. `https://console.example.com`.
   * `CORS_ALLOWED_ORIGINS`, comma-separated; default none. A value that is not an origin fails start-up.
   */
  readonly corsOrigins: readonly string[];
  /**
   * Trusted-documents mode: only the operations of this Apollo persisted-query manifest run (also
   * written to Redis when `REDIS_URL` is set); anything else answers 400. `TRUSTED_DOCUMENTS`, a
   * file path; default off. Automatic persisted queries are always on (in Redis when configured).
   */
  readonly trustedDocuments: string | undefined;
  /** Limits of GraphQL subscriptions over WebSocket (`graphql-transport-ws` on the GraphQL path). */
  readonly subscriptions: SubscriptionLimits;
  /** How callers prove who they are (JWT bearer tokens). */
  readonly auth: AuthConfig;
  /**
   * Requests per window per client address (`RATE_LIMIT_PER_IP`, default 6000; 0 off) and per
   * verified caller (`RATE_LIMIT_PER_CALLER`, default 3000; 0 off) over `RATE_LIMIT_WINDOW_SECONDS`
   * (default 60); over the limit answers 429 RATE_LIMITED with `Retry-After`. Counted in Redis when
   * `REDIS_URL` is set (shared by every replica), else per process. `TRUST_PROXY=true` takes the
   * address from `X-Forwarded-For` (only behind a proxy that sets it).
   */
  readonly rateLimits: RateLimits;
  /**
   * Per-operation limits (HTTP and subscriptions), each answered 400 LIMIT_EXCEEDED naming the limit:
   * `LIMIT_MAX_DEPTH` (default 15), `LIMIT_MAX_ALIASES` (30), `LIMIT_MAX_ROOT_FIELDS` (20),
   * `LIMIT_MAX_TOKENS` (5000, counted before parsing), `LIMIT_MAX_COST` (20000; object fields cost 1,
   * lists multiply by `first`/`last`/`limit` or `@listSize`, `@cost` overrides).
   */
  readonly operationLimits: OperationLimitsOptions;
  /**
   * How the gateway treats each subgraph: `SUBGRAPH_TIMEOUT_MS` per attempt (default 10000),
   * `SUBGRAPH_RETRIES` extra attempts for queries only (default 2; on connection errors, timeouts and
   * 502/503/504) starting at `SUBGRAPH_RETRY_BACKOFF_MS` (default 50, doubling, jittered) within
   * `SUBGRAPH_RETRY_BUDGET` retries per request on average (default 0.1), and a circuit breaker that
   * opens after `SUBGRAPH_BREAKER_FAILURES` consecutive failures (default 5) for
   * `SUBGRAPH_BREAKER_OPEN_MS` (default 10000) before one probe. A failing subgraph costs only its
   * fields: the rest of the response is served with UNAVAILABLE errors. `SUBGRAPH_DEDUPLICATE`
   * (default true): identical in-flight queries (same subgraph, caller and body) share one request.
   */
  readonly resilience: SubgraphResilience & CircuitBreakerOptions;
  /** The plan cache, the planner's search bound and the warm-up after reloads (see `QueryPlanningOptions`). */
  readonly queryPlanning: QueryPlanningOptions;
  /**
   * Queries the planner sends whole to one subgraph, asking exactly what the client asked, are
   * answered without Apollo's request pipeline once seen (same checks, same answer; see
   * `createSingleFetchPassThrough`). `GATEWAY_PASS_THROUGH`; default true.
   */
  readonly passThrough: boolean;
  /**
   * Who executes query plans: `compiled` (the gateway's executor, with result shaping compiled once
   * per operation; see `createPlanExecution`) or `apollo` (`@apollo/gateway`'s own). Both answer
   * the same. `GATEWAY_PLAN_EXECUTOR`; default `compiled`.
   */
  readonly planExecutor: 'compiled' | 'apollo';
  /**
   * HMAC keys the gateway signs each caller's verified identity with for the subgraphs
   * (`x-mlops-identity` + signature headers). `INTERNAL_IDENTITY_KEYS`: `id:base64secret` pairs, the
   * first signing (see `parseInternalIdentityKeys`); default none (subgraphs then trust any caller:
   * development only, refused when `production`).
   */
  readonly internalIdentityKeys: InternalIdentityKeys | undefined;
}

export interface AuthConfig {
  /**
   * HS256 shared secret, at least 32 characters; development only (refused when `production`).
   * `JWT_HS256_SECRET`; default none (HS256 tokens are refused).
   */
  readonly hs256Secret: string | undefined;
  /**
   * RS256/ES256 signing keys: `JWT_JWKS_FILE` (a mounted JWKS document) or `JWT_JWKS_URL` (the
   * identity provider's JWKS endpoint), not both; default none. An unknown `kid` reloads the set.
   */
  readonly jwks: JwksSource | undefined;
  /** Accepted `iss` values. `JWT_ISSUERS`, comma-separated; default any. */
  readonly issuers: readonly string[] | undefined;
  /** Accepted audiences. `JWT_AUDIENCES`, comma-separated; default any. */
  readonly audiences: readonly string[] | undefined;
  /** The claim listing roles (viewer, data-scientist, ml-engineer, admin). `JWT_ROLES_CLAIM`; default `roles`. */
  readonly rolesClaim: string;
  /**
   * Whether a request without a token is refused (401) rather than served as anonymous.
   * `AUTH_REQUIRED`; default false. An invalid token is always refused.
   */
  readonly required: boolean;
}

export interface SubscriptionLimits {
  /**
   * Active subscriptions one connection may hold; the next is answered LIMIT_EXCEEDED.
   * `WS_MAX_SUBSCRIPTIONS_PER_CONNECTION`; default 100.
   */
  readonly maxPerConnection: number;
  /**
   * Active subscriptions across this gateway process; the next is answered LIMIT_EXCEEDED.
   * `WS_MAX_SUBSCRIPTIONS`; default 50000.
   */
  readonly maxTotal: number;
  /** A client must send `connection_init` within this, else it is closed with 4408. `WS_CONNECTION_INIT_TIMEOUT_MS`; default 3000. */
  readonly connectionInitTimeoutMs: number;
  /** WebSocket ping interval; a client that missed the previous ping is dropped. `WS_KEEP_ALIVE_MS`; default 12000; 0 disables. */
  readonly keepAliveMs: number;
  /**
   * Events held for one subscriber that has not read them; beyond, its connection is closed with
   * 4508 (`WebSocketCloseCode.SLOW_CONSUMER`). `WS_SUBSCRIBER_QUEUE_SIZE`; default 256.
   */
  readonly queueCapacity: number;
}

/** Explicit settings; each one given wins over (and skips reading) its environment variable. */
export type GatewayConfigOverrides = Partial<
  Omit<
    GatewayConfig,
    | 'subgraphUrls'
    | 'subscriptions'
    | 'auth'
    | 'rateLimits'
    | 'operationLimits'
    | 'resilience'
    | 'queryPlanning'
  >
> & {
  /** Each setting given wins over its variable. */
  readonly queryPlanning?: Partial<QueryPlanningOptions>;
  /** Each setting given wins over its variable. */
  readonly resilience?: Partial<SubgraphResilience & CircuitBreakerOptions>;
  /** Each limit given wins over its variable. */
  readonly operationLimits?: OperationLimitsOptions;
  /** Each limit given wins over its variable. */
  readonly rateLimits?: Partial<RateLimits>;
  /** Each setting given wins over its variable. */
  readonly auth?: Partial<AuthConfig>;
  /** Merged over the `SUBGRAPH_<NAME>_URL` variables, name by name. */
  readonly subgraphUrls?: Readonly<Record<string, string>>;
  /** Each limit given wins over its variable. */
  readonly subscriptions?: Partial<SubscriptionLimits>;
};

/** The variable that overrides one subgraph's routing URL, e.g. `SUBGRAPH_EXPERIMENTS_URL`. */
export function subgraphUrlVariable(subgraphName: string): string {
  return `SUBGRAPH_${subgraphName.toUpperCase().replace(/-/g, '_')}_URL`;
}

/** The checked-in supergraph shipped with `@mlops/schema`. */
export function defaultSupergraphPath(): string {
  return path.join(path.dirname(require.resolve('@mlops/schema/package.json')), 'supergraph.graphql');
}

/**
 * Reads the gateway configuration from `env`, with `overrides` winning over it. Throws one
 * `ConfigError` that names every variable at fault.
 */
export function readGatewayConfig(
  env: GatewayEnv = process.env,
  overrides: GatewayConfigOverrides = {},
): GatewayConfig {
  const read = createEnvReader(env);
  const problems: string[] = [];

  const production = overrides.production ?? read.string('NODE_ENV', 'development') === 'production';
  const supergraph = overrides.supergraph ?? readSupergraphSource();
  const subgraphUrls: Record<string, string> = {};
  for (const { name } of SUBGRAPHS) {
    if (overrides.subgraphUrls?.[name] !== undefined) continue;
    const url = read.url(subgraphUrlVariable(name), ['http', 'https']);
    if (url !== undefined) subgraphUrls[name] = url;
  }
  Object.assign(subgraphUrls, overrides.subgraphUrls);

  const config: GatewayConfig = {
    port: overrides.port ?? read.port('GATEWAY_PORT', GATEWAY_DEFAULT_PORT),
    host: overrides.host ?? read.string('GATEWAY_HOST', '127.0.0.1'),
    workers:
      overrides.workers ??
      (read.optionalString('GATEWAY_WORKERS') === 'auto'
        ? os.availableParallelism()
        : read.int('GATEWAY_WORKERS', 1, { min: 1, max: 64 })),
    supergraph,
    supergraphPollMs: overrides.supergraphPollMs ?? read.int('SUPERGRAPH_POLL_MS', 0, { min: 0 }),
    subgraphUrls,
    production,
    redisUrl: 'redisUrl' in overrides ? overrides.redisUrl : read.url('REDIS_URL', ['redis', 'rediss']),
    logLevel: overrides.logLevel ?? read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    maxBodyBytes: overrides.maxBodyBytes ?? read.int('MAX_BODY_BYTES', 1024 * 1024, { min: 1 }), // 1 MiB
    artifactIdleTimeoutMs:
      overrides.artifactIdleTimeoutMs ?? read.int('ARTIFACT_IDLE_TIMEOUT_MS', 60_000, { min: 1 }), // 1 min
    subscriptions: readSubscriptionLimits(read, overrides.subscriptions ?? {}),
    corsOrigins: overrides.corsOrigins ?? readOrigins(read, problems),
    trustedDocuments:
      'trustedDocuments' in overrides
        ? overrides.trustedDocuments
        : optionalPath(read.optionalString('TRUSTED_DOCUMENTS')),
    auth: readAuth(read, overrides.auth ?? {}, problems),
    operationLimits: readOperationLimits(read, overrides.operationLimits ?? {}),
    resilience: {
      timeoutMs: overrides.resilience?.timeoutMs ?? read.int('SUBGRAPH_TIMEOUT_MS', 10_000, { min: 1 }), // 10 s
      retries: overrides.resilience?.retries ?? read.int('SUBGRAPH_RETRIES', 2, { min: 0, max: 10 }),
      backoffMs: overrides.resilience?.backoffMs ?? read.int('SUBGRAPH_RETRY_BACKOFF_MS', 50, { min: 0 }),
      retryBudgetRatio:
        overrides.resilience?.retryBudgetRatio ?? readRatio(read, 'SUBGRAPH_RETRY_BUDGET', 0.1, problems),
      failureThreshold:
        overrides.resilience?.failureThreshold ?? read.int('SUBGRAPH_BREAKER_FAILURES', 5, { min: 1 }),
      openMs: overrides.resilience?.openMs ?? read.int('SUBGRAPH_BREAKER_OPEN_MS', 10_000, { min: 1 }), // 10 s
      deduplicate:
        overrides.resilience?.deduplicate ??
        read.oneOf('SUBGRAPH_DEDUPLICATE', ['true', 'false'], 'true') === 'true',
    },
    passThrough:
      overrides.passThrough ?? read.oneOf('GATEWAY_PASS_THROUGH', ['true', 'false'], 'true') === 'true',
    planExecutor:
      overrides.planExecutor ?? read.oneOf('GATEWAY_PLAN_EXECUTOR', ['compiled', 'apollo'], 'compiled'),
    queryPlanning: {
      cacheMiB: overrides.queryPlanning?.cacheMiB ?? read.int('QUERY_PLAN_CACHE_MIB', 30, { min: 1 }),
      pathsLimit:
        overrides.queryPlanning?.pathsLimit ?? read.int('QUERY_PLANNING_PATHS_LIMIT', 10_000, { min: 1 }),
      maxEvaluatedPlans:
        overrides.queryPlanning?.maxEvaluatedPlans ??
        read.int('QUERY_PLANNING_MAX_EVALUATED_PLANS', 10_000, { min: 1 }),
      slowPlanningMs:
        overrides.queryPlanning?.slowPlanningMs ?? read.int('QUERY_PLANNING_SLOW_MS', 100, { min: 0 }),
      warmOperations:
        overrides.queryPlanning?.warmOperations ?? read.int('QUERY_PLAN_WARMUP', 200, { min: 0 }),
    },
    rateLimits: {
      perIp: overrides.rateLimits?.perIp ?? read.int('RATE_LIMIT_PER_IP', 6_000, { min: 0 }),
      perIdentity: overrides.rateLimits?.perIdentity ?? read.int('RATE_LIMIT_PER_CALLER', 3_000, { min: 0 }),
      windowSeconds:
        overrides.rateLimits?.windowSeconds ?? read.int('RATE_LIMIT_WINDOW_SECONDS', 60, { min: 1 }),
      trustProxy:
        overrides.rateLimits?.trustProxy ?? read.oneOf('TRUST_PROXY', ['true', 'false'], 'false') === 'true',
      keyPrefix: overrides.rateLimits?.keyPrefix,
    },
    internalIdentityKeys:
      'internalIdentityKeys' in overrides ? overrides.internalIdentityKeys : readIdentityKeys(read, problems),
  };
  if (production && config.auth.hs256Secret !== undefined) {
    problems.push(
      'JWT_HS256_SECRET is for development only; in production use JWT_JWKS_FILE or JWT_JWKS_URL',
    );
  }
  if (production && config.internalIdentityKeys === undefined) {
    problems.push(
      'INTERNAL_IDENTITY_KEYS is required in production: subgraphs must be able to tell the gateway from any other caller',
    );
  }

  if (production && supergraph.kind === 'introspect') {
    problems.push(
      'SUPERGRAPH_INTROSPECT=true is for development only and is refused when NODE_ENV=production; ' +
        'serve the composed supergraph file (SUPERGRAPH_PATH) instead',
    );
  }
  for (const [name, url] of Object.entries(overrides.subgraphUrls ?? {})) {
    if (!isHttpUrl(url)) {
      problems.push(`subgraphUrls.${name} must be an http:// or https:// URL; got '${url}'`);
    }
  }
  finish(read, problems);
  return config;

  function readSupergraphSource(): SupergraphSource {
    const introspect = read.oneOf('SUPERGRAPH_INTROSPECT', ['true', 'false'], 'false') === 'true';
    const file = read.optionalString('SUPERGRAPH_PATH');
    if (introspect && file !== undefined) {
      problems.push('Set SUPERGRAPH_PATH or SUPERGRAPH_INTROSPECT=true, not both');
    }
    if (introspect) return { kind: 'introspect' };
    return { kind: 'file', path: file === undefined ? defaultSupergraphPath() : path.resolve(file) };
  }
}

function readAuth(read: EnvReader, given: Partial<AuthConfig>, problems: string[]): AuthConfig {
  const list = (name: string): string[] | undefined => {
    const value = read.optionalString(name);
    return value === undefined
      ? undefined
      : value
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean);
  };
  const hs256Secret = 'hs256Secret' in given ? given.hs256Secret : read.optionalString('JWT_HS256_SECRET');
  if (hs256Secret !== undefined && hs256Secret.length < 32) {
    problems.push('JWT_HS256_SECRET must be at least 32 characters');
  }
  let jwks = given.jwks;
  if (!('jwks' in given)) {
    const file = read.optionalString('JWT_JWKS_FILE');
    const url = read.url('JWT_JWKS_URL', ['http', 'https']);
    if (file !== undefined && url !== undefined) problems.push('Set JWT_JWKS_FILE or JWT_JWKS_URL, not both');
    jwks =
      file !== undefined
        ? { kind: 'file', path: path.resolve(file) }
        : url !== undefined
          ? { kind: 'url', url }
          : undefined;
  }
  return {
    hs256Secret,
    jwks,
    issuers: 'issuers' in given ? given.issuers : list('JWT_ISSUERS'),
    audiences: 'audiences' in given ? given.audiences : list('JWT_AUDIENCES'),
    rolesClaim: given.rolesClaim ?? read.string('JWT_ROLES_CLAIM', 'roles'),
    required: given.required ?? read.oneOf('AUTH_REQUIRED', ['true', 'false'], 'false') === 'true',
  };
}

function optionalPath(value: string | undefined): string | undefined {
  return value === undefined ? undefined : path.resolve(value);
}

function readRatio(read: EnvReader, name: string, fallback: number, problems: string[]): number {
  const value = read.optionalString(name);
  if (value === undefined) return fallback;
  const ratio = Number(value);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    problems.push(`${name} must be a number from 0 to 1; got '${value}'`);
    return fallback;
  }
  return ratio;
}

function readOrigins(read: EnvReader, problems: string[]): string[] {
  const value = read.optionalString('CORS_ALLOWED_ORIGINS');
  if (value === undefined) return [];
  const origins = value
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      problems.push(`CORS_ALLOWED_ORIGINS: '${origin}' is not an origin (scheme://host[:port], no path)`);
    }
  }
  return origins;
}

function readOperationLimits(read: EnvReader, given: OperationLimitsOptions): OperationLimitsOptions {
  const optional = (name: string): number | undefined =>
    read.optionalString(name) === undefined ? undefined : read.int(name, 0, { min: 1 });
  const limits: OperationLimitsOptions = {
    maxDepth: given.maxDepth ?? optional('LIMIT_MAX_DEPTH'),
    maxAliases: given.maxAliases ?? optional('LIMIT_MAX_ALIASES'),
    maxRootFields: given.maxRootFields ?? optional('LIMIT_MAX_ROOT_FIELDS'),
    maxTokens: given.maxTokens ?? optional('LIMIT_MAX_TOKENS'),
    maxCost: given.maxCost ?? optional('LIMIT_MAX_COST'),
  };
  // Unset entries take the plugin's defaults.
  return Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== undefined));
}

function readIdentityKeys(read: EnvReader, problems: string[]): InternalIdentityKeys | undefined {
  const value = read.optionalString('INTERNAL_IDENTITY_KEYS');
  if (value === undefined) return undefined;
  try {
    return parseInternalIdentityKeys(value);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
    return undefined;
  }
}

function readSubscriptionLimits(read: EnvReader, given: Partial<SubscriptionLimits>): SubscriptionLimits {
  return {
    maxPerConnection:
      given.maxPerConnection ?? read.int('WS_MAX_SUBSCRIPTIONS_PER_CONNECTION', 100, { min: 1 }),
    maxTotal: given.maxTotal ?? read.int('WS_MAX_SUBSCRIPTIONS', 50_000, { min: 1 }),
    connectionInitTimeoutMs:
      given.connectionInitTimeoutMs ?? read.int('WS_CONNECTION_INIT_TIMEOUT_MS', 3_000, { min: 1 }), // 3 s
    keepAliveMs: given.keepAliveMs ?? read.int('WS_KEEP_ALIVE_MS', 12_000, { min: 0 }), // 12 s
    queueCapacity: given.queueCapacity ?? read.int('WS_SUBSCRIBER_QUEUE_SIZE', 256, { min: 1 }),
  };
}

function isHttpUrl(value: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** Reports the reader's problems and the cross-variable ones together, so one failure names them all. */
function finish(read: EnvReader, problems: readonly string[]): void {
  try {
    read.done();
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError([...error.problems, ...problems]);
    throw error;
  }
  if (problems.length > 0) throw new ConfigError(problems);
}
