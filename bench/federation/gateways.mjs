// @ts-check
// The gateways the federation benchmark compares, each started as its own process on a free port.
// To compare a new variant (say, our gateway with a worker per core), add an entry here or pass
// its settings through the BENCH_MLOPS_* variables below; `run.mjs` runs every id in BENCH_GATEWAYS.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { HERE, ROOT, freePort, startNode, waitServing } from './processes.mjs';

const require = createRequire(import.meta.url);

/**
 * @typedef {object} StartOptions
 * @property {string} supergraphPath the composed supergraph file
 * @property {string} dir a scratch directory of this run
 *
 * @typedef {object} RunningGateway
 * @property {string} url the GraphQL endpoint
 * @property {number | undefined} pid the process serving it (for CPU accounting)
 * @property {string} command how it was started, for the report
 * @property {() => Promise<unknown>} stop
 *
 * @typedef {object} GatewayEntry
 * @property {string} label
 * @property {(options: StartOptions) => Promise<RunningGateway>} start
 */

/** Only what a gateway needs: nothing here may make it phone home or log per request. */
function baseEnv() {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    // @apollo/gateway otherwise probes cloud metadata endpoints and reports usage at start-up.
    APOLLO_TELEMETRY_DISABLED: 'true',
  };
}

/** @param {string | undefined} value */
function words(value) {
  return (value ?? '').split(/\s+/).filter(Boolean);
}

/**
 * @param {string} entry
 * @param {{ args?: string[], nodeArgs?: string[], env: NodeJS.ProcessEnv, name: string, port: number }} options
 * @returns {Promise<RunningGateway>}
 */
async function startServing(entry, { port, ...options }) {
  const service = startNode(entry, options);
  const url = `http://127.0.0.1:${port}/graphql`;
  try {
    await waitServing(url);
  } catch (error) {
    await service.stop();
    throw error;
  }
  const command = ['node', ...(options.nodeArgs ?? []), path.relative(ROOT, entry), ...(options.args ?? [])];
  return { url, pid: service.child.pid, command: command.join(' '), stop: service.stop };
}

/**
 * Stock Apollo Gateway (`stock-apollo-gateway.mjs`).
 * @param {string} label @param {'default' | 'node-fetch' | 'undici'} fetcher how it calls subgraphs
 * @returns {GatewayEntry}
 */
function stockApollo(label, fetcher) {
  return {
    label,
    async start({ supergraphPath }) {
      const port = await freePort();
      return startServing(path.join(HERE, 'stock-apollo-gateway.mjs'), {
        port,
        name: `stock Apollo gateway (${fetcher} fetcher)`,
        env: { ...baseEnv(), SUPERGRAPH_PATH: supergraphPath, PORT: String(port), SUBGRAPH_FETCHER: fetcher },
      });
    },
  };
}

/**
 * Hive Gateway's CLI, one process (`--fork 1`, its default), with `flags` after the supergraph path
 * and, when given, `config` written as its config file.
 * @param {string} label @param {string[]} flags @param {object} [config]
 * @returns {GatewayEntry}
 */
function hive(label, flags, config) {
  return {
    label,
    async start({ supergraphPath, dir }) {
      const port = await freePort();
      const args = [
        'supergraph',
        supergraphPath,
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--fork',
        '1',
      ];
      if (config) {
        const file = path.join(dir, `hive-gateway-${port}.config.mjs`);
        await writeFile(file, `export const gatewayConfig = ${JSON.stringify(config)};\n`);
        args.push('--config-path', file);
      }
      // The package's own CLI run by this Node: what `npx hive-gateway` runs, minus npx's process.
      const bin = path.join(
        path.dirname(require.resolve('@graphql-hive/gateway/package.json')),
        'dist/bin.js',
      );
      return startServing(bin, {
        port,
        name: `Hive Gateway (${label})`,
        args: [...args, ...flags],
        // No HIVE_*, APOLLO_KEY or OPENTELEMETRY variables pass through: without them nothing is reported.
        env: { ...baseEnv(), LOG_LEVEL: 'warn' },
      });
    },
  };
}

/**
 * Our gateway with extra environment variables over the `mlops` entry's.
 * @param {string} label @param {Record<string, string>} env
 * @returns {GatewayEntry}
 */
