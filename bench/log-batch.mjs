// @ts-check
// logBatch of 1000 metrics per call through the gateway over HTTP: metrics written per second, with
// BENCH_CLIENTS concurrent writers (default 4, one run each) sending BENCH_BATCHES calls each
// (default 50). Target on PostgreSQL: ≥ 50,000 metrics/s. Run with `npm run bench:log-batch`.
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { freshPostgres, gql, machine, percentile, startStack } from './stack.mjs';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 50);
const TARGET = 50_000;

const LOG_BATCH = `mutation($input: LogBatchInput!) { logBatch(input: $input) { id } }`;

function batch(runId, index) {
  const metrics = [];
  for (let i = 0; i < 1000; i++) {
    metrics.push({
      key: `metric_${i % 10}`,
      value: Math.random(),
      step: index * 100 + Math.floor(i / 10),
      timestamp: new Date(1_700_000_000_000 + index * 1000 + i).toISOString(),
    });
  }
  return { runId, metrics };
}

async function measure(label, database, target) {
  const stack = await startStack(database);
  try {
    const url = target === 'gateway' ? stack.gatewayUrl : stack.subgraphUrl;
    // Writes take a writer: a data scientist's token at the gateway, its signed identity direct.
    const write = (query, variables) => gql(url, query, variables, stack.headersFor(url));
    const { createExperiment } = await write(
      `mutation { createExperiment(input: { name: "bench" }) { id } }`,
    );
    const runs = [];
    for (let c = 0; c < CLIENTS; c++) {
      const data = await write(`mutation($e: ID!) { createRun(input: { experimentId: $e }) { id } }`, {
        e: createExperiment.id,
      });
      runs.push(data.createRun.id);
    }
    // Warm-up: connection pools, plan caches, JIT.
    await Promise.all(runs.map((runId) => write(LOG_BATCH, { input: batch(runId, 0) })));
    const latencies = [];
    const start = performance.now();
    await Promise.all(
      runs.map(async (runId) => {
        for (let b = 1; b <= BATCHES; b++) {
          const input = batch(runId, b);
          const t = performance.now();
          await write(LOG_BATCH, { input });
          latencies.push(performance.now() - t);
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    latencies.sort((a, b) => a - b);
    const rate = (CLIENTS * BATCHES * 1000) / seconds;
    console.log(
      `| ${label} | ${target} | ${CLIENTS} | ${Math.round(rate).toLocaleString('en-US')} | ${percentile(latencies, 50).toFixed(1)} | ${percentile(latencies, 95).toFixed(1)} | ${(rate / TARGET).toFixed(2)}× |`,
    );
  } finally {
    await stack.close();
  }
}

async function main() {
  console.log(`machine: ${machine()}; ${CLIENTS} clients × ${BATCHES} batches × 1000 metrics\n`);
  console.log('| backend | via | clients | metrics/s | call p50 ms | call p95 ms | vs 50,000/s target |');
  console.log('|---|---|---|---|---|---|---|');
  for (const target of ['gateway', 'subgraph']) {
    await measure('PostgreSQL', { kind: 'postgresql', url: await freshPostgres('mlops_bench_log') }, target);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mlops-bench-sqlite-'));
  try {
    await measure('SQLite', { kind: 'sqlite', file: path.join(dir, 'experiments.sqlite3') }, 'gateway');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
