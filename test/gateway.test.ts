import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createGateway, readGatewayConfig, subgraphUrlVariable } from '@mlops/gateway';
import type { GatewayHandle, GatewayOptions } from '@mlops/gateway';
import { codedError, ConfigError } from '@mlops/runtime';
import { ErrorCode, SUBGRAPHS } from '@mlops/schema';
import { silentLogger, startTestSubgraph } from './support/federation-subgraph';
import { TEST_REDIS_URL, serviceAvailable } from './support/services';
import type { TestSubgraph } from './support/federation-subgraph';
import { getStatus, postGraphQL } from './support/graphql-http';
import { TEST_IDENTITY_KEYS, TEST_IDENTITY_KEYS_VALUE } from './support/identity';
import { writeSupergraphFile } from './support/supergraph-file';
import type { SupergraphFile } from './support/supergraph-file';

const FEDERATION = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])';
const LEAKY_MESSAGE = 'connect to postgres://admin:hunter2@db:5432 failed';

interface Product {
  id: string;
  name: string;
}
const PRODUCTS: Record<string, Product> = { '1': { id: '1', name: 'Model registry' } };
const REVIEWS: Record<string, { id: string; body: string }[]> = { '1': [{ id: 'r1', body: 'Reproducible' }] };

function startProducts(): Promise<TestSubgraph> {
  return startTestSubgraph({
    name: 'products',
    sdl: `${FEDERATION}
      type Query { product(id: ID!): Product  failingField: String }
      type Product @key(fields: "id") { id: ID!  name: String! }`,
    resolvers: {
      Query: {
        product(_: unknown, { id }: { id: string }) {
          const product = PRODUCTS[id];
          if (!product) throw codedError(ErrorCode.NOT_FOUND, `No product '${id}'`, { field: 'id' });
          return product;
        },
        failingField() {
          throw new Error(LEAKY_MESSAGE);
        },
      },
      Product: { __resolveReference: ({ id }: { id: string }) => PRODUCTS[id] ?? null },
    },
  });
}

function startReviews(): Promise<TestSubgraph> {
  return startTestSubgraph({
    name: 'reviews',
    sdl: `${FEDERATION}
      type Product @key(fields: "id") { id: ID!  reviews: [Review!] }
      type Review { id: ID!  body: String! }`,
    resolvers: {
      Product: {
        __resolveReference: ({ id }: { id: string }) => ({ id }),
        reviews: ({ id }: { id: string }) => REVIEWS[id] ?? [],
      },
    },
  });
}

/** Two subgraphs, their composed supergraph in a temp file, and every gateway started over them. */
interface Federation {
  readonly products: TestSubgraph;
  readonly reviews: TestSubgraph;
  readonly supergraph: SupergraphFile;
  startGateway(options?: GatewayOptions): Promise<GatewayHandle>;
  close(): Promise<void>;
}

async function startFederation(): Promise<Federation> {
  const [products, reviews] = await Promise.all([startProducts(), startReviews()]);
  // The file routes to dead ports, so only the overrides can make queries work.
  const supergraph = await writeSupergraphFile([
    { ...products.definition, url: 'http://127.0.0.1:1/graphql' },
    { ...reviews.definition, url: 'http://127.0.0.1:1/graphql' },
  ]);
  const gateways: GatewayHandle[] = [];
  return {
    products,
    reviews,
    supergraph,
    async startGateway(options = {}) {
      const gateway = await createGateway({
        env: {},
        logger: silentLogger(),
        port: 0,
        supergraph: { kind: 'file', path: supergraph.path },
        ...options,
        subgraphUrls: { products: products.url, reviews: reviews.url, ...options.subgraphUrls },
      });
      gateways.push(gateway);
      return gateway;
    },
    async close() {
      await Promise.all(gateways.map((g) => g.close()));
      await Promise.all([products.close(), reviews.close()]);
      await supergraph.remove();
    },
  };
}

const PRODUCT_WITH_REVIEWS = '{ product(id: "1") { id name reviews { body } } }';

