import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { freePort } from './fake-stack';
import { isReachable } from './services';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** A redis-server of the test's own, so a test may stop and restart it without touching the shared one. */
export interface PrivateRedis {
  readonly url: string;
  /** Kills the server at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Whether `redis-server` is on the PATH (the machine's Redis package installs it). */
export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    // redis-server accepts connections once it is ready (nothing to load: no persistence).
    for (let attempt = 0; !(await isReachable(url, port, 200)); attempt++) {
      if (attempt > 100) throw new Error(`redis-server did not listen on ${port}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const kill = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise((resolve) => {
      running.once('exit', resolve);
      running.kill('SIGKILL');
    });
  };
  await start();
  return { url, kill, start, stop: kill };
}

/** The built gateway (`gateway/dist/main.js`) as a process of its own, so a test can kill it. */
export interface GatewayProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** SIGKILL: no shutdown, no close frames; clients see their connections drop. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

export async function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const main = path.join(REPO_ROOT, 'gateway', 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` before the tests`);
  const port = await freePort();
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env, GATEWAY_PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const url = `http://127.0.0.1:${port}/graphql`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = async (name: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(name);
    await exited;
  };
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`The gateway exited (${child.exitCode}): ${stderr}`);
    try {
      if ((await fetch(new URL('/ready', url))).ok) break;
    } catch {
      // not listening yet
    }
    if (attempt > 300) {
      await signal('SIGKILL');
      throw new Error(`The gateway was not ready within 30 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, child, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}
