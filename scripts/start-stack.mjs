// @ts-check
/**
 * `npm start` (after `npm run build`): runs every subgraph in `SUBGRAPHS`, then the gateway, each as
 * its own child process on its fixed port, with the inference sidecar beside them, and prints one
 * line once everything is ready:
 *
 *   MLOps stack ready: gateway at http://127.0.0.1:4000/graphql, inference sidecar (KServe v2 gRPC) at 127.0.0.1:8001
 *
 * Children inherit stdout/stderr, so their JSON log lines stay intact. Ctrl-C / SIGTERM stops every
 * child (SIGTERM, then SIGKILL after 10 s) and exits 0; a child that exits on its own stops the rest
 * and exits 1. Environment: `DATA_DIR` (default `./data`) is passed to the subgraphs; every other
 * variable is inherited (e.g. `SUBGRAPH_<NAME>_URL`, `SUPERGRAPH_INTROSPECT=true`), except the ports,
 * which are fixed: `PORT=<defaultPort>` per subgraph, `GATEWAY_PORT=4000`. Without
 * `JWT_HS256_SECRET`, the gateway gets a development secret kept in `DATA_DIR/.dev-jwt-secret`
 * (created on first start), which `npm run token -- <role>` signs development tokens with.
 *
 * The sidecar registers through the gateway with a service token signed with that secret (subject
 * `service:inference-sidecar`, scope `serving:register`, unless `SIDECAR_CONTROL_PLANE_TOKEN` is
 * set); once the gateway is ready, this script creates its pool `default` as an `ml-engineer` (a
 * sidecar's token may not create pools). Without `INTERNAL_IDENTITY_KEYS`, the gateway and every
 * subgraph share a key made for this start, as in production: subgraphs see the verified caller
 * (whom `acknowledgeAlert` records, whose role an artifact upload takes) and refuse direct calls
 * that the gateway did not sign; the deployments subgraph signs its calls to the registry.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import schema from '../schema/dist/index.js';
import { mintToken } from './dev-token.mjs';

const { SUBGRAPHS, GATEWAY_DEFAULT_PORT, SIDECAR_DEFAULT_GRPC_PORT, SIDECAR_DEFAULT_HTTP_PORT } = schema;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Where the supervisor looks for each child; children choose their own bind address. */
const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 60_000; // 60 s: first start may run migrations
const READY_POLL_MS = 250;
const STOP_TIMEOUT_MS = 10_000; // 10 s to drain before SIGKILL
/** The serving pool the sidecar joins. */
const SIDECAR_POOL = 'default';
// The sidecar holds its token as long as the stack runs; a day would end registration mid-session.
const SIDECAR_TOKEN_TTL_SECONDS = 30 * 86_400; // 30 days

/**
 * @typedef {{ readonly name: string; readonly entry: string; readonly port: number; readonly env: Record<string, string>; readonly nodeArgs?: readonly string[] }} ServiceSpec
 * @typedef {{ readonly spec: ServiceSpec; readonly child: import('node:child_process').ChildProcess; readonly exited: Promise<void> }} RunningService
 * @typedef {{ readonly phase: 'starting' } | { readonly phase: 'ready' } | { readonly phase: 'stopping'; readonly done: Promise<never> }} StackPhase
 */

/** @type {StackPhase} */
let state = { phase: 'starting' };
/** The current phase; a function because callbacks change it behind the type checker's back. */
const phase = () => state.phase;
/** @type {Set<RunningService>} */
const running = new Set();

const dataDir = path.resolve(ROOT, process.env.DATA_DIR ?? 'data');

/** @type {ServiceSpec[]} */
const subgraphSpecs = SUBGRAPHS.map((s) => ({
  name: s.name,
  entry: path.join(ROOT, 'subgraphs', s.name, 'dist', 'main.js'),
  port: s.defaultPort,
  env: { PORT: String(s.defaultPort), DATA_DIR: dataDir },
}));
/** @type {ServiceSpec} */
const gatewaySpec = {
  name: 'gateway',
  entry: path.join(ROOT, 'gateway', 'dist', 'main.js'),
  port: GATEWAY_DEFAULT_PORT,
  env: { GATEWAY_PORT: String(GATEWAY_DEFAULT_PORT) },
};

