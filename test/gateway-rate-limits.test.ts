import { randomUUID } from 'node:crypto';
import { createGateway } from '@mlops/gateway';
import type { GatewayHandle, GatewayOptions } from '@mlops/gateway';
import { ErrorCode } from '@mlops/schema';
import { silentLogger, startTestSubgraph } from './support/federation-subgraph';
import type { TestSubgraph } from './support/federation-subgraph';
import { postGraphQL } from './support/graphql-http';
import { TEST_JWT_SECRET, bearerHeaders } from './support/jwt';
import { TEST_REDIS_URL, serviceAvailable } from './support/services';
import { writeSupergraphFile } from './support/supergraph-file';
import type { SupergraphFile } from './support/supergraph-file';

const QUERY = '{ ping }';

describe('gateway rate limits', () => {
  let subgraph: TestSubgraph;
  let supergraph: SupergraphFile;
  const gateways: GatewayHandle[] = [];

  async function startGateway(options: GatewayOptions): Promise<GatewayHandle> {
    const gateway = await createGateway({
      env: {},
      logger: silentLogger(),
      port: 0,
      supergraph: { kind: 'file', path: supergraph.path },
      subgraphUrls: { pinger: subgraph.url },
      auth: { hs256Secret: TEST_JWT_SECRET },
      ...options,
    });
    gateways.push(gateway);
    return gateway;
  }

  beforeAll(async () => {
    subgraph = await startTestSubgraph({
      name: 'pinger',
      sdl: 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"]) type Query { ping: String }',
      resolvers: { Query: { ping: () => 'pong' } },
    });
    supergraph = await writeSupergraphFile([subgraph.definition]);
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await subgraph.close();
    await supergraph.remove();
  });

  it('should answer 429 RATE_LIMITED with Retry-After once an address is over its limit, and keep /health open', async () => {
    const gateway = await startGateway({ rateLimits: { perIp: 3, perIdentity: 0, windowSeconds: 60 } });
    for (let i = 0; i < 3; i++) expect((await postGraphQL(gateway.url, QUERY)).status).toBe(200);

    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: QUERY }),
    });

    expect(response.status).toBe(429);
    const retryAfter = Number(response.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await response.json()).toEqual({
      errors: [
        {
          message: expect.stringMatching(/at most 3 per 60 s/),
          extensions: { code: ErrorCode.RATE_LIMITED },
        },
      ],
    });
    expect((await fetch(new URL('/health', gateway.url))).status).toBe(200);
  });

  it('should count each verified caller on its own', async () => {
    const gateway = await startGateway({ rateLimits: { perIp: 0, perIdentity: 2, windowSeconds: 60 } });
    const alice = bearerHeaders(['viewer'], { sub: 'alice' });
    const bob = bearerHeaders(['viewer'], { sub: 'bob' });
    for (let i = 0; i < 2; i++)
      expect((await postGraphQL(gateway.url, QUERY, { headers: alice })).status).toBe(200);

    expect((await postGraphQL(gateway.url, QUERY, { headers: alice })).status).toBe(429);
    expect((await postGraphQL(gateway.url, QUERY, { headers: bob })).status).toBe(200);
  });

  it('should count each forwarded address on its own behind a trusted proxy', async () => {
    const gateway = await startGateway({
      rateLimits: { perIp: 1, perIdentity: 0, windowSeconds: 60, trustProxy: true },
    });
    const from = (address: string) => ({ 'x-forwarded-for': `${address}, 10.0.0.1` });

    expect((await postGraphQL(gateway.url, QUERY, { headers: from('203.0.113.7') })).status).toBe(200);
    expect((await postGraphQL(gateway.url, QUERY, { headers: from('203.0.113.7') })).status).toBe(429);
    expect((await postGraphQL(gateway.url, QUERY, { headers: from('203.0.113.8') })).status).toBe(200);
  });

  (serviceAvailable('redis') ? it : it.skip)(
    'should share the counts between gateway replicas through Redis',
    async () => {
      const rateLimits = { perIp: 4, perIdentity: 0, windowSeconds: 60, keyPrefix: `test:${randomUUID()}` };
      const [first, second] = await Promise.all([
        startGateway({ redisUrl: TEST_REDIS_URL, rateLimits }),
        startGateway({ redisUrl: TEST_REDIS_URL, rateLimits }),
      ]);
      // Both replicas are connected to Redis (readiness pings it) before counting starts.
      for (const gateway of [first!, second!])
        expect((await fetch(new URL('/ready', gateway.url))).status).toBe(200);

      for (const gateway of [first!, second!, first!, second!]) {
        expect((await postGraphQL(gateway.url, QUERY)).status).toBe(200);
      }

      expect((await postGraphQL(first!.url, QUERY)).status).toBe(429);
      expect((await postGraphQL(second!.url, QUERY)).status).toBe(429);
    },
  );
});
