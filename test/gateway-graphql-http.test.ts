import { auditServer } from 'graphql-http';
import { createGateway } from '@mlops/gateway';
import type { GatewayHandle } from '@mlops/gateway';
import { silentLogger, startTestSubgraph } from './support/federation-subgraph';
import type { TestSubgraph } from './support/federation-subgraph';
import { TEST_IDENTITY_KEYS } from './support/identity';
import { writeSupergraphFile } from './support/supergraph-file';
import type { SupergraphFile } from './support/supergraph-file';

describe.each([
  ['in development', {}],
  [
    // Production mode too, but for introspection: the audit's utf-8 and variables cases query
    // `__type`, which production refuses by design.
    'with identity keys, tokens, rate limits and operation limits',
    {
      auth: { hs256Secret: 'a-development-secret-of-at-least-32-chars' },
      internalIdentityKeys: TEST_IDENTITY_KEYS,
      rateLimits: { perIp: 10_000 },
      operationLimits: { maxDepth: 10 },
    },
  ],
] as const)('GraphQL over HTTP compliance (graphql-http audit) of the gateway %s', (_mode, options) => {
  let subgraph: TestSubgraph;
  let supergraph: SupergraphFile;
  let gateway: GatewayHandle;

  beforeAll(async () => {
    subgraph = await startTestSubgraph({
      name: 'audited',
      sdl: 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"]) type Query { hello: String }',
      resolvers: { Query: { hello: () => 'world' } },
    });
    supergraph = await writeSupergraphFile([subgraph.definition]);
    gateway = await createGateway({
      env: {},
      logger: silentLogger(),
      port: 0,
      supergraph: { kind: 'file', path: supergraph.path },
      subgraphUrls: { audited: subgraph.url },
      ...options,
    });
  });
  afterAll(async () => {
    await gateway.close();
    await subgraph.close();
    await supergraph.remove();
  });

  it('should pass every MUST of the audit', async () => {
    const results = await auditServer({ url: gateway.url, fetchFn: fetch });
    const musts = results.filter((r) => r.name.startsWith('MUST'));

    expect(musts.length).toBeGreaterThan(10);
    const failed = musts
      .filter((r) => r.status !== 'ok')
      .map((r) => `${r.name}: ${'reason' in r ? r.reason : ''}`);
    expect(failed).toEqual([]);
  });
});