/** The inference sidecar serving the shipped models; its HTTP port answers `/ready`. */
/** @type {ServiceSpec} */
const sidecarSpec = {
  name: 'inference-sidecar',
  entry: path.join(ROOT, 'inference-sidecar', 'dist', 'main.js'),
  // A larger young generation: requests in flight die young instead of being promoted, halving the
  // collections that stall the event loop under load (deploy/README.md; bench/RESULTS.md).
  nodeArgs: ['--max-semi-space-size=32'],
  port: SIDECAR_DEFAULT_HTTP_PORT,
  env: {
    SIDECAR_GRPC_PORT: String(SIDECAR_DEFAULT_GRPC_PORT),
    SIDECAR_HTTP_PORT: String(SIDECAR_DEFAULT_HTTP_PORT),
    // Joins the 'default' serving pool through the gateway once that is up (and has created the
    // pool), so deployments can roll out to it; its service token is added at start-up.
    SIDECAR_CONTROL_PLANE_URL: `http://${HOST}:${GATEWAY_DEFAULT_PORT}/graphql`,
    SIDECAR_POOL: SIDECAR_POOL,
  },
};

/**
 * Spawns one service in its own process group, so a terminal's Ctrl-C reaches only this supervisor,
 * which then stops the children in order instead of them all racing their own shutdown.
 * @param {ServiceSpec} spec
 * @returns {RunningService}
 */
function start(spec) {
  const child = spawn(process.execPath, [...(spec.nodeArgs ?? []), spec.entry], {
    cwd: ROOT,
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  /** @param {string} reason */
  const onUnexpectedEnd = (reason) => {
    running.delete(service);
    if (state.phase === 'stopping') return;
    process.stderr.write(`${spec.name} ${reason}\n`);
    void stop(1);
  };
  /** @type {RunningService} */
  const service = {
    spec,
    child,
    exited: new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        onUnexpectedEnd(`exited with ${code === null ? `signal ${signal}` : `code ${code}`}`);
        resolve();
      });
      // Spawning itself failed: there will be no 'exit'.
      child.on('error', (error) => {
        if (child.pid !== undefined) return;
        onUnexpectedEnd(`could not be started: ${error.message}`);
        resolve();
      });
    }),
  };
  running.add(service);
  return service;
}

/**
 * Polls the service's `/ready` until it answers 200; rejects when it exits first or takes too long.
 * @param {RunningService} service
 */
async function waitReady({ spec, child }) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null || state.phase === 'stopping') return;
    try {
      const response = await fetch(`http://${HOST}:${spec.port}/ready`, {
        signal: AbortSignal.timeout(2_000),
      });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
  throw new Error(
    `${spec.name} was not ready within ${READY_TIMEOUT_MS / 1000} s (http://${HOST}:${spec.port}/ready)`,
  );
}

/**
 * @param {RunningService} service
 * @param {NodeJS.Signals} signal
 */
function signalService({ child }, signal) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

/**
 * Stops the given services: SIGTERM, then SIGKILL for those still running after the timeout.
 * @param {RunningService[]} services
 */
async function stopServices(services) {
  for (const service of services) signalService(service, 'SIGTERM');
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(resolve, STOP_TIMEOUT_MS, 'timeout');
  });
  const outcome = await Promise.race([Promise.all(services.map((s) => s.exited)), timedOut]);
  clearTimeout(timer);
  if (outcome !== 'timeout') return;
  for (const service of services.filter((s) => running.has(s))) {
    process.stderr.write(
      `${service.spec.name} did not stop within ${STOP_TIMEOUT_MS / 1000} s; killing it\n`,
    );
    signalService(service, 'SIGKILL');
  }
  await Promise.all(services.map((s) => s.exited));
}

/**
 * Stops every child and exits with `exitCode`; runs once. The sidecar stops first, so it can still
 * deregister from its pool through the gateway; then the gateway, so the requests it drains can
 * still reach the subgraphs; then the subgraphs.
 * @param {number} exitCode
 * @returns {Promise<never>}
 */
function stop(exitCode) {
  if (state.phase === 'stopping') return state.done;
  const done = (async () => {
    const services = [...running];
    for (const first of [sidecarSpec, gatewaySpec])
      await stopServices(services.filter((s) => s.spec === first));
    await stopServices(services.filter((s) => s.spec !== sidecarSpec && s.spec !== gatewaySpec));
    process.exit(exitCode);
  })();
  state = { phase: 'stopping', done };
  return done;
}

