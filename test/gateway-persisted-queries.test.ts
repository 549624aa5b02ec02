import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createGateway } from '@mlops/gateway';
import type { GatewayHandle, GatewayOptions } from '@mlops/gateway';
import { ConfigError } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import { silentLogger, startTestSubgraph } from './support/federation-subgraph';
import type { TestSubgraph } from './support/federation-subgraph';
import { TEST_REDIS_URL, serviceAvailable } from './support/services';
import { writeSupergraphFile } from './support/supergraph-file';
import type { SupergraphFile } from './support/supergraph-file';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function post(url: string, body: Record<string, unknown>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] },
  };
}
const persisted = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });

describe('persisted queries and trusted documents', () => {
  let subgraph: TestSubgraph;
  let supergraph: SupergraphFile;
  let dir: string;
  const gateways: GatewayHandle[] = [];
  let calls = 0;

  async function startGateway(options: GatewayOptions = {}): Promise<GatewayHandle> {
    const gateway = await createGateway({
      env: {},
      logger: silentLogger(),
      port: 0,
      supergraph: { kind: 'file', path: supergraph.path },
      subgraphUrls: { docs: subgraph.url },
      ...options,
    });
    gateways.push(gateway);
    return gateway;
  }

  beforeAll(async () => {
    subgraph = await startTestSubgraph({
      name: 'docs',
      sdl: 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"]) type Query { hello(n: Int): String }',
      resolvers: {
        Query: {
          hello: (_: unknown, { n }: { n?: number }) => {
            calls += 1;
            return `hello ${n ?? 0}`;
          },
        },
      },
    });
    supergraph = await writeSupergraphFile([subgraph.definition]);
    dir = await mkdtemp(path.join(os.tmpdir(), 'mlops-trusted-'));
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await subgraph.close();
    await supergraph.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it('should answer an unknown hash with PERSISTED_QUERY_NOT_FOUND, then run it by hash once registered', async () => {
    const gateway = await startGateway();
    const query = `query Apq${randomUUID().replace(/-/g, '')} { hello(n: 1) }`;

    const unknown = await post(gateway.url, { extensions: persisted(sha256(query)) });
    const registered = await post(gateway.url, { query, extensions: persisted(sha256(query)) });
    const byHash = await post(gateway.url, { extensions: persisted(sha256(query)) });

    expect(unknown.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(registered.body).toEqual({ data: { hello: 'hello 1' } });
    expect(byHash.body).toEqual({ data: { hello: 'hello 1' } });
  });

  (serviceAvailable('redis') ? it : it.skip)(
    'should share registered queries between gateway replicas through Redis',
    async () => {
      const [first, second] = await Promise.all([
        startGateway({ redisUrl: TEST_REDIS_URL }),
        startGateway({ redisUrl: TEST_REDIS_URL }),
      ]);
      const query = `query Shared${randomUUID().replace(/-/g, '')} { hello(n: 2) }`;

      expect((await post(first!.url, { query, extensions: persisted(sha256(query)) })).body).toEqual({
        data: { hello: 'hello 2' },
      });

      // Apollo Server stores a registration without awaiting the write: the answer can reach the
      // client before Redis has it, so the other replica may miss it for a moment (a client then
      // sends the full query again, as the protocol says). Shared within a second:
      let answer = await post(second!.url, { extensions: persisted(sha256(query)) });
      for (let tries = 0; tries < 20 && answer.body.errors !== undefined; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        answer = await post(second!.url, { extensions: persisted(sha256(query)) });
      }
      expect(answer.body).toEqual({ data: { hello: 'hello 2' } });
    },
  );

  describe('trusted-documents mode', () => {
    const TRUSTED = 'query Trusted($n: Int) { hello(n: $n) }';
    let gateway: GatewayHandle;

    beforeAll(async () => {
      const manifest = path.join(dir, 'manifest.json');
      await writeFile(
        manifest,
        JSON.stringify({
          format: 'apollo-persisted-query-manifest',
          version: 1,
          operations: [{ id: sha256(TRUSTED), body: TRUSTED, name: 'Trusted', type: 'query' }],
        }),
      );
      gateway = await startGateway({ trustedDocuments: manifest });
    });

    it('should run a registered operation by its id, with variables', async () => {
      const { body } = await post(gateway.url, {
        extensions: persisted(sha256(TRUSTED)),
        variables: { n: 3 },
      });

      expect(body).toEqual({ data: { hello: 'hello 3' } });
    });

    it('should run a registered operation sent as text', async () => {
      expect((await post(gateway.url, { query: TRUSTED, variables: { n: 4 } })).body).toEqual({
        data: { hello: 'hello 4' },
      });
    });

    it('should refuse any other operation with 400 before it reaches a subgraph', async () => {
      const before = calls;

      for (const body of [
        { query: '{ hello(n: 5) }' },
        { extensions: persisted(sha256('{ hello(n: 6) }')) },
        { query: '{ hello(n: 7) }', extensions: persisted(sha256('{ hello(n: 7) }')) },
      ]) {
        const refused = await post(gateway.url, body);
        expect(refused.status).toBe(400);
        expect(refused.body.errors?.[0]?.extensions).toMatchObject({
          code: ErrorCode.BAD_USER_INPUT,
          reason: 'PERSISTED_QUERY_NOT_TRUSTED',
        });
      }
      expect(calls).toBe(before);
    });

    it('should refuse to start on a manifest whose ids do not match their documents', async () => {
      const bad = path.join(dir, 'bad.json');
      await writeFile(
        bad,
        JSON.stringify({
          format: 'apollo-persisted-query-manifest',
          version: 1,
          operations: [{ id: sha256('{ other }'), body: TRUSTED, name: 'Trusted', type: 'query' }],
        }),
      );

      await expect(startGateway({ trustedDocuments: bad })).rejects.toThrow(ConfigError);
      await expect(startGateway({ trustedDocuments: bad })).rejects.toThrow(
        /operations\[0\] needs an id equal/,
      );
    });
  });
});
