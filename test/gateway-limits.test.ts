import { createHash } from 'node:crypto';
import { ApolloServer } from '@apollo/server';
import type { ApolloServerPlugin, GraphQLResponse } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { Kind, OperationTypeNode, buildSchema, getIntrospectionQuery, parse } from 'graphql';
import type { DocumentNode, FieldNode, GraphQLFormattedError } from 'graphql';
import { ConfigError } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
// The gateway's public index (`@mlops/gateway`) does not re-export the limits yet.
import {
  analyzeOperation,
  checkBatch,
  checkOperationLimits,
  countTokens,
  createOperationLimitsPlugin,
} from '@mlops/gateway';
import type { GatewayHandle, OperationLimitsOptions } from '@mlops/gateway';
import { createGateway } from '@mlops/gateway';
import { silentLogger, startTestSubgraph } from './support/federation-subgraph';
import type { TestSubgraph } from './support/federation-subgraph';
import { postGraphQL } from './support/graphql-http';
import { connectGraphQLWs, recordSubscription } from './support/graphql-ws-client';
import { writeSupergraphFile } from './support/supergraph-file';
import type { SupergraphFile } from './support/supergraph-file';

const TYPE_DEFS = `
  directive @cost(weight: Int!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
  directive @listSize(
    assumedSize: Int
    slicingArguments: [String!]
    sizedFields: [String!]
    requireOneSlicingArgument: Boolean = true
  ) on FIELD_DEFINITION
  directive @tag(name: String!) repeatable on FIELD

  type Query {
    version: String
    tags: [String!]!
    score: Float @cost(weight: 25)
    model(id: ID!): Model
    models(first: Int, last: Int): [Model!]!
    runs(limit: Int = 4): [Run!]!
    experiments(pageSize: Int, first: Int): [Experiment!]!
      @listSize(slicingArguments: ["pageSize"], assumedSize: 50)
    featured: [Model!]! @listSize(assumedSize: 3)
  }
  type Model {
    id: ID!
    name: String!
    parent: Model
    owner: Owner
    versions(first: Int): [Version!]!
  }
  type Owner @cost(weight: 7) {
    email: String!
  }
  type Version {
    number: Int!
  }
  type Run {
    id: ID!
  }
  type Experiment {
    id: ID!
  }
`;

/** Every resolver call, so a refused operation can be shown to have executed nothing. */
const executed: string[] = [];
const model = (id: number) => ({ id: String(id), name: `model-${id}`, owner: { email: 'ops@example.com' } });
const resolvers = {
  Query: {
    version: () => (executed.push('version'), '1.0'),
    tags: () => (executed.push('tags'), ['a', 'b']),
    score: () => (executed.push('score'), 0.5),
    model: (_: unknown, { id }: { id: string }) => (executed.push('model'), model(Number(id))),
    models: (_: unknown, { first }: { first?: number }) => (
      executed.push('models'),
      Array.from({ length: first ?? 2 }, (_unused, i) => model(i))
    ),
    runs: () => (executed.push('runs'), []),
    experiments: () => (executed.push('experiments'), []),
    featured: () => (executed.push('featured'), []),
  },
  Model: {
    parent: (m: { id: string }) => (executed.push('parent'), model(Number(m.id) + 1)),
    versions: () => [{ number: 1 }],
  },
};

/** Plain graphql-js schema (with AST nodes) for the pure functions. */
const schema = buildSchema(TYPE_DEFS);

interface Outcome {
  status: number | undefined;
  data: unknown;
  errors: readonly GraphQLFormattedError[] | undefined;
}

function outcome(response: GraphQLResponse): Outcome {
  if (response.body.kind !== 'single') throw new Error('expected a single result');
  const { data, errors } = response.body.singleResult;
  return { status: response.http.status, data, errors };
}

async function startServer(
  options: OperationLimitsOptions,
  extraPlugins: ApolloServerPlugin[] = [],
): Promise<ApolloServer> {
  const server = new ApolloServer({
    typeDefs: TYPE_DEFS,
    resolvers,
    introspection: true,
    plugins: [createOperationLimitsPlugin(options), ...extraPlugins],
  });
  await server.start();
  return server;
}

