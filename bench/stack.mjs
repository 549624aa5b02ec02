// @ts-check
// Shared by the benchmarks: the experiments subgraph on a database of its own, behind the gateway,
// each in its own process on an ephemeral port. Needs `npm run build` first (imports the built workspaces).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import experiments from '@mlops/experiments';
import runtime from '@mlops/runtime';
import schema from '@mlops/schema';
import { mintToken } from '../scripts/dev-token.mjs';
import { freePort } from './ports.mjs';

/** Who the benchmarks write as: experiment writes take a writer (a data scientist here). */
const BENCH_CALLER = { subject: 'bench:writer', roles: ['data-scientist'] };

export const ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Drops and recreates a PostgreSQL database; returns its URL. */
export async function freshPostgres(name) {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Starts the experiments subgraph and the gateway as separate processes, as `npm start` and a
 * deployment run them, so the load generator in this process does not share their event loops.
 * Both run in production mode: the gateway verifies RS256 tokens against a JWKS file made here (it
 * refuses HS256 secrets in production), and `headersFor(url)` gives what a writer sends: a data
 * scientist's bearer token to the gateway, or to the subgraph directly the identity the gateway
 * would sign for that caller.
 * @param {import('@mlops/experiments').DatabaseConfig} database
 */
export async function startStack(database) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mlops-bench-'));
  const subgraphPort = await freePort();
  const gatewayPort = await freePort();
  const subgraphUrl = `http://127.0.0.1:${subgraphPort}/graphql`;
  const outcome = schema.composeSupergraph([
    { name: 'experiments', url: subgraphUrl, sdl: await experiments.printSubgraphSdl() },
  ]);
  if (!outcome.ok) throw new Error(outcome.errors.join('\n'));
  const supergraphPath = path.join(dir, 'supergraph.graphql');
  await writeFile(supergraphPath, outcome.supergraphSdl);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = 'bench';
  const jwksPath = path.join(dir, 'jwks.json');
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  await writeFile(jwksPath, JSON.stringify({ keys: [jwk] }));
  const token = mintToken({ ...BENCH_CALLER, ttlSeconds: 3_600 }, { privateKey, kid });
  // Production mode requires the internal identity keys the gateway signs each caller with.
  const identityKeys = `bench:${randomBytes(32).toString('base64')}`;
  const common = {
    ...process.env,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    INTERNAL_IDENTITY_KEYS: identityKeys,
  };
  const children = [
    spawnService('subgraphs/experiments/dist/main.js', {
      ...common,
      PORT: String(subgraphPort),
      ...(database.kind === 'postgresql'
        ? { DATABASE_URL: database.url }
        : { DATA_DIR: path.dirname(database.file) }),
    }),
  ];
  try {
    await waitReady(subgraphUrl);
    children.push(
      spawnService('gateway/dist/main.js', {
        ...common,
        GATEWAY_PORT: String(gatewayPort),
        SUPERGRAPH_PATH: supergraphPath,
        JWT_JWKS_FILE: jwksPath,
      }),
    );
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}/graphql`;
    await waitReady(gatewayUrl);
    const keys = runtime.parseInternalIdentityKeys(identityKeys);
    return {
      gatewayUrl,
      subgraphUrl,
      /**
       * The writer's headers for a call to `url` (the gateway or the subgraph); a signed identity
       * is fresh for five minutes, so take them per call, as the gateway signs per request.
       * @param {string} url
       * @returns {Record<string, string>}
       */
      headersFor(url) {
        if (url === gatewayUrl) return { authorization: `Bearer ${token}` };
        const now = Date.now();
        const identity = {
          ...BENCH_CALLER,
          issuer: undefined,
          scopes: [],
          expiresAt: Math.floor(now / 1000) + 3_600,
        };
        return runtime.signIdentityHeaders(identity, keys, now);
      },
      close: () => stopAll(children, dir),
    };
  } catch (error) {
    await stopAll(children, dir);
    throw error;
  }
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function spawnService(entry, env) {
  const child = spawn(process.execPath, [path.join(ROOT, entry)], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  child.on('exit', (code, signal) => {
    if (!child.killedByBench) console.error(`${entry} exited (${code ?? signal})`);
  });
  return child;
}

async function stopAll(children, dir) {
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null) return resolve(undefined);
          child.killedByBench = true;
          child.once('exit', resolve);
          child.kill('SIGTERM');
        }),
    ),
  );
  await rm(dir, { recursive: true, force: true });
}

async function waitReady(graphqlUrl, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(new URL('/ready', graphqlUrl));
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${graphqlUrl} was not ready within ${timeoutMs} ms`);
}

/**
 * POSTs one operation and fails loudly on any GraphQL error.
 * @param {string} url
 * @param {string} query
 * @param {Record<string, unknown>} [variables]
 * @param {Record<string, string>} [headers] e.g. `stack.headersFor(url)` for a write
 */
export async function gql(url, query, variables, headers = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

export function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function machine() {
  return `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}
