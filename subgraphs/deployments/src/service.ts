import { createLogger, redactUrl, serviceIdentityHeaders, startGraphQLService } from '@mlops/runtime';
import {
  assertNoPendingMigrations,
  createDatabase,
  migrateToLatest,
  systemClock,
} from '@mlops/runtime/database';
import type { Logger, ReadinessCheck } from '@mlops/runtime';
import type { Clock } from '@mlops/runtime/database';
import type { DeploymentsConfig } from './config';
import { createEndpointProber } from './controller/endpoint-prober';
import { createEndpointReconciler } from './controller/endpoint-reconciler';
import { createRolloutController } from './controller/rollout-controller';
import type { DeploymentsContext } from './graphql/context';
import { buildDeploymentsSchema } from './graphql/schema';
import { createDeploymentOperations } from './operations';
import { createHttpModelRegistryClient } from './registry/model-registry-client';
import type { ModelRegistryClient } from './registry/model-registry-client';
import { createGrpcSidecarConnector } from './sidecar/grpc-sidecar-client';
import type { SidecarConnector } from './sidecar/sidecar-client';
import { createDeploymentsOrm } from './store/orm';
import type { DeploymentsOrm } from './store/orm';

export interface DeploymentsServiceOptions {
  readonly config: DeploymentsConfig;
  /** Default: JSON logs on stdout at `config.logLevel`. */
  readonly logger?: Logger;
  /** Default: the system clock. Heartbeat ages and revision times read it. */
  readonly clock?: Clock;
  /** Default: the models subgraph at `config.modelsSubgraphUrl`, over HTTP GraphQL. */
  readonly registry?: ModelRegistryClient;
  /** Default: insecure gRPC channels to each sidecar address. Closed with the service. */
  readonly sidecars?: SidecarConnector;
}

export interface DeploymentsService {
  readonly url: string;
  readonly port: number;
  readonly orm: DeploymentsOrm;
  close(): Promise<void>;
}

/**
 * Opens the database, applies pending migrations when configured to, starts the endpoint sweep
 * (pruning and probing) and serves the subgraph over HTTP with `/health` and `/ready`. Fails (closing
 * what it opened) if any step fails.
 */
export async function startDeploymentsService(
  options: DeploymentsServiceOptions,
): Promise<DeploymentsService> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ service: 'deployments', level: config.logLevel });
  const orm = await createDeploymentsOrm(config.database, (message) => logger.debug(message));
  const sidecars = options.sidecars ?? createGrpcSidecarConnector();
  let stopProber = () => {};
  try {
    if (config.migrateOnStart) {
      const applied = await migrateToLatest(orm);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    }
    const db = createDatabase(orm, config.database.kind, options.clock ?? systemClock);
    const registry =
      options.registry ??
      createHttpModelRegistryClient(config.modelsSubgraphUrl, 5_000, () =>
        serviceIdentityHeaders('deployments', config.internalIdentityKeys),
      );
    const controller = createRolloutController({
      db,
      sidecars,
      logger,
      rolloutTimeoutMs: config.rolloutTimeoutMs,
      heartbeatTimeoutMs: config.heartbeatTimeoutMs,
      versionFiles: registry.versionFiles?.bind(registry),
    });
    // A controller gives up after its rollout timeout, so twice that means the applying process died.
    const operations = createDeploymentOperations({
      db,
      registry,
      controller,
      abandonAfterMs: 2 * config.rolloutTimeoutMs,
    });
    const reconciler = createEndpointReconciler({
      controller,
      heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    });
    const prober = createEndpointProber({
      db,
      sidecars,
      logger,
      intervalMs: config.probeIntervalMs,
      heartbeatTimeoutMs: config.heartbeatTimeoutMs,
      pruneAfterMs: config.pruneAfterMs,
    });
    stopProber = () => prober.stop();
    const readinessChecks: ReadinessCheck[] = [
      { name: 'database', check: async () => void (await db.knex.raw('SELECT 1')) },
      { name: 'migrations', check: () => assertNoPendingMigrations(orm) },
    ];
    const service = await startGraphQLService<DeploymentsContext>({
      schema: await buildDeploymentsSchema(),
      logger,
      production: config.production,
      readinessChecks,
      redisUrl: config.redisUrl,
      context: async (base) => ({
        ...base,
        db,
        operations,
        prober,
        reconciler,
        heartbeatTimeoutMs: config.heartbeatTimeoutMs,
      }),
      port: config.port,
      host: config.host,
      internalIdentityKeys: config.internalIdentityKeys,
      name: 'deployments',
    });
    const { url, port } = service;
    logger.info(
      {
        url,
        database:
          config.database.kind === 'postgresql' ? redactUrl(config.database.url) : config.database.file,
        modelsSubgraphUrl: config.modelsSubgraphUrl,
      },
      'deployments subgraph ready',
    );
    return {
      url,
      port,
      orm,
      async close() {
        stopProber();
        await service.close();
        sidecars.close();
        await orm.close();
      },
    };
  } catch (error) {
    stopProber();
    sidecars.close();
    await orm.close();
    throw error;
  }
}
