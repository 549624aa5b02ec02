// @ts-check
// The workload of The Guild's graphql-gateways-benchmark, "federation" scenario, rebuilt here: four
// subgraphs (accounts, inventory, products, reviews) with the same types, keys, @requires and
// @provides, the same in-memory data, and the same deeply nested test query. The original subgraphs
// are Rust (async-graphql); these are Node (see subgraph-server.mjs), so a gateway's figures here are
// only comparable with each other, not with the published ones.
//
// One deliberate difference: the original inventory subgraph's entity resolver ignores the `price`
// and `weight` its `@requires` receives, so `shippingEstimate` is always null there. Here it is
// computed from them as the original code intends (price > 1000: 0, else weight / 2); the gateway's
// work is the same either way (the representations carry price and weight in both).
import { parse } from 'graphql';

const FEDERATION = (/** @type {string[]} */ imports) =>
  `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ${JSON.stringify(imports)})`;

const USERS = [
  { id: '1', name: 'Uri Goldshtein', username: 'urigo', birthday: 1234567890 },
  { id: '2', name: 'Dotan Simha', username: 'dotansimha', birthday: 1234567890 },
  { id: '3', name: 'Kamil Kisiela', username: 'kamilkisiela', birthday: 1234567890 },
  { id: '4', name: 'Arda Tanrikulu', username: 'ardatan', birthday: 1234567890 },
  { id: '5', name: 'Gil Gardosh', username: 'gilgardosh', birthday: 1234567890 },
  { id: '6', name: 'Laurin Quast', username: 'laurin', birthday: 1234567890 },
];

const PRODUCTS = [
  { upc: '1', name: 'Table', price: 899, weight: 100 },
  { upc: '2', name: 'Couch', price: 1299, weight: 1000 },
  { upc: '3', name: 'Glass', price: 15, weight: 20 },
  { upc: '4', name: 'Chair', price: 499, weight: 100 },
  { upc: '5', name: 'TV', price: 1299, weight: 1000 },
  { upc: '6', name: 'Lamp', price: 6999, weight: 300 },
  { upc: '7', name: 'Grill', price: 3999, weight: 2000 },
  { upc: '8', name: 'Fridge', price: 100000, weight: 6000 },
  { upc: '9', name: 'Sofa', price: 9999, weight: 800 },
];

const IN_STOCK = new Map(
  [true, false, false, false, true, true, true, false, true].map((inStock, i) => [String(i + 1), inStock]),
);

// The review bodies are the original's lorem-ipsum passages, cut where the original cuts them.
const LOREM =
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et ' +
  'dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ' +
  'ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu ' +
  'fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt ' +
  'mollit anim id est laborum.';
const SED_UT =
  'Sed ut perspiciatis unde omnis iste natus error sit voluptatem accusantium doloremque laudantium, totam ' +
  'rem aperiam, eaque ipsa quae ab illo inventore veritatis et quasi architecto beatae vitae dicta sunt ' +
  'explicabo. Nemo enim ipsam voluptatem quia voluptas sit aspernatur aut odit aut fugi';
const SED_QUIA =
  'sed quia consequuntur magni dolores eos qui ratione voluptatem sequi nesciunt. Neque porro quisquam est, ' +
  'qui dolorem ipsum quia dolor sit amet, consectetur, adipisci velit, sed quia non numquam eius modi tempora ' +
  'incidunt ut labore et dolore magnam aliquam quaerat voluptatem.';
const UT_ENIM =
  'Ut enim ad minima veniam, quis nostrum exercitationem ullam corporis suscipit laboriosam, nisi ut aliquid ' +
  'ex ea commodi consequatur? Quis autem';
const AT_VERO =
  'At vero eos et accusamus et iusto odio dignissimos ducimus qui blanditiis praesentium voluptatum deleniti ' +
  'atque corrupti quos dolores et quas molestias excepturi sint occaecati cupiditate non provident, similique ' +
  'sunt in culpa qui officia deserunt mollitia animi, id est laborum et dolorum fuga. Et harum quidem rerum ' +
  'facilis est et expedita distinctio. Nam libero tempore, cum soluta nobis est eligendi optio cumque nihil ' +
  'impedit quo minus id quod maxime placeat facere possimus, omnis voluptas assumenda est, omnis dolor ' +
  'repellendus. Temporibus autem quibusdam et aut officiis debitis aut rerum necessitatibus saepe eveniet ut ' +
  'et voluptates repudiandae sint et molestiae non recusandae. Itaque earum rerum hic tenetur a sapiente ' +
  'delectus, ut aut reiciendis voluptatibus maiores alias consequatur aut perferendis doloribus asperiores ' +
  'repellat.';

