import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { printSubgraphSdl as printExperimentsSdl } from '@mlops/experiments';
import { createInferenceClient } from '@mlops/inference-sidecar';
import { signIdentityHeaders } from '@mlops/runtime';
import { freePort } from './support/fake-stack';
import { postGraphQL } from './support/graphql-http';
import { TEST_IDENTITY_KEYS, TEST_IDENTITY_KEYS_VALUE } from './support/identity';
import { CLIENT, SERVER, newSpanId, newTraceId, only, startOtlpReceiver } from './support/otlp-receiver';
import type { OtlpReceiver } from './support/otlp-receiver';
import { startGatewayProcess } from './support/processes';
import type { GatewayProcess } from './support/processes';
import { startServiceProcess } from './support/service-process';
import type { ServiceProcess } from './support/service-process';
import { writeSupergraphFile } from './support/supergraph-file';
import type { SupergraphFile } from './support/supergraph-file';

/**
 * OpenTelemetry across real processes: the tracer provider is process-wide, so each service runs
 * from its built entry (`dist/main.js`) with its own provider, exporting OTLP/HTTP JSON to a real
 * receiver. Spans are asserted after the services are stopped with SIGTERM, which must flush them
 * (the batch processor's 5 s schedule would not have sent them yet).
 */

/** As an admin, signed as the gateway signs, straight to a subgraph. */
function postAsAdmin(url: string, query: string, headers: Record<string, string> = {}) {
  return postGraphQL(url, query, {
    headers: {
      ...signIdentityHeaders(
        {
          subject: 'tracing-test',
          issuer: 'test',
          roles: ['admin'],
          scopes: [],
          expiresAt: Math.floor(Date.now() / 1000) + 300,
        },
        TEST_IDENTITY_KEYS,
      ),
      ...headers,
    },
  });
}

const LIST_EXPERIMENTS = 'query ListExperiments { experiments(first: 1) { nodes { id } } }';

/** The experiments subgraph and a gateway in front of it, as two processes. */
async function startGatewayOverExperiments(
  dataDir: string,
  env: Record<string, string>,
): Promise<{ gateway: GatewayProcess; experiments: ServiceProcess; supergraph: SupergraphFile }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/graphql`;
  const experiments = await startServiceProcess(
    'subgraphs/experiments/dist/main.js',
    { ...env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    `http://127.0.0.1:${port}/ready`,
  );
  const supergraph = await writeSupergraphFile([
    { name: 'experiments', url, sdl: await printExperimentsSdl() },
  ]);
  const gateway = await startGatewayProcess({
    ...env,
    SUPERGRAPH_PATH: supergraph.path,
    SUBGRAPH_EXPERIMENTS_URL: url,
  }).catch(async (error: unknown) => {
    await experiments.stop();
    throw error;
  });
  return { gateway, experiments, supergraph };
}

/**
 * An OTLP receiver and a gateway over the experiments subgraph, for one `describe`; `env(url)` is
 * what the services get besides their own settings, given the receiver's URL.
 */
function useGatewayOverExperiments(env: (receiverUrl: string) => Record<string, string>) {
  const fixture = {} as {
    receiver: OtlpReceiver;
    dataDir: string;
    stack: Awaited<ReturnType<typeof startGatewayOverExperiments>>;
  };
  beforeAll(async () => {
    fixture.receiver = await startOtlpReceiver();
    fixture.dataDir = await mkdtemp(path.join(os.tmpdir(), 'mlops-tracing-'));
    fixture.stack = await startGatewayOverExperiments(fixture.dataDir, env(fixture.receiver.url));
  });
  afterAll(async () => {
    await fixture.stack?.gateway.stop();
    await fixture.stack?.experiments.stop();
    await fixture.stack?.supergraph.remove();
    await fixture.receiver?.close();
    if (fixture.dataDir) await rm(fixture.dataDir, { recursive: true, force: true });
  });
  return fixture;
}

