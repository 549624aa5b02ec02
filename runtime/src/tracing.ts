import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type * as OpenTelemetry from '@opentelemetry/api';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { ConfigError, createEnvReader, redactUrl } from './config-reader';
import type { Logger } from './logger';

/**
 * OpenTelemetry tracing, off unless an OTLP endpoint is configured. The standard variables, read by
 * the OpenTelemetry SDK itself from `process.env` (see the README's "Tracing" section):
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is) or `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces`
 * appended) turn tracing on and say where spans go, as OTLP/HTTP JSON; `OTEL_SERVICE_NAME` and
 * `OTEL_RESOURCE_ATTRIBUTES` describe the service; `OTEL_TRACES_SAMPLER` (default
 * `parentbased_always_on`) and `OTEL_TRACES_SAMPLER_ARG` sample; `OTEL_SDK_DISABLED=true` keeps it off.
 *
 * While off, nothing of OpenTelemetry is even loaded (the SDK costs ~0.2 s and ~6 MB at start-up),
 * nothing is registered, and the runtime's hooks (HTTP server, gRPC calls) cost one check per
 * request. @apollo/gateway's own spans go through the same global provider.
 */
export interface TracingOptions {
  /** The `service.name` of every span, e.g. `gateway`; `OTEL_SERVICE_NAME` wins when set. */
  readonly serviceName: string;
  readonly logger: Logger;
}

export interface Tracing {
  /** Whether spans are recorded and exported. */
  readonly enabled: boolean;
  /**
   * Exports the spans still buffered, then unregisters the provider. Resolves even when the
   * collector cannot be reached (the failure is logged); a second call does nothing.
   */
  shutdown(): Promise<void>;
}

const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

type OpenTelemetryApi = typeof OpenTelemetry;

/** The API and tracer of the running provider; undefined while tracing is off (the hot-path check). */
let active: { readonly api: OpenTelemetryApi; readonly tracer: Tracer } | undefined;

/** Set from the first `startTracing` that turns tracing on until its shutdown. */
let claimed = false;

/** Whether this process records spans: the one check every hook makes first. */
export function tracingEnabled(): boolean {
  return active !== undefined;
}

/**
 * Registers a tracer provider exporting OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (W3C `traceparent` propagation, async-context
 * tracking); otherwise does nothing and answers a handle whose `enabled` is false. Call it first in
 * a process entry, before any server is created. Throws a `ConfigError` naming the variable when an
 * endpoint is not an http(s) URL or the sampler settings are invalid, and an `Error` when tracing
 * is already started in this process (the provider is process-wide).
 */