/** Runs one operation on a fresh server with `options`; the server is always stopped. */
async function run(
  options: OperationLimitsOptions,
  query: string,
  request: { variables?: Record<string, unknown>; operationName?: string } = {},
): Promise<Outcome> {
  const server = await startServer(options);
  try {
    return outcome(await server.executeOperation({ query, ...request }));
  } finally {
    await server.stop();
  }
}

/** Asserts the refusal: one LIMIT_EXCEEDED error, HTTP 400, no data, no resolver run. */
function expectRefused(
  result: Outcome,
  limit: string,
  maximum: number,
  actual: number,
  message: string,
): void {
  expect(result.status).toBe(400);
  expect(result.data).toBeUndefined();
  expect(result.errors).toHaveLength(1);
  expect(result.errors?.[0]?.message).toBe(message);
  expect(result.errors?.[0]?.extensions).toMatchObject({
    code: ErrorCode.LIMIT_EXCEEDED,
    limit,
    maximum,
    actual,
  });
  expect(result.errors?.[0]?.extensions).not.toHaveProperty('http');
  expect(executed).toEqual([]);
}

function expectServed(result: Outcome): void {
  expect(result.errors).toBeUndefined();
  expect(result.status).not.toBe(400);
  expect(result.data).toBeDefined();
  expect(executed.length).toBeGreaterThan(0);
}

/** `{ model(id: 1) { parent { parent { … name } } } }` with `depth` levels of fields. */
function nestedModelQuery(depth: number): string {
  let inner = 'name';
  for (let level = 0; level < depth - 2; level += 1) inner = `parent { ${inner} }`;
  return `{ model(id: 1) { ${inner} } }`;
}

beforeEach(() => {
  executed.length = 0;
});

describe('countTokens', () => {
  it('should count the tokens the graphql parser counts, without comments', () => {
    expect(countTokens('{ version tags }')).toBe(4);
    expect(countTokens('# a comment\n{ version # another\n tags }')).toBe(4);
    const introspection = getIntrospectionQuery();
    const tokens = countTokens(introspection);
    expect(() => parse(introspection, { maxTokens: tokens })).not.toThrow();
    expect(() => parse(introspection, { maxTokens: tokens - 1 })).toThrow(/tokens/);
  });

  it('should stop at the first token over the maximum, never lexing the rest', () => {
    // The unterminated string after the limit would end a full count at 7.
    const source = '{ a b c d e f "unterminated';
    expect(countTokens(source)).toBe(7);
    expect(countTokens(source, 3)).toBe(4);
    expect(countTokens('{ a }', 3)).toBe(3);
  });
});

describe('createOperationLimitsPlugin options', () => {
  it('should throw a ConfigError naming every invalid option', () => {
    const attempt = () =>
      createOperationLimitsPlugin({ maxDepth: 0, maxCost: -1, defaultListSize: 1.5, maxAliases: NaN });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/maxDepth must be a positive integer; got 0/);
    expect(attempt).toThrow(/maxCost must be a positive integer or Infinity; got -1/);
    expect(attempt).toThrow(/defaultListSize must be a non-negative integer; got 1.5/);
    expect(attempt).toThrow(/maxAliases must be a positive integer or Infinity; got NaN/);
  });

  it('should refuse an unbounded or over-large maxDepth, which the analysis cannot honour', () => {
    expect(() => createOperationLimitsPlugin({ maxDepth: Infinity })).toThrow(/maxDepth must be/);
    expect(() => createOperationLimitsPlugin({ maxDepth: 1001 })).toThrow(/maxDepth may be at most 1000/);
    expect(() => createOperationLimitsPlugin({ maxDepth: 1000, maxCost: Infinity })).not.toThrow();
  });
});