describe('createGateway', () => {
  let federation: Federation;
  let gateway: GatewayHandle;

  beforeAll(async () => {
    federation = await startFederation();
    gateway = await federation.startGateway();
  });
  afterAll(() => federation.close());

  it('should merge the fields of one entity from both subgraphs', async () => {
    const { status, body } = await postGraphQL(gateway.url, PRODUCT_WITH_REVIEWS);

    expect(status).toBe(200);
    expect(body).toEqual({
      data: { product: { id: '1', name: 'Model registry', reviews: [{ body: 'Reproducible' }] } },
    });
  });

  it('should answer /health and /ready with 200', async () => {
    expect(await getStatus(gateway.url, '/health')).toBe(200);
    expect(await getStatus(gateway.url, '/ready')).toBe(200);
  });

  const withRedis = serviceAvailable('redis') ? it : it.skip;
  withRedis('should be ready when its Redis answers', async () => {
    const withCache = await federation.startGateway({ redisUrl: TEST_REDIS_URL });

    const response = await fetch(new URL('/ready', withCache.url));

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      ready: true,
      checks: { supergraph: { ok: true }, redis: { ok: true } },
    });
  });

  // ioredis keeps a 2 s timer after disconnecting from a Redis it never reached (redis/ioredis#1247),
  // so jest may report that it "did not exit one second after the test run" when this file runs alone.
  it('should answer /ready with 503 naming redis when its Redis does not answer', async () => {
    const withDeadCache = await federation.startGateway({ redisUrl: 'redis://127.0.0.1:1' });

    const response = await fetch(new URL('/ready', withDeadCache.url));

    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      ready: false,
      checks: { supergraph: { ok: true }, redis: { ok: false, error: expect.any(String) } },
    });
    expect(await getStatus(withDeadCache.url, '/health')).toBe(200);
  });

  it('should forward the caller x-request-id to every subgraph it queries', async () => {
    const requestId = `gateway-test-${randomUUID()}`;

    const { headers } = await postGraphQL(gateway.url, PRODUCT_WITH_REVIEWS, {
      headers: { 'x-request-id': requestId },
    });

    expect(headers.get('x-request-id')).toBe(requestId);
    expect(federation.products.requestIds).toContain(requestId);
    expect(federation.reviews.requestIds).toContain(requestId);
  });

  it('should answer 413 to a body over the 1 MiB default limit', async () => {
    const padding = 'x'.repeat(1024 * 1024);

    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }', variables: { padding } }),
    });

    expect(response.status).toBe(413);
    await response.arrayBuffer();
  });

  it('should pass a subgraph coded error through with its code and message', async () => {
    const { body } = await postGraphQL(gateway.url, '{ product(id: "404") { name } }');

    expect(body.errors).toEqual([
      expect.objectContaining({
        message: "No product '404'",
        extensions: expect.objectContaining({ code: ErrorCode.NOT_FOUND, serviceName: 'products' }),
      }),
    ]);
  });

  it('should allow introspection outside production', async () => {
    const { body } = await postGraphQL(gateway.url, '{ __schema { queryType { name } } }');

    expect(body).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
  });

  it('should reject an override naming a subgraph the supergraph does not contain', async () => {
    await expect(
      federation.startGateway({ subgraphUrls: { prodcts: 'http://127.0.0.1:1/graphql' } }),
    ).rejects.toThrow(/SUBGRAPH_PRODCTS_URL.*'prodcts'.*products, reviews/);
  });

  it('should reject with EADDRINUSE when the port is taken', async () => {
    await expect(federation.startGateway({ port: gateway.port })).rejects.toThrow(/EADDRINUSE/);
  });

  describe('in production', () => {
    let production: GatewayHandle;

    beforeAll(async () => {
      production = await federation.startGateway({
        production: true,
        internalIdentityKeys: TEST_IDENTITY_KEYS,
      });
    });

    it('should refuse introspection', async () => {
      const { body } = await postGraphQL(production.url, '{ __schema { queryType { name } } }');

      expect(body.data).toBeUndefined();
      expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    });

    // Regression: Apollo codes every unexpected error INTERNAL_SERVER_ERROR, a public code, and the
    // formatter used to trust it and send the message (here a connection string) to clients.
    it('should mask an unexpected subgraph error although Apollo codes it INTERNAL_SERVER_ERROR', async () => {
      const { body } = await postGraphQL(production.url, '{ failingField }');

      expect(JSON.stringify(body)).not.toContain('hunter2');
      expect(body.errors).toEqual([
        expect.objectContaining({
          message: 'Internal server error',
          extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
        }),
      ]);
    });

    it('should still pass coded subgraph errors through', async () => {
      const { body } = await postGraphQL(production.url, '{ product(id: "404") { name } }');

      expect(body.errors?.[0]).toEqual(
        expect.objectContaining({
          message: "No product '404'",
          extensions: expect.objectContaining({ code: 'NOT_FOUND' }),
        }),
      );
    });
  });
});

