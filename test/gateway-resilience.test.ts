import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGateway } from '@mlops/gateway';
import type { GatewayHandle, GatewayOptions } from '@mlops/gateway';
import { ErrorCode } from '@mlops/schema';
import { silentLogger, startTestSubgraph } from './support/federation-subgraph';
import type { TestSubgraph } from './support/federation-subgraph';
import { postGraphQL } from './support/graphql-http';
import { writeSupergraphFile } from './support/supergraph-file';
import type { SupergraphFile } from './support/supergraph-file';

const FEDERATION = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])';
const FLAKY_SDL = `${FEDERATION} type Query { flaky: String } type Mutation { change: String }`;

type Behaviour = 'ok' | 'fail' | 'hang' | 'slow';

/**
 * A subgraph whose next answers the test scripts: `ok` proxies to a real subgraph, `fail` answers
 * 503, `hang` never answers. Counts every request it receives.
 */
async function startFlakyProxy(target: string): Promise<{
  url: string;
  received: () => number;
  script(...behaviours: Behaviour[]): void;
  /** Answer every unscripted request after 150 ms. */
  slow(on: boolean): void;
  close(): Promise<void>;
}> {
  let queue: Behaviour[] = [];
  let slowByDefault = false;
  let count = 0;
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer(async (req, res) => {
    count += 1;
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const behaviour = queue.shift() ?? (slowByDefault ? 'slow' : 'ok');
    if (behaviour === 'slow') await new Promise((resolve) => setTimeout(resolve, 150));
    if (behaviour === 'hang') return void hanging.push(res);
    if (behaviour === 'fail') {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('unavailable');
      return;
    }
    const upstream = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.concat(chunks),
    });
    res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    received: () => count,
    script: (...behaviours) => void (queue = behaviours),
    slow: (on: boolean) => void (slowByDefault = on),
    close: () =>
      new Promise((resolve) => {
        for (const res of hanging) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('gateway resilience per subgraph', () => {
  let stable: TestSubgraph;
  let flakyBackend: TestSubgraph;
  let flaky: Awaited<ReturnType<typeof startFlakyProxy>>;
  let supergraph: SupergraphFile;
  const gateways: GatewayHandle[] = [];
  let changes = 0;

  async function startGateway(resilience: GatewayOptions['resilience']): Promise<GatewayHandle> {
    const gateway = await createGateway({
      env: {},
      logger: silentLogger(),
      port: 0,
      supergraph: { kind: 'file', path: supergraph.path },
      subgraphUrls: { stable: stable.url, flaky: flaky.url },
      resilience,
    });
    gateways.push(gateway);
    return gateway;
  }

  beforeAll(async () => {
    stable = await startTestSubgraph({
      name: 'stable',
      sdl: `${FEDERATION} type Query { steady: String }`,
      resolvers: { Query: { steady: () => 'steady' } },
    });
    flakyBackend = await startTestSubgraph({
      name: 'flaky',
      sdl: FLAKY_SDL,
      resolvers: {
        Query: { flaky: () => 'recovered' },
        Mutation: { change: () => `change ${++changes}` },
      },
    });
    flaky = await startFlakyProxy(flakyBackend.url);
    supergraph = await writeSupergraphFile([
      stable.definition,
      { ...flakyBackend.definition, url: flaky.url },
    ]);
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await flaky.close();
    await Promise.all([stable.close(), flakyBackend.close()]);
    await supergraph.remove();
  });

  it('should retry a query through transient failures and answer it', async () => {
    const gateway = await startGateway({ retries: 2, backoffMs: 1, retryBudgetRatio: 1 });
    flaky.script('fail', 'fail');
    const before = flaky.received();

    const { body } = await postGraphQL(gateway.url, '{ steady flaky }');

    expect(body).toEqual({ data: { steady: 'steady', flaky: 'recovered' } });
    expect(flaky.received() - before).toBe(3);
  });

  it('should never retry a mutation', async () => {
    const gateway = await startGateway({ retries: 2, backoffMs: 1, retryBudgetRatio: 1 });
    flaky.script('fail');
    const before = flaky.received();

    const { body } = await postGraphQL(gateway.url, 'mutation { change }');

    expect(body.errors?.length).toBeGreaterThan(0);
    expect(flaky.received() - before).toBe(1);
  });

  it('should stop waiting at the timeout and serve the other subgraph’s fields', async () => {
    const gateway = await startGateway({ timeoutMs: 200, retries: 0 });
    flaky.script('hang');
    const started = Date.now();

    const { body } = await postGraphQL(gateway.url, '{ steady flaky }');

    expect(Date.now() - started).toBeLessThan(2_000);
    expect(body.data).toEqual({ steady: 'steady', flaky: null });
    expect(body.errors).toEqual([
      expect.objectContaining({
        extensions: expect.objectContaining({ code: ErrorCode.UNAVAILABLE, subgraph: 'flaky' }),
      }),
    ]);
  });

  it('should open the circuit after consecutive failures, fail fast without calling, then close after a good probe', async () => {
    const gateway = await startGateway({ retries: 0, failureThreshold: 3, openMs: 300 });
    flaky.script('fail', 'fail', 'fail');
    for (let i = 0; i < 3; i++) await postGraphQL(gateway.url, '{ flaky }');
    const afterFailures = flaky.received();

    const open = await postGraphQL(gateway.url, '{ steady flaky }');

    expect(flaky.received()).toBe(afterFailures);
    expect(open.body.data).toEqual({ steady: 'steady', flaky: null });
    expect(open.body.errors?.[0]?.extensions?.code).toBe(ErrorCode.UNAVAILABLE);
    await new Promise((resolve) => setTimeout(resolve, 350));
    const probe = await postGraphQL(gateway.url, '{ flaky }');
    expect(probe.body).toEqual({ data: { flaky: 'recovered' } });
    expect((await postGraphQL(gateway.url, '{ flaky }')).body).toEqual({ data: { flaky: 'recovered' } });
  });

  it('should send identical in-flight queries once and every mutation', async () => {
    const gateway = await startGateway({ deduplicate: true });
    flaky.slow(true);
    try {
      let before = flaky.received();
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => postGraphQL(gateway.url, '{ flaky }')),
      );

      expect(answers.map((a) => a.body)).toEqual(Array(10).fill({ data: { flaky: 'recovered' } }));
      expect(flaky.received() - before).toBe(1);
      before = flaky.received();
      await Promise.all(Array.from({ length: 3 }, () => postGraphQL(gateway.url, 'mutation { change }')));
      expect(flaky.received() - before).toBe(3);
    } finally {
      flaky.slow(false);
    }
  });

  it('should send every query when deduplication is off', async () => {
    const gateway = await startGateway({ deduplicate: false });
    flaky.slow(true);
    try {
      const before = flaky.received();
      await Promise.all(Array.from({ length: 5 }, () => postGraphQL(gateway.url, '{ flaky }')));

      expect(flaky.received() - before).toBe(5);
    } finally {
      flaky.slow(false);
    }
  });

  it('should spend no more retries than its budget allows', async () => {
    const gateway = await startGateway({
      retries: 3,
      backoffMs: 1,
      retryBudgetRatio: 0,
      failureThreshold: 1_000,
    });
    // The bucket starts with 10 saved retries and earns none at ratio 0.
    flaky.script(...Array<Behaviour>(40).fill('fail'));
    const before = flaky.received();

    for (let i = 0; i < 10; i++) await postGraphQL(gateway.url, '{ flaky }');

    expect(flaky.received() - before).toBe(10 + 10);
    flaky.script();
  });
});