describe('operation limits plugin: depth', () => {
  it('should serve an operation at exactly maxDepth', async () => {
    const result = await run({ maxDepth: 4 }, nestedModelQuery(4));
    expectServed(result);
    expect(result.data).toEqual({ model: { parent: { parent: { name: 'model-3' } } } });
  });

  it('should refuse maxDepth + 1 with 400 and run no resolver', async () => {
    expectRefused(
      await run({ maxDepth: 4 }, nestedModelQuery(5)),
      'maxDepth',
      4,
      5,
      'The operation has depth 5; the maximum is 4',
    );
  });

  it('should count the depth of fragments where they are spread', async () => {
    const query = `
      query { model(id: 1) { ...Parents } }
      fragment Parents on Model { parent { ... on Model { parent { ...Name } } } }
      fragment Name on Model { parent { name } }`;
    expectRefused(
      await run({ maxDepth: 4 }, query),
      'maxDepth',
      4,
      5,
      'The operation has depth 5; the maximum is 4',
    );
    expectServed(await run({ maxDepth: 5 }, query));
  });

  it('should measure only the operation named by operationName', async () => {
    const deep = `query Small { version } query Deep ${nestedModelQuery(5)}`;
    expectServed(await run({ maxDepth: 4 }, deep, { operationName: 'Small' }));
    executed.length = 0;
    expectRefused(
      await run({ maxDepth: 4 }, deep, { operationName: 'Deep' }),
      'maxDepth',
      4,
      5,
      'The operation has depth 5; the maximum is 4',
    );
  });

  it('should stop walking, not overflow the stack, on a document nested 5000 levels deep', () => {
    // Built by hand: graphql's own (recursive) parser overflows the stack on it.
    let selection: FieldNode = { kind: Kind.FIELD, name: { kind: Kind.NAME, value: 'name' } };
    for (let level = 1; level < 5000; level += 1) {
      selection = {
        kind: Kind.FIELD,
        name: { kind: Kind.NAME, value: 'parent' },
        selectionSet: { kind: Kind.SELECTION_SET, selections: [selection] },
      };
    }
    const deep: DocumentNode = {
      kind: Kind.DOCUMENT,
      definitions: [
        {
          kind: Kind.OPERATION_DEFINITION,
          operation: OperationTypeNode.QUERY,
          selectionSet: { kind: Kind.SELECTION_SET, selections: [selection] },
        },
      ],
    };
    const errors = checkOperationLimits(deep, undefined, schema, {}, { maxTokens: Infinity });
    expect(errors.map((e) => e.message)).toContain(
      'The operation nests fields and fragments more than 1000 levels deep; the maximum depth is 15',
    );
    expect(errors[0]?.extensions).toMatchObject({ code: ErrorCode.LIMIT_EXCEEDED, limit: 'maxDepth' });
  });
});