describe('tracing through the gateway to a subgraph (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  const fixture = useGatewayOverExperiments((url) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: url }));

  it("should continue the caller's traceparent through the gateway's spans to the subgraph's server span", async () => {
    const { stack, receiver } = fixture;
    const traceId = newTraceId();
    const callerSpanId = newSpanId();
    const response = await postGraphQL(stack.gateway.url, LIST_EXPERIMENTS, {
      headers: { traceparent: `00-${traceId}-${callerSpanId}-01` },
    });
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    // The same document again: the gateway may now answer it without Apollo's pipeline (a single
    // fetch passed through), and the subgraph's span must still join the caller's trace.
    const againTraceId = newTraceId();
    const again = await postGraphQL(stack.gateway.url, LIST_EXPERIMENTS, {
      headers: { traceparent: `00-${againTraceId}-${newSpanId()}-01` },
    });
    expect(again.status).toBe(200);

    await stack.gateway.stop();
    await stack.experiments.stop();

    const againTrace = receiver.spans.filter((span) => span.traceId === againTraceId);
    const againSubgraph = only(againTrace, { serviceName: 'experiments', kind: SERVER });
    const passThrough = only(againTrace, { name: 'gateway.pass-through' });
    expect(passThrough).toMatchObject({
      serviceName: 'gateway',
      attributes: { 'graphql.subgraph': 'experiments' },
    });
    expect(againSubgraph.parentSpanId).toBe(passThrough.spanId);
    expect(passThrough.parentSpanId).toBe(only(againTrace, { serviceName: 'gateway', kind: SERVER }).spanId);

    const trace = receiver.spans.filter((span) => span.traceId === traceId);
    expect(new Set(trace.map((span) => span.serviceName))).toEqual(new Set(['gateway', 'experiments']));
    const gatewayServer = only(trace, { serviceName: 'gateway', kind: SERVER });
    expect(gatewayServer).toMatchObject({
      name: 'POST /graphql ListExperiments',
      parentSpanId: callerSpanId,
      attributes: { 'graphql.operation.name': 'ListExperiments', 'http.response.status_code': 200 },
    });
    const request = only(trace, { name: 'gateway.request' });
    expect(request).toMatchObject({ serviceName: 'gateway', parentSpanId: gatewayServer.spanId });
    for (const name of ['gateway.validate', 'gateway.execute']) {
      expect(only(trace, { name }).parentSpanId).toBe(request.spanId);
    }
    // The gateway plans before Apollo's executor starts gateway.request (it owns the plan cache).
    expect(only(trace, { name: 'gateway.plan' })).toMatchObject({
      parentSpanId: gatewayServer.spanId,
      attributes: { 'graphql.operation.name': 'ListExperiments' },
    });
    const execute = only(trace, { name: 'gateway.execute' });
    expect(execute.parentSpanId).toBe(request.spanId);
    const fetch = only(trace, { name: 'gateway.fetch' });
    expect(fetch).toMatchObject({ parentSpanId: execute.spanId, attributes: { service: 'experiments' } });
    const subgraphServer = only(trace, { serviceName: 'experiments', kind: SERVER });
    expect(subgraphServer.parentSpanId).toBe(fetch.spanId);
    expect(subgraphServer.name).toMatch(/^POST \/graphql ListExperiments/);
  });
});

describe('tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  // The receiver is reachable under the non-standard name only: nothing may find it by accident.
  const fixture = useGatewayOverExperiments((url) => ({ MLOPS_UNUSED_COLLECTOR: url }));

  it('should never send an export request, even for a traced caller and across a shutdown', async () => {
    const { stack, receiver } = fixture;
    const response = await postGraphQL(stack.gateway.url, LIST_EXPERIMENTS, {
      headers: { traceparent: `00-${newTraceId()}-${newSpanId()}-01` },
    });
    expect(response.status).toBe(200);
    await stack.gateway.stop();
    await stack.experiments.stop();
    expect(receiver.requests).toBe(0);
  });
});

