// @ts-check
// Starts the four subgraphs of the federation workload, each in its own process, and composes
// their supergraph with the project's own `composeSupergraph`.
import path from 'node:path';
import schema from '@mlops/schema';
import { HERE, nextMessage, startNode, cpuMs } from './processes.mjs';
import { SUBGRAPHS } from './workload.mjs';

/**
 * @returns {Promise<{
 *   urls: Record<string, string>,
 *   supergraphSdl: string,
 *   cpuMs(): Promise<number>,
 *   close(): Promise<void>,
 * }>}
 */
export async function startSubgraphs() {
  const started = SUBGRAPHS.map(({ name }) =>
    startNode(path.join(HERE, 'subgraph-server.mjs'), {
      args: [name],
      env: { PATH: process.env.PATH, NODE_ENV: 'production' },
      name: `subgraph ${name}`,
      ipc: true,
    }),
  );
  const close = async () => {
    await Promise.all(started.map((s) => s.stop()));
  };
  try {
    const ready = await Promise.all(
      started.map((s) => /** @type {Promise<{ url: string }>} */ (nextMessage(s.child, 'ready'))),
    );
    /** @type {Record<string, string>} */
    const urls = {};
    SUBGRAPHS.forEach(({ name }, i) => (urls[name] = ready[i].url));
    const outcome = schema.composeSupergraph(
      SUBGRAPHS.map(({ name, sdl }) => ({ name, url: urls[name], sdl })),
    );
    if (!outcome.ok) throw new Error(`The workload does not compose:\n${outcome.errors.join('\n')}`);
    return {
      urls,
      supergraphSdl: outcome.supergraphSdl,
      cpuMs: async () =>
        (await Promise.all(started.map((s) => cpuMs(s.child.pid)))).reduce((a, b) => a + b, 0),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
