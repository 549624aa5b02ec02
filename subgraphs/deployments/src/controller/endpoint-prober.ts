import type { Logger } from '@mlops/runtime';
import type { Database } from '@mlops/runtime/database';
import type { SidecarConnector } from '../sidecar/sidecar-client';
import { allEndpoints, endpointsOfPool, recordProbe } from '../store/pools';

export interface EndpointProber {
  /** Calls `ServerReady` on every endpoint (of one pool, or all) and records UP or DOWN. */
  probe(poolName?: string): Promise<void>;
  /** Stops the periodic probe. */
  stop(): void;
}

/** Probes every `intervalMs` (0: only on demand); each call may take at most `timeoutMs`. */
export function createEndpointProber(options: {
  db: Database;
  sidecars: SidecarConnector;
  logger: Logger;
  intervalMs: number;
  timeoutMs?: number;
}): EndpointProber {
  const { db, sidecars, logger, intervalMs, timeoutMs = 2_000 } = options;
  const probe = async (poolName?: string) => {
    const endpoints = poolName ? await endpointsOfPool(db.knex, poolName) : await allEndpoints(db.knex);
    await Promise.all(
      endpoints.map(async (endpoint) => {
        let status: 'UP' | 'DOWN';
        let message: string | null = null;
        try {
          const ready = await sidecars.client(endpoint.grpcAddress).serverReady(Date.now() + timeoutMs);
          status = ready ? 'UP' : 'DOWN';
          if (!ready) message = 'ServerReady answered not ready';
        } catch (error) {
          status = 'DOWN';
          message = (error as Error).message;
        }
        await recordProbe(db, endpoint.id, status, message);
      }),
    );
  };
  const timer =
    intervalMs > 0
      ? setInterval(() => {
          probe().catch((error: unknown) => logger.warn({ err: error }, 'endpoint probe failed'));
        }, intervalMs)
      : undefined;
  timer?.unref();
  return { probe, stop: () => clearInterval(timer) };
}
