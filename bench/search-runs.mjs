// @ts-check
// searchRuns on PostgreSQL with BENCH_RUNS runs (default 100,000) × 10 metrics and 5 params each:
// a filter on a metric and a param, ordered by a metric, pages of 100, through the gateway over HTTP.
// Target: p95 < 50 ms. Run with `npm run bench:search-runs`.
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { freshPostgres, gql, machine, percentile, startStack } from './stack.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 100_000);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200);
const TARGET_P95_MS = 50;

const SEARCH = `query($filter: String, $orderBy: [String!], $after: String) {
  searchRuns(experimentIds: ["bench-experiment"], filter: $filter, orderBy: $orderBy, first: 100, after: $after) {
    edges { node { id name status metric(key: "rmse") { value } param(key: "model") } }
    pageInfo { hasNextPage endCursor } } }`;

const scenarios = [
  {
    name: 'metric + param filter, order by metric DESC (page 1)',
    filter: "metrics.rmse < 1 and params.model = 'tree'",
    orderBy: ['metrics.accuracy DESC'],
    page: 1,
  },
  {
    name: 'same, page 5 by keyset cursor',
    filter: "metrics.rmse < 1 and params.model = 'tree'",
    orderBy: ['metrics.accuracy DESC'],
    page: 5,
  },
  {
    name: 'metric + param filter, order by metric ASC',
    filter: "metrics.sharpe > 1.5 and params.model != 'linear'",
    orderBy: ['metrics.drawdown ASC'],
    page: 1,
  },
  {
    name: 'metric + param + status filter, default order',
    filter: "metrics.rmse < 0.5 and params.model = 'xgb' and attributes.status = 'FINISHED'",
    orderBy: [],
    page: 1,
  },
  {
    name: 'tag-free param ILIKE, order by param',
    filter: "params.model ILIKE 'f%'",
    orderBy: ['params.lr DESC'],
    page: 1,
  },
];

async function main() {
  const url = await freshPostgres('mlops_bench_search');
  const stack = await startStack({ kind: 'postgresql', url });
  try {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const seed = (await readFile(new URL('./seed-runs.sql', import.meta.url), 'utf8')).replaceAll(
      ':runs',
      String(RUNS),
    );
    const seedStart = performance.now();
    await client.query(seed);
    await client.end();
    console.log(
      `seeded ${RUNS} runs × 10 metrics × 5 params in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
    );
    console.log(`machine: ${machine()}\n`);
    console.log('| scenario | p50 ms | p95 ms | p99 ms | rows | p95 vs 50 ms target |');
    console.log('|---|---|---|---|---|---|');
    for (const scenario of scenarios) {
      let after = null;
      for (let page = 1; page < scenario.page; page++) {
        const data = await gql(stack.gatewayUrl, SEARCH, {
          filter: scenario.filter,
          orderBy: scenario.orderBy,
          after,
        });
        after = data.searchRuns.pageInfo.endCursor;
      }
      const variables = { filter: scenario.filter, orderBy: scenario.orderBy, after };
      for (let i = 0; i < 20; i++) await gql(stack.gatewayUrl, SEARCH, variables);
      const samples = [];
      let rows = 0;
      for (let i = 0; i < ITERATIONS; i++) {
        const start = performance.now();
        const data = await gql(stack.gatewayUrl, SEARCH, variables);
        samples.push(performance.now() - start);
        rows = data.searchRuns.edges.length;
      }
      samples.sort((a, b) => a - b);
      const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(samples, p));
      console.log(
        `| ${scenario.name} | ${p50.toFixed(1)} | ${p95.toFixed(1)} | ${p99.toFixed(1)} | ${rows} | ${(p95 / TARGET_P95_MS).toFixed(2)}× ${p95 < TARGET_P95_MS ? '(met)' : '(MISSED)'} |`,
      );
    }
  } finally {
    await stack.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