describe('tracing and request ids from the deployments subgraph to a sidecar', () => {
  let receiver: OtlpReceiver;
  let dataDir: string;
  let sidecar: ServiceProcess;
  let deployments: ServiceProcess;
  let grpcAddress: string;
  let deploymentsUrl: string;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'mlops-tracing-deployments-'));
    const [grpcPort, httpPort, port] = [await freePort(), await freePort(), await freePort()];
    grpcAddress = `127.0.0.1:${grpcPort}`;
    sidecar = await startServiceProcess(
      'inference-sidecar/dist/main.js',
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        SIDECAR_GRPC_PORT: String(grpcPort),
        SIDECAR_HTTP_PORT: String(httpPort),
        SIDECAR_MODELS: 'stock-predictor',
        LOG_LEVEL: 'debug',
      },
      `http://127.0.0.1:${httpPort}/ready`,
    );
    deploymentsUrl = `http://127.0.0.1:${port}/graphql`;
    deployments = await startServiceProcess(
      'subgraphs/deployments/dist/main.js',
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_SERVICE_NAME: 'deployments-under-test',
        PORT: String(port),
        DATA_DIR: dataDir,
        ENDPOINT_PROBE_INTERVAL_MS: '0',
        INTERNAL_IDENTITY_KEYS: TEST_IDENTITY_KEYS_VALUE,
        LOG_LEVEL: 'warn',
      },
      `http://127.0.0.1:${port}/ready`,
    );
  });
  afterAll(async () => {
    await deployments?.stop();
    await sidecar?.stop();
    await receiver?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const asAdmin = (query: string, headers: Record<string, string> = {}) =>
    postAsAdmin(deploymentsUrl, query, headers);

  it('should carry traceparent and x-request-id from a probe request to the sidecar, one span per RPC', async () => {
    for (const mutation of [
      'mutation { createServingPool(name: "traced") { name } }',
      `mutation { registerEndpoint(pool: "traced", grpcAddress: "${grpcAddress}") { id } }`,
    ]) {
      const created = await asAdmin(mutation);
      expect(created.body.errors).toBeUndefined();
    }
    const traceId = newTraceId();
    const callerSpanId = newSpanId();
    const probed = await asAdmin('mutation ProbePool { probeServingPool(name: "traced") { name } }', {
      traceparent: `00-${traceId}-${callerSpanId}-01`,
      'x-request-id': 'probe-request-1',
    });
    expect(probed.body.errors).toBeUndefined();

    // A plain gRPC caller's traceparent, straight to the sidecar.
    const directTraceId = newTraceId();
    const directSpanId = newSpanId();
    const client = createInferenceClient(grpcAddress, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set('traceparent', `00-${directTraceId}-${directSpanId}-01`);
    await new Promise((resolve, reject) =>
      client.ServerLive({}, metadata, (error, value) => (error ? reject(error) : resolve(value))),
    );
    client.close();

    await deployments.stop();
    await sidecar.stop();

    const trace = receiver.spans.filter((span) => span.traceId === traceId);
    const server = only(trace, { serviceName: 'deployments-under-test', kind: SERVER });
    expect(server).toMatchObject({ name: 'POST /graphql ProbePool', parentSpanId: callerSpanId });
    const call = only(trace, { serviceName: 'deployments-under-test', kind: CLIENT });
    expect(call).toMatchObject({
      name: 'inference.GRPCInferenceService/ServerReady',
      parentSpanId: server.spanId,
      attributes: { 'rpc.system': 'grpc', 'rpc.grpc.status_code': 0 },
    });
    expect(only(trace, { serviceName: 'inference-sidecar' })).toMatchObject({
      name: 'inference.GRPCInferenceService/ServerReady',
      kind: SERVER,
      parentSpanId: call.spanId,
      attributes: { 'rpc.method': 'ServerReady', 'rpc.grpc.status_code': 0 },
    });
    expect(only(receiver.spans, { traceId: directTraceId })).toMatchObject({
      serviceName: 'inference-sidecar',
      name: 'inference.GRPCInferenceService/ServerLive',
      parentSpanId: directSpanId,
    });
    expect(sidecar.logLines()).toContainEqual(
      expect.objectContaining({ msg: 'rpc', rpc: 'ServerReady', requestId: 'probe-request-1' }),
    );
  });
});

describe('tracing and request ids from the deployments subgraph to the models subgraph', () => {
  let receiver: OtlpReceiver;
  let dataDir: string;
  let models: ServiceProcess;
  let deployments: ServiceProcess;
  let deploymentsUrl: string;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'mlops-tracing-registry-'));
    const [modelsPort, deploymentsPort] = [await freePort(), await freePort()];
    models = await startServiceProcess(
      'subgraphs/models/dist/main.js',
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        PORT: String(modelsPort),
        DATA_DIR: path.join(dataDir, 'models'),
        INTERNAL_IDENTITY_KEYS: TEST_IDENTITY_KEYS_VALUE,
        // Its request log lines (debug) are what must carry the deployments request's id.
        LOG_LEVEL: 'debug',
      },
      `http://127.0.0.1:${modelsPort}/ready`,
    );
    deploymentsUrl = `http://127.0.0.1:${deploymentsPort}/graphql`;
    deployments = await startServiceProcess(
      'subgraphs/deployments/dist/main.js',
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        PORT: String(deploymentsPort),
        DATA_DIR: path.join(dataDir, 'deployments'),
        MODELS_SUBGRAPH_URL: `http://127.0.0.1:${modelsPort}/graphql`,
        ENDPOINT_PROBE_INTERVAL_MS: '0',
        INTERNAL_IDENTITY_KEYS: TEST_IDENTITY_KEYS_VALUE,
        LOG_LEVEL: 'warn',
      },
      `http://127.0.0.1:${deploymentsPort}/ready`,
    );
  });
  afterAll(async () => {
    await deployments?.stop();
    await models?.stop();
    await receiver?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const asAdmin = (query: string, headers: Record<string, string> = {}) =>
    postAsAdmin(deploymentsUrl, query, headers);

  it("should carry traceparent and x-request-id on the registry check, the models subgraph's span a child of its client span", async () => {
    const pool = await asAdmin('mutation { createServingPool(name: "registry-traced") { name } }');
    expect(pool.body.errors).toBeUndefined();
    const traceId = newTraceId();
    const callerSpanId = newSpanId();
    const created = await asAdmin(
      `mutation CreateDeployment { createDeployment(input: {
        name: "traced", pool: "registry-traced", strategy: DIRECT,
        models: [{ modelName: "unregistered", version: 1, weight: 100 }]
      }) { name } }`,
      { traceparent: `00-${traceId}-${callerSpanId}-01`, 'x-request-id': 'create-deployment-1' },
    );
    // The registry answered: the version does not exist.
    expect(created.body.errors).toEqual([
      expect.objectContaining({
        message: "The model registry has no version 1 of 'unregistered'",
        extensions: expect.objectContaining({ code: 'NOT_FOUND' }),
      }),
    ]);

    await deployments.stop();
    await models.stop();

    const trace = receiver.spans.filter((span) => span.traceId === traceId);
    const server = only(trace, { serviceName: 'deployments', kind: SERVER });
    expect(server).toMatchObject({ name: 'POST /graphql CreateDeployment', parentSpanId: callerSpanId });
    const call = only(trace, { serviceName: 'deployments', kind: CLIENT });
    expect(call).toMatchObject({
      name: 'POST',
      parentSpanId: server.spanId,
      attributes: { 'http.request.method': 'POST', 'http.response.status_code': 200 },
    });
    expect(only(trace, { serviceName: 'models', kind: SERVER })).toMatchObject({
      name: 'POST /graphql RegistryVersionStatus',
      parentSpanId: call.spanId,
    });
    expect(models.logLines()).toContainEqual(
      expect.objectContaining({ msg: 'request', requestId: 'create-deployment-1', status: 200 }),
    );
  });
});

