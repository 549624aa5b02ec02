import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerErrorResponse, ServerWritableStream } from '@grpc/grpc-js';
import { ErrorCode } from '@mlops/schema';
import { DomainError } from '@mlops/runtime';
import type { Logger } from '@mlops/runtime';
import { systemClock } from './batcher';
import { toGrpcError } from './grpc-status';
import { observeRpcs } from './tracing';
import type { SidecarMetrics } from './metrics';
import type { ModelRepository } from './model-repository';
import { loadWithFiles } from './load-with-files';
import { checkConfigParameter, versionFilesOf } from './model-files';
import { OversizedRequest } from './request-limits';
import { createShadowMirror } from './shadow-mirror';
import type { ShadowMirror } from './shadow-mirror';
import type {
  HealthCheckRequest,
  HealthCheckResponse,
  HealthServiceHandlers,
  InferenceServiceHandlers,
  MessageInit,
  ModelInferRequest,
  ModelInferResponse,
  ModelRepositoryParameter,
  ServingStatus,
} from './proto';
import { decodeInferInputs, encodeInferOutputs } from './tensor-codec';
import { parseTrafficSplit } from './traffic';

export const SERVER_NAME = 'mlops-inference-sidecar';
export const SERVER_VERSION = '0.1.0';

/** Whether the sidecar takes traffic: the gRPC health service and ServerReady both read it. */
export interface Readiness {
  ready(): boolean;
}

/** Converts a gRPC deadline (absolute wall time) to the batcher's monotonic clock; null when none. */
function batcherDeadline(deadline: Date | number): number | null {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return null;
  return systemClock.now() + (at - Date.now());
}

/**
 * One inference, as ModelInfer and each message of ModelStreamInfer run it, recorded in metrics. An
 * unpinned request routed to a version other than the model's shadow is copied to the shadow once
 * the caller's answer is ready.
 */
async function infer(
  repository: ModelRepository,
  metrics: SidecarMetrics,
  shadows: ShadowMirror,
  request: ModelInferRequest,
  deadline: number | null,
): Promise<MessageInit<ModelInferResponse>> {
  const started = performance.now();
  const name = request.model_name;
  let version = request.model_version;
  try {
    const sticky = request.parameters?.sticky_key;
    const stickyKey = sticky?.parameter_choice === 'string_param' ? sticky.string_param : undefined;
    const model = repository.resolve(name, version || undefined, stickyKey);
    version = model.version;
    const decoded = decodeInferInputs(request, model.signature);
    const outputs = await model.infer(decoded.inputs, deadline);
    const requested = decoded.requestedOutputs;
    const wanted = requested ? outputs.filter((o) => requested.includes(o.name)) : outputs;
    const response = {
      model_name: model.name,
      model_version: model.version,
      id: request.id,
      ...encodeInferOutputs(wanted, decoded.encoding),
    };
    metrics.requestSucceeded(name, version, (performance.now() - started) * 1000);
    const found = request.model_version ? null : repository.shadowOf(name);
    const shadow = found && found.version !== model.version ? found : null;
    const { drift } = model;
    // setImmediate: the caller's answer is written (in this promise's continuation) before the
    // rows are counted for drift and copied to the shadow.
    if (drift || shadow)
      setImmediate(() => {
        drift?.observe(decoded.inputs, outputs);
        if (shadow) shadows.mirror(shadow, decoded.inputs, outputs);
      });
    return response;
  } catch (error) {
    metrics.requestFailed(
      name,
      version,
      GrpcStatus[toGrpcError(error).code ?? GrpcStatus.INTERNAL] ?? 'INTERNAL',
    );
    throw error;
  }
}

