// @ts-check
// Process plumbing shared by the federation benchmark: child processes, ports, readiness, CPU time.
import { fork, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const HERE = fileURLToPath(new URL('.', import.meta.url));

export { freePort } from '../ports.mjs';

/**
 * Starts `node [nodeArgs] entry [args]` with stdout discarded and stderr passed through, so a
 * crashing service is visible. The child inherits nothing but `env`.
 * @param {string} entry
 * @param {{ args?: string[], nodeArgs?: string[], env: NodeJS.ProcessEnv, name: string, ipc?: boolean }} options
 */
export function startNode(entry, { args = [], nodeArgs = [], env, name, ipc = false }) {
  const child = ipc
    ? fork(entry, args, { env, execArgv: nodeArgs, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    : spawn(process.execPath, [...nodeArgs, entry, ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  let stopping = false;
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`${name} exited (${code ?? signal})`);
  });
  return {
    child,
    /** SIGTERM, then SIGKILL after 10 s; resolves when the process has exited. */
    stop() {
      stopping = true;
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
        child.once('exit', resolve);
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      });
    },
  };
}

/**
 * Waits until `url` answers `{ __typename }` with HTTP 200: the one readiness signal every gateway
 * and subgraph here shares.
 * @param {string} url
 */
export async function waitServing(url, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      if (response.ok) return;
      last = `HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} was not serving within ${timeoutMs} ms (${last})`);
}

/**
 * @template T
 * @param {import('node:child_process').ChildProcess} child
 * @param {string} key
 * @returns {Promise<T>} the first IPC message from `child` that has `key`, or a rejection on exit
 */
export function nextMessage(child, key, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => finish(new Error(`No '${key}' message within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onMessage = (/** @type {any} */ message) => {
      if (message && key in message) finish(undefined, message[key]);
    };
    const onExit = () => finish(new Error(`Process exited before sending '${key}'`));
    /** @param {Error | undefined} error @param {any} [value] */
    function finish(error, value) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(value);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux

/**
 * CPU time (user + system) a process has used so far, in ms; 0 where /proc is missing.
 * @param {number | undefined} pid
 */
export async function cpuMs(pid) {
  if (pid === undefined) return 0;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}