describe('operation limits plugin: aliases', () => {
  const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `v${i}: version`).join(' ')} }`;

  it('should serve exactly maxAliases aliases', async () => {
    expectServed(await run({ maxAliases: 3 }, aliased(3)));
  });

  it('should refuse maxAliases + 1', async () => {
    expectRefused(
      await run({ maxAliases: 3 }, aliased(4)),
      'maxAliases',
      3,
      4,
      'The operation uses 4 aliases; the maximum is 3',
    );
  });

  it('should count a fragment’s aliases once per spread', async () => {
    const query = `{ ...Two ... on Query { ...Two } } fragment Two on Query { a: version b: version }`;
    expectRefused(
      await run({ maxAliases: 3 }, query),
      'maxAliases',
      3,
      4,
      'The operation uses 4 aliases; the maximum is 3',
    );
    expectServed(await run({ maxAliases: 4 }, query));
  });

  it('should refuse an alias bomb under the default limits', async () => {
    expectRefused(
      await run({}, aliased(1000)),
      'maxAliases',
      30,
      1000,
      'The operation uses 1000 aliases; the maximum is 30',
    );
  });

  it('should refuse an exponential fragment bomb quickly, counting every expanded alias', async () => {
    let query = 'query { ...F0 }\n';
    for (let i = 0; i < 40; i += 1) query += `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }\n`;
    query += 'fragment F40 on Query { v: version }';
    const started = Date.now();
    const result = await run({}, query);
    expect(Date.now() - started).toBeLessThan(5_000);
    expectRefused(
      result,
      'maxAliases',
      30,
      2 ** 40,
      `The operation uses ${2 ** 40} aliases; the maximum is 30`,
    );
  });
});

describe('operation limits plugin: root fields and directives', () => {
  it('should serve exactly maxRootFields root fields and refuse one more', async () => {
    expectServed(await run({ maxRootFields: 2 }, '{ version tags }'));
    executed.length = 0;
    expectRefused(
      await run({ maxRootFields: 2 }, '{ version tags __typename }'),
      'maxRootFields',
      2,
      3,
      'The operation selects 3 root fields; the maximum is 2',
    );
  });

  it('should count root fields selected through fragments', async () => {
    expectRefused(
      await run({ maxRootFields: 2 }, '{ version ...R } fragment R on Query { tags score }'),
      'maxRootFields',
      2,
      3,
      'The operation selects 3 root fields; the maximum is 2',
    );
  });

  it('should serve maxDirectivesPerField directives on a field and refuse one more', async () => {
    expectServed(await run({ maxDirectivesPerField: 2 }, '{ version @tag(name: "a") @tag(name: "b") }'));
    executed.length = 0;
    expectRefused(
      await run(
        { maxDirectivesPerField: 2 },
        '{ v: version @tag(name: "a") @tag(name: "b") @tag(name: "c") }',
      ),
      'maxDirectivesPerField',
      2,
      3,
      "The field 'v: version' carries 3 directives; the maximum is 2",
    );
  });
});

describe('operation limits plugin: tokens', () => {
  it('should serve exactly maxTokens tokens (comments excluded) and refuse one more', async () => {
    expectServed(await run({ maxTokens: 4 }, '# comments are not tokens\n{ version tags }'));
    executed.length = 0;
    expectRefused(
      await run({ maxTokens: 4 }, '{ version tags score }'),
      'maxTokens',
      4,
      5,
      'The document has more than 4 tokens; the maximum is 4',
    );
  });

  it('should refuse a huge document before parsing it', async () => {
    const parsed: string[] = [];
    const spy: ApolloServerPlugin = {
      async requestDidStart() {
        return {
          async parsingDidStart({ source }) {
            parsed.push(source);
          },
        };
      },
    };
    // A syntax error at the end: had Apollo parsed the document, it would answer GRAPHQL_PARSE_FAILED.
    const huge = `{ ${'version '.repeat(500_000)} "unterminated`;
    const server = await startServer({}, [spy]);
    try {
      const started = Date.now();
      const result = outcome(await server.executeOperation({ query: huge }));
      expect(Date.now() - started).toBeLessThan(2_000);
      expectRefused(
        result,
        'maxTokens',
        5000,
        5001,
        'The document has more than 5000 tokens; the maximum is 5000',
      );
      expect(parsed.every((source) => source.length < 100)).toBe(true);
    } finally {
      await server.stop();
    }
  });
});

