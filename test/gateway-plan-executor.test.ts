import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGateway } from '@mlops/gateway';
import type { GatewayHandle } from '@mlops/gateway';
import { silentLogger, startTestSubgraph } from './support/federation-subgraph';
import type { TestSubgraph } from './support/federation-subgraph';
import { TEST_JWT_SECRET } from './support/jwt';
import { exchange } from './support/gateway-exchange';
import type { Exchange } from './support/gateway-exchange';
import { writeSupergraphFile } from './support/supergraph-file';
import type { SupergraphFile } from './support/supergraph-file';

// The gateway's compiled plan executor must answer exactly as @apollo/gateway's own: two gateways
// over the same subgraphs, one with each executor (and no pass-through, so every plan runs through
// an executor), get the same requests; status, headers and bodies must match byte for byte, and the
// subgraphs must be asked as often. A raw subgraph answers with what a real one never should (nulls
// in non-null fields, unknown enum values and __typenames, short entity lists, HTTP 500…), which
// exercises the result shaping's error paths.

const link = (imports: string[]) =>
  `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ${JSON.stringify(imports)})`;

const PRODUCTS = [
  { id: '1', name: 'Table', price: 899, weight: 100 },
  { id: '2', name: 'Couch', price: 1299, weight: 1000 },
  { id: '3', name: 'Glass', price: 15, weight: 20 },
];
const USERS = [
  { id: 'u1', name: 'Ada' },
  { id: 'u2', name: 'Grace' },
];

const CATALOG_SDL = `${link(['@key', '@shareable'])}
  interface Node { id: ID! }
  union SearchResult = Product | Category
  type Query {
    products: [Product!]!
    product(id: ID!): Product
    node(id: ID!): Node
    search(text: String!): [SearchResult!]!
  }
  type Category { name: String! }
  type Product implements Node @key(fields: "id") { id: ID! name: String! price: Float! weight: Int }
  type User @key(fields: "id") { id: ID! name: String! }`;

const REVIEWS_SDL = `${link(['@key'])}
  type Product @key(fields: "id") { id: ID! reviews: [Review!]! }
  type Review { id: ID! body: String! author: User }
  type User @key(fields: "id", resolvable: false) { id: ID! }`;

const INVENTORY_SDL = `${link(['@key', '@external', '@requires'])}
  type Product @key(fields: "id") {
    id: ID!
    price: Float! @external
    weight: Int @external
    inStock: Boolean!
    shippingEstimate: Int @requires(fields: "price weight")
  }`;

const RATINGS_SDL = `${link(['@key'])}
  enum Badge { GOLD SILVER }
  type Product @key(fields: "id") { id: ID! rating: Int! badge: Badge flags: [String!] label: String! }`;

type Mode =
  | 'ok'
  | 'null-in-non-null'
  | 'unknown-enum'
  | 'float-for-int'
  | 'unknown-typename'
  | 'string-for-list'
  | 'error-in-entity'
  | 'short-entities'
  | 'http-500'
  | 'not-json';

/**
 * A subgraph written by hand, so it can answer what graphql-js would never let a real one send.
 * It answers every `_entities` request with one entity per representation, shaped by `mode`.
 */
