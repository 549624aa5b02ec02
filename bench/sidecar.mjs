// @ts-check
// Inference sidecar throughput and latency: a closed-loop gRPC load generator against the built
// sidecar and a no-op grpc-js server, each in its own process on loopback, plus ONNX Runtime
// called directly in this process as the compute limit. The load comes from h2load (native,
// `bench/sidecar-h2load.mjs`) when it is installed (Debian: `nghttp2-client`), else from forked
// grpc-js load-generator processes (`bench/sidecar-load.mjs`); BENCH_GENERATOR=node|h2load forces one.
// Needs `npm run build` first. Knobs: BENCH_SECONDS (4), BENCH_WARMUP_SECONDS (1),
// BENCH_LOAD_WORKERS (1), BENCH_CHANNELS (4 gRPC channels per worker), and to run a subset of the
// cells: BENCH_TARGETS (noop,off,on), BENCH_CONCURRENCY (1,8,64,256), BENCH_MODELS
// (stock-predictor,stock-heavy), BENCH_ORT (1; 0 skips the in-process ONNX Runtime table). Targets
// whose cells were not run are left out of the verdicts.
import { fork } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { grpcFrame, h2loadAvailable, runH2load } from './sidecar-h2load.mjs';
import { checkAnswer, newClient, requestFor } from './sidecar-load.mjs';
import {
  SHIPPED_MODELS,
  SIDECAR_NODE_FLAGS,
  modelRepository,
  startNoopProcess,
  startSidecarProcess,
} from './sidecar-servers.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const LOAD_WORKERS = Number(process.env.BENCH_LOAD_WORKERS ?? 1);
const CHANNELS = Number(process.env.BENCH_CHANNELS ?? 4);
const TINY = 'stock-predictor';
const HEAVY = 'stock-heavy';
const listEnv = (/** @type {string} */ name, /** @type {string} */ fallback) =>
  (process.env[name] ?? fallback)
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
const CONCURRENCY = listEnv('BENCH_CONCURRENCY', '1,8,64,256').map(Number);
const TARGETS = new Set(listEnv('BENCH_TARGETS', 'noop,off,on'));
const BENCH_MODELS = listEnv('BENCH_MODELS', `${TINY},${HEAVY}`);
const RUN_ORT = process.env.BENCH_ORT !== '0';
/**
 * `node`: forked grpc-js load-generator processes (always available). `h2load`: the native
 * generator of `bench/sidecar-h2load.mjs`. `auto` (default): h2load when it is on the PATH.
 */
const GENERATOR_SETTING = process.env.BENCH_GENERATOR ?? 'auto';
if (!['auto', 'node', 'h2load'].includes(GENERATOR_SETTING))
  throw new Error(`BENCH_GENERATOR must be auto, node or h2load; got ${GENERATOR_SETTING}`);
const GENERATOR = GENERATOR_SETTING === 'auto' ? (h2loadAvailable() ? 'h2load' : 'node') : GENERATOR_SETTING;
const ORT_BATCHES = [1, 8, 64];
/**
 * The load generator's own young-generation collections land in the latencies it records; a larger
 * semi-space makes them rarer (it is the generator's heap, not the server's).
 */
const LOAD_WORKER_FLAGS = ['--max-semi-space-size=64'];
const LOAD_WORKER = fileURLToPath(new URL('./sidecar-load.mjs', import.meta.url));

/** Batching on: each model's shipped config.json (null keeps it). Batching off: those knobs with no batch. */
const BATCHING_ON = null;
const BATCHING_OFF = {
  maxBatchSize: 0,
  preferredBatchSizes: [],
  maxQueueDelayMicros: 0,
  maxQueueSize: 1024,
  instances: 1,
  intraOpThreads: 1,
};

/**
 * @typedef {{ target: string; model: string; concurrency: number; rps: number; rowsPerSecond: number;
 *   p50: number; p99: number; avgBatch: number | undefined; errors: number; loopMaxMs?: number }} Cell
 */

/** Sums a Triton counter's samples for one model from a Prometheus text exposition. */
function counter(/** @type {string} */ text, /** @type {string} */ name, /** @type {string} */ model) {
  let sum = 0;
  for (const match of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm')))
    if (match[1].includes(`model="${model}"`)) sum += Number(match[2]);
  return sum;
}

async function batchCounters(/** @type {string | undefined} */ metricsUrl, /** @type {string} */ model) {
  if (!metricsUrl) return undefined;
  const text = await (await fetch(metricsUrl)).text();
  // prom-client resets its event-loop delay histogram at every scrape, so the scrape at the end of
  // a window reports the largest delay within it.
  const loopMax = /^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text);
  return {
    rows: counter(text, 'nv_inference_count', model),
    executions: counter(text, 'nv_inference_exec_count', model),
    failures: counter(text, 'nv_inference_request_failure', model),
    loopMaxMs: loopMax ? Number(loopMax[1]) * 1000 : undefined,
  };
}

