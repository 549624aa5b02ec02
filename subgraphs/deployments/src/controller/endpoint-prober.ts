import type { Logger } from '@mlops/runtime';
import type { Database } from '@mlops/runtime/database';
import type { SidecarConnector } from '../sidecar/sidecar-client';
import { allEndpoints, endpointsOfPool, pruneSilentEndpoints, recordProbe } from '../store/pools';

export interface EndpointProber {
  /** Calls `ServerReady` on every endpoint (of one pool, or all) and records UP or DOWN. */
  probe(poolName?: string): Promise<void>;
  /** Deletes the endpoints DOWN for want of heartbeats past the grace period; resolves with how many. */
  prune(): Promise<number>;
  /** Stops the periodic sweep. */
  stop(): void;
}

export interface EndpointProberOptions {
  readonly db: Database;
  readonly sidecars: SidecarConnector;
  readonly logger: Logger;
  /** How often every endpoint is probed (after pruning); 0: only on demand. */
  readonly intervalMs: number;
  /** How long one `ServerReady` call may take; default 2000 ms. */
  readonly timeoutMs?: number;
  /** Past this, an endpoint without heartbeats is DOWN (`ENDPOINT_HEARTBEAT_TIMEOUT_MS`). */
  readonly heartbeatTimeoutMs: number;
  /**
   * How long an endpoint may stay DOWN for want of heartbeats before the sweep deletes it
   * (`ENDPOINT_PRUNE_AFTER_MS`); 0: never. With probing off, the sweep still runs for pruning, every
   * minute (sooner for a shorter grace period).
   */
  readonly pruneAfterMs: number;
}

/** The longest pause between two prune-only sweeps (probing off). */
const PRUNE_ONLY_SWEEP_MS = 60_000;

/**
 * The periodic sweep of every endpoint: prunes the long-silent ones, then probes the rest. Every
 * replica of the subgraph sweeps; both steps are single conditional statements per row, so replicas
 * sweeping at once do no harm. A failed sweep is logged and the next one runs as usual.
 */
export function createEndpointProber(options: EndpointProberOptions): EndpointProber {
  const { db, sidecars, logger, intervalMs, timeoutMs = 2_000, heartbeatTimeoutMs, pruneAfterMs } = options;
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
  const prune = async () => {
    if (pruneAfterMs === 0) return 0;
    const pruned = await pruneSilentEndpoints(db, heartbeatTimeoutMs, pruneAfterMs);
    if (pruned > 0) logger.info({ pruned, pruneAfterMs }, 'pruned endpoints DOWN past the grace period');
    return pruned;
  };
  const sweepMs =
    intervalMs > 0
      ? intervalMs
      : pruneAfterMs > 0
        ? Math.max(1_000, Math.min(PRUNE_ONLY_SWEEP_MS, pruneAfterMs))
        : 0;
  const sweep = async () => {
    await prune();
    if (intervalMs > 0) await probe();
  };
  const timer =
    sweepMs > 0
      ? setInterval(() => {
          sweep().catch((error: unknown) => logger.warn({ err: error }, 'endpoint sweep failed'));
        }, sweepMs)
      : undefined;
  timer?.unref();
  return { probe, prune, stop: () => clearInterval(timer) };
}