function mlopsWith(label, env) {
  return {
    label,
    async start(options) {
      const previous = process.env.BENCH_MLOPS_ENV;
      process.env.BENCH_MLOPS_ENV = JSON.stringify({ ...JSON.parse(previous ?? '{}'), ...env });
      try {
        return await GATEWAYS.mlops.start(options);
      } finally {
        if (previous === undefined) delete process.env.BENCH_MLOPS_ENV;
        else process.env.BENCH_MLOPS_ENV = previous;
      }
    },
  };
}

/** @type {Record<string, GatewayEntry>} */
export const GATEWAYS = {
  'apollo-stock': stockApollo('stock @apollo/gateway + @apollo/server (standalone, 1 process)', 'default'),
  mlops: {
    label: 'our gateway (gateway/dist/main.js)',
    /**
     * BENCH_MLOPS_ENV: JSON object of extra environment variables (e.g. a worker count);
     * BENCH_MLOPS_NODE_ARGS: Node flags, e.g. `--cpu-prof --cpu-prof-dir=<dir>` to profile it.
     */
    async start({ supergraphPath }) {
      const port = await freePort();
      return startServing(path.join(ROOT, 'gateway/dist/main.js'), {
        port,
        name: 'our gateway',
        nodeArgs: words(process.env.BENCH_MLOPS_NODE_ARGS),
        env: {
          ...baseEnv(),
          GATEWAY_PORT: String(port),
          SUPERGRAPH_PATH: supergraphPath,
          LOG_LEVEL: 'warn',
          // Required in production; the benchmark's subgraphs do not check the signatures.
          INTERNAL_IDENTITY_KEYS: `bench:${randomBytes(32).toString('base64')}`,
          // The load comes from one address: the limiter counts every request (its cost is measured)
          // with a budget this run cannot exhaust, instead of answering 429 at 6,000 a minute.
          RATE_LIMIT_PER_IP: '1000000000',
          // The standard TestQuery costs ~23,000 by our estimate (default maximum 20,000): raised, not
          // disabled, so the operation checks still run on every request and their cost is measured.
          LIMIT_MAX_COST: '1000000',
          LIMIT_MAX_DEPTH: '100',
          ...JSON.parse(process.env.BENCH_MLOPS_ENV ?? '{}'),
        },
      });
    },
  },
  // Like-for-like with Apollo and hive-no-dedup: every subgraph request actually sent.
  'mlops-no-dedup': mlopsWith('our gateway, SUBGRAPH_DEDUPLICATE=false', { SUBGRAPH_DEDUPLICATE: 'false' }),
  // The same gateway with what configuration can switch off switched off: development mode (no
  // error masking), no identity signing, no rate limiter. Operation limits and metrics still run.
  'mlops-bare': mlopsWith('our gateway, protections off by configuration', {
    NODE_ENV: 'development',
    INTERNAL_IDENTITY_KEYS: '',
    RATE_LIMIT_PER_IP: '0',
    RATE_LIMIT_PER_CALLER: '0',
  }),
  'mlops-workers': mlopsWith('our gateway, GATEWAY_WORKERS=2 (CPU column: the primary only)', {
    GATEWAY_WORKERS: '2',
  }),
  // As the public benchmark's run.sh starts it. Outbound dedup (identical in-flight subgraph requests
  // share one) is on by default in Hive Gateway, and this workload repeats one query 50 times at once.
  hive: hive(
    'Hive Gateway (`--jit`; its default outbound dedup)',
    words(process.env.BENCH_HIVE_ARGS ?? '--jit'),
  ),
  // Every subgraph request actually sent, as Apollo Gateway and ours do: the like-for-like comparison.
  'hive-no-dedup': hive('Hive Gateway (`--jit`, outbound dedup off)', [], {
    jit: true,
    transportEntries: { '*.http': { options: { deduplicateInflightRequests: false } } },
  }),
  // The public benchmark's gateway.config.ts: identical concurrent client requests share one execution.
  'hive-dedup': hive('Hive Gateway (benchmark config: `--jit` + inbound in-flight dedup)', [], {
    jit: true,
    inboundInflightRequestDeduplication: true,
  }),
  // Experiments: what replacing @apollo/gateway's default fetcher (make-fetch-happen) is worth.
  'apollo-node-fetch': stockApollo(
    'stock Apollo, subgraph fetcher node-fetch + keep-alive agent',
    'node-fetch',
  ),
  'apollo-undici': stockApollo("stock Apollo, subgraph fetcher Node's fetch (undici)", 'undici'),
};