describe('createGateway when a subgraph stops', () => {
  let federation: Federation;
  let gateway: GatewayHandle;

  beforeAll(async () => {
    federation = await startFederation();
    gateway = await federation.startGateway();
    await federation.reviews.close();
  });
  afterAll(() => federation.close());

  it('should answer partial data with an UNAVAILABLE error for the stopped subgraph', async () => {
    const { status, body } = await postGraphQL(gateway.url, PRODUCT_WITH_REVIEWS);

    expect(status).toBe(200);
    expect(body.data).toEqual({ product: { id: '1', name: 'Model registry', reviews: null } });
    expect(body.errors).toEqual([
      expect.objectContaining({
        message: "Subgraph 'reviews' is unavailable",
        extensions: expect.objectContaining({ code: ErrorCode.UNAVAILABLE, subgraph: 'reviews' }),
      }),
    ]);
  });

  it('should stay up and ready, serving the subgraphs that still answer', async () => {
    await postGraphQL(gateway.url, PRODUCT_WITH_REVIEWS);

    expect(await getStatus(gateway.url, '/health')).toBe(200);
    expect(await getStatus(gateway.url, '/ready')).toBe(200);
    const { body } = await postGraphQL(gateway.url, '{ product(id: "1") { name } }');
    expect(body).toEqual({ data: { product: { name: 'Model registry' } } });
  });
});

