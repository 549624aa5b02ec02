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
  readonly logger: Logger;
}

export interface Registration {
  /** The endpoint id once registered. */
  readonly endpointId: string | null;
  /** Resolves after the next successful registration or heartbeat (for tests and start-up logs). */
  nextSuccess(): Promise<void>;
  stop(): void;
}

type GraphQLResult = {
  data?: Record<string, { id?: string } | null> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
};

export function startControlPlaneRegistration(options: RegistrationOptions): Registration {
  const { url, pool, grpcAddress, intervalMs, createPool, identityKeys, token, logger } = options;
  const authorization: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  let endpointId: string | null = null;
  let failures = 0;
  let everRegistered = false;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let waiters: (() => void)[] = [];

  const call = async (query: string, variables: Record<string, unknown>): Promise<GraphQLResult> => {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...authorization,
        ...serviceIdentityHeaders('inference-sidecar', identityKeys),
      },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(Math.max(1_000, intervalMs)),
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
      if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
    }
  }

  void tick();
  return {
    get endpointId() {
      return endpointId;
    },
    nextSuccess: () => new Promise<void>((resolve) => waiters.push(resolve)),
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
