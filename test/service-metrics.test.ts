import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { createGateway } from '@mlops/gateway';
import type { GatewayHandle } from '@mlops/gateway';
import { signIdentityHeaders, startGraphQLService } from '@mlops/runtime';
import type { GraphQLService } from '@mlops/runtime';
import { silentLogger } from './support/federation-subgraph';
import { connectGraphQLWs, recordSubscription } from './support/graphql-ws-client';
import { postGraphQL } from './support/graphql-http';
import { TEST_IDENTITY_KEYS } from './support/identity';
import { TEST_JWT_SECRET, bearerHeaders } from './support/jwt';
import { writeSupergraphFile } from './support/supergraph-file';
import type { SupergraphFile } from './support/supergraph-file';

const SDL = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Query { hello: String  broken: String }
  type Subscription { waits: Int! }`;

/** The value of one sample line of a Prometheus text exposition, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const line = text
    .split('\n')
    .find(
      (l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
    );
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('Prometheus metrics on every service', () => {
  let subgraph: GraphQLService;
  let supergraph: SupergraphFile;
  let gateway: GatewayHandle;

  beforeAll(async () => {
    subgraph = await startGraphQLService({
      name: 'hello',
      schema: buildSubgraphSchema({
        typeDefs: parse(SDL),
        resolvers: {
          Query: {
            hello: () => 'world',
            broken: () => {
              throw new Error('boom');
            },
          },
          Subscription: {
            waits: {
              async *subscribe() {
                yield { waits: 1 };
                await new Promise(() => {});
              },
            },
          },
        } as never,
      }),
      logger: silentLogger(),
      production: false,
      readinessChecks: [],
      redisUrl: undefined,
      context: async (base) => base,
      port: 0,
      host: '127.0.0.1',
      internalIdentityKeys: TEST_IDENTITY_KEYS,
    });
    supergraph = await writeSupergraphFile([{ name: 'hello', url: subgraph.url, sdl: SDL }]);
    gateway = await createGateway({
      env: {},
      logger: silentLogger(),
      port: 0,
      supergraph: { kind: 'file', path: supergraph.path },
      subgraphUrls: { hello: subgraph.url },
      internalIdentityKeys: TEST_IDENTITY_KEYS,
      auth: { hs256Secret: TEST_JWT_SECRET, required: true },
    });
  });
  afterAll(async () => {
    await gateway.close();
    await subgraph.close();
    await supergraph.remove();
  });

  const scrape = async (url: string) => {
    const response = await fetch(new URL('/metrics', url));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    return response.text();
  };

  it('should count and time operations by name and outcome, errors by code, and subgraph fetches', async () => {
    const headers = bearerHeaders(['viewer']);
    await postGraphQL(gateway.url, 'query Hello { hello }', { headers });
    await postGraphQL(gateway.url, 'query Hello { hello }', { headers });
    await postGraphQL(gateway.url, 'query Broken { broken }', { headers });

    // No token needed: Prometheus scrapes without one, even where callers must authenticate.
    const text = await scrape(gateway.url);

    const ok = { service: 'gateway', operation_name: 'Hello', operation_type: 'query', outcome: 'ok' };
    expect(sample(text, 'graphql_operations_total', ok)).toBe(2);
    expect(
      sample(text, 'graphql_operations_total', { ...ok, operation_name: 'Broken', outcome: 'error' }),
    ).toBe(1);
    expect(sample(text, 'graphql_operation_duration_seconds_count', { operation_name: 'Hello' })).toBe(2);
    expect(sample(text, 'graphql_errors_total', { service: 'gateway' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'subgraph_fetch_duration_seconds_count', { subgraph: 'hello', outcome: 'ok' })).toBe(
      3,
    );
    expect(text).toMatch(/nodejs_eventloop_lag_seconds\{service="gateway"\}/);
  });

  it('should show active subscriptions while they run', async () => {
    const client = connectGraphQLWs(gateway.url, { connectionParams: bearerHeaders(['viewer']) });
    try {
      await recordSubscription(client, 'subscription { waits }').waitFor(1);

      const text = await scrape(gateway.url);

      expect(sample(text, 'gateway_active_subscriptions', {})).toBe(1);
      expect(sample(text, 'gateway_upstream_subscriptions', {})).toBe(1);
    } finally {
      await client.dispose();
    }
  });

  it('should serve the subgraph’s own metrics without the signed identity its GraphQL requires', async () => {
    await postGraphQL(subgraph.url, 'query Direct { hello }', {
      headers: signIdentityHeaders(null, TEST_IDENTITY_KEYS),
    });

    const text = await scrape(subgraph.url);

    expect(
      sample(text, 'graphql_operations_total', { service: 'hello', operation_name: 'Direct', outcome: 'ok' }),
    ).toBe(1);
  });

  it('should bound the operation-name label: names past the first 200 count as other', async () => {
    const headers = bearerHeaders(['viewer']);
    for (let i = 0; i < 205; i++) await postGraphQL(gateway.url, `query Q${i} { hello }`, { headers });

    const text = await scrape(gateway.url);

    expect(
      sample(text, 'graphql_operations_total', { operation_name: 'other', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(5);
    expect(sample(text, 'graphql_operations_total', { operation_name: 'Q204' })).toBeUndefined();
  });
});
