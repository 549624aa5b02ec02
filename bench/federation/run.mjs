// @ts-check
// The federation workload of the public graphql-gateways-benchmark (four subgraphs, the deeply nested
// TestQuery, 50 closed-loop virtual users), run against several gateways in one run with the same
// load generator: stock Apollo Gateway (the baseline), ours, and Hive Gateway. Then a single-subgraph
// query through our gateway against the subgraph itself. Every process is separate; all share this
// machine's cores, the load generator (this process) included.
// Run: `npm run bench:federation` (builds first). Options: BENCH_SECONDS=20 (measured per gateway and
// round) BENCH_WARMUP_SECONDS=5 BENCH_ROUNDS=1 (rounds visit every gateway in turn; windows pooled)
// BENCH_CONCURRENCY=50 BENCH_GATEWAYS=apollo-stock,mlops,hive,hive-no-dedup,hive-dedup (any ids of
// gateways.mjs, in this order) BENCH_SINGLE=1 (0 skips the single-subgraph comparison); per-gateway
// settings in gateways.mjs (BENCH_MLOPS_ENV, BENCH_MLOPS_NODE_ARGS, BENCH_HIVE_ARGS).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GATEWAYS } from './gateways.mjs';
import { createVerifier, expectedHash, runLoad, summarize } from './load.mjs';
import { cpuMs } from './processes.mjs';
import { startSubgraphs } from './subgraphs.mjs';
import { SINGLE_SUBGRAPH_QUERY, TEST_QUERY } from './workload.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const GATEWAY_IDS = (process.env.BENCH_GATEWAYS ?? 'apollo-stock,mlops,hive,hive-no-dedup,hive-dedup').split(
  ',',
);
const SINGLE = process.env.BENCH_SINGLE !== '0';
/** The gateway entry the single-subgraph query goes through (BENCH_SINGLE_GATEWAY); default ours. */
const SINGLE_GATEWAY = process.env.BENCH_SINGLE_GATEWAY ?? 'mlops';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const BASELINE = 'apollo-stock';
// Published by the public benchmark (federation, constant 50 VUs, 2 cores): requests/s.
const PUBLISHED = /** @type {Record<string, string>} */ ({ 'apollo-stock': '91', hive: '291' });

for (const id of GATEWAY_IDS) {
  if (!GATEWAYS[id])
    throw new Error(`BENCH_GATEWAYS: unknown '${id}'; known: ${Object.keys(GATEWAYS).join(', ')}`);
}