async function startRatings(): Promise<{
  url: string;
  mode: Mode;
  requests: number;
  close(): Promise<void>;
}> {
  const state = { mode: 'ok' as Mode, requests: 0 };
  const entity = (id: string, index: number): Record<string, unknown> => {
    const base = {
      __typename: 'Product',
      rating: Number(id),
      badge: 'GOLD',
      flags: ['new'],
      label: `#${id}`,
    };
    switch (state.mode) {
      case 'null-in-non-null':
        return index === 1 ? { ...base, rating: null } : base;
      case 'unknown-enum':
        return { ...base, badge: 'PLATINUM' };
      case 'float-for-int':
        return { ...base, rating: 4.5 };
      case 'unknown-typename':
        return index === 0 ? { ...base, __typename: 'Ghost' } : base;
      case 'string-for-list':
        return { ...base, flags: 'new' };
      default:
        return base;
    }
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      state.requests += 1;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        variables?: { representations?: { id: string }[] };
      };
      const representations = body.variables?.representations ?? [];
      const entities: (Record<string, unknown> | null)[] = representations.map((r, i) => entity(r.id, i));
      let answer: unknown = { data: { _entities: entities } };
      let status = 200;
      if (state.mode === 'error-in-entity') {
        entities[1] = null;
        answer = {
          data: { _entities: entities },
          errors: [
            {
              message: 'rating feed down',
              path: ['_entities', 1, 'rating'],
              extensions: { code: 'FEED_DOWN' },
            },
          ],
        };
      } else if (state.mode === 'short-entities') {
        answer = { data: { _entities: entities.slice(1) } };
      } else if (state.mode === 'http-500') {
        status = 500;
        answer = { errors: [{ message: 'ratings crashed' }] };
      }
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(state.mode === 'not-json' ? 'oops' : JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    get mode() {
      return state.mode;
    },
    set mode(mode: Mode) {
      state.mode = mode;
    },
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let catalog: TestSubgraph;
let reviews: TestSubgraph;
let inventory: TestSubgraph;
let ratings: Awaited<ReturnType<typeof startRatings>>;
let supergraph: SupergraphFile;
let compiled: GatewayHandle;
let apollo: GatewayHandle;

const productById = (id: string) => PRODUCTS.find((p) => p.id === id) ?? null;

beforeAll(async () => {
  catalog = await startTestSubgraph({
    name: 'catalog',
    sdl: CATALOG_SDL,
    resolvers: {
      Query: {
        products: () => PRODUCTS,
        product: (_: unknown, { id }: { id: string }) => productById(id),
        node: (_: unknown, { id }: { id: string }) => productById(id),
        search: (_: unknown, { text }: { text: string }) => [
          ...PRODUCTS.filter((p) => p.name.toLowerCase().includes(text)),
          { name: `${text}-category` },
        ],
      },
      Node: { __resolveType: () => 'Product' },
      SearchResult: { __resolveType: (value: object) => ('id' in value ? 'Product' : 'Category') },
      Product: { __resolveReference: ({ id }: { id: string }) => productById(id) },
      User: { __resolveReference: ({ id }: { id: string }) => USERS.find((u) => u.id === id) ?? null },
    } as never,
  });
  reviews = await startTestSubgraph({
    name: 'reviews',
    sdl: REVIEWS_SDL,
    resolvers: {
      Product: {
        reviews: ({ id }: { id: string }) =>
          id === '3'
            ? []
            : [
                { id: `${id}-a`, body: `first on ${id}`, author: { id: 'u1' } },
                { id: `${id}-b`, body: `second on ${id}`, author: id === '2' ? null : { id: 'u2' } },
              ],
      },
    } as never,
  });
  inventory = await startTestSubgraph({
    name: 'inventory',
    sdl: INVENTORY_SDL,
    resolvers: {
      Product: {
        __resolveReference: (reference: { id: string; price?: number; weight?: number }) => ({
          ...reference,
          inStock: reference.id !== '2',
          shippingEstimate:
            reference.price === undefined ? null : reference.price > 1000 ? 0 : (reference.weight ?? 0) / 2,
        }),
      },
    } as never,
  });
  ratings = await startRatings();
  supergraph = await writeSupergraphFile([
    catalog.definition,
    reviews.definition,
    inventory.definition,
    { name: 'ratings', url: ratings.url, sdl: RATINGS_SDL },
  ]);
  const start = (planExecutor: 'compiled' | 'apollo') =>
    createGateway({
      env: { JWT_HS256_SECRET: TEST_JWT_SECRET },
      port: 0,
      logger: silentLogger(),
      supergraph: { kind: 'file', path: supergraph.path },
      passThrough: false,
      planExecutor,
      resilience: { retries: 0, deduplicate: false },
      operationLimits: { maxCost: 100_000 },
    });
  [compiled, apollo] = await Promise.all([start('compiled'), start('apollo')]);
});

afterAll(async () => {
  await Promise.all([compiled?.close(), apollo?.close()]);
  await Promise.all([catalog?.close(), reviews?.close(), inventory?.close(), ratings?.close()]);
  await supergraph?.remove();
});

const send = (gateway: GatewayHandle, body: Record<string, unknown>) => exchange(gateway.url, body);

async function executions(gateway: GatewayHandle): Promise<{ compiled: number; apollo: number }> {
  const text = await (await fetch(new URL('/metrics', gateway.url))).text();
  const count = (executor: string) => {
    const line = text
      .split('\n')
      .find(
        (l) => l.startsWith('gateway_query_plan_executions_total{') && l.includes(`executor="${executor}"`),
      );
    return Number(line?.split(' ').pop() ?? 0);
  };
  return { compiled: count('compiled'), apollo: count('apollo') };
}

const asked = () => [
  catalog.requestIds.length,
  reviews.requestIds.length,
  inventory.requestIds.length,
  ratings.requests,
];

/** The same request to both gateways, twice each: identical exchanges, identical subgraph traffic. */
async function compare(body: Record<string, unknown>): Promise<Exchange> {
  const before = asked();
  const ours = [await send(compiled, body), await send(compiled, body)];
  const middle = asked();
  const theirs = [await send(apollo, body), await send(apollo, body)];
  const after = asked();
  expect(ours).toEqual(theirs);
  expect(middle.map((n, i) => n - before[i]!)).toEqual(after.map((n, i) => n - middle[i]!));
  return ours[0]!;
}

describe('compiled plan executor against @apollo/gateway', () => {
  beforeEach(() => {
    ratings.mode = 'ok';
  });

  it('should answer a query across four subgraphs, with @requires, as Apollo does, and run it itself', async () => {
    const before = await executions(compiled);
    const answer = await compare({
      query: `query Everything {
        products { id name price shippingEstimate inStock rating badge flags label
          reviews { id body author { id name } } }
      }`,
    });
    expect(answer.status).toBe(200);
    const data = JSON.parse(answer.body) as { data: { products: { shippingEstimate: number | null }[] } };
    expect(data.data.products.map((p) => p.shippingEstimate)).toEqual([50, 0, 10]);
    const after = await executions(compiled);
    expect(after.compiled - before.compiled).toBe(2);
    expect(after.apollo - before.apollo).toBe(0);
  });

  it.each([
    [
      'aliases, fragments, __typename at every level',
      {
        query: `query Shapes {
          __typename
          first: product(id: "1") { __typename ... on Product { key: id label: name } ...Stock }
          node(id: "2") { __typename id ... on Product { name reviews { __typename body } } }
          kind: __typename
        }
        fragment Stock on Product { price inStock }`,
      },
    ],
    [
      'a union with type conditions',
      {
        query:
          '{ search(text: "a") { __typename ... on Product { id name inStock } ... on Category { name } } }',
      },
    ],
    [
      '@skip and @include on variables, with a default (Condition nodes in the plan)',
      {
        query: `query Conditions($withReviews: Boolean = true, $skipName: Boolean!) {
          products { id name @skip(if: $skipName) reviews @include(if: $withReviews) { body } inStock @include(if: false) }
        }`,
        variables: { skipName: true },
      },
    ],
    [
      'the same operation with the other branches',
      {
        query: `query Conditions($withReviews: Boolean = true, $skipName: Boolean!) {
          products { id name @skip(if: $skipName) reviews @include(if: $withReviews) { body } inStock @include(if: false) }
        }`,
        variables: { withReviews: false, skipName: false },
      },
    ],
    [
      'a missing entity (null) with nested fields',
      { query: '{ product(id: "404") { id name reviews { body } } }' },
    ],
    [
      'one of several named operations, with variables',
      {
        query:
          'query A { products { id } } query B($id: ID!) { product(id: $id) { name rating shippingEstimate } }',
        operationName: 'B',
        variables: { id: '3' },
      },
    ],
    [
      'a variable of the wrong type',
      { query: 'query V($id: ID!) { product(id: $id) { id } }', variables: { id: { no: 1 } } },
    ],
    ['a missing required variable', { query: 'query V($id: ID!) { product(id: $id) { id rating } }' }],
    [
      'schema introspection beside data (declined to Apollo)',
      { query: '{ __schema { queryType { name } } products { id inStock } }' },
    ],
  ])('should answer %s as Apollo does', async (_name, body) => {
    await compare(body);
  });

  it.each<[Mode, string]>([
    ['null-in-non-null', 'a null in a non-null field nulls the entity and reports where'],
    ['unknown-enum', 'an enum value the schema does not have'],
    ['float-for-int', 'a Float where an Int belongs'],
    ['unknown-typename', 'an entity of a type the schema does not have'],
    ['string-for-list', 'a string where a list belongs'],
    ['error-in-entity', "an error on one entity, placed at the client's path"],
    ['short-entities', 'fewer entities than representations sent'],
    ['http-500', 'HTTP 500'],
    ['not-json', 'an answer that is not JSON'],
  ])('should treat a subgraph answer with %s (%s) as Apollo does', async (mode) => {
    ratings.mode = mode;
    const answer = await compare({
      query: '{ products { id name rating badge flags label } top: product(id: "2") { id rating label } }',
    });
    expect(answer.body).not.toBe('');
  });

  it('should keep serving after every malformed answer', async () => {
    const answer = await compare({ query: '{ products { id rating } }' });
    expect(JSON.parse(answer.body)).toEqual({
      data: { products: PRODUCTS.map((p) => ({ id: p.id, rating: Number(p.id) })) },
    });
  });
});
