import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readModelsConfig, startModelsService } from '@mlops/models';
import type { ModelsService } from '@mlops/models';
import { createLogger, serviceIdentityHeaders, signIdentityHeaders } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import type { Identity, Role } from '@mlops/schema';
import { createTestDatabase } from './support/databases';
import type { TestDatabase } from './support/databases';
import { TEST_IDENTITY_KEYS } from './support/identity';
import { sha256 } from './support/artifacts';

// Who may upload a model file to the registry once the subgraph verifies identities
// (INTERNAL_IDENTITY_KEYS): the roles that may register versions made of it.

const MiB = 1024 * 1024;

const caller = (roles: Role[], scopes: string[] = []): Identity => ({
  subject: `user-${roles.join('-') || 'none'}`,
  issuer: 'https://id.example',
  roles,
  scopes,
  expiresAt: Math.floor(Date.now() / 1000) + 3600,
});

describe('models artifact uploads with verified identities', () => {
  let database: TestDatabase;
  let artifactDir: string;
  let service: ModelsService;

  const upload = (body: Uint8Array, headers: Record<string, string>) =>
    fetch(new URL('/artifacts', service.url), {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', ...headers },
      body,
    });
  const codeOf = async (response: Response) =>
    ((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code;

  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
    artifactDir = await mkdtemp(path.join(os.tmpdir(), 'mlops-artifacts-'));
    service = await startModelsService({
      config: {
        ...readModelsConfig({}),
        port: 0,
        database: database.config,
        artifactDir,
        maxArtifactBytes: 8 * MiB,
        internalIdentityKeys: TEST_IDENTITY_KEYS,
      },
      logger: createLogger({ service: 'models', level: 'silent' }),
    });
  });
  afterAll(async () => {
    await service?.close();
    await database?.drop();
    await rm(artifactDir, { recursive: true, force: true });
  });

  it.each<Role>(['data-scientist', 'ml-engineer', 'admin'])(
    'should store an upload by a %s',
    async (role) => {
      const bytes = randomBytes(4096);
      const response = await upload(bytes, signIdentityHeaders(caller([role]), TEST_IDENTITY_KEYS));
      expect(response.status).toBe(201);
      expect(await service.artifacts.has(sha256(bytes))).toBe(true);
    },
  );

  it('should answer an anonymous caller 401 UNAUTHENTICATED and store nothing', async () => {
    const bytes = randomBytes(4096);
    const response = await upload(bytes, signIdentityHeaders(null, TEST_IDENTITY_KEYS));
    expect(response.status).toBe(401);
    expect(await codeOf(response)).toBe(ErrorCode.UNAUTHENTICATED);
    expect(await service.artifacts.has(sha256(bytes))).toBe(false);
  });

  it('should answer a viewer, a read-only service token and a platform service 403 FORBIDDEN', async () => {
    const bytes = randomBytes(4096);
    for (const headers of [
      signIdentityHeaders(caller(['viewer']), TEST_IDENTITY_KEYS),
      signIdentityHeaders(caller([], ['models:read']), TEST_IDENTITY_KEYS),
      serviceIdentityHeaders('deployments', TEST_IDENTITY_KEYS),
    ]) {
      const response = await upload(bytes, headers);
      expect(response.status).toBe(403);
      expect(await codeOf(response)).toBe(ErrorCode.FORBIDDEN);
    }
    expect(await service.artifacts.has(sha256(bytes))).toBe(false);
  });

  it('should deliver the refusal to a client still sending a large body, and keep the connection usable', async () => {
    // Refused on its headers; the 6 MiB body is still on its way when the answer goes out.
    const bytes = randomBytes(6 * MiB);
    const refused = await upload(bytes, signIdentityHeaders(caller(['viewer']), TEST_IDENTITY_KEYS));
    expect(refused.status).toBe(403);
    expect(await codeOf(refused)).toBe(ErrorCode.FORBIDDEN);
    const over = await upload(
      randomBytes(9 * MiB),
      signIdentityHeaders(caller(['admin']), TEST_IDENTITY_KEYS),
    );
    expect(over.status).toBe(413);
    expect(await codeOf(over)).toBe(ErrorCode.LIMIT_EXCEEDED);
    const next = await upload(bytes, signIdentityHeaders(caller(['admin']), TEST_IDENTITY_KEYS));
    expect(next.status).toBe(201);
  });
});
