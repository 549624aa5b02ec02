// @ts-check
// Servers under test for `bench/sidecar.mjs`, each spawned as its own process on free loopback
// ports: the built inference sidecar on a temporary model repository, and the no-op gRPC server.
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const SHIPPED_MODELS = path.join(ROOT, 'inference-sidecar', 'models');
export const MODELS = ['stock-predictor', 'stock-heavy'];

/**
 * Copies the shipped models into a temporary repository with every config.json replaced by
 * `config`, or kept as shipped when `config` is null.
 * @param {Record<string, unknown> | null} config
 */
export async function modelRepository(config) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sidecar-bench-'));
  for (const model of MODELS) {
    await cp(path.join(SHIPPED_MODELS, model), path.join(dir, model), { recursive: true });
    if (config) await writeFile(path.join(dir, model, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Node flags the sidecar runs with, as deploy/README.md says to start it: a 32 MiB young-generation
 * semi-space (V8's default is 16 MiB on this machine), so that fewer requests in flight live through
 * two scavenges and get promoted: at 256 clients it halved the scavenges and full collections and
 * cut the time in scavenges by about 40%. BENCH_SIDECAR_NODE_FLAGS replaces them (space-separated;
 * empty for none).
 */
export const SIDECAR_NODE_FLAGS = (process.env.BENCH_SIDECAR_NODE_FLAGS ?? '--max-semi-space-size=32')
  .split(' ')
  .filter(Boolean);

/**
 * Starts `inference-sidecar/dist/main.js` and waits for `GET /ready` to answer 200. `models`
 * (default both shipped models) are loaded at start-up; `env` adds to the sidecar's environment.
 * @param {string} repository
 * @param {{ models?: string[]; env?: Record<string, string> }} [options]
 */
export async function startSidecarProcess(repository, { models = MODELS, env = {} } = {}) {
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const child = spawnNode(
    'inference-sidecar/dist/main.js',
    {
      SIDECAR_GRPC_PORT: String(grpcPort),
      SIDECAR_HTTP_PORT: String(httpPort),
      MODEL_REPOSITORY: repository,
      SIDECAR_MODELS: models.join(','),
      LOG_LEVEL: 'warn',
      ...env,
    },
    'ignore',
    SIDECAR_NODE_FLAGS,
  );
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  try {
    await waitReady(`${httpUrl}/ready`, child);
  } catch (error) {
    await stop(child);
    throw error;
  }
  return {
    grpcAddress: `127.0.0.1:${grpcPort}`,
    metricsUrl: `${httpUrl}/metrics`,
    pid: child.pid,
    close: () => stop(child),
  };
}

/** Starts `bench/sidecar-noop-server.mjs` and waits for it to report its ports. */
export async function startNoopProcess() {
  // The same Node flags as the sidecar, so that the comparison is of the work done per request.
  const child = spawnNode(
    'bench/sidecar-noop-server.mjs',
    { NOOP_GRPC_PORT: '0' },
    'pipe',
    SIDECAR_NODE_FLAGS,
  );
  const lines = readline.createInterface({
    input: /** @type {import('node:stream').Readable} */ (child.stdout),
  });
  const { port, metricsPort } = await new Promise((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line)));
    child.once('exit', (code) => reject(new Error(`no-op server exited (${code})`)));
  });
  return {
    grpcAddress: `127.0.0.1:${port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    pid: child.pid,
    close: () => stop(child),
  };
}

/**
 * @param {string} entry @param {Record<string, string>} env @param {'ignore' | 'pipe'} stdout
 * @param {string[]} nodeFlags
 */
function spawnNode(entry, env, stdout = 'ignore', nodeFlags = []) {
  return spawn(process.execPath, [...nodeFlags, path.join(ROOT, entry)], {
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: ['ignore', stdout, 'inherit'],
  });
}

/** @param {import('node:child_process').ChildProcess} child */
function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

/** @param {string} url @param {import('node:child_process').ChildProcess} child */
async function waitReady(url, child, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the server exited (${child.exitCode})`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} was not ready within ${timeoutMs} ms`);
}

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
