import type http from 'node:http';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RouteHandler } from './http-server';

/** Distinct operation names kept as label values; later ones count as `other` (clients choose names). */
const MAX_OPERATION_NAMES = 200;

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Prometheus metrics every service exposes at `/metrics`: process metrics (memory, event-loop
 * lag), GraphQL operations by name, type and outcome with latency histograms, errors by code, and
 * whatever a service adds to `registry` (the gateway: subgraph fetch latency, active subscriptions).
 */
export interface ServiceMetrics {
  readonly registry: Registry;
  /** Apollo plugin that counts and times every operation and its errors. */
  readonly plugin: ApolloServerPlugin<BaseContext>;
  /** The `/metrics` route. */
  readonly route: RouteHandler;
  /**
   * Counts and times one operation answered without Apollo (the gateway's pass-through), as the
   * plugin does for the rest: `errorCodes` holds the code of each error in the response.
   */
  observeOperation(
    operationName: string | null | undefined,
    operationType: string,
    errorCodes: readonly string[],
    seconds: number,
  ): void;
  /** A histogram of subgraph fetches (gateway). */
  observeFetch(subgraph: string, outcome: 'ok' | 'error', seconds: number): void;
  /** A gauge read at scrape time, e.g. active subscriptions. */
  gauge(name: string, help: string, read: () => number): void;
  /**
   * A counter read at scrape time from a total that only grows, per label value (e.g. plan-cache
   * lookups by `outcome`), so the hot path only bumps a number.
   */
  counter(name: string, help: string, label: string, read: () => Readonly<Record<string, number>>): void;
  /** A histogram in seconds; returns its `observe`. */
  histogram(name: string, help: string, buckets?: readonly number[]): (seconds: number) => void;
}

export function createServiceMetrics(service: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const operations = new Counter({
    name: 'graphql_operations_total',
    help: 'GraphQL operations by name, type and outcome (ok, error)',
    labelNames: ['operation_name', 'operation_type', 'outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'graphql_operation_duration_seconds',
    help: 'Time from receiving an operation to its response',
    labelNames: ['operation_name', 'operation_type'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'graphql_errors_total',
    help: 'Errors in GraphQL responses, by extensions.code',
    labelNames: ['code'],
    registers: [registry],
  });
  const fetches = new Histogram({
    name: 'subgraph_fetch_duration_seconds',
    help: 'Fetches from the gateway to each subgraph, by outcome',
    labelNames: ['subgraph', 'outcome'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const names = new Set<string>();
  const nameLabel = (name: string | null | undefined): string => {
    if (!name) return 'anonymous';
    if (names.has(name)) return name;
    if (names.size >= MAX_OPERATION_NAMES) return 'other';
    names.add(name);
    return name;
  };

  const observeOperation: ServiceMetrics['observeOperation'] = (operationName, type, codes, seconds) => {
    const name = nameLabel(operationName);
    for (const code of codes) errors.inc({ code });
    operations.inc({
      operation_name: name,
      operation_type: type,
      outcome: codes.length > 0 ? 'error' : 'ok',
    });
    duration.observe({ operation_name: name, operation_type: type }, seconds);
  };

  const plugin: ApolloServerPlugin<BaseContext> = {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ operationName, operation, response, errors: requestErrors }) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const body = response.body.kind === 'single' ? response.body.singleResult : undefined;
          const failures = body?.errors ?? requestErrors ?? [];
          const codes = failures.map((error) => String(error.extensions?.code ?? 'UNKNOWN'));
          observeOperation(operationName, operation?.operation ?? 'unknown', codes, seconds);
        },
      };
    },
  };

  return {
    registry,
    plugin,
    async route(req: http.IncomingMessage, res: http.ServerResponse) {
      if (req.method !== 'GET') {
        res.writeHead(405, { allow: 'GET' }).end();
        return;
      }
      const text = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType }).end(text);
    },
    observeOperation,
    observeFetch(subgraph, outcome, seconds) {
      fetches.observe({ subgraph, outcome }, seconds);
    },
    gauge(name, help, read) {
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read());
        },
      });
    },
    counter(name, help, label, read) {
      const reported = new Map<string, number>();
      new Counter({
        name,
        help,
        labelNames: [label],
        registers: [registry],
        collect() {
          for (const [value, total] of Object.entries(read())) {
            // Every label value is exported from the first scrape on, at 0 until it happens.
            this.inc({ [label]: value }, Math.max(0, total - (reported.get(value) ?? 0)));
            reported.set(value, total);
          }
        },
      });
    },
    histogram(name, help, buckets = LATENCY_BUCKETS) {
      const histogram = new Histogram({ name, help, buckets: [...buckets], registers: [registry] });
      return (seconds) => histogram.observe(seconds);
    },
  };
}
