// @ts-check
// Memory of the inference sidecar over a million requests: a real sidecar process (the built
// `inference-sidecar/dist/main.js`) answers a closed loop of mixed good and bad ModelInfer
// requests, and its heap and resident set are read from its own /metrics as the requests go by.
// Every request kind must get its expected gRPC status, and the verdict is "flat" when memory at
// the end is within a margin of memory after warm-up.
//
// It exits with code 1 unless memory is flat and every status was as expected. With grpc-js 1.14.7
// it is not flat: every message over the receive limit leaks in grpc-js itself (bench/RESULTS.md,
// "Memory over a million requests"); BENCH_MEMORY_KINDS can leave that kind out.
// Needs `npm run build` first (`npm run bench:sidecar-memory` does both). Knobs:
// BENCH_MEMORY_REQUESTS (1,000,000), BENCH_MEMORY_WARMUP (20,000), BENCH_MEMORY_CONCURRENCY (64),
// BENCH_MEMORY_SAMPLES (10 report lines). The CI version is inference-sidecar/test/sidecar-memory.test.ts.
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { modelRepository, startSidecarProcess } from './sidecar-servers.mjs';

const REQUESTS = Number(process.env.BENCH_MEMORY_REQUESTS ?? 1_000_000);
const WARMUP = Number(process.env.BENCH_MEMORY_WARMUP ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_MEMORY_CONCURRENCY ?? 64);
const REPORTS = Number(process.env.BENCH_MEMORY_SAMPLES ?? 10);
const CHANNELS = 4;
/** Small enough that an oversize request is cheap to send; every good request is far below it. */
const MAX_MESSAGE_BYTES = 64 * 1024;
/** Flat means: the heap floor grew by less than this, and the resident set by less than RSS_MARGIN. */
const HEAP_MARGIN_BYTES = 16 * 1024 * 1024;
const RSS_MARGIN = 0.15;
const MODEL = 'stock-predictor';
const METHOD = '/inference.GRPCInferenceService/ModelInfer';
const PROTO = fileURLToPath(new URL('../schema/proto/grpc_predict_v2.proto', import.meta.url));
const { status } = grpc;

const row = (/** @type {number} */ rows) =>
  Buffer.from(Float32Array.from({ length: rows * 20 }, (_, i) => Math.sin(i) / 20).buffer);
const features = (/** @type {number} */ rows, datatype = 'FP32', name = 'features') => ({
  name,
  datatype,
  shape: [rows, 20],
});

/**
 * The request kinds, each with its weight in the mix and the status it must get. About half the
 * requests are good; the others are wrong in one way each.
 * @type {{ name: string; weight: number; expect: number; message: Record<string, unknown> }[]}
 */
const KINDS = [
  {
    name: 'good, raw, 1 row',
    weight: 6,
    expect: status.OK,
    message: { model_name: MODEL, inputs: [features(1)], raw_input_contents: [row(1)] },
  },
  {
    name: 'good, raw, 4 rows, pinned version, one requested output',
    weight: 2,
    expect: status.OK,
    message: {
      model_name: MODEL,
      model_version: '1',
      inputs: [features(4)],
      outputs: [{ name: 'predicted_return' }],
      raw_input_contents: [row(4)],
    },
  },
  {
    name: 'good, typed contents',
    weight: 2,
    expect: status.OK,
    message: {
      model_name: MODEL,
      inputs: [{ ...features(1), contents: { fp32_contents: Array.from(new Float32Array(row(1).buffer)) } }],
    },
  },
  {
    name: 'unknown model',
    weight: 1,
    expect: status.NOT_FOUND,
    message: { model_name: 'no-such-model', inputs: [features(1)], raw_input_contents: [row(1)] },
  },
  {
    name: 'unknown version',
    weight: 1,
    expect: status.NOT_FOUND,
    message: { model_name: MODEL, model_version: '99', inputs: [features(1)], raw_input_contents: [row(1)] },
  },
  {
    name: 'wrong tensor name',
    weight: 1,
    expect: status.INVALID_ARGUMENT,
    message: { model_name: MODEL, inputs: [features(1, 'FP32', 'wrong')], raw_input_contents: [row(1)] },
  },
  {
    name: 'wrong shape',
    weight: 1,
    expect: status.INVALID_ARGUMENT,
    message: {
      model_name: MODEL,
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 19] }],
      raw_input_contents: [row(1).subarray(0, 76)],
    },
  },
  {
    name: 'wrong datatype',
    weight: 1,
    expect: status.INVALID_ARGUMENT,
    message: { model_name: MODEL, inputs: [features(1, 'FP64')], raw_input_contents: [row(2)] },
  },
  {
    name: 'wrong byte length',
    weight: 1,
    expect: status.INVALID_ARGUMENT,
    message: { model_name: MODEL, inputs: [features(1)], raw_input_contents: [row(1).subarray(3)] },
  },
  {
    name: 'mixed encodings',
    weight: 1,
    expect: status.INVALID_ARGUMENT,
    message: {
      model_name: MODEL,
      inputs: [{ ...features(1), contents: { fp32_contents: [1, 2, 3] } }],
      raw_input_contents: [row(1)],
    },
  },
  {
    name: 'unknown requested output',
    weight: 1,
    expect: status.INVALID_ARGUMENT,
    message: {
      model_name: MODEL,
      inputs: [features(1)],
      outputs: [{ name: 'nope' }],
      raw_input_contents: [row(1)],
    },
  },
  {
    name: 'oversize tensor shape',
    weight: 1,
    expect: status.RESOURCE_EXHAUSTED,
    message: {
      model_name: MODEL,
      inputs: [{ name: 'features', datatype: 'FP32', shape: ['100000000', '20'] }],
      raw_input_contents: [row(1)],
    },
  },
  {
    name: 'oversize message',
    weight: 1,
    expect: status.RESOURCE_EXHAUSTED,
    message: {
      model_name: MODEL,
      inputs: [features(1200)],
      raw_input_contents: [row(1200)],
    },
  },
];

