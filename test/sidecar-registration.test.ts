import { createLogger } from '@mlops/runtime';
import { readSidecarConfig, startSidecar } from '@mlops/inference-sidecar';
import type { SidecarHandle } from '@mlops/inference-sidecar';
import { backends } from './support/databases';
import { startDeploymentsStack } from './support/deployments-stack';
import type { DeploymentsStack } from './support/deployments-stack';
import { testToken } from './support/jwt';

/** What `npm start` and a cluster give a sidecar: a service token with the one scope registration takes. */
const SIDECAR_TOKEN = testToken([], { sub: 'service:inference-sidecar', scope: 'serving:register' });
const TOKEN_VARIABLE = 'SIDECAR_CONTROL_PLANE_TOKEN';

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

  /** A sidecar registering with the stack's gateway into `pool`, with `token` as its credential. */
  async function startRegisteringSidecar(
    pool: string,
    { createPool = false, token }: { createPool?: boolean; token: string | undefined },
  ): Promise<SidecarHandle> {
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
          token,
        },
      },
      logger: createLogger({ service: 'inference-sidecar', level: 'silent' }),
    });
    sidecars.push(sidecar);
    return sidecar;
  }

  const createPool = (name: string) =>
    stack.data(`mutation($n: String!) { createServingPool(name: $n) { name } }`, { n: name });
  const endpointsOf = async (name: string) =>
    (
      await stack.data(
        `query($n: String!) { servingPool(name: $n) { endpoints { id grpcAddress status lastHeartbeatAt } } }`,
        { n: name },
      )
    ).servingPool.endpoints;

  it('should register with its service token (scope serving:register only) and keep heartbeating', async () => {
    const pool = `joined-${kind}`;
    await createPool(pool);
    const sidecar = await startRegisteringSidecar(pool, { token: SIDECAR_TOKEN });
    await sidecar.registration!.nextSuccess();
    const first = await endpointsOf(pool);
    expect(first).toEqual([
      expect.objectContaining({
        id: sidecar.registration!.endpointId,
        grpcAddress: sidecar.grpcAddress,
        status: 'UP',
      }),
    ]);
    await sidecar.registration!.nextSuccess();
    await sidecar.registration!.nextSuccess();
    const later = await endpointsOf(pool);
    expect(Date.parse(later[0].lastHeartbeatAt)).toBeGreaterThanOrEqual(Date.parse(first[0].lastHeartbeatAt));
  });

  it('should not join without a token (the gateway refuses anonymous registration), and keep serving while it retries', async () => {
    const pool = `anonymous-${kind}`;
    await createPool(pool);
    const sidecar = await startRegisteringSidecar(pool, { token: undefined });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(sidecar.registration!.endpointId).toBeNull();
    expect(await endpointsOf(pool)).toEqual([]);
    expect((await fetch(`${sidecar.httpUrl}/ready`)).status).toBe(200);
  });

  it('should create its pool in development mode when its token may (an operator token)', async () => {
    const pool = `auto-${kind}`;
    const sidecar = await startRegisteringSidecar(pool, {
      createPool: true,
      token: testToken(['ml-engineer']),
    });
    await sidecar.registration!.nextSuccess();
    expect(await endpointsOf(pool)).toEqual([
      expect.objectContaining({ id: sidecar.registration!.endpointId, status: 'UP' }),
    ]);
  });

  it('should not create a missing pool with a sidecar token, nor in production mode, and keep serving while it retries', async () => {
    const refused = await startRegisteringSidecar(`refused-${kind}`, {
      createPool: true,
      token: SIDECAR_TOKEN,
    });
    const production = await startRegisteringSidecar(`missing-${kind}`, { token: SIDECAR_TOKEN });
    await new Promise((resolve) => setTimeout(resolve, 400));
    for (const [sidecar, pool] of [
      [refused, `refused-${kind}`],
      [production, `missing-${kind}`],
    ] as const) {
      expect(sidecar.registration!.endpointId).toBeNull();
      const read = await stack.gql(`query($n: String!) { servingPool(name: $n) { name } }`, { n: pool });
      expect(read.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect((await fetch(`${sidecar.httpUrl}/ready`)).status).toBe(200);
    }
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
      token: undefined,
    });
    expect(readSidecarConfig({}).controlPlane).toBeNull();
  });

  it('should read the service token from SIDECAR_CONTROL_PLANE_TOKEN and refuse one that is not a JWT', () => {
    const env = { SIDECAR_POOL: 'p', SIDECAR_CONTROL_PLANE_URL: 'http://gw/graphql' };
    expect(readSidecarConfig({ ...env, [TOKEN_VARIABLE]: ` ${SIDECAR_TOKEN} ` }).controlPlane?.token).toBe(
      SIDECAR_TOKEN,
    );
    expect(() => readSidecarConfig({ ...env, [TOKEN_VARIABLE]: 'Bearer abc' })).toThrow(
      /SIDECAR_CONTROL_PLANE_TOKEN must be a JWT/,
    );
  });
});
