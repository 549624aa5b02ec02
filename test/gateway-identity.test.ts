import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { createGateway } from '@mlops/gateway';
import type { GatewayHandle, GatewayOptions } from '@mlops/gateway';
import {
  IDENTITY_HEADER,
  IDENTITY_SIGNATURE_HEADER,
  signIdentityHeaders,
  startGraphQLService,
} from '@mlops/runtime';
import type { GraphQLService, RequestContextBase } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import type { Identity } from '@mlops/schema';
import { silentLogger } from './support/federation-subgraph';
import { connectGraphQLWs, recordSubscription } from './support/graphql-ws-client';
import { postGraphQL } from './support/graphql-http';
import { FORGED_IDENTITY_KEYS, TEST_IDENTITY_KEYS } from './support/identity';
import { signTestToken, validClaims } from './support/jwt';
import { writeSupergraphFile } from './support/supergraph-file';
import type { SupergraphFile } from './support/supergraph-file';

const SECRET = 'a-development-secret-of-at-least-32-chars';
const hs = { algorithm: 'HS256' as const, secret: SECRET };
const SDL = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Query { whoami: Caller }
  type Subscription { pings: Ping! }
  type Ping { n: Int!  caller: Caller }
  type Caller { subject: String!  roles: [String!]!  scopes: [String!]! }`;

const callerOf = (identity: Identity | null) =>
  identity && { subject: identity.subject, roles: identity.roles, scopes: identity.scopes };

/** A subgraph that trusts only the gateway's signed identity and reports whom it saw. */
async function startWhoSubgraph(): Promise<GraphQLService> {
  const schema = buildSubgraphSchema({
    typeDefs: parse(SDL),
    resolvers: {
      Query: { whoami: (_: unknown, __: unknown, context: RequestContextBase) => callerOf(context.identity) },
      Subscription: {
        pings: {
          async *subscribe(_: unknown, __: unknown, context: RequestContextBase) {
            for (let n = 1; ; n++) {
              yield { pings: { n, caller: callerOf(context.identity) } };
              await new Promise((resolve) => setTimeout(resolve, 50));
            }
          },
        },
      },
    } as never,
  });
  return startGraphQLService({
    schema,
    logger: silentLogger(),
    production: false,
    readinessChecks: [],
    redisUrl: undefined,
    context: async (base) => base,
    port: 0,
    host: '127.0.0.1',
    internalIdentityKeys: TEST_IDENTITY_KEYS,
  });
}

const WHOAMI = '{ whoami { subject roles scopes } }';
const codeOf = (body: { errors?: { extensions?: { code?: unknown } }[] }) =>
  body.errors?.[0]?.extensions?.code;

describe('verified identity from the gateway to the subgraphs', () => {
  let who: GraphQLService;
  let supergraph: SupergraphFile;
  const gateways: GatewayHandle[] = [];

  async function startGateway(options: GatewayOptions = {}): Promise<GatewayHandle> {
    const gateway = await createGateway({
      env: {},
      logger: silentLogger(),
      port: 0,
      supergraph: { kind: 'file', path: supergraph.path },
      subgraphUrls: { who: who.url },
      auth: { hs256Secret: SECRET, issuers: ['https://id.example'], audiences: ['mlops'] },
      internalIdentityKeys: TEST_IDENTITY_KEYS,
      ...options,
    });
    gateways.push(gateway);
    return gateway;
  }

  beforeAll(async () => {
    who = await startWhoSubgraph();
    supergraph = await writeSupergraphFile([{ name: 'who', url: who.url, sdl: SDL }]);
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await who.close();
    await supergraph.remove();
  });

  describe('over HTTP', () => {
    let gateway: GatewayHandle;
    beforeAll(async () => {
      gateway = await startGateway();
    });

    it('should forward the verified caller to the subgraph', async () => {
      const token = signTestToken(validClaims({ roles: ['ml-engineer'], scope: 'deployments:write' }), hs);

      const { status, body } = await postGraphQL(gateway.url, WHOAMI, {
        headers: { authorization: `Bearer ${token}` },
      });

      expect(status).toBe(200);
      expect(body).toEqual({
        data: { whoami: { subject: 'user-1', roles: ['ml-engineer'], scopes: ['deployments:write'] } },
      });
    });

    it('should serve a caller without a token as anonymous when tokens are optional', async () => {
      const { body } = await postGraphQL(gateway.url, WHOAMI);

      expect(body).toEqual({ data: { whoami: null } });
    });

    it.each([
      [
        'an invalid signature',
        () => signTestToken(validClaims(), { algorithm: 'HS256', secret: 'x'.repeat(40) }),
      ],
      ['alg none', () => signTestToken(validClaims(), { algorithm: 'none' })],
      [
        'an expired token',
        () => signTestToken(validClaims({ exp: Math.floor(Date.now() / 1000) - 3600 }), hs),
      ],
      ['a wrong audience', () => signTestToken(validClaims({ aud: 'other' }), hs)],
      ['garbage', () => 'not-a-token'],
    ])('should answer 401 UNAUTHENTICATED for %s, running nothing', async (_case, token) => {
      const { status, body } = await postGraphQL(gateway.url, WHOAMI, {
        headers: { authorization: `Bearer ${token()}` },
      });

      expect(status).toBe(401);
      expect(codeOf(body)).toBe(ErrorCode.UNAUTHENTICATED);
      expect(body.data).toBeUndefined();
    });

    it('should answer 401 for an Authorization header that is not a bearer token', async () => {
      const { status, body } = await postGraphQL(gateway.url, WHOAMI, {
        headers: { authorization: 'Basic dTpw' },
      });

      expect(status).toBe(401);
      expect(codeOf(body)).toBe(ErrorCode.UNAUTHENTICATED);
    });

    it('should refuse a caller without a token when tokens are required', async () => {
      const strict = await startGateway({ auth: { hs256Secret: SECRET, required: true } });

      const { status, body } = await postGraphQL(strict.url, WHOAMI);

      expect(status).toBe(401);
      expect(codeOf(body)).toBe(ErrorCode.UNAUTHENTICATED);
      const token = signTestToken(validClaims(), hs);
      expect(
        (await postGraphQL(strict.url, WHOAMI, { headers: { authorization: `Bearer ${token}` } })).status,
      ).toBe(200);
    });
  });

  describe('direct calls to a subgraph', () => {
    const admin: Identity = {
      subject: 'mallory',
      issuer: undefined,
      roles: ['admin'],
      scopes: [],
      expiresAt: Math.floor(Date.now() / 1000) + 3600,
    };

    it('should answer 401 without the signed identity headers', async () => {
      const { status, body } = await postGraphQL(who.url, WHOAMI);

      expect(status).toBe(401);
      expect(codeOf(body)).toBe(ErrorCode.UNAUTHENTICATED);
    });

    it('should answer 401 for identity headers signed with another key', async () => {
      const { status } = await postGraphQL(who.url, WHOAMI, {
        headers: signIdentityHeaders(admin, FORGED_IDENTITY_KEYS),
      });

      expect(status).toBe(401);
    });

    it('should answer 401 for a signed identity whose payload was swapped', async () => {
      const genuine = signIdentityHeaders(null, TEST_IDENTITY_KEYS);
      const forged = signIdentityHeaders(admin, FORGED_IDENTITY_KEYS);

      const { status } = await postGraphQL(who.url, WHOAMI, {
        headers: {
          [IDENTITY_HEADER]: forged[IDENTITY_HEADER]!,
          [IDENTITY_SIGNATURE_HEADER]: genuine[IDENTITY_SIGNATURE_HEADER]!,
        },
      });

      expect(status).toBe(401);
    });

    it('should answer 401 for a replayed signature older than five minutes', async () => {
      const stale = signIdentityHeaders(admin, TEST_IDENTITY_KEYS, Date.now() - 10 * 60_000);

      const { status, body } = await postGraphQL(who.url, WHOAMI, { headers: stale });

      expect(status).toBe(401);
      expect(body.errors?.[0]?.message).toMatch(/stale/);
    });

    it('should accept the genuine signed identity', async () => {
      const { status, body } = await postGraphQL(who.url, WHOAMI, {
        headers: signIdentityHeaders(admin, TEST_IDENTITY_KEYS),
      });

      expect(status).toBe(200);
      expect(body).toEqual({ data: { whoami: { subject: 'mallory', roles: ['admin'], scopes: [] } } });
    });

    it('should close a WebSocket without the signed identity with 4401', async () => {
      const client = connectGraphQLWs(who.url);
      try {
        const end = await recordSubscription(client, 'subscription { pings { n } }').ended;

        expect(end).toMatchObject({ kind: 'closed', code: 4401 });
      } finally {
        await client.dispose();
      }
    });
  });

  describe('over WebSocket', () => {
    let gateway: GatewayHandle;
    beforeAll(async () => {
      gateway = await startGateway();
    });

    it('should carry the token from connection_init to the subgraph subscription', async () => {
      const token = signTestToken(validClaims({ sub: 'ws-user', roles: ['viewer'] }), hs);
      const client = connectGraphQLWs(gateway.url, {
        connectionParams: { authorization: `Bearer ${token}` },
      });
      try {
        const stream = recordSubscription(client, 'subscription { pings { n caller { subject roles } } }');

        const [first] = await stream.waitFor(1);

        expect(first).toEqual({
          data: { pings: { n: 1, caller: { subject: 'ws-user', roles: ['viewer'] } } },
        });
      } finally {
        await client.dispose();
      }
    });

    it('should close the connection with 4401 for a bad token', async () => {
      const token = signTestToken(validClaims(), { algorithm: 'none' });
      const client = connectGraphQLWs(gateway.url, {
        connectionParams: { authorization: `Bearer ${token}` },
      });
      try {
        const end = await recordSubscription(client, 'subscription { pings { n } }').ended;

        expect(end).toMatchObject({ kind: 'closed', code: 4401 });
      } finally {
        await client.dispose();
      }
    });

    it('should end a subscription with UNAUTHENTICATED when its token expires', async () => {
      const token = signTestToken(validClaims({ exp: Math.floor(Date.now() / 1000) + 2 }), hs);
      const client = connectGraphQLWs(gateway.url, {
        connectionParams: { authorization: `Bearer ${token}` },
      });
      try {
        const stream = recordSubscription(client, 'subscription { pings { n } }');
        await stream.waitFor(1);

        const end = await stream.ended;

        expect(end).toMatchObject({
          kind: 'errors',
          errors: [{ extensions: { code: ErrorCode.UNAUTHENTICATED } }],
        });
        expect(stream.results.length).toBeGreaterThan(1);
      } finally {
        await client.dispose();
      }
    });

    it('should share upstream subscriptions within one identity only', async () => {
      const connect = (sub: string) =>
        connectGraphQLWs(gateway.url, {
          connectionParams: { authorization: `Bearer ${signTestToken(validClaims({ sub }), hs)}` },
        });
      const clients = [connect('alice'), connect('alice'), connect('bob')];
      try {
        const streams = clients.map((c) =>
          recordSubscription(c, 'subscription { pings { n caller { subject } } }'),
        );
        const firsts = await Promise.all(streams.map((s) => s.waitFor(1)));

        expect(
          firsts.map(([r]) => (r?.data as { pings: { caller: { subject: string } } }).pings.caller.subject),
        ).toEqual(['alice', 'alice', 'bob']);
        expect(gateway.stats()).toMatchObject({ subscriptions: 3, streams: 2, upstreams: 2 });
      } finally {
        await Promise.all(clients.map((c) => c.dispose()));
      }
    });
  });
});