describe('createGateway with SUPERGRAPH_INTROSPECT=true', () => {
  const subgraphs: TestSubgraph[] = [];
  let gateway: GatewayHandle;
  const pingField = (name: string) => `ping_${name.replace(/-/g, '_')}`;

  beforeAll(async () => {
    // One stand-in per real subgraph name: introspection composes exactly the names in SUBGRAPHS.
    for (const { name } of SUBGRAPHS) {
      subgraphs.push(
        await startTestSubgraph({
          name,
          sdl: `${FEDERATION}\ntype Query { ${pingField(name)}: String }`,
          resolvers: { Query: { [pingField(name)]: () => `pong from ${name}` } },
        }),
      );
    }
    gateway = await createGateway({
      env: { SUPERGRAPH_INTROSPECT: 'true', GATEWAY_PORT: '0' },
      logger: silentLogger(),
      subgraphUrls: Object.fromEntries(subgraphs.map((s) => [s.name, s.url])),
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await Promise.all(subgraphs.map((s) => s.close()));
  });

  it('should compose the supergraph from the running subgraphs', async () => {
    const first = SUBGRAPHS[0]!.name;

    const { body } = await postGraphQL(gateway.url, `{ ${pingField(first)} }`);

    expect(body).toEqual({ data: { [pingField(first)]: `pong from ${first}` } });
  });
});

describe('createGateway start-up failures', () => {
  it('should reject with a ConfigError naming GATEWAY_PORT when it is not a port', async () => {
    const started = createGateway({ env: { GATEWAY_PORT: 'abc' }, logger: silentLogger() });

    await expect(started).rejects.toThrow(ConfigError);
    await expect(started).rejects.toThrow(/GATEWAY_PORT must be an integer between 0 and 65535; got 'abc'/);
  });

  it('should reject naming SUPERGRAPH_PATH when the supergraph file is missing', async () => {
    const missing = path.join(__dirname, 'no-such-supergraph.graphql');

    await expect(
      createGateway({ env: { SUPERGRAPH_PATH: missing, GATEWAY_PORT: '0' }, logger: silentLogger() }),
    ).rejects.toThrow(
      /SUPERGRAPH_PATH: cannot read the supergraph at .*no-such-supergraph\.graphql' \(ENOENT\)/,
    );
  });

  it('should reject naming SUPERGRAPH_INTROSPECT when a subgraph does not answer introspection', async () => {
    await expect(
      createGateway({
        env: { SUPERGRAPH_INTROSPECT: 'true', GATEWAY_PORT: '0' },
        logger: silentLogger(),
        subgraphUrls: Object.fromEntries(SUBGRAPHS.map((s) => [s.name, 'http://127.0.0.1:1/graphql'])),
      }),
    ).rejects.toThrow(/by introspecting the subgraphs \(SUPERGRAPH_INTROSPECT=true\)/);
  });

  it('should reject naming SUPERGRAPH_PATH when the file is not a supergraph', async () => {
    await expect(
      createGateway({ env: { SUPERGRAPH_PATH: __filename, GATEWAY_PORT: '0' }, logger: silentLogger() }),
    ).rejects.toThrow(/could not load the supergraph at .*gateway\.test\.ts' \(SUPERGRAPH_PATH\)/);
  });
});

describe('readGatewayConfig', () => {
  const firstSubgraph = SUBGRAPHS[0]!;

  it('should default to port 4000 on 127.0.0.1 serving the checked-in supergraph', () => {
    const config = readGatewayConfig({});

    expect(config).toEqual({
      port: 4000,
      host: '127.0.0.1',
      workers: 1,
      supergraph: { kind: 'file', path: path.resolve(__dirname, '../schema/supergraph.graphql') },
      supergraphPollMs: 0,
      subgraphUrls: {},
      production: false,
      redisUrl: undefined,
      logLevel: 'info',
      maxBodyBytes: 1024 * 1024,
      artifactIdleTimeoutMs: 60_000,
      subscriptions: {
        maxPerConnection: 100,
        maxTotal: 50_000,
        connectionInitTimeoutMs: 3_000,
        keepAliveMs: 12_000,
        queueCapacity: 256,
      },
      auth: {
        hs256Secret: undefined,
        jwks: undefined,
        issuers: undefined,
        audiences: undefined,
        rolesClaim: 'roles',
        required: false,
      },
      rateLimits: {
        perIp: 6_000,
        perIdentity: 3_000,
        windowSeconds: 60,
        trustProxy: false,
        keyPrefix: undefined,
      },
      passThrough: true,
      planExecutor: 'compiled',
      queryPlanning: {
        cacheMiB: 30,
        pathsLimit: 10_000,
        maxEvaluatedPlans: 10_000,
        slowPlanningMs: 100,
        warmOperations: 200,
      },
      operationLimits: {},
      resilience: {
        deduplicate: true,
        timeoutMs: 10_000,
        retries: 2,
        backoffMs: 50,
        retryBudgetRatio: 0.1,
        failureThreshold: 5,
        openMs: 10_000,
      },
      corsOrigins: [],
      trustedDocuments: undefined,
      internalIdentityKeys: undefined,
    });
  });

  it('should read every variable', () => {
    const config = readGatewayConfig({
      GATEWAY_PORT: '8080',
      GATEWAY_HOST: '0.0.0.0',
      GATEWAY_WORKERS: '3',
      SUPERGRAPH_PATH: '/etc/mlops/supergraph.graphql',
      [subgraphUrlVariable(firstSubgraph.name)]: 'http://experiments:4001/graphql',
      NODE_ENV: 'production',
      REDIS_URL: 'redis://cache:6379',
      LOG_LEVEL: 'warn',
      MAX_BODY_BYTES: '2048',
      ARTIFACT_IDLE_TIMEOUT_MS: '30000',
      SUPERGRAPH_POLL_MS: '500',
      WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '10',
      WS_MAX_SUBSCRIPTIONS: '500',
      WS_CONNECTION_INIT_TIMEOUT_MS: '1000',
      WS_KEEP_ALIVE_MS: '0',
      WS_SUBSCRIBER_QUEUE_SIZE: '32',
      JWT_JWKS_URL: 'https://id.example/.well-known/jwks.json',
      JWT_ISSUERS: 'https://id.example, https://id2.example',
      JWT_AUDIENCES: 'mlops',
      JWT_ROLES_CLAIM: 'mlops_roles',
      AUTH_REQUIRED: 'true',
      INTERNAL_IDENTITY_KEYS: TEST_IDENTITY_KEYS_VALUE,
      RATE_LIMIT_PER_IP: '100',
      RATE_LIMIT_PER_CALLER: '0',
      RATE_LIMIT_WINDOW_SECONDS: '10',
      TRUST_PROXY: 'true',
      LIMIT_MAX_DEPTH: '8',
      LIMIT_MAX_ALIASES: '5',
      LIMIT_MAX_ROOT_FIELDS: '4',
      LIMIT_MAX_TOKENS: '1000',
      LIMIT_MAX_COST: '500',
      CORS_ALLOWED_ORIGINS: 'https://console.example.com, http://localhost:5173',
      SUBGRAPH_TIMEOUT_MS: '2500',
      SUBGRAPH_RETRIES: '1',
      SUBGRAPH_RETRY_BACKOFF_MS: '20',
      SUBGRAPH_RETRY_BUDGET: '0.2',
      SUBGRAPH_BREAKER_FAILURES: '3',
      SUBGRAPH_BREAKER_OPEN_MS: '5000',
      SUBGRAPH_DEDUPLICATE: 'false',
      TRUSTED_DOCUMENTS: '/etc/mlops/trusted.json',
      QUERY_PLAN_CACHE_MIB: '8',
      QUERY_PLANNING_PATHS_LIMIT: '500',
      QUERY_PLANNING_MAX_EVALUATED_PLANS: '1000',
      QUERY_PLANNING_SLOW_MS: '20',
      QUERY_PLAN_WARMUP: '0',
      GATEWAY_PASS_THROUGH: 'false',
      GATEWAY_PLAN_EXECUTOR: 'apollo',
    });

    expect(config).toEqual({
      port: 8080,
      host: '0.0.0.0',
      workers: 3,
      supergraph: { kind: 'file', path: '/etc/mlops/supergraph.graphql' },
      supergraphPollMs: 500,
      subgraphUrls: { [firstSubgraph.name]: 'http://experiments:4001/graphql' },
      production: true,
      redisUrl: 'redis://cache:6379',
      logLevel: 'warn',
      maxBodyBytes: 2048,
      artifactIdleTimeoutMs: 30_000,
      subscriptions: {
        maxPerConnection: 10,
        maxTotal: 500,
        connectionInitTimeoutMs: 1_000,
        keepAliveMs: 0,
        queueCapacity: 32,
      },
      auth: {
        hs256Secret: undefined,
        jwks: { kind: 'url', url: 'https://id.example/.well-known/jwks.json' },
        issuers: ['https://id.example', 'https://id2.example'],
        audiences: ['mlops'],
        rolesClaim: 'mlops_roles',
        required: true,
      },
      rateLimits: { perIp: 100, perIdentity: 0, windowSeconds: 10, trustProxy: true, keyPrefix: undefined },
      passThrough: false,
      planExecutor: 'apollo',
      queryPlanning: {
        cacheMiB: 8,
        pathsLimit: 500,
        maxEvaluatedPlans: 1_000,
        slowPlanningMs: 20,
        warmOperations: 0,
      },
      operationLimits: { maxDepth: 8, maxAliases: 5, maxRootFields: 4, maxTokens: 1_000, maxCost: 500 },
      corsOrigins: ['https://console.example.com', 'http://localhost:5173'],
      trustedDocuments: '/etc/mlops/trusted.json',
      resilience: {
        deduplicate: false,
        timeoutMs: 2_500,
        retries: 1,
        backoffMs: 20,
        retryBudgetRatio: 0.2,
        failureThreshold: 3,
        openMs: 5_000,
      },
      internalIdentityKeys: TEST_IDENTITY_KEYS,
    });
  });

  it('should refuse production without internal identity keys, or with an HS256 secret', () => {
    expect(() => readGatewayConfig({ NODE_ENV: 'production' })).toThrow(/INTERNAL_IDENTITY_KEYS is required/);
    expect(() =>
      readGatewayConfig({
        NODE_ENV: 'production',
        INTERNAL_IDENTITY_KEYS: TEST_IDENTITY_KEYS_VALUE,
        JWT_HS256_SECRET: 'x'.repeat(40),
      }),
    ).toThrow(/JWT_HS256_SECRET is for development only/);
  });

  it('should name a retry budget outside 0 to 1', () => {
    expect(() => readGatewayConfig({ SUBGRAPH_RETRY_BUDGET: '2' })).toThrow(
      /SUBGRAPH_RETRY_BUDGET must be a number from 0 to 1; got '2'/,
    );
  });

  it('should name a CORS entry that is not an origin', () => {
    expect(() =>
      readGatewayConfig({ CORS_ALLOWED_ORIGINS: 'https://ok.example, https://bad.example/path, *' }),
    ).toThrow(/'https:\/\/bad.example\/path' is not an origin[\s\S]*'\*' is not an origin/);
  });

  it('should name malformed auth settings', () => {
    expect(() =>
      readGatewayConfig({
        JWT_HS256_SECRET: 'short',
        JWT_JWKS_FILE: 'jwks.json',
        JWT_JWKS_URL: 'https://id.example/jwks',
        INTERNAL_IDENTITY_KEYS: 'k1:c2hvcnQ=',
      }),
    ).toThrow(/at least 32 characters[\s\S]*not both[\s\S]*key 'k1' has 5 bytes/);
  });

  it('should name each subscription limit variable that is out of range', () => {
    expect(() =>
      readGatewayConfig({ WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '0', WS_SUBSCRIBER_QUEUE_SIZE: 'many' }),
    ).toThrow(/WS_MAX_SUBSCRIPTIONS_PER_CONNECTION[\s\S]*WS_SUBSCRIBER_QUEUE_SIZE/);
  });

  it('should name GATEWAY_PORT when it is not a port', () => {
    expect(() => readGatewayConfig({ GATEWAY_PORT: 'abc' })).toThrow(/GATEWAY_PORT/);
  });

  it('should name every invalid variable in one error', () => {
    const read = () =>
      readGatewayConfig({
        GATEWAY_PORT: '70000',
        [subgraphUrlVariable(firstSubgraph.name)]: 'ftp://x',
        REDIS_URL: 'not a url',
        LOG_LEVEL: 'loud',
        MAX_BODY_BYTES: '0',
        ARTIFACT_IDLE_TIMEOUT_MS: '0',
        SUPERGRAPH_INTROSPECT: 'yes',
      });

    expect(read).toThrow(ConfigError);
    for (const name of [
      'GATEWAY_PORT',
      subgraphUrlVariable(firstSubgraph.name),
      'REDIS_URL',
      'LOG_LEVEL',
      'MAX_BODY_BYTES',
      'ARTIFACT_IDLE_TIMEOUT_MS',
      'SUPERGRAPH_INTROSPECT',
    ]) {
      expect(read).toThrow(name);
    }
  });

  it('should refuse SUPERGRAPH_INTROSPECT=true in production', () => {
    expect(() => readGatewayConfig({ SUPERGRAPH_INTROSPECT: 'true', NODE_ENV: 'production' })).toThrow(
      /SUPERGRAPH_INTROSPECT=true is for development only/,
    );
  });

  it('should refuse SUPERGRAPH_PATH together with SUPERGRAPH_INTROSPECT=true', () => {
    expect(() => readGatewayConfig({ SUPERGRAPH_INTROSPECT: 'true', SUPERGRAPH_PATH: '/x.graphql' })).toThrow(
      'Set SUPERGRAPH_PATH or SUPERGRAPH_INTROSPECT=true, not both',
    );
  });

  it('should name an explicit subgraph URL that is not http(s)', () => {
    expect(() => readGatewayConfig({}, { subgraphUrls: { reviews: 'ftp://x' } })).toThrow(
      "subgraphUrls.reviews must be an http:// or https:// URL; got 'ftp://x'",
    );
  });

  it('should let explicit options win over (and skip) the environment', () => {
    const config = readGatewayConfig(
      { GATEWAY_PORT: 'abc', NODE_ENV: 'production', [subgraphUrlVariable(firstSubgraph.name)]: 'nope' },
      { port: 0, production: false, subgraphUrls: { [firstSubgraph.name]: 'http://127.0.0.1:9/graphql' } },
    );

    expect(config).toMatchObject({
      port: 0,
      production: false,
      subgraphUrls: { [firstSubgraph.name]: 'http://127.0.0.1:9/graphql' },
    });
  });
});
