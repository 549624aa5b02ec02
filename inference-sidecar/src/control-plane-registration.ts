import { serviceIdentityHeaders } from '@mlops/runtime';
import type { InternalIdentityKeys, Logger } from '@mlops/runtime';

/**
 * Keeps this sidecar known to the deployments control plane: registers its gRPC address in a
 * serving pool, then sends heartbeats. Every failure is logged and retried on the next tick; the
 * sidecar serves whether or not the control plane answers.
 */
export interface RegistrationOptions {
  /** GraphQL endpoint of the control plane (the gateway, or the deployments subgraph). */
  readonly url: string;
  readonly pool: string;
  /** The address pool members are reached at, e.g. `10.0.0.7:8001` (the pod IP in a cluster). */
  readonly grpcAddress: string;
  /** Heartbeat period; keep it well under the control plane's ENDPOINT_HEARTBEAT_TIMEOUT_MS. */
  readonly intervalMs: number;
  /**
   * Create the pool when it does not exist (development; `SIDECAR_CREATE_POOL=true`). Through the
   * gateway this takes a token allowed to `createServingPool` (ml-engineer or admin); when the pool
   * cannot be created, the failure is logged and retried like any other.
   */
  readonly createPool: boolean;
  /** Signs every call as `service:inference-sidecar` (when calling the deployments subgraph directly). */
  readonly identityKeys?: InternalIdentityKeys;
  /**
   * The sidecar's service credential, sent as `Authorization: Bearer <token>` with every call: a
   * JWT the gateway accepts, holding the scope `serving:register` (or an operator role);
   * `SIDECAR_CONTROL_PLANE_TOKEN` in `config.ts`. Default none: the calls are anonymous, and the
   * gateway refuses registrations and heartbeats with UNAUTHENTICATED (logged, retried).
   */
  readonly token?: string;
  /**
   * How long `leave()` may take in all (waiting for a call in flight, then `deregisterEndpoint`);
   * default 2000 ms. Past it, shutdown goes on without deregistering: the endpoint turns DOWN and the
   * control plane prunes it after its ENDPOINT_PRUNE_AFTER_MS.
   */
  readonly deregisterTimeoutMs?: number;
  readonly logger: Logger;
}

export interface Registration {
  /** The endpoint id once registered. */
  readonly endpointId: string | null;
  /** Resolves after the next successful registration or heartbeat (for tests and start-up logs). */
  nextSuccess(): Promise<void>;
  /** Stops registering and heartbeating; the endpoint stays registered until it turns DOWN. */
  stop(): void;
  /**
   * Graceful shutdown: stops like `stop()`, then tells the control plane this endpoint is leaving
   * (`deregisterEndpoint`), so traffic and rollouts stop targeting it at once. Bounded by
   * `deregisterTimeoutMs`; never rejects (a failure is logged).
   */
  leave(): Promise<void>;
}

type GraphQLResult = {
  data?: Record<string, { id?: string } | null> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
};

