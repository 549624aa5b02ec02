import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@mlops/runtime';
import { readSidecarConfig, startSidecar } from '@mlops/inference-sidecar';
import type { SidecarHandle } from '@mlops/inference-sidecar';
import { backends } from './support/databases';
import { startDeploymentsStack } from './support/deployments-stack';
import type { DeploymentsStack } from './support/deployments-stack';
import { freePort } from './support/fake-stack';
import { startServiceProcess } from './support/service-process';
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

  /** A sidecar registering with the stack's gateway (or `url`) into `pool`, with `token` as its credential. */
  async function startRegisteringSidecar(
    pool: string,
    {
      createPool = false,
      token,
      url = stack.gatewayUrl,
    }: { createPool?: boolean; token: string | undefined; url?: string },
  ): Promise<SidecarHandle> {
    const sidecar = await startSidecar({
      config: {
        ...readSidecarConfig({}),
        grpcPort: 0,
        httpPort: 0,
        startupModels: [],
        controlPlane: {
          url,
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

  describe('leaving the pool', () => {
    it('should deregister when closed, its endpoint leaving the pool at once', async () => {
      const pool = `leaving-${kind}`;
      await createPool(pool);
      const sidecar = await startRegisteringSidecar(pool, { token: SIDECAR_TOKEN });
      await sidecar.registration!.nextSuccess();
      expect(await endpointsOf(pool)).toHaveLength(1);

      await sidecar.close();

      expect(sidecar.registration!.endpointId).toBeNull();
      expect(await endpointsOf(pool)).toEqual([]);
    });

    it('should deregister when its process is stopped with SIGTERM (a pod restart leaves no DOWN endpoint behind)', async () => {
      const pool = `sigterm-${kind}`;
      await createPool(pool);
      const [grpcPort, httpPort] = [await freePort(), await freePort()];
      const sidecar = await startServiceProcess(
        'inference-sidecar/dist/main.js',
        {
          SIDECAR_GRPC_PORT: String(grpcPort),
          SIDECAR_HTTP_PORT: String(httpPort),
          SIDECAR_MODELS: 'stock-predictor',
          SIDECAR_CONTROL_PLANE_URL: stack.gatewayUrl,
          SIDECAR_POOL: pool,
          SIDECAR_HEARTBEAT_MS: '100',
          [TOKEN_VARIABLE]: SIDECAR_TOKEN,
        },
        `http://127.0.0.1:${httpPort}/ready`,
      );
      try {
        // Registration follows readiness by one call: wait (bounded) until the pool has it.
        for (let i = 0; i < 100 && (await endpointsOf(pool)).length === 0; i++)
          await new Promise((resolve) => setTimeout(resolve, 50));
        expect(await endpointsOf(pool)).toEqual([
          expect.objectContaining({ grpcAddress: `127.0.0.1:${grpcPort}`, status: 'UP' }),
        ]);
      } finally {
        await sidecar.stop();
      }

      expect(sidecar.child.exitCode).toBe(0);
      expect(await endpointsOf(pool)).toEqual([]);
      expect(sidecar.logLines().map((line) => line.msg)).toContain('deregistered from the control plane');
    });

    /**
     * A stand-in control plane: answers `registerEndpoint` with the id `held`, then holds every
     * other call unanswered (a control plane that stopped answering), counting the deregistrations.
     */
    async function startSilentControlPlane() {
      const held: http.ServerResponse[] = [];
      let deregistrations = 0;
      const server = http.createServer((req, res) => {
        let body = '';
        req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        req.on('end', () => {
          if (body.includes('deregisterEndpoint')) deregistrations++;
          else if (body.includes('registerEndpoint')) {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ data: { registerEndpoint: { id: 'held' } } }));
            return;
          }
          held.push(res);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
        deregistrations: () => deregistrations,
        /** Stops listening and drops every connection: from now on the address refuses connections. */
        close: () =>
          new Promise<void>((resolve) => {
            for (const res of held) res.destroy();
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      };
    }

    it('should shut down within its bound (2 s) when the control plane stops answering', async () => {
      const controlPlane = await startSilentControlPlane();
      try {
        const sidecar = await startRegisteringSidecar(`unanswered-${kind}`, {
          token: SIDECAR_TOKEN,
          url: controlPlane.url,
        });
        await sidecar.registration!.nextSuccess();
        expect(sidecar.registration!.endpointId).toBe('held');

        const started = Date.now();
        await sidecar.close();
        const took = Date.now() - started;

        expect(controlPlane.deregistrations()).toBe(1);
        expect(took).toBeGreaterThanOrEqual(1_900);
        expect(took).toBeLessThan(4_000);
      } finally {
        await controlPlane.close();
      }
    });

    it('should shut down at once when the control plane is unreachable', async () => {
      const controlPlane = await startSilentControlPlane();
      const sidecar = await startRegisteringSidecar(`unreachable-${kind}`, {
        token: SIDECAR_TOKEN,
        url: controlPlane.url,
      });
      await sidecar.registration!.nextSuccess();
      await controlPlane.close();

      const started = Date.now();
      await sidecar.close();

      expect(Date.now() - started).toBeLessThan(1_500);
      expect(sidecar.registration!.endpointId).toBe('held');
    });
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
