import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { printSubgraphSdl as printAlertsSdl, readAlertsConfig, startAlertsService } from '@mlops/alerts';
import {
  printSubgraphSdl as printBusinessMetricsSdl,
  readBusinessMetricsConfig,
  startBusinessMetricsService,
} from '@mlops/business-metrics';
import {
  printSubgraphSdl as printDeploymentsSdl,
  readDeploymentsConfig,
  startDeploymentsService,
} from '@mlops/deployments';
import {
  printSubgraphSdl as printExperimentsSdl,
  readExperimentsConfig,
  startExperimentsService,
} from '@mlops/experiments';
import { createGateway } from '@mlops/gateway';
import type { GatewayHandle } from '@mlops/gateway';
import { printSubgraphSdl as printModelsSdl, readModelsConfig, startModelsService } from '@mlops/models';
import { createLogger, signIdentityHeaders } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import type { Identity } from '@mlops/schema';
import { backends, createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { postGraphQL } from './support/graphql-http';
import { FORGED_IDENTITY_KEYS, TEST_IDENTITY_KEYS } from './support/identity';
import { generateTestKey, signTestToken, validClaims } from './support/jwt';
import { writeSupergraphFile } from './support/supergraph-file';

const INJECTIONS = [
  "' OR '1'='1",
  '1; DROP TABLE runs; --',
  '" OR ""="',
  "\\' UNION SELECT password FROM users --",
  '%00',
  '$where: 1',
  '{"$gt": ""}',
  '../../etc/passwd',
  `${'x'.repeat(10_000)}`,
  '\u0000\u202e',
];

const codes = (body: { errors?: { extensions?: { code?: unknown } }[] }) =>
  (body.errors ?? []).map((e) => e.extensions?.code);

/**
 * The attacks the production gateway must turn away, against the real subgraphs (each requiring
 * the gateway's signed identity) behind a gateway with tokens, limits and rate limits on: every
 * attack gets its expected coded error, and every service is still ready afterwards.
 */
const signingKey = generateTestKey('prod-1', 'RS256');
const tokenFor = (roles: string[], claims: Record<string, unknown> = {}) =>
  signTestToken(validClaims({ roles, ...claims }), signingKey);

describe('attack suite against the real stack, in production mode', () => {
  const logger = createLogger({ service: 'test', level: 'silent' });
  const kind = backends().includes('postgresql') ? 'postgresql' : 'sqlite';
  let database: TestDatabase;
  let scratch: string;
  let gateway: GatewayHandle;
  const services: { name: string; url: string; close(): Promise<void> }[] = [];
  let removeSupergraph = async () => {};

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    scratch = await mkdtemp(path.join(os.tmpdir(), 'mlops-attack-'));
    const db = (file: string) =>
      database.config.kind === 'sqlite'
        ? { kind: 'sqlite' as const, file: path.join(path.dirname(database.config.file), file) }
        : database.config;
    const common = { port: 0, internalIdentityKeys: TEST_IDENTITY_KEYS, production: true };
    const jwksFile = path.join(scratch, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify({ keys: [signingKey.jwk] }));
    const experiments = await startExperimentsService({
      config: { ...readExperimentsConfig({}), ...common, database: db('experiments.sqlite3') },
      logger,
    });
    services.push({ name: 'experiments', ...experiments });
    const models = await startModelsService({
      config: {
        ...readModelsConfig({}),
        ...common,
        database: db('models.sqlite3'),
        artifactDir: path.join(scratch, 'artifacts'),
      },
      logger,
    });
    services.push({ name: 'models', ...models });
    const deployments = await startDeploymentsService({
      config: {
        ...readDeploymentsConfig({}),
        ...common,
        database: db('deployments.sqlite3'),
        modelsSubgraphUrl: models.url,
        probeIntervalMs: 0,
      },
      logger,
    });
    services.push({ name: 'deployments', ...deployments });
    const alerts = await startAlertsService({
      config: { ...readAlertsConfig({}), ...common, database: db('alerts.sqlite3'), evaluationIntervalMs: 0 },
      logger,
    });
    services.push({ name: 'alerts', ...alerts });
    const businessMetrics = await startBusinessMetricsService({
      config: { ...readBusinessMetricsConfig({}), ...common, database: db('business-metrics.sqlite3') },
      logger,
    });
    services.push({ name: 'business-metrics', ...businessMetrics });
    const supergraph = await writeSupergraphFile([
      { name: 'experiments', url: experiments.url, sdl: await printExperimentsSdl() },
      { name: 'models', url: models.url, sdl: await printModelsSdl() },
      { name: 'deployments', url: deployments.url, sdl: await printDeploymentsSdl() },
      { name: 'alerts', url: alerts.url, sdl: await printAlertsSdl() },
      { name: 'business-metrics', url: businessMetrics.url, sdl: await printBusinessMetricsSdl() },
    ]);
    removeSupergraph = () => supergraph.remove();
    gateway = await createGateway({
      env: {},
      logger,
      port: 0,
      supergraph: { kind: 'file', path: supergraph.path },
      subgraphUrls: Object.fromEntries(services.map((s) => [s.name, s.url])),
      production: true,
      internalIdentityKeys: TEST_IDENTITY_KEYS,
      auth: { jwks: { kind: 'file', path: jwksFile }, audiences: ['mlops'] },
      maxBodyBytes: 64 * 1024,
      rateLimits: { perIp: 100_000 },
    });
  }, 120_000);

  afterAll(async () => {
    await gateway?.close();
    for (const service of services.reverse()) await service.close();
    await removeSupergraph();
    await rm(scratch, { recursive: true, force: true });
    await database?.drop();
  });

  afterEach(async () => {
    for (const service of [...services, { name: 'gateway', url: gateway.url }]) {
      const ready = await fetch(new URL('/ready', service.url));
      expect({ service: service.name, status: ready.status }).toEqual({ service: service.name, status: 200 });
    }
  });

  describe('tokens', () => {
    const now = () => Math.floor(Date.now() / 1000);
    it.each([
      [
        'forged (another key, same kid)',
        () => signTestToken(validClaims(), generateTestKey('prod-1', 'RS256')),
      ],
      [
        'HS256-signed with the public key',
        () =>
          signTestToken(validClaims({ roles: ['admin'] }), {
            algorithm: 'HS256',
            secret: signingKey.publicKey.export({ format: 'pem', type: 'spki' }) as string,
          }),
      ],
      ['expired', () => tokenFor(['viewer'], { exp: now() - 3600 })],
      ['alg none', () => signTestToken(validClaims({ roles: ['admin'] }), { algorithm: 'none' })],
      ['for another audience', () => tokenFor(['viewer'], { aud: 'other' })],
    ])('should refuse a %s token with 401 UNAUTHENTICATED', async (_case, token) => {
      const { status, body } = await postGraphQL(gateway.url, '{ deployments { name } }', {
        headers: { authorization: `Bearer ${token()}` },
      });

      expect(status).toBe(401);
      expect(codes(body)).toEqual([ErrorCode.UNAUTHENTICATED]);
    });
  });

  describe('query shapes', () => {
    it('should refuse a deep query with LIMIT_EXCEEDED', async () => {
      const deep = '{ deployments { name pool { name endpoints { id } } } }';
      const nested = `{ deployments { pool { endpoints { id } } currentRevision { models { modelVersion { deployments { pool { endpoints { id } } currentRevision { models { modelVersion { deployments { name } } } } } } } } } }`;

      const { status, body } = await postGraphQL(gateway.url, nested);

      expect(status).toBe(400);
      expect(codes(body)).toEqual([ErrorCode.LIMIT_EXCEEDED]);
      expect((await postGraphQL(gateway.url, deep)).status).toBe(200);
    });

    it('should refuse an alias bomb with LIMIT_EXCEEDED', async () => {
      const aliases = Array.from({ length: 500 }, (_, i) => `a${i}: deployments { name }`).join(' ');

      const { status, body } = await postGraphQL(gateway.url, `{ ${aliases} }`);

      expect(status).toBe(400);
      expect(codes(body)).toEqual([ErrorCode.LIMIT_EXCEEDED]);
    });

    it('should refuse cyclic fragments quickly', async () => {
      const started = Date.now();

      const { status, body } = await postGraphQL(
        gateway.url,
        'query { deployments { ...A } } fragment A on Deployment { name ...B } fragment B on Deployment { name ...A }',
      );

      expect(Date.now() - started).toBeLessThan(2_000);
      expect(status).toBe(400);
      expect(codes(body).length).toBeGreaterThan(0);
    });

    it('should refuse a body over the limit with 413', async () => {
      const { status } = await postGraphQL(
        gateway.url,
        `{ deployments { name } } # ${'x'.repeat(70 * 1024)}`,
      );

      expect(status).toBe(413);
    });

    it('should refuse a batched request', async () => {
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(Array.from({ length: 100 }, () => ({ query: '{ deployments { name } }' }))),
      });

      expect(response.status).toBe(400);
    });
  });

  describe('injection strings in filters and ids', () => {
    const readQueries: [string, string, (value: string) => Record<string, unknown>][] = [
      ['experiment(id:)', 'query($v: ID!) { experiment(id: $v) { id } }', (v) => ({ v })],
      ['run(id:)', 'query($v: ID!) { run(id: $v) { id } }', (v) => ({ v })],
      [
        'searchRuns(filter:)',
        'query($v: String) { searchRuns(experimentIds: ["1"], filter: $v) { edges { node { id } } } }',
        (v) => ({ v }),
      ],
      [
        'searchRuns(orderBy:)',
        'query($v: String!) { searchRuns(experimentIds: ["1"], orderBy: [$v]) { edges { node { id } } } }',
        (v) => ({ v }),
      ],
      ['registeredModel(name:)', 'query($v: String!) { registeredModel(name: $v) { name } }', (v) => ({ v })],
      ['deployment(name:)', 'query($v: String!) { deployment(name: $v) { name } }', (v) => ({ v })],
      ['servingPool(name:)', 'query($v: String!) { servingPool(name: $v) { name } }', (v) => ({ v })],
      ['alertRule(id:)', 'query($v: ID!) { alertRule(id: $v) { id } }', (v) => ({ v })],
      ['alert(id:)', 'query($v: ID!) { alert(id: $v) { id } }', (v) => ({ v })],
      [
        'alertEventsPage(after:)',
        'query($v: ID) { alertEventsPage(after: $v) { events { cursor } } }',
        (v) => ({ v }),
      ],
      [
        'alerts(filter: { deployment })',
        'query($v: String) { alerts(filter: { deployment: $v }) { id } }',
        (v) => ({ v }),
      ],
      ['strategy(name:)', 'query($v: String!) { strategy(name: $v) { name } }', (v) => ({ v })],
      [
        'strategies(after:)',
        'query($v: String) { strategies(after: $v) { nodes { name } } }',
        (v) => ({ v }),
      ],
    ];

    it.each(readQueries)(
      'should answer %s with a coded client error and no leak',
      async (_name, query, variables) => {
        for (const value of INJECTIONS) {
          const { status, body } = await postGraphQL(gateway.url, query, { variables: variables(value) });

          expect(status).toBeLessThan(500);
          for (const code of codes(body)) {
            expect([ErrorCode.BAD_USER_INPUT, ErrorCode.NOT_FOUND, 'GRAPHQL_VALIDATION_FAILED']).toContain(
              code,
            );
          }
          expect(JSON.stringify(body)).not.toMatch(/stack|SQLITE|syntax error at|relation "/i);
        }
      },
    );

    it('should keep every injected name a plain value in writes', async () => {
      for (const value of INJECTIONS.slice(0, 4)) {
        const { body } = await postGraphQL(
          gateway.url,
          'mutation($v: String!) { createExperiment(input: { name: $v }) { name } }',
          { variables: { v: value }, headers: { authorization: `Bearer ${tokenFor(['data-scientist'])}` } },
        );
        expect(body.data ?? body.errors?.[0]?.extensions?.code).toEqual(
          body.data ? { createExperiment: { name: value } } : ErrorCode.BAD_USER_INPUT,
        );
      }
    });
  });

  describe('direct calls to the subgraphs', () => {
    const admin: Identity = {
      subject: 'mallory',
      issuer: undefined,
      roles: ['admin'],
      scopes: [],
      expiresAt: Math.floor(Date.now() / 1000) + 3600,
    };

    it.each(['experiments', 'models', 'deployments', 'alerts', 'business-metrics'])(
      'should answer 401 at %s without, or with a forged, signed identity',
      async (name) => {
        const service = services.find((s) => s.name === name)!;
        const query = '{ __typename }';

        const unsigned = await postGraphQL(service.url, query);
        const forged = await postGraphQL(service.url, query, {
          headers: signIdentityHeaders(admin, FORGED_IDENTITY_KEYS),
        });
        const genuine = await postGraphQL(service.url, query, {
          headers: signIdentityHeaders(admin, TEST_IDENTITY_KEYS),
        });

        expect([unsigned.status, forged.status, genuine.status]).toEqual([401, 401, 200]);
        expect(codes(unsigned.body)).toEqual([ErrorCode.UNAUTHENTICATED]);
      },
    );
  });
});
