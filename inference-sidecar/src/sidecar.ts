import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { createLogger } from '@mlops/runtime';
import type { Logger } from '@mlops/runtime';
import type { SidecarConfig } from './config';
import { createHealthHandlers, createInferenceHandlers } from './grpc-service';
import { createSidecarMetrics } from './metrics';
import type { SidecarMetrics } from './metrics';
import { createModelRepository } from './model-repository';
import type { ModelRepository } from './model-repository';
import { loadSidecarProtos } from './proto';
import { closeAnsweredStreams } from './answered-streams';
import { startControlPlaneRegistration } from './control-plane-registration';
import type { Registration } from './control-plane-registration';
import { readdir } from 'node:fs/promises';
import { removeInterruptedWrites } from './model-files';
import { limitRequestBytes, refuseOversizedRequests } from './request-limits';

export interface SidecarHandle {
  /** `host:port` of the gRPC server (the bound port when configured as 0). */
  readonly grpcAddress: string;
  /** Base URL of the HTTP server: `/health`, `/ready`, `/metrics`. */
  readonly httpUrl: string;
  readonly repository: ModelRepository;
  readonly metrics: SidecarMetrics;
  /** Registration with the control plane, when configured. */
  readonly registration: Registration | null;
  /**
   * Deregisters from the control plane (when registered; bounded by `deregisterTimeoutMs`), stops
   * taking calls, drains queued and running inferences, releases every model.
   */
  close(): Promise<void>;
}

type SidecarPhase =
  { readonly phase: 'starting' } | { readonly phase: 'serving' } | { readonly phase: 'stopping' };

/**
 * Loads the start-up models, then serves gRPC (KServe v2 + Triton extensions + grpc.health.v1) and
 * HTTP (`/health`, `/ready`, `/metrics`). Rejects, with everything stopped again, when a start-up
 * model cannot be loaded or a port cannot be bound.
 */
export async function startSidecar({
  config,
  logger = createLogger({ service: 'inference-sidecar', level: config.logLevel }),
}: {
  config: SidecarConfig;
  logger?: Logger;
}): Promise<SidecarHandle> {
  let state: SidecarPhase = { phase: 'starting' };
  const metrics = createSidecarMetrics();
  const repository = createModelRepository(config.modelRepository, {
    onBatch: (model, version, info) => metrics.batchExecuted(model, version, info),
  });
  metrics.watchDrift(() => repository.serving());
  const readiness = { ready: () => state.phase === 'serving' };
  const health = createHealthHandlers(readiness);
  // The transport takes the largest message any call may send; each call is held to its own limit.
  const grpcServer = new Server({
    'grpc.max_receive_message_length': Math.max(config.maxMessageBytes, config.maxModelBytes),
    'grpc.max_send_message_length': config.maxMessageBytes,
  });
  const requestLimit = (method: string) =>
    method === 'RepositoryModelLoad' ? config.maxModelBytes : config.maxMessageBytes;
  const httpServer = http.createServer((req, res) => {
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.url === '/health') return send(200, JSON.stringify({ status: 'ok' }));
    if (req.url === '/ready')
      return send(
        readiness.ready() ? 200 : 503,
        JSON.stringify({ ready: readiness.ready(), phase: state.phase }),
      );
    if (req.url === '/metrics') {
      metrics.registry.metrics().then(
        (text) => send(200, text, metrics.registry.contentType),
        () => send(500, 'metrics unavailable', 'text/plain'),
      );
      return;
    }
    send(404, JSON.stringify({ error: `No route for ${req.url}` }));
  });

  let registration: Registration | null = null;
  const stop = async () => {
    state = { phase: 'stopping' };
    health.stop();
    // Leave the pool before draining, so the control plane stops targeting this endpoint first;
    // bounded, so an unreachable control plane never holds shutdown up.
    await registration?.leave();
    await new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve()));
    await repository.close();
    await new Promise<void>((resolve) => {
      httpServer.close(() => resolve());
      httpServer.closeAllConnections();
    });
  };

  try {
    const interrupted = await removeInterruptedWrites(config.modelRepository);
    if (interrupted.length > 0) logger.warn({ removed: interrupted }, 'removed interrupted model writes');
    const names =
      config.startupModels === 'all' ? await listModels(config.modelRepository) : config.startupModels;
    for (const name of names) {
      const model = await repository.load(name);
      logger.info({ model: name, version: model.version, config: model.config }, 'model ready');
    }
    const { inferenceService, healthService } = loadSidecarProtos();
    grpcServer.addService(
      limitRequestBytes(inferenceService, requestLimit),
      refuseOversizedRequests(
        inferenceService,
        createInferenceHandlers(repository, readiness, metrics, logger),
      ),
    );
    grpcServer.addService(
      limitRequestBytes(healthService, requestLimit),
      refuseOversizedRequests(healthService, health),
    );
    const grpcPort = await new Promise<number>((resolve, reject) =>
      grpcServer.bindAsync(
        `${config.host}:${config.grpcPort}`,
        ServerCredentials.createInsecure(),
        (error, port) => (error ? reject(error) : resolve(port)),
      ),
    );
    closeAnsweredStreams(grpcServer);
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.httpPort, config.host, () => resolve());
    });
    const httpPort = (httpServer.address() as AddressInfo).port;
    state = { phase: 'serving' };
    const boundAddress = `${config.host}:${grpcPort}`;
    registration = config.controlPlane
      ? startControlPlaneRegistration({
          url: config.controlPlane.url,
          pool: config.controlPlane.pool,
          grpcAddress: config.controlPlane.advertiseAddress ?? boundAddress,
          intervalMs: config.controlPlane.heartbeatMs,
          createPool: config.controlPlane.createPool,
          identityKeys: config.controlPlane.identityKeys,
          token: config.controlPlane.token,
          logger,
        })
      : null;
    const handle: SidecarHandle = {
      grpcAddress: boundAddress,
      registration,
      httpUrl: `http://${config.host}:${httpPort}`,
      repository,
      metrics,
      close: stop,
    };
    logger.info(
      { grpc: handle.grpcAddress, http: handle.httpUrl, repository: config.modelRepository },
      'inference sidecar ready',
    );
    return handle;
  } catch (error) {
    await stop();
    throw error;
  }
}

async function listModels(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}
