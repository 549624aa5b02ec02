import { status as GrpcStatus } from '@grpc/grpc-js';
import type {
  Metadata,
  UntypedServiceImplementation,
  handleBidiStreamingCall,
  handleUnaryCall,
  sendUnaryData,
} from '@grpc/grpc-js';
import { acceptedRequestId, startServerSpan, tracingEnabled } from '@mlops/runtime';
import type { Logger, RequestSpan } from '@mlops/runtime';

const SERVICE = 'inference.GRPCInferenceService';

/** The streaming methods of the service; every other one is unary. */
const STREAMING = new Set(['ModelStreamInfer']);

/** Codes that say the sidecar failed, not the caller: logged at warn, the others at info. */
const SERVER_FAULTS = new Set<GrpcStatus>([
  GrpcStatus.UNKNOWN,
  GrpcStatus.INTERNAL,
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.RESOURCE_EXHAUSTED,
  GrpcStatus.DATA_LOSS,
]);

/** What a handler answers as its error (`ServerErrorResponse` or a status), or null. */
type Failure = (Parameters<sendUnaryData<unknown>>[0] & { message?: string }) | null;

/**
 * Observes every RPC of `GRPCInferenceService`: the caller's `x-request-id` metadata goes into the
 * RPC's log lines (`rpc` at debug when it succeeds; `rpc failed` with the code and details when it
 * does not, at warn for the sidecar's faults and info for the caller's), and while tracing is on
 * each RPC is a SERVER span continuing the caller's `traceparent` metadata. A call carrying neither
 * runs the handler directly, after one metadata lookup.
 */
export function observeRpcs<T extends UntypedServiceImplementation>(logger: Logger, handlers: T): T {
  const observed: UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(handlers)) {
    observed[method] = STREAMING.has(method)
      ? observeStream(logger, method, handler as handleBidiStreamingCall<unknown, unknown>)
      : observeUnary(logger, method, handler as handleUnaryCall<unknown, unknown>);
  }
  return observed as T;
}

function observeUnary(
  logger: Logger,
  method: string,
  handler: handleUnaryCall<unknown, unknown>,
): handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const requestId = requestIdOf(call.metadata);
    const span = tracingEnabled() ? rpcSpan(method, call.metadata) : undefined;
    if (requestId === undefined && span === undefined) return handler(call, callback);
    const started = performance.now();
    const observed: sendUnaryData<unknown> = (error, value, trailer, flags) => {
      finish(logger, method, requestId, span, error, started);
      callback(error, value, trailer, flags);
    };
    if (span) span.run(() => handler(call, observed));
    else handler(call, observed);
  };
}

function observeStream(
  logger: Logger,
  method: string,
  handler: handleBidiStreamingCall<unknown, unknown>,
): handleBidiStreamingCall<unknown, unknown> {
  return (call) => {
    const requestId = requestIdOf(call.metadata);
    const span = tracingEnabled() ? rpcSpan(method, call.metadata) : undefined;
    if (requestId === undefined && span === undefined) return handler(call);
    const started = performance.now();
    let done = false;
    const end = (error: Failure) => {
      if (done) return;
      done = true;
      finish(logger, method, requestId, span, error, started);
    };
    call.once('finish', () => end(null));
    call.once('cancelled', () => end({ code: GrpcStatus.CANCELLED, details: 'Cancelled by the caller' }));
    call.once('error', (error: Failure) => end(error));
    if (span) span.run(() => handler(call));
    else handler(call);
  };
}

function rpcSpan(method: string, metadata: Metadata): RequestSpan | undefined {
  return startServerSpan(`${SERVICE}/${method}`, (key) => textOf(metadata, key), {
    'rpc.system': 'grpc',
    'rpc.service': SERVICE,
    'rpc.method': method,
  });
}

function finish(
  logger: Logger,
  method: string,
  requestId: string | undefined,
  span: RequestSpan | undefined,
  error: Failure,
  started: number,
): void {
  // grpc-js answers an error without a code as UNKNOWN.
  const code = error ? (error.code ?? GrpcStatus.UNKNOWN) : GrpcStatus.OK;
  const durationMs = performance.now() - started;
  const details = error?.details ?? error?.message;
  span?.setAttribute('rpc.grpc.status_code', code);
  span?.end(code === GrpcStatus.OK ? undefined : (details ?? GrpcStatus[code]));
  if (code === GrpcStatus.OK) {
    logger.debug({ requestId, rpc: method, durationMs }, 'rpc');
    return;
  }
  const line = { requestId, rpc: method, code: GrpcStatus[code], details, durationMs };
  if (SERVER_FAULTS.has(code)) logger.warn(line, 'rpc failed');
  else logger.info(line, 'rpc failed');
}

/** The caller's `x-request-id`, accepted as the HTTP servers accept it. */
function requestIdOf(metadata: Metadata): string | undefined {
  return acceptedRequestId(textOf(metadata, 'x-request-id'));
}

function textOf(metadata: Metadata, key: string): string | undefined {
  const [value] = metadata.get(key);
  return typeof value === 'string' ? value : undefined;
}