/** @param {string} url @param {string} query */
async function post(url, query) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}: ${text.slice(0, 300)}`);
  const body = JSON.parse(text);
  if (body.errors) throw new Error(`${url}: ${JSON.stringify(body.errors).slice(0, 500)}`);
  return { body, bytes: Buffer.byteLength(text) };
}

/**
 * One measured window against `url`, with the CPU its server and the subgraphs used in it.
 * @param {{ url: string, pid: number | undefined, query: string, hash: string, subgraphCpuMs: () => Promise<number> }} target
 */
async function measure({ url, pid, query, hash, subgraphCpuMs }) {
  /** @type {Promise<number[]> | undefined} */
  let before;
  const window = await runLoad({
    url,
    body: JSON.stringify({ query }),
    verify: createVerifier(hash),
    concurrency: CONCURRENCY,
    warmupSeconds: WARMUP_SECONDS,
    seconds: SECONDS,
    onMeasureStart: () => (before = Promise.all([cpuMs(pid), subgraphCpuMs()])),
  });
  const [serverBefore, subgraphsBefore] = (await before) ?? [0, 0];
  return {
    ...window,
    serverCpuMs: (await cpuMs(pid)) - serverBefore,
    subgraphCpuMs: (await subgraphCpuMs()) - subgraphsBefore,
  };
}

/**
 * Every round's window of one target pooled, with the cores its server and the subgraphs used.
 * @param {Awaited<ReturnType<typeof measure>>[]} windows
 */
function pooled(windows) {
  const summary = summarize(windows);
  const windowMs = summary.seconds * 1000;
  return {
    ...summary,
    serverCores: windows.reduce((n, w) => n + w.serverCpuMs, 0) / windowMs,
    subgraphCores: windows.reduce((n, w) => n + w.subgraphCpuMs, 0) / windowMs,
  };
}

/** @param {number} n @param {number} [digits] */
const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
/** @param {number} n */
const int = (n) => Math.round(n).toLocaleString('en-US');

const dir = await mkdtemp(path.join(os.tmpdir(), 'mlops-bench-federation-'));
const subgraphs = await startSubgraphs();
try {
  const supergraphPath = path.join(dir, 'supergraph.graphql');
  await writeFile(supergraphPath, subgraphs.supergraphSdl);

  // The expected answers: TestQuery through the stock gateway, the single-subgraph query from the subgraph.
  const reference = await GATEWAYS[BASELINE].start({ supergraphPath, dir });
  const expected = await post(reference.url, TEST_QUERY).finally(() => reference.stop());
  const { users, topProducts } = expected.body.data;
  if (users?.length !== 6 || topProducts?.length !== 5) {
    throw new Error(`Unexpected TestQuery answer: ${JSON.stringify(expected.body).slice(0, 300)}`);
  }
  const testHash = expectedHash(expected.body);
  console.error(`TestQuery answer: ${expected.bytes} bytes, sha1 of its JSON ${testHash}`);

  /** @type {Map<string, { command: string, windows: Awaited<ReturnType<typeof measure>>[] }>} */
  const measured = new Map(GATEWAY_IDS.map((id) => [id, { command: '', windows: [] }]));
  // Rounds visit the gateways in turn, so a burst of other work on the machine is spread over all.
  for (let round = 1; round <= ROUNDS; round++) {
    for (const id of GATEWAY_IDS) {
      const gateway = await GATEWAYS[id].start({ supergraphPath, dir });
      try {
        const window = await measure({
          ...gateway,
          query: TEST_QUERY,
          hash: testHash,
          subgraphCpuMs: subgraphs.cpuMs,
        });
        const entry = /** @type {{ command: string, windows: typeof window[] }} */ (measured.get(id));
        // The scratch directory differs per run; the report names it <tmp>.
        entry.command = gateway.command.split(dir).join('<tmp>');
        entry.windows.push(window);
        const { latencies, ...rest } = window;
        console.error(`round ${round} ${id}: ${JSON.stringify({ ...rest, answers: latencies.length })}`);
      } finally {
        await gateway.stop();
      }
    }
  }
  const rows = GATEWAY_IDS.map((id) => {
    const { command, windows } =
      /** @type {{ command: string, windows: Awaited<ReturnType<typeof measure>>[] }} */ (measured.get(id));
    return { id, label: GATEWAYS[id].label, command, ...pooled(windows) };
  });

  /** @type {{ direct: ReturnType<typeof pooled>, gateway: ReturnType<typeof pooled> } | undefined} */
  let single;
  if (SINGLE) {
    const direct = await post(subgraphs.urls.products, SINGLE_SUBGRAPH_QUERY);
    const hash = expectedHash(direct.body);
    const noServer = async () => 0;
    const directWindows = [];
    const gatewayWindows = [];
    for (let round = 1; round <= ROUNDS; round++) {
      directWindows.push(
        await measure({
          url: subgraphs.urls.products,
          pid: undefined,
          query: SINGLE_SUBGRAPH_QUERY,
          hash,
          subgraphCpuMs: subgraphs.cpuMs,
        }),
      );
      const ours = await GATEWAYS[SINGLE_GATEWAY].start({ supergraphPath, dir });
      try {
        gatewayWindows.push(
          await measure({ ...ours, query: SINGLE_SUBGRAPH_QUERY, hash, subgraphCpuMs: noServer }),
        );
      } finally {
        await ours.stop();
      }
    }
    single = { direct: pooled(directWindows), gateway: pooled(gatewayWindows) };
  }

  const baseline = rows.find((r) => r.id === BASELINE);
  console.log(
    `\nFederation TestQuery (${expected.bytes} bytes per answer), ${CONCURRENCY} closed-loop clients, ` +
      `${WARMUP_SECONDS} s warm-up then ${SECONDS} s measured per gateway, ${ROUNDS} round(s) pooled; ` +
      `${os.cpus().length} CPUs, Node ${process.version}. ` +
      'CPU columns: cores used during the window (gateway process; the four subgraphs together).\n',
  );
  console.log(
    '| gateway | req/s | p50 ms | p95 ms | p99 ms | errors | vs stock Apollo | gateway CPU (cores) | CPU ms/req | subgraphs CPU (cores) | published req/s |',
  );
  console.log(
    '| ------- | ----- | ------ | ------ | ------ | ------ | --------------- | ------------------- | ---------- | --------------------- | --------------- |',
  );
  for (const r of rows) {
    const ratio = baseline ? `${(r.rps / baseline.rps).toFixed(2)}×` : '–';
    console.log(
      `| ${r.label} | ${int(r.rps)} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.p99)} | ${r.errors} | ${ratio} | ` +
        `${fmt(r.serverCores, 2)} | ${fmt((r.serverCores * 1000) / r.rps, 2)} | ${fmt(r.subgraphCores, 2)} | ${PUBLISHED[r.id] ?? '–'} |`,
    );
  }
  for (const r of rows) if (r.firstError) console.log(`\n${r.id}: first error: ${r.firstError}`);
  if (single) {
    const { direct, gateway } = single;
    console.log(`\nSingle-subgraph query \`${SINGLE_SUBGRAPH_QUERY}\`, same load:\n`);
    console.log('| target | req/s | p50 ms | p95 ms | p99 ms | errors | vs direct |');
    console.log('| ------ | ----- | ------ | ------ | ------ | ------ | --------- |');
    for (const [label, r] of [
      ['products subgraph, direct', direct],
      [`${GATEWAYS[SINGLE_GATEWAY]?.label ?? SINGLE_GATEWAY} → products`, gateway],
    ]) {
      const row = /** @type {typeof direct} */ (r);
      console.log(
        `| ${label} | ${int(row.rps)} | ${fmt(row.p50)} | ${fmt(row.p95)} | ${fmt(row.p99)} | ${row.errors} | ` +
          `${(row.rps / direct.rps).toFixed(2)}× |`,
      );
    }
    if (gateway.firstError) console.log(`\nour gateway → products: first error: ${gateway.firstError}`);
  }
  console.log('\nCommands:');
  for (const r of rows) console.log(`- ${r.id}: \`${r.command}\``);
} finally {
  await subgraphs.close();
  await rm(dir, { recursive: true, force: true });
}