describe('operation limits plugin: cost', () => {
  // 5 models × (1 for the model + 7 for the Owner type's @cost + 0 for scalars)
  const ownersQuery = '{ models(first: 5) { name owner { email } } }';

  it('should serve an operation costing exactly maxCost', async () => {
    expectServed(await run({ maxCost: 40 }, ownersQuery));
  });

  it('should refuse maxCost - 1 and report the estimated cost', async () => {
    expectRefused(
      await run({ maxCost: 39 }, ownersQuery),
      'maxCost',
      39,
      40,
      'The operation has an estimated cost of 40; the maximum is 39',
    );
  });

  it('should size a list by a variable `first`, or by the variable’s default', async () => {
    const query = 'query Owners($n: Int = 2) { models(first: $n) { owner { email } } }';
    expectServed(await run({ maxCost: 24 }, query, { variables: { n: 3 } }));
    executed.length = 0;
    expectRefused(
      await run({ maxCost: 23 }, query, { variables: { n: 3 } }),
      'maxCost',
      23,
      24,
      'The operation has an estimated cost of 24; the maximum is 23',
    );
    expectRefused(
      await run({ maxCost: 15 }, query),
      'maxCost',
      15,
      16,
      'The operation has an estimated cost of 16; the maximum is 15',
    );
  });

  it.each([
    ['a literal first', '{ models(first: 5) { id } }', 5],
    ['last', '{ models(last: 6) { id } }', 6],
    ['the default list size', '{ models { id } }', 10],
    ['a schema default for limit', '{ runs { id } }', 4],
    ['a schema default for an unset variable', 'query ($n: Int) { runs(limit: $n) { id } }', 4],
    ['an @listSize slicing argument', '{ experiments(pageSize: 2) { id } }', 2],
    ['@listSize assumedSize over a non-slicing first', '{ experiments(first: 3) { id } }', 50],
    ['@listSize assumedSize alone', '{ featured { id } }', 3],
    ['@cost on a field', '{ score }', 25],
    ['nested lists multiplying', '{ models(first: 5) { versions(first: 4) { number } } }', 25],
    ['scalar lists costing nothing', '{ tags version __typename }', 0],
  ])('should estimate %s', (_name, query, cost) => {
    expect(analyzeOperation(parse(query), undefined, schema, {}).cost).toBe(cost);
    expect(checkOperationLimits(parse(query), undefined, schema, {}, { maxCost: Math.max(cost, 1) })).toEqual(
      [],
    );
  });

  it('should refuse with the estimate a defaultListSize produces', async () => {
    expectRefused(
      await run({ maxCost: 99, defaultListSize: 100 }, '{ models { id } }'),
      'maxCost',
      99,
      100,
      'The operation has an estimated cost of 100; the maximum is 99',
    );
  });

  it('should read @cost and @listSize from costDirectivesSdl, supergraph-style names included', () => {
    const bare = buildSchema('type Query { score: Float, items: [Item!]! } type Item { id: ID! }');
    const sdl = `type Query { score: Float @cost(weight: 9) items: [Item!]! @cost__listSize(assumedSize: 4) }
      type Item { id: ID! }`;
    const document = parse('{ score items { id } }');
    expect(analyzeOperation(document, undefined, bare, {}).cost).toBe(10);
    expect(analyzeOperation(document, undefined, bare, {}, { costDirectivesSdl: () => sdl }).cost).toBe(13);
  });
});

describe('operation limits plugin: introspection', () => {
  /** `__type { fields { type { ofType { … name } } } }` with `levels` ofType levels. */
  const ofTypes = (levels: number) => {
    let inner = 'name';
    for (let i = 0; i < levels; i += 1) inner = `ofType { ${inner} }`;
    return `{ __type(name: "Model") { fields { type { ${inner} } } } }`;
  };

  it('should serve the standard introspection query under the default limits', async () => {
    const result = await run({}, getIntrospectionQuery());
    expect(result.errors).toBeUndefined();
    expect(result.data).toHaveProperty('__schema.queryType.name', 'Query');
  });

  it('should refuse introspection one level deeper than maxDepth', async () => {
    expect((await run({}, ofTypes(11))).errors).toBeUndefined();
    expectRefused(
      await run({}, ofTypes(12)),
      'maxDepth',
      15,
      16,
      'The operation has depth 16; the maximum is 15',
    );
  });

  it('should cost introspection lists like any other list, at the maxCost boundary', async () => {
    // Apollo's own introspection rule stops `fields { type { fields …` chains; wide ones are costed.
    // types: 10 × (1 + fields 10 × (1 + args 10 × (1 + 1) + 1) + inputFields 10 × 2 + 3 × 10) = 2710;
    // directives: 10 × (1 + args 10 × 1) = 110; plus 1 for __schema.
    const query = `{ __schema {
      types {
        fields { args { type { name } } type { name } }
        inputFields { type { name } }
        interfaces { name }
        possibleTypes { name }
        enumValues { name }
      }
      directives { args { name } }
    } }`;
    expect((await run({ maxCost: 2821 }, query)).errors).toBeUndefined();
    expectRefused(
      await run({ maxCost: 2820 }, query),
      'maxCost',
      2820,
      2821,
      'The operation has an estimated cost of 2821; the maximum is 2820',
    );
  });
});

