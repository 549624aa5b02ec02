// @ts-check
// Subscription fan-out through the gateway: 1,000 and 5,000 graphql-ws subscribers on one gateway,
// 100 events/s published by the subgraph that owns the subscription, every event resolving a field
// of a second subgraph. Reports delivery latency (publish → client receipt) and gateway RSS per idle
// subscriber. Processes: subgraphs, gateway, two client processes, all on this machine's cores.
// Run: `npm run bench:subscriptions` (builds first). Options: BENCH_SUBSCRIBERS=1000,5000
// BENCH_TOPICS=100 BENCH_RATE=100 BENCH_SECONDS=20.
import { fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import schema from '@mlops/schema';
import { percentile } from './stack.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HERE = fileURLToPath(new URL('.', import.meta.url));
const SCENARIOS = (process.env.BENCH_SUBSCRIBERS ?? '1000,5000').split(',').map(Number);
const TOPICS = Number(process.env.BENCH_TOPICS ?? 100);
const RATE = Number(process.env.BENCH_RATE ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CLIENT_PROCESSES = 2;

/** Waits for the first IPC message from `child` that has `key`. */
function nextMessage(child, key, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`No '${key}' message within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onMessage = (message) => {
      if (!(key in message)) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message[key]);
    };
    child.on('message', onMessage);
  });
}

async function rssKiB(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
}

async function waitReady(url) {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(new URL('/ready', url))).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} not ready`);
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(undefined);
    child.once('exit', resolve);
    if (child.connected) child.send({ stop: true });
    else child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  });
}

async function runScenario(subscribers, supergraphPath, publisher) {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const gateway = spawn(process.execPath, [path.join(ROOT, 'gateway/dist/main.js')], {
    env: {
      ...process.env,
      GATEWAY_PORT: String(port),
      SUPERGRAPH_PATH: supergraphPath,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      // Required in production; the bench subgraphs do not check the signatures.
      INTERNAL_IDENTITY_KEYS: `bench:${randomBytes(32).toString('base64')}`,
      WS_MAX_SUBSCRIPTIONS: '100000',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}/graphql`;
  const clients = [];
  try {
    await waitReady(url);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const baseline = await rssKiB(gateway.pid);
    const share = Math.ceil(subscribers / CLIENT_PROCESSES);
    for (let p = 0; p < CLIENT_PROCESSES; p++) {
      const child = fork(path.join(HERE, 'subscription-clients.mjs'), [], {
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      clients.push(child);
      child.send({
        start: { url: url.replace(/^http/, 'ws'), count: share, offset: p * share, topics: TOPICS },
      });
    }
    await Promise.all(clients.map((c) => nextMessage(c, 'connecting')));
    // Publish until every subscriber has received one event: then all subscriptions are live.
    const allSubscribed = Promise.all(clients.map((c) => nextMessage(c, 'subscribed')));
    let live = false;
    void allSubscribed.then(() => (live = true));
    for (let round = 0; !live && round < 30; round++) {
      publisher.send({ publish: { rate: RATE, seconds: 1, topics: TOPICS } });
      await nextMessage(publisher, 'published');
    }
    if (!live) throw new Error('Not every subscriber received its first event within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const idle = await rssKiB(gateway.pid);
    for (const c of clients) c.send({ reset: true });
    publisher.send({ publish: { rate: RATE, seconds: SECONDS, topics: TOPICS } });
    const published = await nextMessage(publisher, 'published');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const busy = await rssKiB(gateway.pid);
    const reports = await Promise.all(
      clients.map((c) => {
        const report = nextMessage(c, 'report');
        c.send({ report: true });
        return report;
      }),
    );
    const latencies = reports.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const expected = published * (subscribers / TOPICS);
    return {
      subscribers,
      published,
      delivered: latencies.length,
      expected,
      errors: reports.reduce((n, r) => n + r.errors, 0),
      closed: reports.reduce((n, r) => n + r.closed, 0),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.at(-1),
      perSubscriberKiB: (idle - baseline) / subscribers,
      baselineMiB: baseline / 1024,
      idleMiB: idle / 1024,
      busyMiB: busy / 1024,
    };
  } finally {
    await Promise.all(clients.map(stop));
    gateway.kill('SIGTERM');
    await new Promise((resolve) => gateway.once('exit', resolve));
  }
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'mlops-bench-subs-'));
const publisher = fork(path.join(HERE, 'subscription-subgraphs.mjs'), [], {
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
});
try {
  const { tickerUrl, catalogUrl, tickerSdl, catalogSdl } = await nextMessage(publisher, 'ready');
  const outcome = schema.composeSupergraph([
    { name: 'ticker', url: tickerUrl, sdl: tickerSdl },
    { name: 'catalog', url: catalogUrl, sdl: catalogSdl },
  ]);
  if (!outcome.ok) throw new Error(outcome.errors.join('\n'));
  const supergraphPath = path.join(dir, 'supergraph.graphql');
  await writeFile(supergraphPath, outcome.supergraphSdl);

  const rows = [];
  for (const subscribers of SCENARIOS) {
    const row = await runScenario(subscribers, supergraphPath, publisher);
    rows.push(row);
    console.error(JSON.stringify(row));
  }
  console.log(
    `\n${RATE} events/s for ${SECONDS} s over ${TOPICS} topics (each event goes to subscribers/${TOPICS} clients), ` +
      `each event resolving an entity field from a second subgraph; ${CLIENT_PROCESSES} client processes.\n`,
  );
  console.log(
    '| subscribers | events | deliveries (expected) | errors | p50 ms | p99 ms | max ms | p99 vs 100 ms | gateway RSS idle / baseline MiB | KiB per idle subscriber | vs 30 KB |',
  );
  console.log(
    '| ----------- | ------ | --------------------- | ------ | ------ | ------ | ------ | ------------- | ------------------------------- | ----------------------- | -------- |',
  );
  for (const r of rows) {
    console.log(
      `| ${r.subscribers} | ${r.published} | ${r.delivered} (${r.expected}) | ${r.errors + r.closed} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ` +
        `${(r.p99 / 100).toFixed(2)}× | ${r.idleMiB.toFixed(0)} / ${r.baselineMiB.toFixed(0)} | ${r.perSubscriberKiB.toFixed(1)} | ` +
        `${((r.perSubscriberKiB * 1024) / 30_000).toFixed(2)}× |`,
    );
  }
} finally {
  await stop(publisher);
  await rm(dir, { recursive: true, force: true });
}
