import { GraphQLError } from 'graphql';
import { ErrorCode } from '@mlops/schema';
import { createGateway } from '@mlops/gateway';
import type { GatewayHandle } from '@mlops/gateway';
import { silentLogger, startTestSubgraph } from './support/federation-subgraph';
import type { TestSubgraph } from './support/federation-subgraph';
import { TEST_JWT_SECRET, bearerHeaders } from './support/jwt';
import { exchange } from './support/gateway-exchange';
import type { Exchange } from './support/gateway-exchange';
import { writeSupergraphFile } from './support/supergraph-file';
import type { SupergraphFile } from './support/supergraph-file';

const LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@requiresScopes", "@shareable"])`;

const PRODUCTS = [
  { id: '1', name: 'Alpha', price: 10, tags: ['a'], category: 'STOCK', note: null },
  { id: '2', name: 'Beta', price: 20, tags: [], category: 'BOND', note: 'hedge' },
  { id: '3', name: 'Gamma', price: 30, tags: ['c', 'd'], category: 'STOCK', note: null },
];

const CATALOG_SDL = `${LINK}
  enum CacheControlScope { PUBLIC PRIVATE }
  directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION
  enum Category { STOCK BOND }
  interface Node { id: ID! }
  type Query {
    products(first: Int): [Product!]!
    product(id: ID!): Product
    node(id: ID!): Node
    failing: String
    partlyFailing: [Product]
    secret: String @requiresScopes(scopes: [["role:admin"]])
    quote: Float @cacheControl(maxAge: 60)
  }
  type Mutation { touch(id: ID!): Product }
  type Product implements Node @key(fields: "id") {
    id: ID!
    name: String!
    price: Float!
    tags: [String!]!
    category: Category!
    note: String
  }`;

const REVIEWS_SDL = `${LINK}
  type Product @key(fields: "id") { id: ID! reviews: [Review!]! }
  type Review { body: String! }`;

let catalog: TestSubgraph;
let reviews: TestSubgraph;
let supergraph: SupergraphFile;
let fast: GatewayHandle;
let apollo: GatewayHandle;

const find = (id: string) => PRODUCTS.find((p) => p.id === id) ?? null;

beforeAll(async () => {
  catalog = await startTestSubgraph({
    name: 'catalog',
    sdl: CATALOG_SDL,
    resolvers: {
      Query: {
        products: (_: unknown, { first }: { first?: number }) => PRODUCTS.slice(0, first ?? PRODUCTS.length),
        product: (_: unknown, { id }: { id: string }) => find(id),
        node: (_: unknown, { id }: { id: string }) => find(id),
        failing: () => {
          throw new GraphQLError('The price feed is down', { extensions: { code: 'FEED_DOWN' } });
        },
        partlyFailing: () => [PRODUCTS[0], new Error('row 2 is corrupt'), PRODUCTS[2]],
        secret: () => 'token=42',
        quote: () => 101.5,
      },
      Mutation: { touch: (_: unknown, { id }: { id: string }) => find(id) },
      Node: { __resolveType: () => 'Product' },
      Product: { __resolveReference: ({ id }: { id: string }) => find(id) },
    } as never,
  });
  reviews = await startTestSubgraph({
    name: 'reviews',
    sdl: REVIEWS_SDL,
    resolvers: {
      Product: { reviews: ({ id }: { id: string }) => [{ body: `review of ${id}` }] },
    } as never,
  });
  supergraph = await writeSupergraphFile([catalog.definition, reviews.definition]);
  const start = (passThrough: boolean) =>
    createGateway({
      env: { JWT_HS256_SECRET: TEST_JWT_SECRET },
      port: 0,
      logger: silentLogger(),
      supergraph: { kind: 'file', path: supergraph.path },
      passThrough,
      operationLimits: { maxCost: 500 },
    });
  [fast, apollo] = await Promise.all([start(true), start(false)]);
});

afterAll(async () => {
  await Promise.all([fast?.close(), apollo?.close()]);
  await Promise.all([catalog?.close(), reviews?.close()]);
  await supergraph?.remove();
});

