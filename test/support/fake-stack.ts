import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * A TCP port free on 127.0.0.1 when returned, for a process that must be told its port before it
 * starts. Drawn at random below the kernel's ephemeral range: a port the kernel hands out itself (to
 * a `listen(0)` or as an outgoing connection's source port) could be taken again by the time the
 * process binds it, and on a busy test run it was (EADDRINUSE).
 */
export async function freePort(): Promise<number> {
  const [ephemeralLow] = await ephemeralPortRange();
  const low = 10_000;
  const high = Math.max(low + 1_000, ephemeralLow) - 1;
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (await canListen(port)) return port;
  }
  throw new Error(`No free port between ${low} and ${high} after 100 attempts`);
}

async function ephemeralPortRange(): Promise<[number, number]> {
  try {
    const text = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
    const [low, high] = text.trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low as number, high as number];
  } catch {
    // Not Linux: the IANA dynamic range.
  }
  return [49_152, 65_535];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * A stand-in service main: writes its pid, logs JSON lines, serves `/ready`, stops on SIGTERM.
 * `FAKE_CRASH=<name>:<before-ready|after-ready>:<code>` makes the named one exit on its own.
 */
function fakeServiceMain(name: string, portVariable: string, pidDir: string): string {
  return `'use strict';
const fs = require('node:fs');
const http = require('node:http');
const name = ${JSON.stringify(name)};
fs.writeFileSync(${JSON.stringify(pidDir)} + '/' + name, String(process.pid));
const log = (msg) => process.stdout.write(JSON.stringify({ service: name, pid: process.pid, msg }) + '\\n');
const [crashName, crashWhen, crashCode] = (process.env.FAKE_CRASH || '').split(':');
const crashes = crashName === name;
if (crashes && crashWhen === 'before-ready') process.exit(Number(crashCode));
let crashScheduled = false;
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"ready":true}');
  if (crashes && crashWhen === 'after-ready' && !crashScheduled) {
    crashScheduled = true;
    setTimeout(() => process.exit(Number(crashCode)), 300);
  }
});
server.listen(Number(process.env[${JSON.stringify(portVariable)}]), '127.0.0.1', () => log('listening'));
process.once('SIGTERM', () => { log('stopping'); server.close(() => process.exit(0)); server.closeAllConnections(); });
`;
}

export interface FakeStackLayout {
  readonly root: string;
  /** Subgraph names and their fixed ports, as the fake `schema/dist/index.js` lists them. */
  readonly subgraphs: readonly { name: string; defaultPort: number }[];
  readonly gatewayPort: number;
  /** The stand-in sidecar's gRPC port, as the fake schema lists it (nothing listens on it). */
  readonly sidecarGrpcPort: number;
  /** The pid each service wrote at start-up, by name; undefined when it never started. */
  pids(): Promise<Record<string, number | undefined>>;
  remove(): Promise<void>;
}

/**
 * A temporary copy of the repository layout `scripts/start-stack.mjs` expects: the real script (and
 * `dev-token.mjs`, which it signs the sidecar's token with), a
 * built `schema/dist/index.js` listing fake subgraphs on free ports, and fake `dist/main.js` entries.
 */
export async function createFakeStackLayout(subgraphNames: readonly string[]): Promise<FakeStackLayout> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'mlops-stack-'));
  const pidDir = path.join(root, 'pids');
  const subgraphs = [];
  for (const name of subgraphNames) subgraphs.push({ name, defaultPort: await freePort() });
  const gatewayPort = await freePort();
  const sidecarGrpcPort = await freePort();
  const sidecarHttpPort = await freePort();

  await mkdir(pidDir);
  await mkdir(path.join(root, 'scripts'));
  for (const script of ['start-stack.mjs', 'dev-token.mjs']) {
    await copyFile(path.join(REPO_ROOT, 'scripts', script), path.join(root, 'scripts', script));
  }
  await writeModule(
    path.join(root, 'schema', 'dist', 'index.js'),
    `exports.SUBGRAPHS = ${JSON.stringify(subgraphs)};\nexports.GATEWAY_DEFAULT_PORT = ${gatewayPort};\n` +
      `exports.SIDECAR_DEFAULT_GRPC_PORT = ${sidecarGrpcPort};\nexports.SIDECAR_DEFAULT_HTTP_PORT = ${sidecarHttpPort};\n`,
  );
  for (const { name } of subgraphs) {
    await writeModule(
      path.join(root, 'subgraphs', name, 'dist', 'main.js'),
      fakeServiceMain(name, 'PORT', pidDir),
    );
  }
  await writeModule(
    path.join(root, 'gateway', 'dist', 'main.js'),
    fakeServiceMain('gateway', 'GATEWAY_PORT', pidDir),
  );
  await writeModule(
    path.join(root, 'inference-sidecar', 'dist', 'main.js'),
    fakeServiceMain('inference-sidecar', 'SIDECAR_HTTP_PORT', pidDir),
  );

  return {
    root,
    subgraphs,
    gatewayPort,
    sidecarGrpcPort,
    async pids() {
      const names = [...subgraphNames, 'inference-sidecar', 'gateway'];
      const entries = await Promise.all(
        names.map(async (name) => {
          const text = await readFile(path.join(pidDir, name), 'utf8').catch(() => undefined);
          return [name, text === undefined ? undefined : Number(text)] as const;
        }),
      );
      return Object.fromEntries(entries);
    },
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

async function writeModule(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
}

/** Whether a process with this pid still exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A running `start-stack.mjs`, with its output collected line by line. */
export interface StackProcess {
  readonly child: ChildProcess;
  readonly stdoutLines: string[];
  readonly stderrLines: string[];
  /** Resolves with the first stdout line matching `pattern`; rejects if the output ends first. */
  waitForStdout(pattern: RegExp): Promise<string>;
  /** Resolves with the exit code once the script has exited (its children may still hold the pipes). */
  readonly exited: Promise<number | null>;
  /** Resolves once every writer of stdout/stderr (the script and every child) is gone: output is complete. */
  readonly outputEnded: Promise<void>;
}

export function runStackScript(layout: FakeStackLayout, env: Record<string, string> = {}): StackProcess {
  const child = spawn(process.execPath, [path.join(layout.root, 'scripts', 'start-stack.mjs')], {
    cwd: layout.root,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdoutLines: string[] = [];
  const stderrLines: string[] = [];
  const waiters: { pattern: RegExp; resolve(line: string): void }[] = [];
  collectLines(child.stdout!, (line) => {
    stdoutLines.push(line);
    for (const waiter of waiters.filter((w) => w.pattern.test(line))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(line);
    }
  });
  collectLines(child.stderr!, (line) => stderrLines.push(line));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Children inherit the script's pipes, so 'close' also waits for every child to be gone.
  const outputEnded = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    child,
    stdoutLines,
    stderrLines,
    exited,
    outputEnded,
    waitForStdout(pattern) {
      const seen = stdoutLines.find((line) => pattern.test(line));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        void outputEnded.then(() =>
          reject(new Error(`start-stack output ended before ${pattern}; stderr:\n${stderrLines.join('\n')}`)),
        );
      });
    },
  };
}

function collectLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    lines.forEach(onLine);
  });
}
