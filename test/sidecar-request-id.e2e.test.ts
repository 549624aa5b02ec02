import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_MODEL_REPOSITORY, readSidecarConfig, startSidecar } from '@mlops/inference-sidecar';
import type { SidecarHandle } from '@mlops/inference-sidecar';
import { createCapturingLogger } from '@mlops/runtime';
import type { CapturingLogger } from '@mlops/runtime';
import { startDeploymentsStack } from './support/deployments-stack';
import type { DeploymentsStack } from './support/deployments-stack';
import { postGraphQL } from './support/graphql-http';
import { operatorHeaders } from './support/jwt';

const MODEL = 'stock-predictor';

/**
 * The request id of a GraphQL request follows the work it starts to the sidecars: the gateway
 * forwards `x-request-id` to the deployments subgraph, whose gRPC calls carry it as metadata, and
 * the sidecar writes it in its RPC log lines — for a rollout the mutation waits for, and for the
 * reconcile a registration starts in the background after answering.
 */
describe('request ids from GraphQL requests to the sidecars they drive', () => {
  let stack: DeploymentsStack;
  let repository: string;
  const sidecars: SidecarHandle[] = [];

  const as = (requestId: string, query: string, variables: Record<string, unknown>) =>
    postGraphQL(stack.gatewayUrl, query, {
      variables,
      headers: { ...operatorHeaders(), 'x-request-id': requestId },
    });

  async function startCapturedSidecar(): Promise<{ sidecar: SidecarHandle; logs: CapturingLogger }> {
    const logs = createCapturingLogger('inference-sidecar');
    const sidecar = await startSidecar({
      config: {
        ...readSidecarConfig({}),
        grpcPort: 0,
        httpPort: 0,
        modelRepository: repository,
        startupModels: [],
      },
      logger: logs.logger,
    });
    sidecars.push(sidecar);
    return { sidecar, logs };
  }

  beforeAll(async () => {
    repository = await mkdtemp(path.join(os.tmpdir(), 'mlops-request-id-'));
    const source = path.join(DEFAULT_MODEL_REPOSITORY, MODEL);
    await cp(path.join(source, 'config.json'), path.join(repository, MODEL, 'config.json'));
    await cp(path.join(source, '1'), path.join(repository, MODEL, '1'), { recursive: true });
    stack = await startDeploymentsStack('sqlite');
    const { createExperiment } = await stack.data(
      `mutation { createExperiment(input: { name: "request-ids" }) { id } }`,
    );
    const { createRun } = await stack.data(
      `mutation($e: ID!) { createRun(input: { experimentId: $e, name: "train" }) { id } }`,
      { e: createExperiment.id },
    );
    const upload = await fetch(new URL('/artifacts', stack.modelsUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: await readFile(path.join(source, '1', 'model.onnx')),
    });
    const { sha256 } = (await upload.json()) as { sha256: string };
    await stack.data(`mutation { createRegisteredModel(input: { name: "${MODEL}" }) { name } }`);
    await stack.data(
      `mutation($i: RegisterModelVersionInput!) { registerModelVersion(input: $i) { version } }`,
      { i: { modelName: MODEL, source: { artifactSha256: sha256 }, runId: createRun.id } },
    );
    await stack.data(`mutation { createServingPool(name: "traced-pool") { name } }`);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(sidecars.map((sidecar) => sidecar.close()));
    await stack?.close();
    await rm(repository, { recursive: true, force: true });
  });

  const REGISTER = `mutation($p: String!, $a: String!) { registerEndpoint(pool: $p, grpcAddress: $a) { id } }`;

  it("should send a rollout's calls with the id of the mutation that started it", async () => {
    const { sidecar, logs } = await startCapturedSidecar();
    const registered = await as('register-first', REGISTER, { p: 'traced-pool', a: sidecar.grpcAddress });
    expect(registered.body.errors).toBeUndefined();

    const created = await as(
      'create-deployment',
      `mutation($input: CreateDeploymentInput!) { createDeployment(input: $input) { status } }`,
      {
        input: {
          name: 'request-ids',
          pool: 'traced-pool',
          strategy: 'DIRECT',
          models: [{ modelName: MODEL, version: 1, weight: 100 }],
        },
      },
    );
    expect(created.body.errors).toBeUndefined();
    const rpcs = logs.lines.filter((line) => line.requestId === 'create-deployment').map((line) => line.rpc);
    expect(rpcs).toEqual(expect.arrayContaining(['ModelReady', 'RepositoryModelLoad']));
  });

  it('should send the calls of a reconcile running after the registration answered with its id', async () => {
    const { sidecar, logs } = await startCapturedSidecar();
    const registered = await as('register-second', REGISTER, { p: 'traced-pool', a: sidecar.grpcAddress });
    expect(registered.body.errors).toBeUndefined();
    // The reconcile loads the serving version and sends the split, in the background.
    expect(
      await logs.next({ requestId: 'register-second', rpc: 'RepositoryModelLoad', msg: 'rpc' }),
    ).toMatchObject({ level: 20 });
    expect(logs.lines.every((line) => line.rpc === undefined || line.requestId === 'register-second')).toBe(
      true,
    );
  });
});