/** BENCH_MEMORY_KINDS: only the kinds whose names contain one of these comma-separated words. */
const ONLY = process.env.BENCH_MEMORY_KINDS?.split(',').filter(Boolean);
const chosen = (/** @type {{ name: string }} */ kind) =>
  !ONLY || ONLY.some((word) => kind.name.includes(word));

/** Kind index for request i: a fixed interleaving of the weights, so every window sees the same mix. */
const SCHEDULE = KINDS.flatMap((kind, index) =>
  chosen(kind) ? Array.from({ length: kind.weight }, () => index) : [],
);
const scheduleOrder = SCHEDULE.map((_, i) => SCHEDULE[(i * 7) % SCHEDULE.length]);

/** Sums one gauge/counter (all label sets) from a Prometheus text exposition. */
function metric(/** @type {string} */ text, /** @type {string} */ name) {
  let sum = 0;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm')))
    sum += Number(match[1]);
  return sum;
}

const mib = (/** @type {number} */ bytes) => (bytes / 1024 / 1024).toFixed(1);
const median = (/** @type {number[]} */ values) =>
  [...values].sort((a, b) => a - b)[values.length >> 1] ?? NaN;

async function main() {
  const definition = protoLoader.loadSync(PROTO, { keepCase: true, longs: String });
  const method = /** @type {any} */ (definition['inference.GRPCInferenceService']).ModelInfer;
  const encoded = KINDS.map((kind) => /** @type {Buffer} */ (method.requestSerialize(kind.message)));
  if (encoded.at(-1)?.length <= MAX_MESSAGE_BYTES) throw new Error('the oversize request is not oversize');

  const repository = await modelRepository(null);
  const server = await startSidecarProcess(repository.dir, {
    models: [MODEL],
    env: { SIDECAR_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES) },
  });
  const clients = Array.from(
    { length: CHANNELS },
    () =>
      new grpc.Client(server.grpcAddress, grpc.credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
        'grpc.max_send_message_length': -1,
      }),
  );
  const identity = (/** @type {Buffer} */ bytes) => bytes;
  /** Per kind: answers by status code. */
  const tally = KINDS.map(() => new Map());
  let unexpected = 0;
  /** @type {string[]} */
  const surprises = [];

  /** Sends requests [from, to) closed loop; calls `onProgress(done)` after every answer. */
  function drive(
    /** @type {number} */ from,
    /** @type {number} */ to,
    /** @type {(done: number) => void} */ onProgress,
  ) {
    let next = from;
    let done = from;
    return new Promise((resolve) => {
      let running = 0;
      const send = (/** @type {grpc.Client} */ client) => {
        if (next >= to) {
          running -= 1;
          if (running === 0) resolve(undefined);
          return;
        }
        const kindIndex = /** @type {number} */ (scheduleOrder[next % scheduleOrder.length]);
        next += 1;
        client.makeUnaryRequest(METHOD, identity, identity, encoded[kindIndex], (error) => {
          const code = error ? error.code : status.OK;
          const counts = tally[kindIndex];
          counts.set(code, (counts.get(code) ?? 0) + 1);
          if (code !== KINDS[kindIndex]?.expect) {
            unexpected += 1;
            if (surprises.length < 5)
              surprises.push(`${KINDS[kindIndex]?.name}: ${status[code]} ${error?.details ?? ''}`);
          }
          done += 1;
          onProgress(done);
          send(client);
        });
      };
      for (let i = 0; i < CONCURRENCY; i++) {
        running += 1;
        send(/** @type {grpc.Client} */ (clients[i % clients.length]));
      }
    });
  }

  /** Heap and RSS read from the sidecar's /metrics every 250 ms; each report keeps its window's floor. */
  /** @type {{ heap: number; rss: number }[]} */
  let window = [];
  const sampler = setInterval(() => {
    fetch(/** @type {string} */ (server.metricsUrl))
      .then((response) => response.text())
      .then((text) =>
        window.push({
          heap: metric(text, 'nodejs_heap_size_used_bytes'),
          rss: metric(text, 'process_resident_memory_bytes'),
        }),
      )
      .catch(() => undefined);
  }, 250);
  /** @type {{ requests: number; seconds: number; heapFloor: number; heapMax: number; rss: number }[]} */
  const reports = [];
  const started = Date.now();
  const report = (/** @type {number} */ requests) => {
    const heaps = window.map((s) => s.heap);
    const entry = {
      requests,
      seconds: (Date.now() - started) / 1000,
      heapFloor: Math.min(...heaps),
      heapMax: Math.max(...heaps),
      rss: median(window.map((s) => s.rss)),
    };
    window = [];
    reports.push(entry);
    console.error(
      `  ${requests.toLocaleString('en-US')} requests, ${entry.seconds.toFixed(0)} s: heap ${mib(entry.heapFloor)}–${mib(entry.heapMax)} MiB, RSS ${mib(entry.rss)} MiB`,
    );
  };

  try {
    console.error(
      `sidecar memory bench: ${REQUESTS.toLocaleString('en-US')} requests after ${WARMUP.toLocaleString('en-US')} warm-up, ${CONCURRENCY} in flight, ${KINDS.filter(chosen).length} request kinds`,
    );
    await drive(0, WARMUP, () => undefined);
    window = [];
    const step = Math.ceil(REQUESTS / REPORTS);
    let nextReport = step;
    await drive(WARMUP, WARMUP + REQUESTS, (done) => {
      const measured = done - WARMUP;
      // Reports fire from the sampler's data; the last one comes after the loop.
      if (measured >= nextReport && measured < REQUESTS && window.length > 0) {
        report(measured);
        nextReport += step;
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 600)); // one more sample of the end state
    report(REQUESTS);
  } finally {
    clearInterval(sampler);
    for (const client of clients) client.close();
    await server.close();
    await repository.remove();
  }

  const seconds = (Date.now() - started) / 1000;
  const first = /** @type {(typeof reports)[number]} */ (reports[0]);
  const last = /** @type {(typeof reports)[number]} */ (reports.at(-1));
  const heapGrowth = last.heapFloor - first.heapFloor;
  const rssGrowth = (last.rss - first.rss) / first.rss;
  const flat = heapGrowth < HEAP_MARGIN_BYTES && rssGrowth < RSS_MARGIN;
  const fmt = (/** @type {number} */ n) => n.toLocaleString('en-US');

  console.log(
    `Memory of one sidecar process (stock-predictor, shipped config) over ${fmt(REQUESTS)} ModelInfer ` +
      `requests after ${fmt(WARMUP)} of warm-up; ${CONCURRENCY} in flight over ${CHANNELS} channels; ` +
      `${KINDS.filter(chosen).length} request kinds; ${fmt(Math.round(REQUESTS / seconds))} req/s; ${os.cpus().length} CPUs, Node ${process.version}.\n`,
  );
  console.log('| requests | heap used, floor–max (MiB) | RSS (MiB) |');
  console.log('| --- | --- | --- |');
  for (const r of reports)
    console.log(`| ${fmt(r.requests)} | ${mib(r.heapFloor)}–${mib(r.heapMax)} | ${mib(r.rss)} |`);
  console.log('\n| request kind | share | expected | answers |');
  console.log('| --- | --- | --- | --- |');
  KINDS.forEach((kind, index) => {
    if (!chosen(kind)) return;
    const answers = [...tally[index]].map(([code, n]) => `${status[code]} ${fmt(n)}`).join(', ');
    console.log(`| ${kind.name} | ${kind.weight}/${SCHEDULE.length} | ${status[kind.expect]} | ${answers} |`);
  });
  console.log(
    `\nHeap floor ${mib(first.heapFloor)} → ${mib(last.heapFloor)} MiB (${heapGrowth >= 0 ? '+' : ''}${mib(heapGrowth)}; margin ${mib(HEAP_MARGIN_BYTES)}), ` +
      `RSS ${mib(first.rss)} → ${mib(last.rss)} MiB (${(rssGrowth * 100).toFixed(1)}%; margin ${RSS_MARGIN * 100}%); ` +
      `unexpected statuses: ${fmt(unexpected)}.`,
  );
  for (const surprise of surprises) console.log(`  unexpected: ${surprise}`);
  console.log(
    `Verdict: ${flat && unexpected === 0 ? 'flat' : flat ? 'flat, but with unexpected statuses' : 'GROWING'}`,
  );
  if (!flat || unexpected > 0) process.exitCode = 1;
}

await main();
