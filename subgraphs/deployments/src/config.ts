import { createEnvReader } from '@mlops/runtime';
import { readSubgraphCommonConfig } from '@mlops/runtime/database';
import type { SubgraphCommonConfig } from '@mlops/runtime/database';
import { SUBGRAPHS } from '@mlops/schema';

/** The deployments subgraph's settings: the ones every subgraph shares, and its own. */
export interface DeploymentsConfig extends SubgraphCommonConfig {
  /**
   * `ENDPOINT_HEARTBEAT_TIMEOUT_MS`; default 15000. An endpoint whose last heartbeat is older reports
   * DOWN and takes no part in rollouts.
   */
  readonly heartbeatTimeoutMs: number;
  /**
   * `ENDPOINT_PROBE_INTERVAL_MS`; default 5000. How often every endpoint's gRPC `ServerReady` is
   * called; a failed or not-ready answer marks it DOWN until the next probe. 0 turns probing off.
   */
  readonly probeIntervalMs: number;
  /**
   * `ENDPOINT_PRUNE_AFTER_MS`; default 3600000 (1 h). An endpoint whose heartbeats stopped is deleted
   * once it has been DOWN this long (its last heartbeat is older than the heartbeat timeout plus
   * this), by whichever replica sweeps first. 0 never deletes. Not a non-negative integer: start-up fails.
   */
  readonly pruneAfterMs: number;
  /**
   * `ROLLOUT_TIMEOUT_MS`; default 30000. How long a rollout (loads, readiness polling, traffic) may
   * take on all endpoints before it is FAILED and the previous revision keeps serving.
   */
  readonly rolloutTimeoutMs: number;
  /**
   * `MODELS_SUBGRAPH_URL`; default `http://127.0.0.1:4002/graphql`. The model registry every rollout's
   * versions are checked against; unreachable answers UNAVAILABLE.
   */
  readonly modelsSubgraphUrl: string;
}

const DEFAULT_PORT = SUBGRAPHS.find((s) => s.name === 'deployments')?.defaultPort ?? 4003;

export function readDeploymentsConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): DeploymentsConfig {
  const read = createEnvReader(env);
  const common = readSubgraphCommonConfig(read, env, { name: 'deployments', defaultPort: DEFAULT_PORT });
  const config: DeploymentsConfig = {
    ...common,
    heartbeatTimeoutMs: read.int('ENDPOINT_HEARTBEAT_TIMEOUT_MS', 15_000, { min: 1 }), // 15 s
    probeIntervalMs: read.int('ENDPOINT_PROBE_INTERVAL_MS', 5_000, { min: 0 }), // 5 s
    pruneAfterMs: read.int('ENDPOINT_PRUNE_AFTER_MS', 3_600_000, { min: 0 }), // 1 h
    rolloutTimeoutMs: read.int('ROLLOUT_TIMEOUT_MS', 30_000, { min: 1 }), // 30 s
    modelsSubgraphUrl: read.url('MODELS_SUBGRAPH_URL', ['http', 'https']) ?? 'http://127.0.0.1:4002/graphql',
  };
  read.done();
  return config;
}