export function startControlPlaneRegistration(options: RegistrationOptions): Registration {
  const {
    url,
    pool,
    grpcAddress,
    intervalMs,
    createPool,
    identityKeys,
    token,
    deregisterTimeoutMs = 2_000, // 2 s: well inside a pod's termination grace period
    logger,
  } = options;
  const authorization: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  let endpointId: string | null = null;
  let failures = 0;
  let everRegistered = false;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  /** The registration or heartbeat under way, if any. */
  let inFlight: Promise<void> | null = null;
  let waiters: (() => void)[] = [];

  const call = async (
    query: string,
    variables: Record<string, unknown>,
    signal: AbortSignal = AbortSignal.timeout(Math.max(1_000, intervalMs)),
  ): Promise<GraphQLResult> => {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...authorization,
        ...serviceIdentityHeaders('inference-sidecar', identityKeys),
      },
      body: JSON.stringify({ query, variables }),
      signal,
    });
    return (await response.json()) as GraphQLResult;
  };
  const codeOf = (result: GraphQLResult) => result.errors?.[0]?.extensions?.code;
  /** The first error as `CODE: message`, so a refused credential reads as such in the log. */
  const failure = (result: GraphQLResult, fallback: string) => {
    const error = result.errors?.[0];
    if (!error) return new Error(fallback);
    const code = error.extensions?.code;
    return new Error(code ? `${code}: ${error.message}` : error.message);
  };

  async function register(): Promise<void> {
    const mutation = `mutation($pool: String!, $address: String!) { registerEndpoint(pool: $pool, grpcAddress: $address) { id } }`;
    let result = await call(mutation, { pool, address: grpcAddress });
    if (codeOf(result) === 'NOT_FOUND' && createPool) {
      const created = await call(`mutation($pool: String!) { createServingPool(name: $pool) { name } }`, {
        pool,
      });
      // CONFLICT: another sidecar of the pool created it first.
      if (created.errors && codeOf(created) !== 'CONFLICT') {
        throw failure(created, 'createServingPool failed');
      }
      result = await call(mutation, { pool, address: grpcAddress });
    }
    const id = result.data?.registerEndpoint?.id;
    if (!id) throw failure(result, 'registerEndpoint answered no id');
    endpointId = id;
    logger.info({ pool, grpcAddress, endpointId }, 'registered with the control plane');
  }

  async function heartbeat(id: string): Promise<void> {
    const result = await call(`mutation($id: ID!) { heartbeat(endpointId: $id) { id } }`, { id });
    if (codeOf(result) === 'NOT_FOUND') {
      endpointId = null; // forgotten by the control plane: register again
      // ...unless leaving: this heartbeat may have crossed the deregistration.
      if (stopped) return;
      return register();
    }
    if (!result.data?.heartbeat) throw failure(result, 'heartbeat failed');
  }

  async function tick(): Promise<void> {
    try {
      if (endpointId === null) await register();
      else await heartbeat(endpointId);
      if (failures > 0 && everRegistered) logger.info({ pool }, 'control plane reachable again');
      failures = 0;
      everRegistered = true;
      const settled = waiters;
      waiters = [];
      for (const resolve of settled) resolve();
    } catch (error) {
      // One warning per outage, not one per tick; at start-up the control plane may simply not be
      // up yet (npm start starts it after the sidecar), so warn only once that has lasted a while.
      failures++;
      if (failures === (everRegistered ? 1 : 6)) {
        logger.warn(
          { err: (error as Error).message, url, pool, failures },
          'control plane registration failed; retrying',
        );
      }
    } finally {
      if (!stopped) timer = setTimeout(schedule, intervalMs);
    }
  }

  function schedule(): void {
    inFlight = tick().finally(() => {
      inFlight = null;
    });
  }

  function stop(): void {
    stopped = true;
    if (timer) clearTimeout(timer);
    timer = null;
  }

  async function leave(): Promise<void> {
    stop();
    const deadline = Date.now() + deregisterTimeoutMs;
    if (endpointId === null && inFlight) {
      // A registration in flight may be about to learn the endpoint id: let it finish, within bounds.
      // (A heartbeat in flight needs no wait: the id is known, and one landing after the
      // deregistration only answers NOT_FOUND.)
      let waited: NodeJS.Timeout | undefined;
      await Promise.race([
        inFlight,
        new Promise((resolve) => (waited = setTimeout(resolve, deregisterTimeoutMs))),
      ]);
      clearTimeout(waited);
    }
    const id = endpointId;
    if (id === null) return;
    try {
      const result = await call(
        `mutation($id: ID!) { deregisterEndpoint(endpointId: $id) { id } }`,
        { id },
        AbortSignal.timeout(Math.max(1, deadline - Date.now())),
      );
      // NOT_FOUND: already gone (pruned while the control plane could not hear us), which is the goal.
      if (!result.data?.deregisterEndpoint && codeOf(result) !== 'NOT_FOUND')
        throw failure(result, 'deregisterEndpoint failed');
      endpointId = null;
      logger.info({ pool, grpcAddress, endpointId: id }, 'deregistered from the control plane');
    } catch (error) {
      logger.warn(
        { err: (error as Error).message, url, pool, endpointId: id },
        'could not deregister; the control plane will mark the endpoint DOWN and prune it',
      );
    }
  }

  schedule();
  return {
    get endpointId() {
      return endpointId;
    },
    nextSuccess: () => new Promise<void>((resolve) => waiters.push(resolve)),
    stop,
    leave,
  };
}
