import { writeFile } from 'node:fs/promises';
import { ErrorCode, composeSupergraph } from '@mlops/schema';
import { createGateway } from '@mlops/gateway';
import type { GatewayHandle } from '@mlops/gateway';
import { silentLogger, startTestSubgraph } from './support/federation-subgraph';
import type { TestSubgraph } from './support/federation-subgraph';
import { postGraphQL } from './support/graphql-http';
import { writeSupergraphFile } from './support/supergraph-file';
import type { SupergraphFile } from './support/supergraph-file';

const FEDERATION = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])`;

const PRODUCTS = [
  { id: '1', name: 'Alpha', price: 10 },
  { id: '2', name: 'Beta', price: 20 },
];

const PRODUCTS_QUERY = '{ products { id name price } }';

let catalog: TestSubgraph;
let pricing: TestSubgraph;
let quotes: TestSubgraph;
let supergraph: SupergraphFile;

beforeAll(async () => {
  catalog = await startTestSubgraph({
    name: 'catalog',
    sdl: `${FEDERATION}
      type Query { products: [Product!]! }
      type Product @key(fields: "id") { id: ID! name: String! }`,
    resolvers: {
      Query: { products: () => PRODUCTS.map(({ id, name }) => ({ id, name })) },
      Product: { __resolveReference: ({ id }: { id: string }) => PRODUCTS.find((p) => p.id === id) },
    },
  });
  // `price` is shareable between two subgraphs: the planner has two options to weigh for it.
  const priced = (name: string) =>
    startTestSubgraph({
      name,
      sdl: `${FEDERATION}
        type Product @key(fields: "id") { id: ID! price: Float! @shareable }`,
      resolvers: {
        Product: { __resolveReference: ({ id }: { id: string }) => PRODUCTS.find((p) => p.id === id) },
      },
    });
  pricing = await priced('pricing');
  quotes = await priced('quotes');
  supergraph = await writeSupergraphFile([catalog.definition, pricing.definition, quotes.definition]);
});

afterAll(async () => {
  await Promise.all([catalog?.close(), pricing?.close(), quotes?.close()]);
  await supergraph?.remove();
});

async function startGateway(queryPlanning: Record<string, number> = {}, supergraphPollMs = 0) {
  return createGateway({
    env: {},
    port: 0,
    logger: silentLogger(),
    supergraph: { kind: 'file', path: supergraph.path },
    supergraphPollMs,
    queryPlanning,
  });
}

/** The gateway's Prometheus samples whose name (with labels) starts with `prefix`, as numbers. */
async function metrics(gateway: GatewayHandle, prefix: string): Promise<Record<string, number>> {
  const text = await (await fetch(new URL('/metrics', gateway.url))).text();
  const samples: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const at = line.lastIndexOf(' ');
    samples[
      line
        .slice(0, at)
        .replace(/,?service="gateway"/, '')
        .replace('{}', '')
    ] = Number(line.slice(at + 1));
  }
  return samples;
}

describe('gateway query planning', () => {
  it('should plan an operation once and count later requests as plan-cache hits', async () => {
    const gateway = await startGateway();
    try {
      for (let i = 0; i < 3; i++) {
        const response = await postGraphQL(gateway.url, PRODUCTS_QUERY);
        expect(response.body).toEqual({ data: { products: PRODUCTS } });
      }

      expect(await metrics(gateway, 'gateway_query_plan_cache_lookups_total')).toEqual({
        'gateway_query_plan_cache_lookups_total{outcome="hit"}': 2,
        'gateway_query_plan_cache_lookups_total{outcome="miss"}': 1,
        'gateway_query_plan_cache_lookups_total{outcome="refused"}': 0,
      });
      expect(await metrics(gateway, 'gateway_query_planning_seconds_count')).toEqual({
        gateway_query_planning_seconds_count: 1,
      });
      expect(await metrics(gateway, 'gateway_query_plan_cache_plans')).toEqual({
        gateway_query_plan_cache_plans: 1,
      });
    } finally {
      await gateway.close();
    }
  });

  it('should keep operations with different names apart in the cache', async () => {
    const gateway = await startGateway();
    try {
      const document = 'query A { products { id } } query B { products { name } }';
      const a = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: document, operationName: 'A' }),
      });
      const b = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: document, operationName: 'B' }),
      });

      expect(await a.json()).toEqual({ data: { products: [{ id: '1' }, { id: '2' }] } });
      expect(await b.json()).toEqual({ data: { products: [{ name: 'Alpha' }, { name: 'Beta' }] } });
      expect(await metrics(gateway, 'gateway_query_plan_cache_lookups_total')).toEqual({
        'gateway_query_plan_cache_lookups_total{outcome="hit"}': 0,
        'gateway_query_plan_cache_lookups_total{outcome="miss"}': 2,
        'gateway_query_plan_cache_lookups_total{outcome="refused"}': 0,
      });
    } finally {
      await gateway.close();
    }
  });

  it('should re-plan recently used operations after a supergraph reload, before they are asked again', async () => {
    const gateway = await startGateway({}, 20);
    try {
      await postGraphQL(gateway.url, PRODUCTS_QUERY);
      await postGraphQL(gateway.url, '{ products { id } }');
      const withSku = {
        ...catalog.definition,
        sdl: catalog.definition.sdl.replace('name: String!', 'name: String! sku: String'),
      };
      const outcome = composeSupergraph([withSku, pricing.definition, quotes.definition]);
      if (!outcome.ok) throw new Error(outcome.errors.join('\n'));

      await writeFile(supergraph.path, outcome.supergraphSdl);
      await waitFor(
        async () => (await metrics(gateway, 'gateway_query_plans_warmed_total'))[WARMED] === 2,
        'two plans warmed after the reload',
      );
      const response = await postGraphQL(gateway.url, PRODUCTS_QUERY);

      expect(response.body).toEqual({ data: { products: PRODUCTS } });
      // Both misses were before the reload; the request after it found its plan ready.
      expect(await metrics(gateway, 'gateway_query_plan_cache_lookups_total')).toEqual({
        'gateway_query_plan_cache_lookups_total{outcome="hit"}': 1,
        'gateway_query_plan_cache_lookups_total{outcome="miss"}': 2,
        'gateway_query_plan_cache_lookups_total{outcome="refused"}': 0,
      });
    } finally {
      await gateway.close();
      const original = composeSupergraph([catalog.definition, pricing.definition, quotes.definition]);
      if (original.ok) await writeFile(supergraph.path, original.supergraphSdl);
    }
  });

  it('should refuse with LIMIT_EXCEEDED an operation past the planner search bound, and its repeats without planning', async () => {
    const gateway = await startGateway({ pathsLimit: 1 });
    try {
      const first = await postGraphQL(gateway.url, PRODUCTS_QUERY);
      const again = await postGraphQL(gateway.url, PRODUCTS_QUERY);
      const simple = await postGraphQL(gateway.url, '{ products { id } }');

      for (const refused of [first, again]) {
        expect(refused.status).toBe(400);
        expect(refused.body.data).toBeUndefined();
        expect(refused.body.errors).toEqual([
          expect.objectContaining({
            message: expect.stringContaining('more than 1 options for one selection'),
            extensions: expect.objectContaining({ code: ErrorCode.LIMIT_EXCEEDED, limit: 'planningPaths' }),
          }),
        ]);
      }
      expect(simple.body).toEqual({ data: { products: [{ id: '1' }, { id: '2' }] } });
      expect(await metrics(gateway, 'gateway_query_plan_cache_lookups_total')).toEqual({
        'gateway_query_plan_cache_lookups_total{outcome="hit"}': 0,
        'gateway_query_plan_cache_lookups_total{outcome="miss"}': 2,
        'gateway_query_plan_cache_lookups_total{outcome="refused"}': 2,
      });
      // Planned twice: the refused operation once, the simple one once.
      expect(await metrics(gateway, 'gateway_query_planning_seconds_count')).toEqual({
        gateway_query_planning_seconds_count: 2,
      });
    } finally {
      await gateway.close();
    }
  });
});

const WARMED = 'gateway_query_plans_warmed_total{reason="reload"}';

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
