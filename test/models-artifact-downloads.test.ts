import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createLocalArtifactStore, readModelsConfig, startModelsService } from '@mlops/models';
import type { ArtifactStore, ModelsService } from '@mlops/models';
import { createCapturingLogger, serviceIdentityHeaders, signIdentityHeaders } from '@mlops/runtime';
import type { Identity } from '@mlops/schema';
import { backends, createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { FORGED_IDENTITY_KEYS, TEST_IDENTITY_KEYS } from './support/identity';
import { sha256 } from './support/artifacts';

const MiB = 1024 * 1024;

function caller(extra: Partial<Identity>): Identity {
  return {
    subject: 'user-1',
    issuer: 'https://id.example',
    roles: [],
    scopes: [],
    expiresAt: Math.floor(Date.now() / 1000) + 3600,
    ...extra,
  };
}

/** Headers of a caller the gateway verified, signed with the service's key. */
const signed = (identity: Identity | null) => signIdentityHeaders(identity, TEST_IDENTITY_KEYS);
const engineer = () => signed(caller({ roles: ['ml-engineer'] }));

/** The real local store, counting the bytes the service has read from files it opened. */
function countingStore(inner: ArtifactStore): {
  store: ArtifactStore;
  bytesRead: () => number;
  /** The streams the service was given, newest last. */
  opened: Readable[];
} {
  let read = 0;
  const opened: Readable[] = [];
  const store: ArtifactStore = {
    ...inner,
    async open(hash) {
      const source = await inner.open(hash);
      const counted = Readable.from(
        (async function* () {
          for await (const chunk of source as AsyncIterable<Buffer>) {
            read += chunk.length;
            yield chunk;
          }
        })(),
      );
      opened.push(counted);
      return counted;
    },
  };
  return { store, bytesRead: () => read, opened };
}

/** A GET with its path sent exactly as given. */
function rawRequest(
  port: number,
  rawPath: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: rawPath, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

async function errorOf(response: Response): Promise<Record<string, unknown> | undefined> {
  const body = (await response.json()) as { errors?: { extensions?: Record<string, unknown> }[] };
  return body.errors?.[0]?.extensions;
}

describe.each(backends())('models artifact downloads on %s', (kind) => {
  let database: TestDatabase;
  let artifactDir: string;
  let service: ModelsService;
  let bytesRead: () => number;
  let opened: Readable[];
  const log = createCapturingLogger('models', 'warn');
  let big: Buffer;
  let bigSha: string;

  const downloadUrl = (key: string) => new URL(`/artifacts/${key}`, service.url);

  async function upload(bytes: Uint8Array): Promise<{ sha256: string; size: number }> {
    const response = await fetch(new URL('/artifacts', service.url), {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', ...engineer() },
      body: bytes,
    });
    expect([200, 201]).toContain(response.status);
    return (await response.json()) as { sha256: string; size: number };
  }

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    artifactDir = await mkdtemp(path.join(os.tmpdir(), 'mlops-artifacts-'));
    const counting = countingStore(createLocalArtifactStore(artifactDir));
    bytesRead = counting.bytesRead;
    opened = counting.opened;
    service = await startModelsService({
      config: {
        ...readModelsConfig({}),
        port: 0,
        database: database.config,
        artifactDir,
        maxArtifactBytes: 64 * MiB,
        internalIdentityKeys: TEST_IDENTITY_KEYS,
      },
      logger: log.logger,
      artifacts: counting.store,
    });
    big = randomBytes(32 * MiB);
    bigSha = sha256(big);
    expect(await upload(big)).toMatchObject({ sha256: bigSha, size: big.length });
  });
  afterAll(async () => {
    await service?.close();
    await database?.drop();
    await rm(artifactDir, { recursive: true, force: true });
  });

  describe('GET /artifacts/<sha256>', () => {
    it('should stream an uploaded file back byte-identical with its length, etag and sha256', async () => {
      const response = await fetch(downloadUrl(bigSha), { headers: engineer() });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/octet-stream');
      expect(response.headers.get('content-length')).toBe(String(big.length));
      expect(response.headers.get('etag')).toBe(`"${bigSha}"`);
      expect(response.headers.get('x-artifact-sha256')).toBe(bigSha);
      const body = Buffer.from(await response.arrayBuffer());
      expect(body.length).toBe(big.length);
      expect(sha256(body)).toBe(bigSha);
      expect(body.equals(big)).toBe(true);
    });

    it('should send the first bytes before reading the whole file (streaming, not buffering)', async () => {
      const before = bytesRead();
      const response = await fetch(downloadUrl(bigSha), { headers: engineer() });
      const reader = response.body!.getReader();
      const first = await reader.read();
      expect(first.done).toBe(false);
      // A buffering route would have read all 32 MiB before sending anything; backpressure keeps a
      // streaming one within the socket and stream buffers of the client.
      expect(bytesRead() - before).toBeLessThan(big.length / 2);
      let received = first.value!.length;
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        received += chunk.value.length;
      }
      expect(received).toBe(big.length);
      expect(bytesRead() - before).toBe(big.length);
    });

    it('should stop reading and log no failure when the client goes away mid-download', async () => {
      const abort = new AbortController();
      const response = await fetch(downloadUrl(bigSha), { headers: engineer(), signal: abort.signal });
      const reader = response.body!.getReader();
      expect((await reader.read()).done).toBe(false);
      const source = opened.at(-1)!;
      abort.abort();
      await finished(source).catch(() => undefined);
      expect(source.destroyed).toBe(true);
      // One more round trip, so whatever the aborted request would log has been logged.
      expect((await fetch(downloadUrl(bigSha), { method: 'HEAD', headers: engineer() })).status).toBe(200);
      expect(log.lines.filter((line) => line.msg === 'request failed')).toEqual([]);
    });

    it('should accept the hash in upper case', async () => {
      const response = await fetch(downloadUrl(bigSha.toUpperCase()), {
        method: 'HEAD',
        headers: engineer(),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-artifact-sha256')).toBe(bigSha);
    });

    it('should answer HEAD with the same headers and no body', async () => {
      const before = bytesRead();
      const response = await fetch(downloadUrl(bigSha), { method: 'HEAD', headers: engineer() });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/octet-stream');
      expect(response.headers.get('content-length')).toBe(String(big.length));
      expect(response.headers.get('etag')).toBe(`"${bigSha}"`);
      expect(response.headers.get('x-artifact-sha256')).toBe(bigSha);
      expect((await response.arrayBuffer()).byteLength).toBe(0);
      expect(bytesRead()).toBe(before);
    });

    it('should answer 304 without a body when if-none-match names the artifact', async () => {
      for (const tag of [`"${bigSha}"`, `W/"${bigSha}", "other"`, '*']) {
        const response = await fetch(downloadUrl(bigSha), {
          headers: { ...engineer(), 'if-none-match': tag },
        });
        expect(response.status).toBe(304);
        expect(response.headers.get('etag')).toBe(`"${bigSha}"`);
        expect((await response.arrayBuffer()).byteLength).toBe(0);
      }
      const other = await fetch(downloadUrl(bigSha), {
        method: 'HEAD',
        headers: { ...engineer(), 'if-none-match': `"${'0'.repeat(64)}"` },
      });
      expect(other.status).toBe(200);
    });

    it('should answer 400 BAD_USER_INPUT for a path that is not a sha256, touching no file', async () => {
      const before = bytesRead();
      for (const key of [
        'abc',
        `${bigSha}0`,
        `${bigSha}/x`,
        `${bigSha.slice(0, 63)}g`,
        '',
        '..%2F..%2Fetc%2Fpasswd',
      ]) {
        const response = await fetch(downloadUrl(key), { headers: engineer() });
        expect({ key, status: response.status }).toEqual({ key, status: 400 });
        expect(await errorOf(response)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'sha256' });
      }
      expect(bytesRead()).toBe(before);
    });

    it('should never serve a file outside the store for a path that walks out of it', async () => {
      // Sent verbatim (fetch would normalize them): `..` segments resolve before routing, so they
      // reach no route at all; encoded slashes stay in the key and fail its validation.
      for (const [rawPath, status] of [
        ['/artifacts/../../etc/passwd', 404],
        ['/artifacts/%2e%2e/%2e%2e/etc/passwd', 404],
        ['/artifacts/..%2f..%2fetc%2fpasswd', 400],
      ] as const) {
        const response = await rawRequest(service.port, rawPath, engineer());
        expect({ rawPath, status: response.status }).toEqual({ rawPath, status });
        expect(response.body).not.toMatch(/root:/);
      }
    });

    it('should answer 404 NOT_FOUND for a sha256 with nothing stored', async () => {
      const response = await fetch(downloadUrl('0'.repeat(64)), { headers: engineer() });
      expect(response.status).toBe(404);
      expect(await errorOf(response)).toMatchObject({ code: 'NOT_FOUND', field: 'sha256' });
      const head = await fetch(downloadUrl('0'.repeat(64)), { method: 'HEAD', headers: engineer() });
      expect(head.status).toBe(404);
    });

    it('should answer 405 with allow: GET, HEAD to other methods', async () => {
      for (const method of ['POST', 'PUT', 'DELETE']) {
        const response = await fetch(downloadUrl(bigSha), { method, headers: engineer(), body: '' });
        expect(response.status).toBe(405);
        expect(response.headers.get('allow')).toBe('GET, HEAD');
        expect(await errorOf(response)).toMatchObject({ code: 'BAD_USER_INPUT' });
      }
      expect(await service.artifacts.has(bigSha)).toBe(true);
    });
  });

  describe('authorization', () => {
    const statusFor = async (headers: Record<string, string>) => {
      const response = await fetch(downloadUrl(bigSha), { method: 'HEAD', headers });
      return response.status;
    };

    it('should answer 401 UNAUTHENTICATED without a signed identity or with a forged one', async () => {
      const bare = await fetch(downloadUrl(bigSha));
      expect(bare.status).toBe(401);
      expect(await errorOf(bare)).toMatchObject({ code: 'UNAUTHENTICATED' });
      const forged = await fetch(downloadUrl(bigSha), {
        headers: signIdentityHeaders(caller({ roles: ['admin'] }), FORGED_IDENTITY_KEYS),
      });
      expect(forged.status).toBe(401);
      expect(await errorOf(forged)).toMatchObject({ code: 'UNAUTHENTICATED' });
    });

    it('should answer 401 UNAUTHENTICATED to an anonymous caller the gateway signed for', async () => {
      const response = await fetch(downloadUrl(bigSha), { headers: signed(null) });
      expect(response.status).toBe(401);
      expect(await errorOf(response)).toMatchObject({ code: 'UNAUTHENTICATED' });
    });

    it('should answer 403 FORBIDDEN to a caller without a registry role or models:read', async () => {
      const viewer = await fetch(downloadUrl(bigSha), { headers: signed(caller({ roles: ['viewer'] })) });
      expect(viewer.status).toBe(403);
      expect(await errorOf(viewer)).toMatchObject({ code: 'FORBIDDEN' });
      expect(await statusFor(signed(caller({ scopes: ['serving:register'] })))).toBe(403);
      // A token whose subject merely looks like a platform service is not one.
      expect(await statusFor(signed(caller({ subject: 'service:deployments' })))).toBe(403);
      // Platform services not named as artifact readers.
      expect(await statusFor(serviceIdentityHeaders('alerts', TEST_IDENTITY_KEYS))).toBe(403);
    });

    it('should let every registry role and scope models:read download', async () => {
      for (const role of ['data-scientist', 'ml-engineer', 'admin'] as const) {
        expect(await statusFor(signed(caller({ roles: [role] })))).toBe(200);
      }
      expect(await statusFor(signed(caller({ subject: 'service:ci', scopes: ['models:read'] })))).toBe(200);
    });

    it('should let the deployments and inference-sidecar service identities download', async () => {
      for (const name of ['deployments', 'inference-sidecar']) {
        const response = await fetch(downloadUrl(bigSha), {
          headers: serviceIdentityHeaders(name, TEST_IDENTITY_KEYS),
        });
        expect(response.status).toBe(200);
        expect(sha256(Buffer.from(await response.arrayBuffer()))).toBe(bigSha);
      }
    });

    it('should refuse before saying whether an artifact exists', async () => {
      expect(await statusFor(signed(null))).toBe(401);
      const unknown = await fetch(downloadUrl('0'.repeat(64)), {
        headers: signed(caller({ roles: ['viewer'] })),
      });
      expect(unknown.status).toBe(403);
      const malformed = await fetch(downloadUrl('nope'), { headers: signed(caller({ roles: ['viewer'] })) });
      expect(malformed.status).toBe(403);
    });
  });
});
