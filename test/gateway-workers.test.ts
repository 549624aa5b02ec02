import { execFileSync } from 'node:child_process';
import { isAlive } from './support/fake-stack';
import { startTestSubgraph } from './support/federation-subgraph';
import type { TestSubgraph } from './support/federation-subgraph';
import { postGraphQL } from './support/graphql-http';
import { startGatewayProcess } from './support/processes';
import type { GatewayProcess } from './support/processes';
import { writeSupergraphFile } from './support/supergraph-file';
import type { SupergraphFile } from './support/supergraph-file';

/** The pids of a process's children. */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

async function waitUntil(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the gateway with several worker processes (GATEWAY_WORKERS)', () => {
  let subgraph: TestSubgraph;
  let supergraph: SupergraphFile;
  let gateway: GatewayProcess;

  beforeAll(async () => {
    subgraph = await startTestSubgraph({
      name: 'hello',
      sdl: 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"]) type Query { hello: String }',
      resolvers: { Query: { hello: () => 'world' } },
    });
    supergraph = await writeSupergraphFile([subgraph.definition]);
    gateway = await startGatewayProcess({
      SUPERGRAPH_PATH: supergraph.path,
      SUBGRAPH_HELLO_URL: subgraph.url,
      GATEWAY_WORKERS: '2',
      LOG_LEVEL: 'silent',
    });
  });
  afterAll(async () => {
    await gateway.stop();
    await subgraph.close();
    await supergraph.remove();
  });

  it('should serve on one port from two workers and replace a worker that dies', async () => {
    await waitUntil(() => childrenOf(gateway.child.pid!).length === 2);
    const requests = await Promise.all(
      Array.from({ length: 20 }, () => postGraphQL(gateway.url, '{ hello }')),
    );
    expect(
      requests.every((r) => r.status === 200 && JSON.stringify(r.body) === '{"data":{"hello":"world"}}'),
    ).toBe(true);
    const [victim] = childrenOf(gateway.child.pid!);

    process.kill(victim!, 'SIGKILL');

    await waitUntil(() => {
      const workers = childrenOf(gateway.child.pid!);
      return workers.length === 2 && !workers.includes(victim!);
    });
    for (let attempt = 0; attempt < 50; attempt++) {
      const { status } = await postGraphQL(gateway.url, '{ hello }').catch(() => ({ status: 0 }));
      if (status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await postGraphQL(gateway.url, '{ hello }')).status).toBe(200);
  });

  it('should stop every worker on SIGTERM', async () => {
    const workers = childrenOf(gateway.child.pid!);
    expect(workers).toHaveLength(2);

    await gateway.stop();

    expect(gateway.child.exitCode).toBe(0);
    expect(workers.filter(isAlive)).toEqual([]);
  });
});
