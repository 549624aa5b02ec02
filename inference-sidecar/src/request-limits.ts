import { ServerInterceptingCall, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerInterceptor, ServiceDefinition } from '@grpc/grpc-js';

/**
 * What a limited method's deserializer yields, instead of parsing, for a message over that method's
 * limit. Unary and server-streaming calls never see it (`refuseOversizedRequests` answers them);
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
 * Answers RESOURCE_EXHAUSTED, as the transport limit does, to a unary or server-streaming call whose
 * request `limitRequestBytes` found too large; its handler never runs. Client-streaming calls pass
 * through: their handlers answer such a message in-band and go on.
 */
export const refuseOversizedRequests: ServerInterceptor = (method, call) => {
  if (method.requestStream) return new ServerInterceptingCall(call);
  let refused = false;
  return new ServerInterceptingCall(call, {
    start(next) {
      next({
        onReceiveMessage(message, pass) {
          if (refused) return;
          if (!(message instanceof OversizedRequest)) return pass(message);
          refused = true;
          call.sendStatus({ code: GrpcStatus.RESOURCE_EXHAUSTED, details: message.details });
        },
        // The handler, which never got its request, must not answer "no request" after us.
        onReceiveHalfClose(pass) {
          if (!refused) pass();
        },
      });
    },
  });
};