describe('sampling (OTEL_TRACES_SAMPLER=parentbased_traceidratio, OTEL_TRACES_SAMPLER_ARG=0)', () => {
  let receiver: OtlpReceiver;
  let sidecar: ServiceProcess;
  let grpcAddress: string;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    grpcAddress = `127.0.0.1:${grpcPort}`;
    sidecar = await startServiceProcess(
      'inference-sidecar/dist/main.js',
      {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0',
        SIDECAR_GRPC_PORT: String(grpcPort),
        SIDECAR_HTTP_PORT: String(httpPort),
        SIDECAR_MODELS: 'stock-predictor',
        LOG_LEVEL: 'warn',
      },
      `http://127.0.0.1:${httpPort}/ready`,
    );
  });
  afterAll(async () => {
    await sidecar?.stop();
    await receiver?.close();
  });

  it('should record only what the caller sampled, and no new trace of its own at ratio 0', async () => {
    const client = createInferenceClient(grpcAddress, grpc.credentials.createInsecure());
    const serverLive = (traceparent?: string) => {
      const metadata = new grpc.Metadata();
      if (traceparent) metadata.set('traceparent', traceparent);
      return new Promise((resolve, reject) =>
        client.ServerLive({}, metadata, (error, value) => (error ? reject(error) : resolve(value))),
      );
    };
    const sampled = newTraceId();
    const unsampled = newTraceId();
    await serverLive(`00-${sampled}-${newSpanId()}-01`);
    await serverLive(`00-${unsampled}-${newSpanId()}-00`);
    await serverLive();
    client.close();
    await sidecar.stop();

    expect(receiver.spans.map((span) => span.traceId)).toEqual([sampled]);
  });
});
