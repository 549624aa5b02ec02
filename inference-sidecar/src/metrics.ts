import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BatchInfo } from './batcher';
import type { DriftMonitor } from './drift-monitor';

/** A serving version whose drift the metrics report. */
export interface DriftSource {
  readonly name: string;
  readonly version: string;
  readonly drift: DriftMonitor | null;
}

/** Prometheus metrics with Triton's names, so existing Triton dashboards read the sidecar. */
export interface SidecarMetrics {
  readonly registry: Registry;
  requestSucceeded(model: string, version: string, durationMicros: number): void;
  requestFailed(model: string, version: string, reason: string): void;
  batchExecuted(model: string, version: string, info: BatchInfo): void;
  pending(model: string, version: string, count: number): void;
  /** One request mirrored to a shadow `version`: answered, failed, or dropped (its queue was full). */
  shadowRequest(model: string, version: string, outcome: 'ok' | 'failed' | 'dropped'): void;
  /** Mean absolute difference between the primary's and the shadow `version`'s first output. */
  shadowAbsDiff(model: string, version: string, meanAbsDiff: number): void;
  /**
   * Reports the drift of every version `serving()` answers at each scrape: the population stability
   * index of each watched column over its window, and the rows in the window. Versions no longer
   * serving disappear from the next scrape.
   */
  watchDrift(serving: () => readonly DriftSource[]): void;
}

/** Interval of the event-loop delay monitor behind `nodejs_eventloop_lag_*`, in ms. */
const EVENT_LOOP_RESOLUTION_MS = 1;

export function createSidecarMetrics(): SidecarMetrics {
  const registry = new Registry();
  // Process metrics too: resident memory, heap, and event-loop delay (nodejs_eventloop_lag_*), which
  // shows whether anything but parsing and queueing ever runs on the gRPC thread. The delay
  // histogram records the time between fires of a repeating timer, so its interval is a floor under
  // every sample: prom-client's 10 ms default made an idle sidecar report a 10–15 ms maximum. At
  // 1 ms, `nodejs_eventloop_lag_max_seconds` is the longest stall plus at most 1 ms.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_RESOLUTION_MS });
  const labelNames = ['model', 'version'] as const;
  const success = new Counter({
    name: 'nv_inference_request_success',
    help: 'Successful inference requests',
    labelNames,
    registers: [registry],
  });
  const failure = new Counter({
    name: 'nv_inference_request_failure',
    help: 'Failed inference requests, by reason',
    labelNames: [...labelNames, 'reason'],
    registers: [registry],
  });
  const inferences = new Counter({
    name: 'nv_inference_count',
    help: 'Inferences performed (rows; a batch of 8 counts 8)',
    labelNames,
    registers: [registry],
  });
  const executions = new Counter({
    name: 'nv_inference_exec_count',
    help: 'Model executions (batches); nv_inference_count / nv_inference_exec_count is the average batch size',
    labelNames,
    registers: [registry],
  });
  const requestDuration = new Counter({
    name: 'nv_inference_request_duration_us',
    help: 'Cumulative end-to-end request time (µs)',
    labelNames,
    registers: [registry],
  });
  const queueDuration = new Counter({
    name: 'nv_inference_queue_duration_us',
    help: 'Cumulative time requests waited in the batcher queue (µs)',
    labelNames,
    registers: [registry],
  });
  const computeDuration = new Counter({
    name: 'nv_inference_compute_infer_duration_us',
    help: 'Cumulative model execution time (µs)',
    labelNames,
    registers: [registry],
  });
  const pendingGauge = new Gauge({
    name: 'nv_inference_pending_request_count',
    help: 'Requests queued in the batcher',
    labelNames,
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'mlops_inference_batch_size',
    help: 'Rows per model execution',
    labelNames,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [registry],
  });
  const shadowRequests = new Counter({
    name: 'mlops_shadow_requests_total',
    help: 'Requests mirrored to a shadow version, by outcome (ok, failed, dropped when its queue was full)',
    labelNames: [...labelNames, 'outcome'],
    registers: [registry],
  });
  const shadowDiff = new Histogram({
    name: 'mlops_shadow_abs_diff',
    help: "Mean absolute difference between the primary's and the shadow's first output tensor",
    labelNames,
    buckets: [0, 1e-6, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
    registers: [registry],
  });
  return {
    registry,
    requestSucceeded(model, version, durationMicros) {
      success.inc({ model, version });
      requestDuration.inc({ model, version }, durationMicros);
    },
    requestFailed(model, version, reason) {
      failure.inc({ model, version, reason });
    },
    batchExecuted(model, version, info) {
      executions.inc({ model, version });
      inferences.inc({ model, version }, info.rows);
      computeDuration.inc({ model, version }, info.executeMicros);
      queueDuration.inc(
        { model, version },
        info.queueMicros.reduce((a, b) => a + b, 0),
      );
      batchSize.observe({ model, version }, info.rows);
    },
    pending(model, version, count) {
      pendingGauge.set({ model, version }, count);
    },
    shadowRequest(model, version, outcome) {
      shadowRequests.inc({ model, version, outcome });
    },
    shadowAbsDiff(model, version, meanAbsDiff) {
      shadowDiff.observe({ model, version }, meanAbsDiff);
    },
    watchDrift(serving) {
      new Gauge({
        name: 'mlops_model_drift_psi',
        help:
          'Population stability index of the rows a version answered (its last 5,000 to 10,000) against ' +
          'its training distribution, per input feature and output column: < 0.1 no shift, 0.1-0.25 ' +
          'moderate, > 0.25 significant',
        labelNames: [...labelNames, 'kind', 'column'],
        registers: [registry],
        collect() {
          this.reset();
          for (const { name: model, version, drift } of serving()) {
            for (const { kind, column, psi } of drift?.scores() ?? [])
              this.set({ model, version, kind, column }, psi);
          }
        },
      });
      new Gauge({
        name: 'mlops_model_drift_window_rows',
        help: 'Rows the drift scores of a version are computed over now',
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          for (const { name: model, version, drift } of serving()) {
            if (drift) this.set({ model, version }, drift.windowRows());
          }
        },
      });
    },
  };
}
