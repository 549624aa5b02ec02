import { createGateway } from '@mlops/gateway';
import type { GatewayHandle } from '@mlops/gateway';
import { ErrorCode } from '@mlops/schema';
import { silentLogger, startTestSubgraph } from './support/federation-subgraph';
import type { TestSubgraph } from './support/federation-subgraph';
import { connectGraphQLWs, recordSubscription } from './support/graphql-ws-client';
import { postGraphQL } from './support/graphql-http';
import { signTestToken, validClaims } from './support/jwt';
import { writeSupergraphFile } from './support/supergraph-file';
import type { SupergraphFile } from './support/supergraph-file';

const SECRET = 'a-development-secret-of-at-least-32-chars';
const SDL = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@authenticated", "@requiresScopes"])
  type Query {
    publicInfo: String
    me: String @authenticated
    deployments: [Deployment!]!
  }
  type Deployment @key(fields: "id") {
    id: ID!
    name: String!
    secretConfig: String @requiresScopes(scopes: [["role:admin"]])
    owner: Owner
  }
  type Owner @authenticated { email: String! }
  type Mutation {
    rollout(name: String!): String @requiresScopes(scopes: [["role:ml-engineer"], ["role:admin"], ["deployments:write"]])
    note(text: String!): String
  }
  type Subscription { ticks: Int! @authenticated }`;

const DEPLOYMENTS = [
  { id: '1', name: 'prices', secretConfig: 'token=42', owner: { email: 'ops@example.com' } },
];

const bearer = (claims: Record<string, unknown>) => ({
  authorization: `Bearer ${signTestToken(validClaims(claims), { algorithm: 'HS256', secret: SECRET })}`,
});
const VIEWER = bearer({ roles: ['viewer'] });
const ENGINEER = bearer({ roles: ['ml-engineer'] });
const ADMIN = bearer({ roles: ['admin'] });
const CODES = (body: { errors?: { extensions?: { code?: unknown } }[] }) =>
  body.errors?.map((e) => e.extensions?.code);

describe('authorization declared in subgraph schemas, enforced at the gateway', () => {
  let subgraph: TestSubgraph;
  let supergraph: SupergraphFile;
  let gateway: GatewayHandle;
  const executed: string[] = [];

  beforeAll(async () => {
    subgraph = await startTestSubgraph({
      name: 'ops',
      sdl: SDL,
      resolvers: {
        Query: {
          publicInfo: () => 'hello',
          me: () => 'someone',
          deployments: () => DEPLOYMENTS,
        },
        Mutation: {
          rollout: (_: unknown, { name }: { name: string }) => {
            executed.push(name);
            return `rolled out ${name}`;
          },
          note: (_: unknown, { text }: { text: string }) => text,
        },
        Subscription: {
          ticks: {
            async *subscribe() {
              yield { ticks: 1 };
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
      subgraphUrls: { ops: subgraph.url },
      auth: { hs256Secret: SECRET },
    });
  });
  afterAll(async () => {
    await gateway.close();
    await subgraph.close();
    await supergraph.remove();
  });

  it('should serve the public fields and answer UNAUTHENTICATED for the protected one of an anonymous caller', async () => {
    const { status, body } = await postGraphQL(gateway.url, '{ publicInfo me }');

    expect(status).toBe(200);
    expect(body.data).toEqual({ publicInfo: 'hello' });
    expect(body.errors).toEqual([
      expect.objectContaining({
        path: ['me'],
        extensions: expect.objectContaining({ code: ErrorCode.UNAUTHENTICATED, field: 'Query.me' }),
      }),
    ]);
  });

  it('should cut a nested field, and a field returning a protected type for an anonymous caller, serving the rest', async () => {
    const { body } = await postGraphQL(
      gateway.url,
      '{ deployments { name cfg: secretConfig owner { email } } }',
      {
        headers: VIEWER,
      },
    );

    expect(body.data).toEqual({ deployments: [{ name: 'prices', owner: { email: 'ops@example.com' } }] });
    expect(CODES(body)).toEqual([ErrorCode.FORBIDDEN]);
    expect(body.errors?.[0]).toMatchObject({ path: ['deployments', 'cfg'] });
    const anonymous = await postGraphQL(gateway.url, '{ deployments { name owner { email } } }');
    expect(anonymous.body.data).toEqual({ deployments: [{ name: 'prices' }] });
    expect(CODES(anonymous.body)).toEqual([ErrorCode.UNAUTHENTICATED]);
    expect(body.errors?.[0]?.message).toMatch(
      /Deployment.secretConfig: it requires one of the scope sets \[role:admin\]/,
    );
  });

  it('should let the role through that the rule names', async () => {
    const { body } = await postGraphQL(gateway.url, '{ deployments { name secretConfig owner { email } } }', {
      headers: ADMIN,
    });

    expect(body).toEqual({
      data: {
        deployments: [{ name: 'prices', secretConfig: 'token=42', owner: { email: 'ops@example.com' } }],
      },
    });
  });

  it('should refuse a mutation to a viewer without running it, and run it for an ml-engineer', async () => {
    const mutation = 'mutation { rollout(name: "prices") }';

    const refused = await postGraphQL(gateway.url, mutation, { headers: VIEWER });

    expect(refused.body.data ?? null).toBeNull();
    expect(CODES(refused.body)).toEqual([ErrorCode.FORBIDDEN]);
    expect(executed).toEqual([]);
    const allowed = await postGraphQL(gateway.url, mutation, { headers: ENGINEER });
    expect(allowed.body).toEqual({ data: { rollout: 'rolled out prices' } });
    expect(executed).toEqual(['prices']);
  });

  it('should accept a scope in place of a role where the rule lists it', async () => {
    const { body } = await postGraphQL(gateway.url, 'mutation { rollout(name: "scoped") }', {
      headers: bearer({ scope: 'deployments:write' }),
    });

    expect(body).toEqual({ data: { rollout: 'rolled out scoped' } });
  });

  it('should apply rules inside fragments and never share a plan between callers with different rights', async () => {
    const query = 'query Ops { deployments { ...D } } fragment D on Deployment { name secretConfig }';

    const asAdmin = await postGraphQL(gateway.url, query, { headers: ADMIN });
    const asViewer = await postGraphQL(gateway.url, query, { headers: VIEWER });
    const asAdminAgain = await postGraphQL(gateway.url, query, { headers: ADMIN });

    expect(asAdmin.body).toEqual({ data: { deployments: [{ name: 'prices', secretConfig: 'token=42' }] } });
    expect(asViewer.body.data).toEqual({ deployments: [{ name: 'prices' }] });
    expect(CODES(asViewer.body)).toEqual([ErrorCode.FORBIDDEN]);
    expect(asAdminAgain.body).toEqual(asAdmin.body);
  });

  it('should refuse a subscription to a protected field for an anonymous caller and serve an authenticated one', async () => {
    const anonymous = connectGraphQLWs(gateway.url);
    const viewer = connectGraphQLWs(gateway.url, { connectionParams: VIEWER });
    try {
      const refused = recordSubscription(anonymous, 'subscription { ticks }');
      const served = recordSubscription(viewer, 'subscription { ticks }');

      expect(await refused.waitFor(1)).toEqual([
        expect.objectContaining({
          errors: [
            expect.objectContaining({
              extensions: expect.objectContaining({ code: ErrorCode.UNAUTHENTICATED }),
            }),
          ],
        }),
      ]);
      expect(await served.waitFor(1)).toEqual([{ data: { ticks: 1 } }]);
    } finally {
      await Promise.all([anonymous.dispose(), viewer.dispose()]);
    }
  });
});