describe('checkOperationLimits on unvalidated documents', () => {
  it('should report cyclic fragments at once instead of recursing forever', () => {
    const document = parse(`
      query { ...A }
      fragment A on Query { version ...B }
      fragment B on Query { ...A }
      fragment Self on Query { ...Self }`);
    const errors = checkOperationLimits(document, undefined, schema, {});
    expect(errors.map((e) => [e.message, e.extensions.code])).toEqual([
      ["Cannot spread fragment 'A' within itself", ErrorCode.BAD_USER_INPUT],
    ]);
  });

  it('should have Apollo refuse cyclic fragments quickly, before the plugin or any resolver', async () => {
    const result = await run(
      {},
      'query { ...A } fragment A on Query { version ...B } fragment B on Query { ...A }',
    );
    expect(result.status).toBe(400);
    expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(executed).toEqual([]);
  });

  it('should measure unknown fields and fragments without throwing', () => {
    const document = parse('{ nope { deeper { deepest } } ...Missing }');
    expect(analyzeOperation(document, undefined, schema, {})).toMatchObject({
      depth: 3,
      cost: 2,
      rootFields: 1,
    });
  });

  it('should return every broken limit, tokens first and alone', () => {
    const query = `{ a: models { b: parent { c: parent { name } } } }`;
    const errors = checkOperationLimits(
      parse(query),
      undefined,
      schema,
      {},
      {
        maxDepth: 2,
        maxAliases: 2,
        maxCost: 9,
      },
    );
    expect(errors.map((e) => e.extensions.limit)).toEqual(['maxDepth', 'maxAliases', 'maxCost']);
    const tokens = checkOperationLimits(parse(query), undefined, schema, {}, { maxTokens: 5, maxDepth: 2 });
    expect(tokens.map((e) => e.extensions.limit)).toEqual(['maxTokens']);
  });
});

