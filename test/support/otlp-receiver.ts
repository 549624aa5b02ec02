import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One span as an OTLP/HTTP JSON export request carried it, flattened with its resource's service. */
export interface ReceivedSpan {
  readonly serviceName: string;
  readonly traceId: string;
  readonly spanId: string;
  /** Empty for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP `SpanKind`: 1 internal, 2 server, 3 client. */
  readonly kind: number;
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** A collector stand-in: a real HTTP server taking OTLP/HTTP JSON trace exports at `/v1/traces`. */
export interface OtlpReceiver {
  /** For `OTEL_EXPORTER_OTLP_ENDPOINT` (the exporter appends `/v1/traces`). */
  readonly url: string;
  /** How many export requests arrived, whatever their path or body. */
  readonly requests: number;
  readonly spans: readonly ReceivedSpan[];
  close(): Promise<void>;
}

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}

interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        attributes?: OtlpAttribute[];
      }[];
    }[];
  }[];
}

function attributesOf(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) attributes[key] = Object.values(value)[0];
  return attributes;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  let requests = 0;
  const spans: ReceivedSpan[] = [];
  const server = http.createServer((req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.headers['content-type']?.startsWith('application/json')) {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport;
        for (const { resource, scopeSpans } of body.resourceSpans ?? []) {
          const serviceName = String(attributesOf(resource?.attributes)['service.name']);
          for (const scope of scopeSpans ?? [])
            for (const span of scope.spans ?? [])
              spans.push({
                serviceName,
                traceId: span.traceId,
                spanId: span.spanId,
                parentSpanId: span.parentSpanId ?? '',
                name: span.name,
                kind: span.kind,
                attributes: attributesOf(span.attributes),
              });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    spans,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** OTLP `SpanKind`s as received. */
export const INTERNAL = 1;
export const SERVER = 2;
export const CLIENT = 3;

/** A W3C trace id / span id, as a caller that starts a trace makes them. */
export const newTraceId = (): string => randomBytes(16).toString('hex');
export const newSpanId = (): string => randomBytes(8).toString('hex');

/** The one span matching every field of `where`; throws, listing the spans, when there is not exactly one. */
export function only(spans: readonly ReceivedSpan[], where: Partial<ReceivedSpan>): ReceivedSpan {
  const matching = spans.filter((span) =>
    Object.entries(where).every(([key, value]) => span[key as keyof ReceivedSpan] === value),
  );
  if (matching.length !== 1) {
    throw new Error(
      `Expected one span like ${JSON.stringify(where)}, found ${matching.length} among:\n` +
        spans.map((s) => `  ${s.serviceName} ${s.name} (kind ${s.kind})`).join('\n'),
    );
  }
  return matching[0]!;
}
