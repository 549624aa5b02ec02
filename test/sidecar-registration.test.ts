import { createLogger } from '@mlops/runtime';
import { readSidecarConfig, startSidecar } from '@mlops/inference-sidecar';
import type { SidecarHandle } from '@mlops/inference-sidecar';
import { backends } from './support/databases';
import { startDeploymentsStack } from './support/deployments-stack';
import type { DeploymentsStack } from './support/deployments-stack';

/** A sidecar joins its serving pool by itself, through the gateway, and keeps its endpoint alive. */
describe.each(backends())('sidecar registration with the control plane on %s', (kind) => {
  let stack: DeploymentsStack;
  const sidecars: SidecarHandle[] = [];

  beforeAll(async () => {
    stack = await startDeploymentsStack(kind);
  });
  afterAll(async () => {
    await Promise.all(sidecars.map((s) => s.close()));
    await stack?.close();
  });

  async function startRegisteringSidecar(pool: string, createPool: boolean): Promise<SidecarHandle> {
    const sidecar = await startSidecar({
      config: {
        ...readSidecarConfig({}),
        grpcPort: 0,
        httpPort: 0,
        startupModels: [],
        controlPlane: {
          url: stack.gatewayUrl,
          pool,
          advertiseAddress: undefined,
          heartbeatMs: 100,
          createPool,
          identityKeys: undefined,
        },
      },
      logger: createLogger({ service: 'inference-sidecar', level: 'silent' }),
    });
    sidecars.push(sidecar);
    return sidecar;
  }

  it('should create its pool in development mode, register its address and keep heartbeating', async () => {
    const sidecar = await startRegisteringSidecar(`auto-${kind}`, true);
    await sidecar.registration!.nextSuccess();
    const first = await stack.data(
      `query($n: String!) { servingPool(name: $n) { endpoints { id grpcAddress status lastHeartbeatAt } } }`,
      {
        n: `auto-${kind}`,
      },
    );
    expect(first.servingPool.endpoints).toEqual([
      expect.objectContaining({
        id: sidecar.registration!.endpointId,
        grpcAddress: sidecar.grpcAddress,
        status: 'UP',
      }),
    ]);
    await sidecar.registration!.nextSuccess();
    await sidecar.registration!.nextSuccess();
    const later = await stack.data(
      `query($n: String!) { servingPool(name: $n) { endpoints { lastHeartbeatAt } } }`,
      { n: `auto-${kind}` },
    );
    expect(Date.parse(later.servingPool.endpoints[0].lastHeartbeatAt)).toBeGreaterThanOrEqual(
      Date.parse(first.servingPool.endpoints[0].lastHeartbeatAt),
    );
  });

  it('should not create a missing pool in production mode, and keep serving while it retries', async () => {
    const sidecar = await startRegisteringSidecar(`missing-${kind}`, false);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(sidecar.registration!.endpointId).toBeNull();
    const pool = await stack.gql(`query($n: String!) { servingPool(name: $n) { name } }`, {
      n: `missing-${kind}`,
    });
    expect(pool.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await fetch(`${sidecar.httpUrl}/ready`)).status).toBe(200);
  });
});

describe('sidecar control plane configuration', () => {
  it('should need SIDECAR_CONTROL_PLANE_URL and SIDECAR_POOL together', () => {
    expect(() => readSidecarConfig({ SIDECAR_POOL: 'default' })).toThrow(
      /SIDECAR_CONTROL_PLANE_URL and SIDECAR_POOL/,
    );
    expect(
      readSidecarConfig({ SIDECAR_POOL: 'p', SIDECAR_CONTROL_PLANE_URL: 'http://gw/graphql' }).controlPlane,
    ).toEqual({
      url: 'http://gw/graphql',
      pool: 'p',
      advertiseAddress: undefined,
      heartbeatMs: 5000,
      createPool: false,
    });
    expect(readSidecarConfig({}).controlPlane).toBeNull();
  });
});
