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

/** Starts `inference-sidecar/dist/main.js` and waits for `GET /ready` to answer 200. */
export async function startSidecarProcess(/** @type {string} */ repository) {
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const child = spawnNode('inference-sidecar/dist/main.js', {
    SIDECAR_GRPC_PORT: String(grpcPort),
    SIDECAR_HTTP_PORT: String(httpPort),
    MODEL_REPOSITORY: repository,
    SIDECAR_MODELS: MODELS.join(','),
    LOG_LEVEL: 'warn',
  });
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  try {
    await waitReady(`${httpUrl}/ready`, child);
  } catch (error) {
    await stop(child);
    throw error;
  }
  return { grpcAddress: `127.0.0.1:${grpcPort}`, metricsUrl: `${httpUrl}/metrics`, close: () => stop(child) };
}

/** Starts `bench/sidecar-noop-server.mjs` and waits for it to report its port. */
export async function startNoopProcess() {
  const child = spawnNode('bench/sidecar-noop-server.mjs', { NOOP_GRPC_PORT: '0' }, 'pipe');
  const lines = readline.createInterface({
    input: /** @type {import('node:stream').Readable} */ (child.stdout),
  });
  const port = await new Promise((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line).port));
    child.once('exit', (code) => reject(new Error(`no-op server exited (${code})`)));
  });
  return { grpcAddress: `127.0.0.1:${port}`, metricsUrl: undefined, close: () => stop(child) };
}

/** @param {string} entry @param {Record<string, string>} env @param {'ignore' | 'pipe'} stdout */
function spawnNode(entry, env, stdout = 'ignore') {
  return spawn(process.execPath, [path.join(ROOT, entry)], {
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
