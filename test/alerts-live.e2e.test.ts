import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { printSubgraphSdl as printAlertsSdl, readAlertsConfig, startAlertsService } from '@mlops/alerts';
import type { AlertsService } from '@mlops/alerts';
import {
  printSubgraphSdl as printDeploymentsSdl,
  readDeploymentsConfig,
  startDeploymentsService,
} from '@mlops/deployments';
import {
  printSubgraphSdl as printExperimentsSdl,
  readExperimentsConfig,
  startExperimentsService,
} from '@mlops/experiments';
import { printSubgraphSdl as printModelsSdl, readModelsConfig, startModelsService } from '@mlops/models';
import { createLogger } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import type { FormattedExecutionResult } from 'graphql';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { postGraphQL } from './support/graphql-http';
import { connectGraphQLWs, recordSubscription } from './support/graphql-ws-client';
import type { RecordedStream } from './support/graphql-ws-client';
import { TEST_JWT_SECRET, operatorHeaders } from './support/jwt';
import { redisServerInstalled, startGatewayProcess, startPrivateRedis } from './support/processes';
import type { GatewayProcess, PrivateRedis } from './support/processes';
import { serviceAvailable } from './support/services';
import { writeSupergraphFile } from './support/supergraph-file';
import type { SupergraphFile } from './support/supergraph-file';
import { SHIPPED_MODEL_PATH } from './support/artifacts';

// One event, with fields from four subgraphs: alerts → deployments → models → experiments.
const EVENTS = `subscription($after: ID) {
  alertEvents(after: $after) {
    cursor
    type
    alert {
      state
      deployment {
        name
        currentRevision { models { version modelVersion { status run { name metric(key: "rmse") { value } } } } }
      }
    }
  }
}`;

interface EventData {
  cursor: string;
  type: string;
  alert: {
    state: string;
    deployment: {
      name: string;
      currentRevision: {
        models: { version: number; modelVersion: { status: string; run: { name: string } | null } }[];
      };
    };
  };
}

const eventOf = (result: FormattedExecutionResult): EventData =>
  (result.data as { alertEvents: EventData }).alertEvents;
const cursorsOf = (results: readonly FormattedExecutionResult[]): number[] =>
  results.map((r) => Number(eventOf(r).cursor));

const missing = !serviceAvailable('postgres')
  ? 'PostgreSQL is not reachable'
  : !redisServerInstalled()
    ? 'redis-server is not installed'
    : undefined;
if (missing) {
  if (process.env.CI) throw new Error(`The live alerts suite needs what is missing: ${missing}`);
  console.warn(`Skipping the live alerts suite: ${missing}`);
}

