import { status as GrpcStatus } from '@grpc/grpc-js';
import type {
  ServerErrorResponse,
  ServiceDefinition,
  UntypedServiceImplementation,
  handleServerStreamingCall,
  handleUnaryCall,
} from '@grpc/grpc-js';

/**
 * What a limited method's deserializer yields, instead of parsing, for a message over that method's
 * limit. Unary and server-streaming handlers never see it (`refuseOversizedRequests` answers them);
 * a client-streaming handler gets it as one of its messages and answers it in-band.
 */
export class OversizedRequest {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {}

  /** Worded as grpc-js words its own transport refusal. */
  get details(): string {
    return `Received message larger than max (${this.bytes} vs ${this.limit})`;
  }
}

/**
 * `service` with each method's requests held to `limitOf(method)` bytes. The transport limit
 * (`grpc.max_receive_message_length`) is one number per server; this lets one method (the
 * repository load that carries model files) take larger messages than the others (inference) while
 * the transport accepts the largest. A message over its method's limit is read to its end, so its
 * stream closes normally, and never parsed.
 */
export function limitRequestBytes<T extends ServiceDefinition>(
  service: T,
  limitOf: (method: string) => number,
): T {
  const limited: Record<string, unknown> = {};
  for (const [method, definition] of Object.entries(service)) {
    const limit = limitOf(method);
    limited[method] = {
      ...definition,
      requestDeserialize: (bytes: Buffer): unknown =>
        bytes.length > limit
          ? new OversizedRequest(bytes.length, limit)
          : (definition.requestDeserialize(bytes) as unknown),
    };
  }
  return limited as T;
}

/**
 * `handlers` with each unary and server-streaming handler answering RESOURCE_EXHAUSTED, as the
 * transport limit does, when `limitRequestBytes` found its request too large; the handler itself
 * never runs. Client-streaming handlers are left as they are: they answer such a message in-band
 * and go on. A check in the handler, not a server interceptor: an interceptor would cost every call
 * an intercepting wrapper, and the inference path is the one that must stay lean.
 */
export function refuseOversizedRequests<H extends UntypedServiceImplementation>(
  service: ServiceDefinition,
  handlers: H,
): H {
  const refusing: UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(handlers)) {
    const definition = service[method];
    if (!definition || definition.requestStream) {
      refusing[method] = handler;
    } else if (definition.responseStream) {
      const stream = handler as handleServerStreamingCall<unknown, unknown>;
      refusing[method] = ((call) => {
        const request: unknown = call.request;
        if (request instanceof OversizedRequest) call.emit('error', refusal(request));
        else stream(call);
      }) satisfies handleServerStreamingCall<unknown, unknown>;
    } else {
      const unary = handler as handleUnaryCall<unknown, unknown>;
      refusing[method] = ((call, callback) => {
        const request: unknown = call.request;
        if (request instanceof OversizedRequest) callback(refusal(request));
        else unary(call, callback);
      }) satisfies handleUnaryCall<unknown, unknown>;
    }
  }
  return refusing as H;
}

function refusal(request: OversizedRequest): Partial<ServerErrorResponse> {
  return { code: GrpcStatus.RESOURCE_EXHAUSTED, details: request.details };
}