describe('operation limits over HTTP', () => {
  let server: ApolloServer;
  let url: string;

  beforeAll(async () => {
    server = new ApolloServer({
      typeDefs: TYPE_DEFS,
      resolvers,
      persistedQueries: {},
      plugins: [createOperationLimitsPlugin({ maxDepth: 4, maxTokens: 50 })],
    });
    ({ url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } }));
  });

  afterAll(async () => {
    await server.stop();
  });

  const post = async (body: unknown) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: response.status,
      body: (await response.json()) as { data?: unknown; errors?: GraphQLFormattedError[] },
    };
  };

  it('should answer 200 within the limits and 400 LIMIT_EXCEEDED over them', async () => {
    const ok = await post({ query: nestedModelQuery(4) });
    expect(ok.status).toBe(200);
    expect(ok.body.errors).toBeUndefined();
    executed.length = 0;
    const refused = await post({ query: nestedModelQuery(5) });
    expect(refused.status).toBe(400);
    expect(refused.body.data).toBeUndefined();
    expect(refused.body.errors?.[0]).toMatchObject({
      message: 'The operation has depth 5; the maximum is 4',
      extensions: { code: ErrorCode.LIMIT_EXCEEDED, limit: 'maxDepth', maximum: 4, actual: 5 },
    });
    expect(executed).toEqual([]);
  });

  it('should refuse an oversized persisted-query registration for its size, not its hash', async () => {
    const query = `{ ${'version '.repeat(60)}}`;
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const refused = await post({ query, extensions: { persistedQuery: { version: 1, sha256Hash } } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({
      code: ErrorCode.LIMIT_EXCEEDED,
      limit: 'maxTokens',
    });
    // Nothing was registered under the hash.
    const lookup = await post({ extensions: { persistedQuery: { version: 1, sha256Hash } } });
    expect(lookup.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });
});

describe('checkBatch', () => {
  it('should pass a single operation and a batch of exactly maxBatch', () => {
    expect(checkBatch({ query: '{ version }' }, 2)).toBeUndefined();
    expect(checkBatch([{}, {}], 2)).toBeUndefined();
  });

  it('should refuse maxBatch + 1 operations with LIMIT_EXCEEDED and 400', () => {
    const error = checkBatch([{}, {}, {}], 2);
    expect(error?.message).toBe('A batch may hold at most 2 operations; got 3');
    expect(error?.extensions).toEqual({
      code: ErrorCode.LIMIT_EXCEEDED,
      limit: 'maxBatchSize',
      maximum: 2,
      actual: 3,
      http: { status: 400 },
    });
  });

  it('should refuse an empty batch as bad input', () => {
    const error = checkBatch([], 2);
    expect(error?.message).toBe('A batch must hold at least one operation; got 0');
    expect(error?.extensions.code).toBe(ErrorCode.BAD_USER_INPUT);
  });

  it('should throw on a maxBatch that is not a positive integer', () => {
    expect(() => checkBatch([], 0)).toThrow(RangeError);
    expect(() => checkBatch([], 2.5)).toThrow('maxBatch must be a positive integer; got 2.5');
  });
});

describe('operation limits through the gateway', () => {
  const SDL = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
    type Query { node: Node }
    type Subscription { nodes: Node! }
    type Node { name: String  child: Node }`;
  const nested = (depth: number) => `${'{ child '.repeat(depth - 1)}{ name }${' }'.repeat(depth - 1)}`;
  let subgraph: TestSubgraph;
  let supergraph: SupergraphFile;
  let gateway: GatewayHandle;
  let resolved = 0;

  beforeAll(async () => {
    const node: Record<string, unknown> = { name: 'leaf' };
    node.child = node;
    subgraph = await startTestSubgraph({
      name: 'graph',
      sdl: SDL,
      resolvers: {
        Query: {
          node: () => {
            resolved += 1;
            return node;
          },
        },
        Subscription: {
          nodes: {
            async *subscribe() {
              yield { nodes: node };
            },
          },
        },
      } as never,
    });
    supergraph = await writeSupergraphFile([subgraph.definition]);
    gateway = await createGateway({
      env: {},
      logger: silentLogger(),
      port: 0,
      supergraph: { kind: 'file', path: supergraph.path },
      subgraphUrls: { graph: subgraph.url },
      operationLimits: { maxDepth: 6 },
    });
  });
  afterAll(async () => {
    await gateway.close();
    await subgraph.close();
    await supergraph.remove();
  });

  it('should serve an operation at the depth limit and refuse one past it with 400, querying nothing', async () => {
    const atLimit = await postGraphQL(gateway.url, `{ node ${nested(5)} }`);
    expect(atLimit.status).toBe(200);
    const before = resolved;

    const past = await postGraphQL(gateway.url, `{ node ${nested(6)} }`);

    expect(past.status).toBe(400);
    expect(past.body.errors).toEqual([
      expect.objectContaining({
        message: 'The operation has depth 7; the maximum is 6',
        extensions: expect.objectContaining({ code: ErrorCode.LIMIT_EXCEEDED, limit: 'maxDepth' }),
      }),
    ]);
    expect(resolved).toBe(before);
  });

  it('should refuse an operation past a limit every time it is sent, and serve one within every time', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await postGraphQL(gateway.url, `{ node ${nested(6)} }`)).status).toBe(400);
      expect((await postGraphQL(gateway.url, `{ node ${nested(4)} }`)).status).toBe(200);
    }
  });

  it('should refuse a subscription past the depth limit with the same coded error', async () => {
    const client = connectGraphQLWs(gateway.url);
    try {
      const refused = recordSubscription(client, `subscription { nodes ${nested(6)} }`);

      const [result] = await refused.waitFor(1);

      expect(result?.errors).toEqual([
        expect.objectContaining({
          extensions: expect.objectContaining({ code: ErrorCode.LIMIT_EXCEEDED, limit: 'maxDepth' }),
        }),
      ]);
    } finally {
      await client.dispose();
    }
  });
});