(missing ? describe.skip : describe)('live alert events across replicas, gateways and failures', () => {
  const logger = createLogger({ service: 'test', level: 'silent' });
  let database: TestDatabase;
  let redis: PrivateRedis;
  let scratch: string;
  let supergraph: SupergraphFile;
  const closers: (() => Promise<unknown>)[] = [];
  let experimentsClose: () => Promise<void>;
  let alertsA: AlertsService;
  let alertsB: AlertsService;
  let gatewayEnv: (alertsUrl: string) => Record<string, string>;
  const gateways: GatewayProcess[] = [];
  /** Every event the log holds, as raised by `toggle`. */
  let raised = 0;
  let sampleTime = Date.now() - 120_000;
  let value = 0;

  /** Flips the watched metric across the threshold on one replica: exactly one FIRING or RESOLVED event. */
  async function toggle(replica: AlertsService): Promise<void> {
    value = value > 0.5 ? 0.1 : 0.9;
    sampleTime += 10;
    const { status, body } = await postGraphQL(
      replica.url,
      `mutation($s: [MetricSampleInput!]!) { recordMetrics(samples: $s) }`,
      {
        variables: {
          s: [{ deployment: 'prices', metric: 'error_rate', value, at: new Date(sampleTime).toISOString() }],
        },
      },
    );
    expect({ status, errors: body.errors }).toEqual({ status: 200, errors: undefined });
    raised += 1;
  }

  async function startGateway(alerts: AlertsService): Promise<GatewayProcess> {
    const gateway = await startGatewayProcess(gatewayEnv(alerts.url));
    gateways.push(gateway);
    return gateway;
  }

  beforeAll(async () => {
    database = await createTestDatabase('postgresql');
    closers.push(() => database.drop());
    redis = await startPrivateRedis();
    closers.push(() => redis.stop());
    scratch = await mkdtemp(path.join(os.tmpdir(), 'mlops-live-alerts-'));
    closers.push(() => rm(scratch, { recursive: true, force: true }));
    const db = database.config;
    const experiments = await startExperimentsService({
      config: { ...readExperimentsConfig({}), port: 0, database: db },
      logger,
    });
    let experimentsClosed = false;
    experimentsClose = async () => {
      if (experimentsClosed) return;
      experimentsClosed = true;
      await experiments.close();
    };
    closers.push(experimentsClose);
    const models = await startModelsService({
      config: {
        ...readModelsConfig({}),
        port: 0,
        database: db,
        artifactDir: path.join(scratch, 'artifacts'),
      },
      logger,
    });
    closers.push(() => models.close());
    const deployments = await startDeploymentsService({
      config: {
        ...readDeploymentsConfig({}),
        port: 0,
        database: db,
        modelsSubgraphUrl: models.url,
        probeIntervalMs: 0,
      },
      logger,
    });
    closers.push(() => deployments.close());
    const alertsConfig = {
      ...readAlertsConfig({}),
      port: 0,
      database: db,
      redisUrl: redis.url,
      evaluationIntervalMs: 0,
      catchupIntervalMs: 60_000, // recovery must come from reconnects and gaps, not the timer
    };
    alertsA = await startAlertsService({ config: alertsConfig, logger });
    closers.push(() => alertsA.close());
    alertsB = await startAlertsService({ config: { ...alertsConfig, migrateOnStart: false }, logger });
    closers.push(() => alertsB.close());

    supergraph = await writeSupergraphFile([
      { name: 'experiments', url: experiments.url, sdl: await printExperimentsSdl() },
      { name: 'models', url: models.url, sdl: await printModelsSdl() },
      { name: 'deployments', url: deployments.url, sdl: await printDeploymentsSdl() },
      { name: 'alerts', url: alertsA.url, sdl: await printAlertsSdl() },
    ]);
    closers.push(() => supergraph.remove());
    gatewayEnv = (alertsUrl) => ({
      SUPERGRAPH_PATH: supergraph.path,
      SUBGRAPH_ALERTS_URL: alertsUrl,
      JWT_HS256_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'silent',
    });
    const setup = await startGateway(alertsA);
    const data = async (query: string, variables?: Record<string, unknown>) => {
      const { body } = await postGraphQL(setup.url, query, { variables, headers: operatorHeaders() });
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data as Record<string, { id?: string; sha256?: string }>;
    };

    // A run with a metric, a model version registered from it, a deployment of that version.
    const { createExperiment } = await data(`mutation { createExperiment(input: { name: "live" }) { id } }`);
    const { createRun } = await data(
      `mutation($e: ID!) { createRun(input: { experimentId: $e, name: "train" }) { id } }`,
      { e: createExperiment!.id },
    );
    await data(
      `mutation($r: ID!) { logBatch(input: { runId: $r, metrics: [{ key: "rmse", value: 0.41, step: 1 }] }) { id } }`,
      {
        r: createRun!.id,
      },
    );
    const upload = await fetch(new URL('/artifacts', models.url), {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: await readFile(SHIPPED_MODEL_PATH),
    });
    const { sha256 } = (await upload.json()) as { sha256: string };
    await data(`mutation { createRegisteredModel(input: { name: "stock-predictor" }) { name } }`);
    await data(`mutation($i: RegisterModelVersionInput!) { registerModelVersion(input: $i) { version } }`, {
      i: { modelName: 'stock-predictor', source: { artifactSha256: sha256 }, runId: createRun!.id },
    });
    await data(`mutation { createServingPool(name: "live-pool") { name } }`);
    await data(`mutation($i: CreateDeploymentInput!) { createDeployment(input: $i) { name } }`, {
      i: {
        name: 'prices',
        pool: 'live-pool',
        models: [{ modelName: 'stock-predictor', version: 1, weight: 100 }],
      },
    });
    await data(`mutation($i: CreateAlertRuleInput!) { createAlertRule(input: $i) { id } }`, {
      i: {
        name: 'errors',
        deployment: 'prices',
        metric: 'error_rate',
        comparison: 'GT',
        threshold: 0.5,
        severity: 'CRITICAL',
      },
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    for (const close of closers.reverse()) await close().catch(() => undefined);
  });

  function expectContiguous(results: readonly FormattedExecutionResult[], from: number): void {
    const cursors = cursorsOf(results);
    expect(cursors).toEqual(cursors.map((_, i) => from + i));
  }

  it('should deliver every event, with data from four subgraphs, to subscribers on two gateways over two replicas', async () => {
    const [gatewayA, gatewayB] = [gateways[0]!, await startGateway(alertsB)];
    const clients = [connectGraphQLWs(gatewayA.url), connectGraphQLWs(gatewayB.url)];
    try {
      const streams = clients.map((client) => recordSubscription(client, EVENTS, { after: '0' }));
      await toggle(alertsA);
      await toggle(alertsB);
      await toggle(alertsA);
      await toggle(alertsB);

      for (const stream of streams) {
        const results = await stream.waitFor(raised);
        expectContiguous(results, 1);
        expect(results.every((r) => r.errors === undefined)).toBe(true);
        expect(eventOf(results[0]!)).toMatchObject({
          type: 'FIRING',
          alert: {
            deployment: {
              name: 'prices',
              currentRevision: {
                models: [{ version: 1, modelVersion: { status: 'READY', run: { name: 'train' } } }],
              },
            },
          },
        });
        expect(results.map((r) => eventOf(r).type)).toEqual(['FIRING', 'RESOLVED', 'FIRING', 'RESOLVED']);
      }
    } finally {
      await Promise.all(clients.map((c) => c.dispose()));
    }
  });

  it('should give a client that reconnects after the gateway was killed every missed event exactly once', async () => {
    const gateway = await startGateway(alertsB);
    const client = connectGraphQLWs(gateway.url);
    let resumed: RecordedStream | undefined;
    const reconnectClient: { dispose(): unknown } = { dispose: () => undefined };
    try {
      const before = raised;
      const stream = recordSubscription(client, EVENTS, { after: String(before) });
      await toggle(alertsA);
      await toggle(alertsB);
      const received = await stream.waitFor(2);
      const lastCursor = Math.max(...cursorsOf(received));

      await gateway.kill();
      expect(await stream.ended).toMatchObject({ kind: 'closed' });
      await toggle(alertsA);
      await toggle(alertsB);
      await toggle(alertsA);
      const restarted = await startGateway(alertsB);
      const again = connectGraphQLWs(restarted.url);
      reconnectClient.dispose = () => again.dispose();
      resumed = recordSubscription(again, EVENTS, { after: String(lastCursor) });
      await toggle(alertsB);

      const afterRestart = await resumed.waitFor(4);
      expectContiguous(afterRestart, lastCursor + 1);
      expect(Math.max(...cursorsOf(afterRestart))).toBe(raised);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(resumed.results).toHaveLength(4);
    } finally {
      await client.dispose();
      await reconnectClient.dispose();
    }
  });

  it('should recover events raised while Redis was down, through the cursor, with no crash', async () => {
    const gateway = gateways[0]!;
    const client = connectGraphQLWs(gateway.url);
    try {
      const from = raised;
      const stream = recordSubscription(client, EVENTS, { after: String(from) });
      await toggle(alertsB);
      await stream.waitFor(1);

      await redis.kill();
      // Raised on the other replica while no message can be published: persisted only.
      await toggle(alertsB);
      await toggle(alertsB);
      await redis.start();

      const results = await stream.waitFor(3, 20_000);
      expectContiguous(results, from + 1);
      await toggle(alertsA);
      expectContiguous(await stream.waitFor(4), from + 1);
      for (const service of [alertsA, alertsB]) {
        expect((await fetch(new URL('/ready', service.url))).status).toBe(200);
      }
    } finally {
      await client.dispose();
    }
  });

  it('should keep delivering events with partial data and a coded error while a subgraph is down', async () => {
    const client = connectGraphQLWs(gateways[0]!.url);
    try {
      const from = raised;
      const stream = recordSubscription(client, EVENTS, { after: String(from) });

      await experimentsClose();
      await toggle(alertsA);

      const [event] = await stream.waitFor(1);
      expect(eventOf(event!)).toMatchObject({
        cursor: String(from + 1),
        alert: {
          deployment: {
            name: 'prices',
            currentRevision: { models: [{ version: 1, modelVersion: { status: 'READY', run: null } }] },
          },
        },
      });
      expect(event!.errors).toEqual([
        expect.objectContaining({ extensions: expect.objectContaining({ code: ErrorCode.UNAVAILABLE }) }),
      ]);
    } finally {
      await client.dispose();
    }
  });
});