export function createInferenceHandlers(
  repository: ModelRepository,
  readiness: Readiness,
  metrics: SidecarMetrics,
  logger: Logger,
): InferenceServiceHandlers {
  const shadows = createShadowMirror({ metrics, logger });
  const fail = (error: unknown): Partial<ServerErrorResponse> => {
    const grpcError = toGrpcError(error);
    if (!(error instanceof DomainError) || error.code === ErrorCode.INTERNAL_SERVER_ERROR) {
      logger.error({ err: error }, 'inference failed');
    }
    return grpcError;
  };
  return observeRpcs(logger, {
    ServerLive: (_call, callback) => callback(null, { live: true }),
    ServerReady: (_call, callback) => callback(null, { ready: readiness.ready() }),
    ServerMetadata: (_call, callback) =>
      callback(null, {
        name: SERVER_NAME,
        version: SERVER_VERSION,
        extensions: ['model_repository', 'streaming', 'binary_tensor_data'],
      }),
    ModelReady(call, callback) {
      try {
        repository.resolve(call.request.name, call.request.version || undefined);
        callback(null, { ready: true });
      } catch (error) {
        if (error instanceof DomainError && error.code === ErrorCode.UNAVAILABLE)
          callback(null, { ready: false });
        else callback(fail(error));
      }
    },
    ModelMetadata(call, callback) {
      try {
        const model = repository.resolve(call.request.name, call.request.version || undefined);
        const tensors = (specs: typeof model.signature.inputs) =>
          specs.map((s) => ({ name: s.name, datatype: s.datatype, shape: s.shape.map(String) }));
        callback(null, {
          name: model.name,
          versions: repository.versions(model.name).map((m) => m.version),
          platform: 'onnxruntime_onnx',
          inputs: tensors(model.signature.inputs),
          outputs: tensors(model.signature.outputs),
        });
      } catch (error) {
        callback(fail(error));
      }
    },
    ModelInfer(call, callback) {
      infer(repository, metrics, shadows, call.request, batcherDeadline(call.getDeadline())).then(
        (response) => callback(null, response),
        (error: unknown) => callback(fail(error)),
      );
    },
    ModelStreamInfer(call) {
      // Many requests over one stream; an error answers in-band and the stream goes on (Triton).
      const inFlight = new Set<Promise<void>>();
      call.on('data', (request: ModelInferRequest | OversizedRequest) => {
        if (request instanceof OversizedRequest) {
          call.write({ error_message: request.details });
          return;
        }
        const done = infer(repository, metrics, shadows, request, batcherDeadline(call.getDeadline())).then(
          (response) => void call.write({ error_message: '', infer_response: response }),
          (error: unknown) => void call.write({ error_message: fail(error).details ?? 'inference failed' }),
        );
        inFlight.add(done);
        void done.finally(() => inFlight.delete(done));
      });
      call.on('end', () => {
        void Promise.allSettled([...inFlight]).then(() => call.end());
      });
      call.on('error', () => undefined);
    },
    RepositoryIndex(call, callback) {
      repository.index().then(
        (entries) =>
          callback(null, {
            models: entries
              .filter((e) => !call.request.ready || e.state === 'READY')
              .map((e) => ({ name: e.name, version: e.version, state: e.state, reason: e.reason })),
          }),
        (error: unknown) => callback(fail(error)),
      );
    },
    RepositoryModelLoad(call, callback) {
      const run = async () => {
        const { model_name: name, parameters } = call.request;
        const version = repositoryParameter(parameters, 'version');
        // Triton's load with files: `file:<version>/<name>` bytes and the model's `config` JSON.
        const files = versionFilesOf(parameters, version);
        const configJson = repositoryParameter(parameters, 'config');
        const config = configJson === undefined ? undefined : checkConfigParameter(configJson);
        const trafficJson = repositoryParameter(parameters, 'traffic');
        const traffic = trafficJson === undefined ? undefined : parseTrafficSplit(trafficJson);
        const shadowParam = repositoryParameter(parameters, 'shadow');
        // "" clears the shadow; undefined leaves it as it is.
        const shadow = shadowParam === undefined ? undefined : shadowParam === '' ? null : shadowParam;
        // `traffic` and/or `shadow` without `version` on a serving model reroute without reloading.
        if (files || config !== undefined)
          await loadWithFiles(repository, logger, name, { files, config }, { version, traffic, shadow });
        else if (
          (traffic || shadow !== undefined) &&
          version === undefined &&
          repository.versions(name).length > 0
        )
          repository.setRouting(name, { traffic, shadow });
        else await repository.load(name, { version, traffic, shadow });
      };
      run().then(
        () => callback(null, {}),
        (error: unknown) => callback(fail(error)),
      );
    },
    RepositoryModelUnload(call, callback) {
      const version = repositoryParameter(call.request.parameters, 'version');
      repository.unload(call.request.model_name, version).then(
        () => callback(null, {}),
        (error: unknown) => callback(fail(error)),
      );
    },
  });
}

/**
 * A repository call's parameter as text: `version` may come as a string or an int64, `traffic` as a
 * JSON string (`{"1": 90, "2": 10}`), `shadow` as a version (or "" to clear), `config` as a JSON
 * string. Anything else answers INVALID_ARGUMENT naming the parameter.
 */
function repositoryParameter(
  parameters: Record<string, ModelRepositoryParameter> | undefined,
  name: string,
): string | undefined {
  const parameter = parameters?.[name];
  if (!parameter || parameter.parameter_choice === undefined) return undefined;
  if (parameter.parameter_choice === 'string_param') return parameter.string_param;
  if (parameter.parameter_choice === 'int64_param') return parameter.int64_param;
  throw new DomainError(ErrorCode.BAD_USER_INPUT, `Repository parameter '${name}' must be a string`, {
    field: name,
  });
}

/** `grpc.health.v1.Health` for Kubernetes gRPC probes: SERVING exactly when the sidecar is ready. */
export function createHealthHandlers(readiness: Readiness): HealthServiceHandlers & { stop(): void } {
  const KNOWN = new Set(['', 'inference.GRPCInferenceService']);
  const statusOf = (service: string): ServingStatus =>
    !KNOWN.has(service) ? 'SERVICE_UNKNOWN' : readiness.ready() ? 'SERVING' : 'NOT_SERVING';
  const watchers = new Set<{
    call: ServerWritableStream<HealthCheckRequest, MessageInit<HealthCheckResponse>>;
    last: ServingStatus;
  }>();
  // Watchers learn of changes within a second; a timer per process, not per watcher.
  let timer: NodeJS.Timeout | null = null;
  const poll = () => {
    for (const watcher of watchers) {
      const now = statusOf(watcher.call.request.service);
      if (now !== watcher.last) {
        watcher.last = now;
        watcher.call.write({ status: now });
      }
    }
  };
  return {
    Check(call, callback) {
      const status = statusOf(call.request.service);
      if (status === 'SERVICE_UNKNOWN')
        callback({ code: 5, details: `Unknown service '${call.request.service}'` });
      else callback(null, { status });
    },
    Watch(call) {
      const watcher = { call, last: statusOf(call.request.service) };
      watchers.add(watcher);
      call.write({ status: watcher.last });
      timer ??= setInterval(poll, 1_000);
      call.on('cancelled', () => {
        watchers.delete(watcher);
        if (watchers.size === 0 && timer) {
          clearInterval(timer);
          timer = null;
        }
      });
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
      for (const { call } of watchers) call.end();
      watchers.clear();
    },
  };
}