export async function startTracing({ serviceName, logger }: TracingOptions): Promise<Tracing> {
  const read = createEnvReader(process.env);
  const endpoint =
    read.url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', ['http', 'https']) ??
    read.url('OTEL_EXPORTER_OTLP_ENDPOINT', ['http', 'https']);
  const disabled = read.oneOf('OTEL_SDK_DISABLED', ['true', 'false'], 'false') === 'true';
  const sampler = read.oneOf('OTEL_TRACES_SAMPLER', SAMPLERS, 'parentbased_always_on');
  const ratio = read.optionalString('OTEL_TRACES_SAMPLER_ARG');
  read.done();
  if (
    ratio !== undefined &&
    sampler.endsWith('traceidratio') &&
    !(Number(ratio) >= 0 && Number(ratio) <= 1)
  ) {
    throw new ConfigError([`OTEL_TRACES_SAMPLER_ARG must be a number between 0 and 1; got '${ratio}'`]);
  }
  if (endpoint === undefined || disabled) return { enabled: false, shutdown: async () => undefined };
  if (claimed) throw new Error('Tracing is already started in this process');
  claimed = true;

  const [api, { BatchSpanProcessor, NodeTracerProvider }, { OTLPTraceExporter }, resources] =
    await Promise.all([
      import('@opentelemetry/api'),
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ]);
  const { defaultResource, detectResources, envDetector, resourceFromAttributes } = resources;
  const provider = new NodeTracerProvider({
    // Later resources win: the service's own name, then OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES.
    resource: defaultResource()
      .merge(resourceFromAttributes({ 'service.name': serviceName }))
      .merge(detectResources({ detectors: [envDetector] })),
    // The exporter reads the endpoint, headers, timeout and compression from OTEL_EXPORTER_OTLP_*.
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register();
  active = { api, tracer: api.trace.getTracer('@mlops/runtime') };
  logger.info({ endpoint: redactUrl(endpoint), sampler }, 'tracing on');

  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    shutdown() {
      stopped ??= provider
        .shutdown()
        .catch((error: unknown) => logger.warn({ err: error }, 'tracing: spans could not be exported'))
        .finally(() => {
          active = undefined;
          claimed = false;
          api.trace.disable();
          api.context.disable();
          api.propagation.disable();
        });
      return stopped;
    },
  };
}

/** Reads one propagation field (`traceparent`, `tracestate`) from an incoming request's headers. */
export type TraceContextGetter = (key: string) => string | undefined;

/** One span of a request or call this process serves or makes, as the runtime's hooks use it. */
export interface RequestSpan {
  /** Runs `fn` with this span active: spans started and calls made inside are its children. */
  run<T>(fn: () => T): T;
  setAttribute(key: string, value: string | number | boolean): void;
  /** Ends the span; an `error` message marks it failed. Only the first call counts. */
  end(error?: string): void;
}

/**
 * Starts a SERVER span continuing the caller's trace (W3C `traceparent` read through `get`), or a
 * new trace when the caller sent none. Undefined while tracing is off: the caller skips its span work.
 */
export function startServerSpan(
  name: string,
  get: TraceContextGetter,
  attributes?: Attributes,
): RequestSpan | undefined {
  if (!active) return undefined;
  const { api, tracer } = active;
  const parent = api.propagation.extract(api.ROOT_CONTEXT, undefined, {
    keys: () => [],
    get: (_carrier, key) => get(key),
  });
  return wrapSpan(api, tracer.startSpan(name, { kind: api.SpanKind.SERVER, attributes }, parent), parent);
}

/**
 * Starts a CLIENT span for an outgoing call made while a traced request is being served; `inject`
 * writes its `traceparent` into the call's metadata. Undefined while tracing is off, and outside a
 * traced request (a timer's background work is not traced: it would start a trace per tick).
 */
export function startClientSpan(
  name: string,
  attributes?: Attributes,
): (RequestSpan & { inject(set: (key: string, value: string) => void): void }) | undefined {
  const child = startChildSpan(name, 'CLIENT', attributes);
  if (!child) return undefined;
  const { api, span, parent } = child;
  const own = api.trace.setSpan(parent, span);
  return {
    ...wrapSpan(api, span, parent),
    inject(set) {
      api.propagation.inject(own, undefined, { set: (_carrier, key, value) => set(key, value) });
    },
  };
}

/**
 * Starts an INTERNAL span for a step of the traced request being served (e.g. the gateway's query
 * planning). Undefined while tracing is off and outside a traced request.
 */
export function startInternalSpan(name: string, attributes?: Attributes): RequestSpan | undefined {
  const child = startChildSpan(name, 'INTERNAL', attributes);
  return child && wrapSpan(child.api, child.span, child.parent);
}

/** A span of `kind` under the active one; undefined while tracing is off or outside any span. */
function startChildSpan(
  name: string,
  kind: 'CLIENT' | 'INTERNAL',
  attributes: Attributes | undefined,
): { api: OpenTelemetryApi; span: Span; parent: Context } | undefined {
  if (!active) return undefined;
  const { api, tracer } = active;
  const parent = api.context.active();
  if (api.trace.getSpan(parent) === undefined) return undefined;
  return { api, parent, span: tracer.startSpan(name, { kind: api.SpanKind[kind], attributes }, parent) };
}

/**
 * The key under which the OpenTelemetry SDK marks a context as not to be traced
 * (`suppressTracing` of `@opentelemetry/core`, which the runtime does not depend on): the API's
 * `createContextKey` is `Symbol.for(description)`, so this is the SDK's own key, and the SDK's
 * tracer answers non-recording spans under it and the W3C propagator injects nothing.
 */
const SUPPRESS_TRACING = 'OpenTelemetry SDK Context Key SUPPRESS_TRACING';

/**
 * Runs `fn` with tracing suppressed: spans started inside (including a library's own, such as
 * @apollo/gateway's `gateway.execute`) are not recorded and no `traceparent` is sent. For work
 * that would otherwise start a new trace each time, e.g. every event of a subscription. Just calls
 * `fn` while tracing is off.
 */
export function runUntraced<T>(fn: () => T): T {
  if (!active) return fn();
  const { api } = active;
  return api.context.with(api.context.active().setValue(api.createContextKey(SUPPRESS_TRACING), true), fn);
}

/** Reads the propagation fields of a request's headers, e.g. a WebSocket upgrade request's. */
export function traceContextOf(headers: IncomingHttpHeaders): TraceContextGetter {
  return (key) => firstHeader(headers, key);
}

/**
 * Writes the active span's `traceparent` (and `tracestate`) with `set`, e.g. into an outgoing
 * request's headers; does nothing while tracing is off or outside any span.
 */
export function injectTraceContext(set: (key: string, value: string) => void): void {
  if (!active) return;
  const { api } = active;
  api.propagation.inject(api.context.active(), undefined, { set: (_carrier, key, value) => set(key, value) });
}

function wrapSpan(api: OpenTelemetryApi, span: Span, parent: Context): RequestSpan {
  let ended = false;
  return {
    run: (fn) => api.context.with(api.trace.setSpan(parent, span), fn),
    setAttribute: (key, value) => void span.setAttribute(key, value),
    end(error) {
      if (ended) return;
      ended = true;
      if (error !== undefined) span.setStatus({ code: api.SpanStatusCode.ERROR, message: error });
      span.end();
    },
  };
}

const UNTRACED_PATHS = new Set(['/health', '/ready', '/metrics']);

/**
 * Serves one HTTP request inside a SERVER span named `<METHOD> <path>` that continues the caller's
 * `traceparent` and ends when the response closes (5xx marks it failed). `serve` runs as is while
 * tracing is off, and for `/health`, `/ready` and `/metrics`.
 */
export function serveInServerSpan(req: IncomingMessage, res: ServerResponse, serve: () => void): void {
  const path = (req.url ?? '/').split('?', 1)[0]!;
  // Probes and scrapes would each start a trace every few seconds.
  if (UNTRACED_PATHS.has(path)) return serve();
  const method = req.method ?? 'GET';
  const span = startServerSpan(`${method} ${path}`, traceContextOf(req.headers), {
    'http.request.method': method,
    'url.path': path,
  });
  if (!span) return serve();
  res.once('close', () => {
    span.setAttribute('http.response.status_code', res.statusCode);
    span.end(res.statusCode >= 500 ? `HTTP ${res.statusCode}` : undefined);
  });
  span.run(serve);
}

/** The name of a document's first operation, without parsing it (comments before it defeat it). */
const OPERATION_NAME = /^\s*(?:query|mutation|subscription)\s+([_A-Za-z]\w*)/;

/**
 * Renames the active server span after the GraphQL operation (`POST /graphql GetRuns`) once the
 * body is read, and records `graphql.operation.name`: the request's `operationName`, else the
 * document's first operation name. Does nothing while tracing is off, or for an anonymous operation.
 */
export function nameServerSpanByOperation(method: string, path: string, body: unknown, search: string): void {
  if (!active) return;
  const request = (body ?? Object.fromEntries(new URLSearchParams(search))) as Record<string, unknown>;
  const { operationName, query } = typeof request === 'object' ? request : {};
  const name =
    typeof operationName === 'string' && operationName !== ''
      ? operationName
      : typeof query === 'string'
        ? OPERATION_NAME.exec(query)?.[1]
        : undefined;
  const span = active.api.trace.getActiveSpan();
  if (!name || !span) return;
  span.updateName(`${method} ${path} ${name}`);
  span.setAttribute('graphql.operation.name', name);
}

function firstHeader(headers: IncomingHttpHeaders, key: string): string | undefined {
  const value = headers[key];
  return Array.isArray(value) ? value[0] : value;
}