const REVIEWS = [
  [LOREM, '1'],
  [SED_UT, '1'],
  [SED_QUIA, '1'],
  [UT_ENIM, '1'],
  [LOREM, '2'],
  [SED_UT, '2'],
  [SED_QUIA, '2'],
  [UT_ENIM, '2'],
  [UT_ENIM, '3'],
  [UT_ENIM, '4'],
  [AT_VERO, '4'],
].map(([body, upc], i) => ({ id: String(i + 1), body, product: { upc } }));

/**
 * @typedef {object} SubgraphDefinition
 * @property {string} name
 * @property {string} sdl
 * @property {Record<string, Record<string, (...args: any[]) => unknown>>} resolvers
 */

/** @type {readonly SubgraphDefinition[]} */
export const SUBGRAPHS = [
  {
    name: 'accounts',
    sdl: `${FEDERATION(['@key', '@shareable'])}
      type Query { me: User  user(id: ID!): User  users: [User] }
      type User @key(fields: "id") { id: ID!  name: String  username: String @shareable  birthday: Int }`,
    resolvers: {
      Query: {
        me: () => USERS[0],
        user: (_, { id }) => USERS.find((u) => u.id === id) ?? null,
        users: () => USERS,
      },
      User: { __resolveReference: ({ id }) => USERS.find((u) => u.id === id) ?? null },
    },
  },
  {
    name: 'inventory',
    sdl: `${FEDERATION(['@key', '@external', '@requires'])}
      type Product @key(fields: "upc") {
        upc: String!
        weight: Int @external
        price: Int @external
        inStock: Boolean
        shippingEstimate: Int @requires(fields: "price weight")
      }`,
    resolvers: {
      Product: {
        __resolveReference: ({ upc, price, weight }) => ({ upc, price, weight, inStock: IN_STOCK.get(upc) }),
        shippingEstimate: ({ price, weight }) => {
          if (price == null) return null;
          if (price > 1000) return 0;
          return weight == null ? null : Math.trunc(weight / 2);
        },
      },
    },
  },
  {
    name: 'products',
    sdl: `${FEDERATION(['@key'])}
      type Query { topProducts(first: Int = 5): [Product] }
      type Product @key(fields: "upc") { upc: String!  name: String  price: Int  weight: Int }`,
    resolvers: {
      Query: { topProducts: (_, { first }) => PRODUCTS.slice(0, first ?? 5) },
      Product: { __resolveReference: ({ upc }) => PRODUCTS.find((p) => p.upc === upc) ?? null },
    },
  },
  {
    name: 'reviews',
    sdl: `${FEDERATION(['@key', '@external', '@provides'])}
      type Review @key(fields: "id") { id: ID!  body: String  author: User @provides(fields: "username")  product: Product }
      type User @key(fields: "id") { id: ID!  username: String @external  reviews: [Review] }
      type Product @key(fields: "upc") { upc: String!  reviews: [Review] }`,
    resolvers: {
      Review: {
        __resolveReference: ({ id }) => REVIEWS.find((r) => r.id === id) ?? null,
        // As in the original: every review's author is user 1, with the username provided here.
        author: () => ({ id: '1', username: 'urigo' }),
      },
      User: {
        __resolveReference: ({ id }) => ({ id, username: 'user' }),
        reviews: () => REVIEWS.slice(0, 2),
      },
      Product: {
        __resolveReference: ({ upc }) => ({ upc }),
        reviews: ({ upc }) => REVIEWS.filter((r) => r.product.upc === upc),
      },
    },
  },
];

/** The benchmark's k6 query, verbatim in shape: fragments User, Review, Product; four levels deep. */
export const TEST_QUERY = `fragment User on User { id username name }
fragment Review on Review { id body }
fragment Product on Product { inStock name price shippingEstimate upc weight }
query TestQuery {
  users {
    ...User
    reviews {
      ...Review
      product {
        ...Product
        reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } }
      }
    }
  }
  topProducts {
    ...Product
    reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } }
  }
}`;

/** Served by the products subgraph alone: what a gateway adds to one plain fetch. */
export const SINGLE_SUBGRAPH_QUERY = '{ topProducts { upc name price } }';

/** @param {string} name */
export function subgraphDefinition(name) {
  const definition = SUBGRAPHS.find((s) => s.name === name);
  if (!definition)
    throw new Error(`No subgraph '${name}'; known: ${SUBGRAPHS.map((s) => s.name).join(', ')}`);
  return { ...definition, typeDefs: parse(definition.sdl) };
}
