import type { EndpointRecord } from '../store/records';
import { endpointHealth } from '../store/pools';
import type { RolloutController } from './rollout-controller';

export interface EndpointReconcilerOptions {
  readonly controller: RolloutController;
  readonly heartbeatTimeoutMs: number;
}

export interface EndpointReconciler {
  /**
   * Called after `registerEndpoint`: starts reconciling in the background (never awaited, never
   * rejects) when the endpoint is new or was DOWN before this registration; otherwise does nothing.
   * Returns the running reconcile, or null when none was started.
   */
  registered(endpoint: EndpointRecord, previous: EndpointRecord | null, now: number): Promise<void> | null;
  /** `"reconciling"`, `"reconcile failed: …"`, or null once reconciled (or never reconciled here). */
  status(endpointId: string): string | null;
  /** Forgets the outcome kept for an endpoint that left its pool. */
  left(endpointId: string): void;
}

/**
 * A sidecar that (re)starts comes up empty, so a new endpoint, or a known one coming back from DOWN
 * (a restarted pod reusing its address), is given every serving revision of its pool. The outcome is
 * kept in memory only: it describes this process's last attempt, not a durable state.
 */
export function createEndpointReconciler(options: EndpointReconcilerOptions): EndpointReconciler {
  const { controller, heartbeatTimeoutMs } = options;
  const outcomes = new Map<string, string>();

  return {
    registered(endpoint, previous, now) {
      const wasDown =
        previous !== null && endpointHealth(previous, now, heartbeatTimeoutMs).status === 'DOWN';
      if (previous !== null && !wasDown) return null;
      outcomes.set(endpoint.id, 'reconciling');
      return controller.reconcileEndpoint(endpoint).then((failures) => {
        if (failures.length === 0) outcomes.delete(endpoint.id);
        else outcomes.set(endpoint.id, `reconcile failed: ${failures.join('; ')}`);
      });
    },
    status: (endpointId) => outcomes.get(endpointId) ?? null,
    left: (endpointId) => void outcomes.delete(endpointId),
  };
}
