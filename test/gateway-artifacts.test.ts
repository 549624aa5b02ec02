import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createGateway } from '@mlops/gateway';
import type { GatewayHandle } from '@mlops/gateway';
import { readModelsConfig, startModelsService } from '@mlops/models';
import type { ModelsService } from '@mlops/models';
import { createCapturingLogger, serviceIdentityHeaders, signIdentityHeaders } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { silentLogger } from './support/federation-subgraph';
import { TEST_IDENTITY_KEYS } from './support/identity';
import { TEST_JWT_SECRET, bearerHeaders } from './support/jwt';
import { SHIPPED_MODEL_PATH, sha256 } from './support/artifacts';

// Model files through the gateway, as a client that reaches only the gateway uploads and downloads
// them: the gateway verifies the token and signs the identity; the models subgraph decides.

const MiB = 1024 * 1024;
const MAX_ARTIFACT_BYTES = 16 * MiB;

const engineer = () => bearerHeaders(['ml-engineer']);
const viewer = () => bearerHeaders(['viewer']);

async function codeOf(response: Response): Promise<unknown> {
  const body = (await response.json()) as { errors?: { extensions?: { code?: unknown } }[] };
  return body.errors?.[0]?.extensions?.code;
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** An HTTP server that accepts connections and never answers: a models subgraph that hangs. */
async function startSilentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('artifacts through the gateway', () => {
  let database: TestDatabase;
  let artifactDir: string;
  let models: ModelsService;
  let gateway: GatewayHandle;
  const modelsLog = createCapturingLogger('models', 'debug');
  const gateways: GatewayHandle[] = [];

  const startGateway = async (modelsUrl: string, idleTimeoutMs = 60_000) => {
    const started = await createGateway({
      env: {},
      logger: silentLogger(),
      port: 0,
      subgraphUrls: { models: modelsUrl },
      auth: { hs256Secret: TEST_JWT_SECRET },
      internalIdentityKeys: TEST_IDENTITY_KEYS,
      artifactIdleTimeoutMs: idleTimeoutMs,
    });
    gateways.push(started);
    return started;
  };
  const at = (target: GatewayHandle, pathname: string) => new URL(pathname, target.url);
  const upload = (body: Uint8Array, headers: Record<string, string>, query = '') =>
    fetch(at(gateway, `/artifacts${query}`), {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', ...headers },
      body,
    });

  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
    artifactDir = await mkdtemp(path.join(os.tmpdir(), 'mlops-artifacts-'));
    models = await startModelsService({
      config: {
        ...readModelsConfig({}),
        port: 0,
        database: database.config,
        artifactDir,
        maxArtifactBytes: MAX_ARTIFACT_BYTES,
        internalIdentityKeys: TEST_IDENTITY_KEYS,
      },
      logger: modelsLog.logger,
    });
    gateway = await startGateway(models.url);
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await models?.close();
    await database?.drop();
    await rm(artifactDir, { recursive: true, force: true });
  });

  describe('uploads', () => {
    it('should store an engineer’s upload and answer as the models subgraph does (201, then 200 for the same bytes)', async () => {
      const bytes = randomBytes(3 * MiB);
      const first = await upload(bytes, engineer());
      expect(first.status).toBe(201);
      expect(await first.json()).toMatchObject({ sha256: sha256(bytes), size: bytes.length });
      expect(await models.artifacts.has(sha256(bytes))).toBe(true);

      const again = await upload(bytes, engineer());
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual({
        sha256: sha256(bytes),
        size: bytes.length,
        uri: expect.any(String),
      });
    });

    it('should pass the query on: ?validate=onnx answers the model’s signature, or 422 for a file that is not one', async () => {
      const model = await readFile(SHIPPED_MODEL_PATH);
      const valid = await upload(model, engineer(), '?validate=onnx');
      expect(valid.status).toBeLessThan(300);
      const body = (await valid.json()) as { sha256: string; signature: { inputs: unknown[] } };
      expect(body.sha256).toBe(sha256(model));
      expect(body.signature.inputs.length).toBeGreaterThan(0);

      const junk = randomBytes(1024);
      const invalid = await upload(junk, engineer(), '?validate=onnx');
      expect(invalid.status).toBe(422);
      expect(await codeOf(invalid)).toBe(ErrorCode.BAD_USER_INPUT);
      expect(await models.artifacts.has(sha256(junk))).toBe(false);
    });

    it('should answer a viewer 403 FORBIDDEN and store nothing', async () => {
      const bytes = randomBytes(64 * 1024);
      const response = await upload(bytes, viewer());
      expect(response.status).toBe(403);
      expect(await codeOf(response)).toBe(ErrorCode.FORBIDDEN);
      expect(await models.artifacts.has(sha256(bytes))).toBe(false);
    });

    it('should answer a caller without a token 401 UNAUTHENTICATED (from the subgraph) and one with a bad token 401 at the gateway', async () => {
      const bytes = randomBytes(1024);
      const anonymous = await upload(bytes, {});
      expect(anonymous.status).toBe(401);
      expect(await codeOf(anonymous)).toBe(ErrorCode.UNAUTHENTICATED);

      const forged = await upload(bytes, { authorization: 'Bearer not.a.token' });
      expect(forged.status).toBe(401);
      expect(await codeOf(forged)).toBe(ErrorCode.UNAUTHENTICATED);
      expect(await models.artifacts.has(sha256(bytes))).toBe(false);
    });

    it('should not pass on identity headers a client sends itself: only the gateway signs', async () => {
      const bytes = randomBytes(1024);
      // Validly signed for an engineer (as if stolen from inside), but the client has no token.
      const smuggled = signIdentityHeaders(
        {
          subject: 'someone',
          issuer: 'https://id.example',
          roles: ['ml-engineer'],
          scopes: [],
          expiresAt: Math.floor(Date.now() / 1000) + 3600,
        },
        TEST_IDENTITY_KEYS,
      );
      const response = await upload(bytes, {
        ...smuggled,
        ...serviceIdentityHeaders('deployments', TEST_IDENTITY_KEYS),
      });
      expect(response.status).toBe(401);
      expect(await models.artifacts.has(sha256(bytes))).toBe(false);
    });

    it('should pass the subgraph’s size limit on: 413 LIMIT_EXCEEDED and nothing stored, whatever MAX_BODY_BYTES says', async () => {
      const bytes = randomBytes(MAX_ARTIFACT_BYTES + 1);
      const response = await upload(bytes, engineer());
      expect(response.status).toBe(413);
      expect(await codeOf(response)).toBe(ErrorCode.LIMIT_EXCEEDED);
      expect(await models.artifacts.has(sha256(bytes))).toBe(false);
      // Larger than the gateway's GraphQL body limit (1 MiB) and still accepted below the subgraph's.
      expect((await upload(randomBytes(2 * MiB), engineer())).status).toBe(201);
    });

    it('should abort the upstream upload when the client goes away mid-body, storing nothing', async () => {
      const { port } = new URL(gateway.url);
      const sent = randomBytes(256 * 1024);
      await new Promise<void>((resolve, reject) => {
        const request = http.request({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/artifacts',
          headers: {
            ...engineer(),
            'content-type': 'application/octet-stream',
            'content-length': String(4 * MiB),
          },
        });
        request.on('error', () => resolve());
        request.on('response', () => reject(new Error('answered an incomplete upload')));
        request.write(sent, () => setTimeout(() => request.destroy(), 200));
        request.on('close', () => resolve());
      });
      // The subgraph saw the upload cut short: its partial file is gone and nothing was stored.
      const tmp = path.join(artifactDir, '.tmp');
      await waitFor(async () => (await readdir(tmp)).length === 0);
      const entries = await readdir(artifactDir, { recursive: true });
      const sizes = await Promise.all(
        entries
          .filter((entry) => /[0-9a-f]{64}$/.test(entry))
          .map(async (entry) => (await stat(path.join(artifactDir, entry))).size),
      );
      expect(sizes).not.toContain(4 * MiB);
    });
  });

  describe('downloads', () => {
    let bytes: Buffer;
    beforeAll(async () => {
      bytes = randomBytes(5 * MiB);
      expect((await upload(bytes, engineer())).status).toBe(201);
    });

    it('should stream an engineer the file byte-identical with the subgraph’s headers', async () => {
      const response = await fetch(at(gateway, `/artifacts/${sha256(bytes)}`), { headers: engineer() });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/octet-stream');
      expect(response.headers.get('content-length')).toBe(String(bytes.length));
      expect(response.headers.get('etag')).toBe(`"${sha256(bytes)}"`);
      expect(response.headers.get('x-artifact-sha256')).toBe(sha256(bytes));
      // The gateway's own security headers, not the subgraph's.
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
    });

    it('should answer HEAD without a body and if-none-match with 304', async () => {
      const head = await fetch(at(gateway, `/artifacts/${sha256(bytes)}`), {
        method: 'HEAD',
        headers: engineer(),
      });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(bytes.length));
      expect((await head.arrayBuffer()).byteLength).toBe(0);

      const cached = await fetch(at(gateway, `/artifacts/${sha256(bytes)}`), {
        headers: { ...engineer(), 'if-none-match': `"${sha256(bytes)}"` },
      });
      expect(cached.status).toBe(304);
    });

    it('should pass the subgraph’s refusals on with their codes', async () => {
      const forViewer = await fetch(at(gateway, `/artifacts/${sha256(bytes)}`), { headers: viewer() });
      expect(forViewer.status).toBe(403);
      expect(await codeOf(forViewer)).toBe(ErrorCode.FORBIDDEN);

      const unknown = await fetch(at(gateway, `/artifacts/${'0'.repeat(64)}`), { headers: engineer() });
      expect(unknown.status).toBe(404);
      expect(await codeOf(unknown)).toBe(ErrorCode.NOT_FOUND);

      const malformed = await fetch(at(gateway, '/artifacts/..%2F..%2Fetc%2Fpasswd'), {
        headers: engineer(),
      });
      expect(malformed.status).toBe(400);
      expect(await codeOf(malformed)).toBe(ErrorCode.BAD_USER_INPUT);
    });

    it('should carry the client’s request id to the subgraph', async () => {
      const requestId = `artifact-${randomBytes(6).toString('hex')}`;
      const response = await fetch(at(gateway, `/artifacts/${sha256(bytes)}`), {
        method: 'HEAD',
        headers: { ...engineer(), 'x-request-id': requestId },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-request-id')).toBe(requestId);
      // The subgraph's own request log line carries it.
      await modelsLog.next({ msg: 'request', requestId });
    });
  });

  describe('metrics', () => {
    it('should count proxied requests by the status answered and time them', async () => {
      const scrape = async () => (await (await fetch(at(gateway, '/metrics'))).text()).split('\n');
      const count = (lines: string[], status: string) =>
        Number(
          lines
            .find((l) => l.startsWith('gateway_artifact_requests_total{') && l.includes(`status="${status}"`))
            ?.split(' ')[1] ?? 0,
        );
      const before = await scrape();
      const bytes = randomBytes(1024);
      for (const [headers, status] of [
        [engineer(), 201],
        [viewer(), 403],
      ] as const) {
        const response = await upload(bytes, headers);
        expect(response.status).toBe(status);
        await response.text();
      }
      const after = await scrape();
      expect(count(after, '201') - count(before, '201')).toBe(1);
      expect(count(after, '403') - count(before, '403')).toBe(1);
      const timed = (lines: string[]) =>
        Number(
          lines.find((l) => l.startsWith('gateway_artifact_request_duration_seconds_count'))?.split(' ')[1],
        );
      expect(timed(after) - timed(before)).toBe(2);
    });
  });

  describe('when the models subgraph fails', () => {
    it('should answer 502 UNAVAILABLE when nothing listens at its URL', async () => {
      const silent = await startSilentServer();
      const url = silent.url;
      await silent.close();
      const orphan = await startGateway(url);
      const response = await fetch(at(orphan, `/artifacts/${'a'.repeat(64)}`), { headers: engineer() });
      expect(response.status).toBe(502);
      const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect(body.errors[0]?.extensions.code).toBe(ErrorCode.UNAVAILABLE);
      // Where the subgraph lives, and how the connection failed, stay in the gateway's log.
      expect(body.errors[0]?.message).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);
    });

    it('should answer 504 UNAVAILABLE when it does not answer within ARTIFACT_IDLE_TIMEOUT_MS, and keep serving', async () => {
      const silent = await startSilentServer();
      try {
        const stalled = await startGateway(silent.url, 300);
        const started = Date.now();
        const response = await fetch(at(stalled, `/artifacts/${'a'.repeat(64)}`), { headers: engineer() });
        expect(response.status).toBe(504);
        expect(await codeOf(response)).toBe(ErrorCode.UNAVAILABLE);
        expect(Date.now() - started).toBeGreaterThanOrEqual(250);
        expect((await fetch(at(stalled, '/health'))).status).toBe(200);
      } finally {
        await silent.close();
      }
    });
  });
});
