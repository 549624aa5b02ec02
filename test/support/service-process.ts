import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** A built service entry (`<workspace>/dist/main.js`) running as a process of its own. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Its JSON log lines (stdout) so far, parsed. */
  logLines(): Record<string, unknown>[];
  /** SIGTERM, as an orchestrator stops it, and wait for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `node <entry>` with only `env` (plus PATH) and waits until `readyUrl` answers 200 within
 * 30 s; rejects with the process's stderr when it exits or is not ready in time.
 */
export async function startServiceProcess(
  entry: string,
  env: Record<string, string>,
  readyUrl: string,
): Promise<ServiceProcess> {
  const main = path.join(REPO_ROOT, entry);
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` before the tests`);
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await exited;
  };
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`${entry} exited (${child.exitCode}): ${stderr}${stdout}`);
    try {
      if ((await fetch(readyUrl)).ok) break;
    } catch {
      // not listening yet
    }
    if (attempt > 300) {
      child.kill('SIGKILL');
      throw new Error(`${entry} was not ready within 30 s: ${stderr}${stdout}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    child,
    logLines: () =>
      stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    stop,
  };
}
