import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import { stopOnSignals } from '@mlops/runtime';
import type { Logger } from '@mlops/runtime';

const RESTART_DELAY_MS = 1_000; // 1 s: a worker that dies at once does not spin the CPU

/**
 * The primary process of a multi-worker gateway: forks `count` workers that share the listening
 * port (the primary hands connections out round-robin), replaces a worker that dies, and on
 * SIGINT/SIGTERM stops them all (each drains its requests and closes its WebSockets) before exiting.
 * Workers share nothing in memory; what must be shared (rate limits, persisted queries) is in Redis.
 */
export function superviseWorkers(count: number, logger: Logger): void {
  let stopping = false;
  const workers = new Set<Worker>();
  const fork = (): void => {
    const worker = cluster.fork();
    workers.add(worker);
    worker.once('exit', (code, signal) => {
      workers.delete(worker);
      if (stopping) return;
      logger.error({ pid: worker.process.pid, code, signal }, 'gateway worker died; starting another');
      setTimeout(fork, RESTART_DELAY_MS).unref();
    });
  };
  for (let i = 0; i < count; i++) fork();
  logger.info({ workers: count }, 'gateway workers starting');
  stopOnSignals(logger, async () => {
    stopping = true;
    await Promise.all(
      [...workers].map(
        (worker) =>
          new Promise<void>((resolve) => {
            worker.once('exit', () => resolve());
            worker.process.kill('SIGTERM');
          }),
      ),
    );
  });
}