/** Resolves with the next IPC message of a given kind; rejects on a worker failure or exit. */
function nextMessage(
  /** @type {import('node:child_process').ChildProcess} */ worker,
  /** @type {string} */ kind,
) {
  return new Promise((resolve, reject) => {
    const onExit = (/** @type {number | null} */ code) => reject(new Error(`load worker exited (${code})`));
    worker.once('exit', onExit);
    worker.once('message', (/** @type {any} */ message) => {
      worker.off('exit', onExit);
      if (message.kind === kind) resolve(message);
      else reject(new Error(message.message ?? `load worker sent ${message.kind}, expected ${kind}`));
    });
  });
}

const percentile = (/** @type {Float64Array} */ sorted, /** @type {number} */ p) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const sleepUntil = (/** @type {number} */ wallMs) =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, wallMs - Date.now())));

/**
 * Starts closed-loop load with the node generator: C virtual clients split over forked load
 * workers. Resolves once they are connected and checked; `done` settles after the measured window.
 */
async function startNodeLoad(
  /** @type {string} */ address,
  /** @type {string} */ model,
  /** @type {number} */ concurrency,
) {
  const shares = Array.from(
    { length: LOAD_WORKERS },
    (_, i) => Math.floor(concurrency / LOAD_WORKERS) + (i < concurrency % LOAD_WORKERS ? 1 : 0),
  ).filter((share) => share > 0);
  const workers = shares.map(() =>
    fork(LOAD_WORKER, [], { execArgv: LOAD_WORKER_FLAGS, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  const stop = () => {
    for (const worker of workers) if (worker.exitCode === null) worker.kill();
  };
  try {
    await Promise.all(
      workers.map((worker, i) => {
        const prepared = nextMessage(worker, 'prepared');
        worker.send({
          kind: 'prepare',
          address,
          model,
          rows: 1,
          concurrency: shares[i],
          channels: Math.min(CHANNELS, shares[i]),
        });
        return prepared;
      }),
    );
  } catch (error) {
    stop();
    throw error;
  }
  const startAt = Date.now() + WARMUP_SECONDS * 1000;
  const endAt = startAt + SECONDS * 1000;
  const done = Promise.all(
    workers.map((worker) => {
      const result = nextMessage(worker, 'done');
      worker.send({ kind: 'run', startAt, endAt });
      return result;
    }),
  ).then((/** @type {{ latencies: number[]; errors: number }[]} */ results) => ({
    latencies: results.flatMap((result) => result.latencies),
    errors: results.reduce((sum, result) => sum + result.errors, 0),
  }));
  return { startAt, endAt, done, stop };
}

/** Starts closed-loop load with h2load, after checking one answer with a grpc-js client. */
async function startH2load(
  /** @type {string} */ address,
  /** @type {string} */ model,
  /** @type {number} */ concurrency,
) {
  const encoded = requestFor(model, 1);
  const client = newClient(address);
  try {
    await checkAnswer(client, encoded, 1);
  } finally {
    client.close();
  }
  const startAt = Date.now() + WARMUP_SECONDS * 1000;
  const endAt = startAt + SECONDS * 1000;
  const done = runH2load({
    address,
    frame: grpcFrame(encoded.request),
    concurrency,
    channels: CHANNELS,
    warmupSeconds: WARMUP_SECONDS,
    seconds: SECONDS,
  });
  return { startAt, endAt, done, stop: () => undefined };
}

/**
 * One cell: C virtual clients, warm-up, then a measured window whose batch counters are read from
 * the server's /metrics at its edges.
 * @param {{ grpcAddress: string; metricsUrl: string | undefined }} server
 */
async function measure(target, server, model, concurrency) {
  const load = await (GENERATOR === 'h2load' ? startH2load : startNodeLoad)(
    server.grpcAddress,
    model,
    concurrency,
  );
  try {
    await sleepUntil(load.startAt);
    const before = await batchCounters(server.metricsUrl, model);
    await sleepUntil(load.endAt);
    const after = await batchCounters(server.metricsUrl, model);
    const result = await load.done;
    const latencies = Float64Array.from(result.latencies).sort();
    const rps = latencies.length / SECONDS;
    return /** @type {Cell} */ ({
      target,
      model,
      concurrency,
      rps,
      rowsPerSecond: rps, // one row per request
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      avgBatch:
        before && after && after.executions > before.executions
          ? (after.rows - before.rows) / (after.executions - before.executions)
          : undefined,
      // h2load sees no gRPC status, so failures the sidecar answered count from its own /metrics.
      errors: result.errors + (before && after ? after.failures - before.failures : 0),
      loopMaxMs: after?.loopMaxMs,
    });
  } finally {
    load.stop();
  }
}

/** Runs every concurrency level against one server. */
async function sweep(target, server, model) {
  /** @type {Cell[]} */
  const cells = [];
  for (const concurrency of CONCURRENCY) {
    const cell = await measure(target, server, model, concurrency);
    console.error(`  ${target} ${model} C=${concurrency}: ${Math.round(cell.rps)} req/s`);
    cells.push(cell);
  }
  return cells;
}

/** Sidecar process on a repository with the given batching knobs; both models loaded. */
async function sweepSidecar(
  /** @type {string} */ label,
  /** @type {Record<string, unknown> | null} */ config,
) {
  const repository = await modelRepository(config);
  try {
    const server = await startSidecarProcess(repository.dir);
    try {
      const cells = [];
      for (const model of BENCH_MODELS) cells.push(...(await sweep(label, server, model)));
      return cells;
    } finally {
      await server.close();
    }
  } finally {
    await repository.remove();
  }
}

/** ONNX Runtime InferenceSession.run in this process, one thread, as the sidecar configures it. */
async function ortRate(/** @type {string} */ model, /** @type {number} */ batch) {
  const session = await ort.InferenceSession.create(path.join(SHIPPED_MODELS, model, '1', 'model.onnx'), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const data = Float32Array.from({ length: batch * 20 }, (_, i) => Math.sin(i) / 20);
  const feeds = { features: new ort.Tensor('float32', data, [batch, 20]) };
  for (let i = 0; i < 20; i++) await session.run(feeds);
  let runs = 0;
  const started = performance.now();
  while (performance.now() - started < 1000) {
    await session.run(feeds);
    runs += 1;
  }
  const seconds = (performance.now() - started) / 1000;
  await session.release();
  return {
    model,
    batch,
    runsPerSecond: runs / seconds,
    rowsPerSecond: (runs * batch) / seconds,
    msPerRun: (seconds * 1000) / runs,
  };
}

const fmt = (/** @type {number} */ n, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (/** @type {number} */ n) => (n < 10 ? fmt(n, 2) : fmt(n, 1));
const ratio = (/** @type {number} */ n) => `${fmt(n, 2)}×`;

/** @param {string[]} header @param {(string | number)[][]} rows */
function table(header, rows) {
  const lines = [header, header.map(() => '---'), ...rows.map((row) => row.map(String))];
  return lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

async function main() {
  const benchStarted = Date.now();
  console.error(
    `sidecar bench: ${SECONDS} s + ${WARMUP_SECONDS} s warm-up per cell, ${GENERATOR} load generator`,
  );
  /** @type {Cell[]} */
  const cells = [];
  if (TARGETS.has('noop')) {
    const noop = await startNoopProcess();
    try {
      cells.push(...(await sweep('no-op grpc-js', noop, TINY)));
    } finally {
      await noop.close();
    }
  }
  if (TARGETS.has('off')) cells.push(...(await sweepSidecar('sidecar, batching off', BATCHING_OFF)));
  if (TARGETS.has('on')) cells.push(...(await sweepSidecar('sidecar, batching on', BATCHING_ON)));
  const ortRates = [];
  if (RUN_ORT)
    for (const model of [TINY, HEAVY])
      for (const batch of ORT_BATCHES) ortRates.push(await ortRate(model, batch));

  const noopAt = (/** @type {number} */ c) =>
    cells.find((x) => x.target === 'no-op grpc-js' && x.concurrency === c);
  const find = (/** @type {string} */ target, /** @type {string} */ model, /** @type {number} */ c) =>
    cells.find((x) => x.target === target && x.model === model && x.concurrency === c);

  console.log(
    `Closed loop, one row per request (raw_input_contents), ${SECONDS} s measured after ${WARMUP_SECONDS} s warm-up per cell; ` +
      (GENERATOR === 'h2load'
        ? `load from h2load (native, pre-encoded gRPC frames), ${CHANNELS} connections;`
        : `${LOAD_WORKERS} grpc-js load-generator process(es) × ${CHANNELS} channels, a fresh one per cell;`) +
      ` sidecar and no-op server run with \`node ${SIDECAR_NODE_FLAGS.join(' ')}\`;` +
      ` ${os.cpus().length} CPUs, Node ${process.version}; load average ${os
        .loadavg()
        .map((n) => n.toFixed(1))
        .join(' ')} at the end.\n`,
  );
  console.log(
    table(
      [
        'target',
        'model',
        'clients',
        'req/s',
        'rows/s',
        'p50 ms',
        'p99 ms',
        'avg batch',
        'vs no-op req/s',
        'loop delay max ms',
        'errors',
      ],
      cells.map((cell) => {
        const noop = noopAt(cell.concurrency);
        return [
          cell.target,
          cell.model,
          cell.concurrency,
          fmt(cell.rps),
          fmt(cell.rowsPerSecond),
          ms(cell.p50),
          ms(cell.p99),
          cell.avgBatch === undefined ? '–' : fmt(cell.avgBatch, 1),
          noop ? ratio(cell.rps / noop.rps) : '–',
          cell.loopMaxMs === undefined ? '–' : ms(cell.loopMaxMs),
          cell.errors,
        ];
      }),
    ),
  );
  if (ortRates.length > 0) {
    console.log('\nONNX Runtime in process (InferenceSession.run, 1 intra-op thread) — the compute limit:\n');
    console.log(
      table(
        ['model', 'batch', 'runs/s', 'rows/s', 'ms/run'],
        ortRates.map((r) => [r.model, r.batch, fmt(r.runsPerSecond), fmt(r.rowsPerSecond), ms(r.msPerRun)]),
      ),
    );
  }

  const verdict = (/** @type {boolean} */ ok) => (ok ? 'met' : 'missed');
  /** @type {(string | number)[][]} */
  const checks = [];
  for (const [target, label] of [
    ['sidecar, batching on', 'batching on'],
    ['sidecar, batching off', 'batching off'],
  ]) {
    const c1 = find(target, TINY, 1);
    if (!c1) continue;
    checks.push([`tiny, 1 client, ${label}: p50`, `${ms(c1.p50)} ms`, '≤ 0.5 ms', verdict(c1.p50 <= 0.5)]);
    checks.push([`tiny, 1 client, ${label}: p99`, `${ms(c1.p99)} ms`, '≤ 1 ms', verdict(c1.p99 <= 1)]);
  }
  const tinyC64 = find('sidecar, batching on', TINY, 64);
  const noop64 = noopAt(64);
  if (tinyC64 && noop64)
    checks.push([
      'tiny, 64 clients: sidecar (batching on) req/s ÷ no-op req/s',
      ratio(tinyC64.rps / noop64.rps),
      '≥ 0.8×',
      verdict(tinyC64.rps / noop64.rps >= 0.8),
    ]);
  const heavyCells = (/** @type {string} */ target) =>
    cells.filter((x) => x.target === target && x.model === HEAVY).map((x) => x.rowsPerSecond);
  const heavyOnRows = heavyCells('sidecar, batching on');
  const heavyOffRows = heavyCells('sidecar, batching off');
  const heavyOrt64 = ortRates.find((r) => r.model === HEAVY && r.batch === 64);
  if (heavyOnRows.length > 0 && heavyOffRows.length > 0) {
    const heavyOn = Math.max(...heavyOnRows);
    const heavyOff = Math.max(...heavyOffRows);
    checks.push([
      'heavy: best rows/s batching on ÷ batching off',
      `${ratio(heavyOn / heavyOff)} (${fmt(heavyOn)} ÷ ${fmt(heavyOff)})`,
      '≥ 3×',
      verdict(heavyOn / heavyOff >= 3),
    ]);
    if (heavyOrt64)
      checks.push([
        'heavy: best rows/s batching on ÷ in-process ORT at batch 64',
        ratio(heavyOn / heavyOrt64.rowsPerSecond),
        '(information)',
        '–',
      ]);
  }
  const loopMaxima = cells.flatMap((c) =>
    c.target.startsWith('sidecar') && c.loopMaxMs !== undefined ? [c.loopMaxMs] : [],
  );
  if (loopMaxima.length > 0) {
    const loopMax = Math.max(...loopMaxima);
    checks.push([
      'event-loop delay in the sidecar, max over its cells',
      `${ms(loopMax)} ms`,
      '≤ 5 ms',
      verdict(loopMax <= 5),
    ]);
  }
  console.log('\nTargets:\n');
  console.log(table(['check', 'measured', 'target', 'result'], checks));
  console.log(
    "\nLoop delay is each server's own `nodejs_eventloop_lag_max_seconds` over the measured window " +
      '(a 1 ms monitor, so it includes up to 1 ms of timer interval); the no-op server reports it the same way.',
  );
  console.error(`total ${Math.round((Date.now() - benchStarted) / 1000)} s`);
}

await main();