/** @param {ServiceSpec[]} specs */
function assertBuilt(specs) {
  const missing = specs.filter((s) => !existsSync(s.entry)).map((s) => path.relative(ROOT, s.entry));
  if (missing.length > 0) {
    throw new Error(
      `Not built: ${missing.join(', ')}; run \`npm run build\` (or \`npm start\`, which builds first)`,
    );
  }
}

/** @param {ServiceSpec} spec */
function assertPortFree(spec) {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (/** @type {NodeJS.ErrnoException} */ error) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`Port ${spec.port} (${spec.name}) is already in use; is another stack running?`)
          : error,
      );
    });
    probe.listen(spec.port, HOST, () => probe.close(() => resolve(undefined)));
  });
}

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
  process.on(signal, () => {
    // A second Ctrl-C means "now": skip the drain.
    if (state.phase === 'stopping') for (const service of running) signalService(service, 'SIGKILL');
    void stop(0);
  });
}
// Last resort if this script itself crashes: never leave children behind.
process.on('exit', () => {
  for (const service of running) signalService(service, 'SIGKILL');
});

/**
 * The development HS256 secret under `dir`, created on first use so tokens stay valid across
 * restarts. Never used in production, where the gateway refuses HS256 secrets.
 * @param {string} dir
 */
function developmentSecret(dir) {
  const file = path.join(dir, '.dev-jwt-secret');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/**
 * Creates the sidecar's serving pool through the gateway, as an ml-engineer, unless it exists.
 * Only warns on failure: the stack serves either way, and the sidecar keeps retrying to join.
 * @param {string} secret
 */
async function ensureSidecarPool(secret) {
  const token = mintToken(
    { subject: 'dev-start-stack', roles: ['ml-engineer'], ttlSeconds: 300 },
    { secret },
  );
  try {
    const response = await fetch(`http://${HOST}:${GATEWAY_DEFAULT_PORT}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query: 'mutation($name: String!) { createServingPool(name: $name) { name } }',
        variables: { name: SIDECAR_POOL },
      }),
      signal: AbortSignal.timeout(10_000),
    });
    /** @type {{ errors?: { message: string; extensions?: { code?: string } }[] }} */
    const body = await response.json();
    const error = body.errors?.[0];
    if (error && error.extensions?.code !== 'CONFLICT') throw new Error(error.message);
  } catch (error) {
    process.stderr.write(
      `Could not create the serving pool '${SIDECAR_POOL}': ${error instanceof Error ? error.message : String(error)}\n`,
    );
  }
}

try {
  const all = [...subgraphSpecs, sidecarSpec, gatewaySpec];
  assertBuilt(all);
  for (const spec of all) await assertPortFree(spec);
  mkdirSync(dataDir, { recursive: true });
  const jwtSecret = process.env.JWT_HS256_SECRET ?? developmentSecret(dataDir);
  gatewaySpec.env.JWT_HS256_SECRET = jwtSecret;
  if (!process.env.SIDECAR_CONTROL_PLANE_TOKEN) {
    sidecarSpec.env.SIDECAR_CONTROL_PLANE_TOKEN = mintToken(
      {
        subject: 'service:inference-sidecar',
        scopes: ['serving:register'],
        ttlSeconds: SIDECAR_TOKEN_TTL_SECONDS,
      },
      { secret: jwtSecret },
    );
  }
  if (!process.env.INTERNAL_IDENTITY_KEYS) {
    const keys = `dev:${randomBytes(32).toString('base64')}`;
    for (const spec of [gatewaySpec, ...subgraphSpecs]) spec.env.INTERNAL_IDENTITY_KEYS = keys;
  }

  await Promise.all([...subgraphSpecs, sidecarSpec].map((spec) => waitReady(start(spec))));
  // The gateway starts last: it needs every subgraph to answer (always when introspecting).
  if (phase() === 'starting') await waitReady(start(gatewaySpec));
  if (phase() === 'starting') await ensureSidecarPool(jwtSecret);
  if (phase() === 'starting') {
    state = { phase: 'ready' };
    process.stdout.write(
      `MLOps stack ready: gateway at http://${HOST}:${GATEWAY_DEFAULT_PORT}/graphql, ` +
        `inference sidecar (KServe v2 gRPC) at ${HOST}:${SIDECAR_DEFAULT_GRPC_PORT}\n`,
    );
    process.stdout.write(
      'Development tokens: npm run -s token -- <viewer|data-scientist|ml-engineer|admin> ' +
        '(send as Authorization: Bearer <token>)\n',
    );
  }
} catch (error) {
  if (phase() !== 'stopping') {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    await stop(1);
  }
}