const send = (gateway: GatewayHandle, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  exchange(gateway.url, body, headers);

async function passedThrough(gateway: GatewayHandle): Promise<number> {
  const text = await (await fetch(new URL('/metrics', gateway.url))).text();
  const line = text.split('\n').find((l) => l.startsWith('gateway_pass_through_answers_total'));
  return Number(line?.split(' ').pop() ?? NaN);
}

/**
 * Sends the same request three times to the gateway with the pass-through and to one without:
 * every answer must be byte-for-byte the same, and the subgraph must have been asked as often.
 */
async function compare(
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ answers: Exchange[]; passed: number }> {
  const before = await passedThrough(fast);
  const asked = catalog.requestIds.length;
  const answers: Exchange[] = [];
  for (let i = 0; i < 3; i++) answers.push(await send(fast, body, headers));
  const askedByFast = catalog.requestIds.length - asked;
  const expected: Exchange[] = [];
  for (let i = 0; i < 3; i++) expected.push(await send(apollo, body, headers));
  const askedByApollo = catalog.requestIds.length - asked - askedByFast;

  expect(answers).toEqual(expected);
  expect(askedByFast).toBe(askedByApollo);
  return { answers, passed: (await passedThrough(fast)) - before };
}

describe('single-subgraph pass-through', () => {
  it.each([
    ['a plain query', { query: '{ products { id name price } }' }],
    ['aliases and arguments', { query: '{ items: products(first: 2) { key: id label: name tags } }' }],
    [
      'a variable argument',
      { query: 'query P($id: ID!) { product(id: $id) { id name note } }', variables: { id: '2' } },
    ],
    ['a null answer', { query: 'query P($id: ID!) { product(id: $id) { id } }', variables: { id: '404' } }],
    [
      '@include off',
      {
        query: 'query($full: Boolean!) { products { id name @include(if: $full) } }',
        variables: { full: false },
      },
    ],
    [
      '@include on',
      {
        query: 'query On($full: Boolean!) { products { id name @include(if: $full) } }',
        variables: { full: true },
      },
    ],
    ['enums and nulls', { query: '{ products { category note } }' }],
    [
      'one of several named operations',
      { query: 'query A { products { id } } query B { products { name } }', operationName: 'B' },
    ],
  ])('should answer %s exactly as Apollo does, without Apollo after the first time', async (_name, body) => {
    const { answers, passed } = await compare(body);

    expect(answers[0]?.status).toBe(200);
    expect(passed).toBe(2); // the first request teaches, the next two pass through
  });

  it('should answer a query with named fragments exactly as Apollo does', async () => {
    const { answers } = await compare({
      query: 'query Q { products { ...P } } fragment P on Product { id name }',
    });

    expect(JSON.parse(answers[0]?.body ?? '')).toEqual({
      data: { products: PRODUCTS.map(({ id, name }) => ({ id, name })) },
    });
  });

  it.each([
    ['a query over two subgraphs', { query: '{ products { id reviews { body } } }' }],
    [
      'an interface (the plan adds __typename)',
      { query: '{ node(id: "1") { id ... on Product { name } } }' },
    ],
    ['a mutation', { query: 'mutation { touch(id: "1") { id } }' }],
    ['introspection', { query: '{ __schema { queryType { name } } }' }],
  ])('should leave %s to Apollo, answering the same', async (_name, body) => {
    const { answers, passed } = await compare(body);

    expect(answers[0]?.status).toBe(200);
    expect(passed).toBe(0);
  });

  it("should leave a cacheable answer to Apollo, keeping the subgraph's Cache-Control, without asking twice", async () => {
    const { answers, passed } = await compare({ query: '{ quote }' });

    expect(passed).toBe(0);
    expect(answers[2]?.headers['cache-control']).toBe('max-age=60, public');
    expect(JSON.parse(answers[2]?.body ?? '')).toEqual({ data: { quote: 101.5 } });
  });

  it('should replay a subgraph error to Apollo instead of asking the subgraph twice', async () => {
    const { answers, passed } = await compare({ query: '{ failing }' });

    expect(passed).toBe(0);
    expect(JSON.parse(answers[2]?.body ?? '')).toMatchObject({
      data: { failing: null },
      errors: [{ message: 'The price feed is down', path: ['failing'], extensions: { code: 'FEED_DOWN' } }],
    });
  });

  it('should replay partial data with errors to Apollo, answering the same', async () => {
    const { answers, passed } = await compare({ query: '{ partlyFailing { id } }' });

    expect(passed).toBe(0);
    expect(JSON.parse(answers[2]?.body ?? '')).toMatchObject({
      data: { partlyFailing: [{ id: '1' }, null, { id: '3' }] },
    });
  });

  it('should leave variables that do not coerce to Apollo (400 BAD_USER_INPUT)', async () => {
    const query = 'query($n: Int) { products(first: $n) { id } }';
    await compare({ query, variables: { n: 1 } }); // learned
    const { answers, passed } = await compare({ query, variables: { n: 'many' } });

    expect(passed).toBe(0);
    expect(answers[0]?.status).toBe(400);
    expect(JSON.parse(answers[0]?.body ?? '').errors[0].extensions.code).toBe(ErrorCode.BAD_USER_INPUT);
  });

  it('should apply the operation limits to each request variables (a learned query over its cost answers 400)', async () => {
    const query = 'query($n: Int) { products(first: $n) { id name } }';
    const small = await compare({ query, variables: { n: 2 } });
    const { answers, passed } = await compare({ query, variables: { n: 100_000 } });

    expect(small.passed).toBe(2);
    expect(passed).toBe(0);
    expect(answers[0]?.status).toBe(400);
    expect(JSON.parse(answers[0]?.body ?? '').errors[0].extensions.code).toBe(ErrorCode.LIMIT_EXCEEDED);
  });

  it('should never serve a field to a caller the access rules refuse, whoever taught the document', async () => {
    const query = '{ secret products(first: 1) { id } }';
    const admin = await compare({ query }, bearerHeaders(['admin']));
    const anonymous = await compare({ query });
    const viewer = await compare({ query }, bearerHeaders(['viewer']));

    expect(admin.passed).toBe(2);
    expect(JSON.parse(admin.answers[2]?.body ?? '')).toEqual({
      data: { secret: 'token=42', products: [{ id: '1' }] },
    });
    for (const [refused, code] of [
      [anonymous, ErrorCode.UNAUTHENTICATED],
      [viewer, ErrorCode.FORBIDDEN],
    ] as const) {
      expect(refused.passed).toBe(0);
      const body = JSON.parse(refused.answers[2]?.body ?? '');
      expect(body.data).toEqual({ products: [{ id: '1' }] });
      expect(body.errors[0].extensions.code).toBe(code);
    }
  });

  it('should leave requests with extensions, other Accept types or GET to Apollo', async () => {
    const query = '{ products(first: 1) { id } }';
    await compare({ query });
    const graphqlResponse = await compare({ query }, { accept: 'application/graphql-response+json' });
    const withExtensions = await compare({ query, extensions: { client: 'web' } });

    expect(graphqlResponse.passed).toBe(0);
    expect(graphqlResponse.answers[0]?.contentType).toMatch(/^application\/graphql-response\+json/);
    expect(withExtensions.passed).toBe(0);
    const get = await fetch(`${fast.url}?query=${encodeURIComponent(query)}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(await get.json()).toEqual({ data: { products: [{ id: '1' }] } });
  });
});
