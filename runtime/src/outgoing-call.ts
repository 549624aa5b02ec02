import type { Attributes } from '@opentelemetry/api';
import { currentRequestId } from './request-scope';
import { startClientSpan } from './tracing';
import type { RequestSpan } from './tracing';

/**
 * Prepares a call this process makes for the request it serves (an HTTP request to another
 * service, a gRPC call to a sidecar), so that the callee's logs and spans join the request's:
 * writes the request's `x-request-id` with `set` (when the request scope is on and a request is
 * being served, see `enableRequestScope`) and, while tracing is on inside a traced request, starts a
 * CLIENT span `name` and writes its `traceparent` (and `tracestate`).
 *
 * Answers the span, which the caller ends when the call settles; undefined when nothing is traced
 * (tracing off, or background work outside any request), and the caller skips its span work then.
 */
export function startOutgoingCall(
  name: string,
  attributes: Attributes,
  set: (key: string, value: string) => void,
): RequestSpan | undefined {
  const requestId = currentRequestId();
  if (requestId !== undefined) set('x-request-id', requestId);
  const span = startClientSpan(name, attributes);
  span?.inject(set);
  return span;
}
