import net from 'node:net';

/** Connection URLs of the real servers the suites use; override with TEST_POSTGRES_URL / TEST_REDIS_URL. */
export const TEST_POSTGRES_URL =
  process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** True when something accepts TCP connections at the URL's host and port within `timeoutMs`. */
export function isReachable(url: string, defaultPort: number, timeoutMs = 1_000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || defaultPort) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export type ServiceName = 'postgres' | 'redis';

/**
 * Whether a suite that needs `service` runs. The jest global setup probes each service once and
 * records the answer; under `CI=true` it has already failed the run when one is missing.
 */
export function serviceAvailable(service: ServiceName): boolean {
  return process.env[`MLOPS_TEST_${service.toUpperCase()}`] === 'available';
}
