import { spawnSync } from 'node:child_process';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createJwksKeyStore, createJwtVerifier, TokenRejected } from '@mlops/gateway';
import type { JwtVerifier } from '@mlops/gateway';
import { generateTestKey, signTestToken, validClaims } from './support/jwt';

const SECRET = 'development-secret-with-enough-entropy';
const rsa = generateTestKey('rsa-1', 'RS256');
const ec = generateTestKey('ec-1', 'ES256');
const hs = { algorithm: 'HS256' as const, secret: SECRET };

describe('createJwtVerifier', () => {
  let dir: string;
  let jwksFile: string;
  let verifier: JwtVerifier;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mlops-jwks-'));
    jwksFile = path.join(dir, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify({ keys: [rsa.jwk, ec.jwk] }));
    verifier = createJwtVerifier({
      hs256Secret: SECRET,
      keys: createJwksKeyStore({ source: { kind: 'file', path: jwksFile }, minReloadIntervalMs: 0 }),
      issuers: ['https://id.example'],
      audiences: ['mlops'],
    });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each([
    ['HS256', hs],
    ['RS256', rsa],
    ['ES256', ec],
  ] as const)('should accept a valid %s token and read its identity', async (_alg, signer) => {
    const token = signTestToken(
      validClaims({ roles: ['ml-engineer', 'superuser'], scope: 'deployments:write models:read' }),
      signer,
    );

    const identity = await verifier.verify(token);

    expect(identity).toEqual({
      subject: 'user-1',
      issuer: 'https://id.example',
      roles: ['ml-engineer'],
      scopes: ['deployments:write', 'models:read'],
      expiresAt: expect.any(Number),
    });
  });

  it('should read scopes from an scp list and accept aud given as a list', async () => {
    const token = signTestToken(validClaims({ scp: ['a', 'b'], aud: ['other', 'mlops'] }), rsa);

    expect(await verifier.verify(token)).toMatchObject({ scopes: ['a', 'b'], roles: [] });
  });

  const rejected: [string, () => string, RegExp][] = [
    ['alg none', () => signTestToken(validClaims(), { algorithm: 'none' }), /"none"/],
    ['an unknown alg', () => signTestToken(validClaims(), hs, { alg: 'HS512' }), /"HS512"/],
    [
      'an expired token',
      () => signTestToken(validClaims({ exp: Math.floor(Date.now() / 1000) - 120 }), rsa),
      /expired/,
    ],
    ['a token without exp', () => signTestToken(validClaims({ exp: undefined }), rsa), /no expiry/],
    [
      'a token not valid yet',
      () => signTestToken(validClaims({ nbf: Math.floor(Date.now() / 1000) + 600 }), ec),
      /not valid yet/,
    ],
    ['a wrong issuer', () => signTestToken(validClaims({ iss: 'https://evil.example' }), rsa), /issuer/],
    ['a wrong audience', () => signTestToken(validClaims({ aud: 'someone-else' }), rsa), /audience/],
    ['a token without subject', () => signTestToken(validClaims({ sub: '' }), hs), /subject/],
    [
      'a wrong HS256 secret',
      () => signTestToken(validClaims(), { algorithm: 'HS256', secret: 'guess' }),
      /signature/,
    ],
    [
      'RS/HS confusion (the public key as HMAC secret)',
      () =>
        signTestToken(validClaims(), {
          algorithm: 'HS256',
          secret: rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string,
        }),
      /signature/,
    ],
    [
      'an ES256 header on an RSA key',
      () => signTestToken(validClaims(), ec, { kid: 'rsa-1' }),
      /is for RS256/,
    ],
    ['an unknown kid', () => signTestToken(validClaims(), rsa, { kid: 'nobody' }), /No signing key 'nobody'/],
    ['a missing kid', () => signTestToken(validClaims(), rsa, { kid: undefined }), /names no key/],
    ['critical header extensions', () => signTestToken(validClaims(), rsa, { crit: ['exp'] }), /crit/],
    [
      'a tampered payload',
      () => {
        const [h, , s] = signTestToken(validClaims(), rsa).split('.');
        return `${h}.${Buffer.from(JSON.stringify(validClaims({ roles: ['admin'] }))).toString('base64url')}.${s}`;
      },
      /signature/,
    ],
    ['two segments', () => 'abc.def', /compact JWS/],
    ['a header that is not base64url', () => 'a+b/.e30.sig', /not base64url/],
    [
      'a header that is not JSON',
      () => `${Buffer.from('nope').toString('base64url')}.e30.c2ln`,
      /not a JSON object/,
    ],
    ['a huge token', () => `${'a'.repeat(9000)}.b.c`, /longer than/],
  ];

  it.each(rejected)('should reject %s', async (_case, makeToken, reason) => {
    await expect(verifier.verify(makeToken())).rejects.toThrow(TokenRejected);
    await expect(verifier.verify(makeToken())).rejects.toThrow(reason);
  });

  it('should refuse asymmetric tokens when only a shared secret is configured, and HS256 when only keys are', async () => {
    const secretOnly = createJwtVerifier({ hs256Secret: SECRET });
    const keysOnly = createJwtVerifier({
      keys: createJwksKeyStore({ source: { kind: 'file', path: jwksFile } }),
    });

    await expect(secretOnly.verify(signTestToken(validClaims(), rsa))).rejects.toThrow(
      /RS256 tokens are not accepted/,
    );
    await expect(keysOnly.verify(signTestToken(validClaims(), hs))).rejects.toThrow(
      /HS256 tokens are not accepted/,
    );
  });
});

describe('createJwksKeyStore', () => {
  it('should pick up a rotated key from the file when a token names it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mlops-jwks-'));
    try {
      const file = path.join(dir, 'jwks.json');
      await writeFile(file, JSON.stringify({ keys: [rsa.jwk] }));
      const verifier = createJwtVerifier({
        keys: createJwksKeyStore({ source: { kind: 'file', path: file }, minReloadIntervalMs: 0 }),
      });
      await verifier.verify(signTestToken(validClaims(), rsa));
      const next = generateTestKey('rsa-2', 'RS256');

      await writeFile(file, JSON.stringify({ keys: [rsa.jwk, next.jwk] }));

      expect(await verifier.verify(signTestToken(validClaims(), next))).toMatchObject({ subject: 'user-1' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('should reload from a URL at most once per interval however many unknown kids arrive', async () => {
    let fetches = 0;
    let now = 0;
    const store = createJwksKeyStore({
      source: { kind: 'url', url: 'https://id.example/jwks' },
      minReloadIntervalMs: 30_000,
      now: () => now,
      fetch: (async () => {
        fetches += 1;
        return new Response(JSON.stringify({ keys: [ec.jwk] }));
      }) as typeof fetch,
    });

    expect(await store.find('ec-1')).toBeDefined();
    for (let i = 0; i < 50; i++) expect(await store.find(`made-up-${i}`)).toBeUndefined();
    expect(fetches).toBe(1);
    now += 30_000;
    await store.find('made-up-again');
    expect(fetches).toBe(2);
  });

  it('should skip keys for encryption, other algorithms or without kid', async () => {
    const { parseJwks } = await import('@mlops/gateway');
    const keys = parseJwks(
      JSON.stringify({
        keys: [
          { ...rsa.jwk, kid: 'enc', use: 'enc' },
          { ...rsa.jwk, kid: 'ps', alg: 'PS256' },
          { ...rsa.jwk, kid: undefined },
          { ...ec.jwk, kid: 'ok' },
        ],
      }),
    );

    expect([...keys.keys()]).toEqual(['ok']);
  });
});

describe('npm run token (scripts/dev-token.mjs)', () => {
  const run = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'dev-token.mjs'), ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
    });

  it('should print a token the gateway accepts, carrying the role asked for', async () => {
    const { status, stdout } = run(['ml-engineer', 'ada'], { JWT_HS256_SECRET: SECRET });

    expect(status).toBe(0);
    const identity = await createJwtVerifier({ hs256Secret: SECRET }).verify(stdout.trim());
    expect(identity).toMatchObject({ subject: 'ada', roles: ['ml-engineer'] });
  });

  const claimsOf = (token: string): { iat: number; exp: number; scope?: string } =>
    JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as never;

  it('should sign a token valid 24 hours by default', () => {
    const { status, stdout } = run(['viewer'], { JWT_HS256_SECRET: SECRET });

    expect(status).toBe(0);
    const { iat, exp } = claimsOf(stdout.trim());
    expect(exp - iat).toBe(86_400);
    expect(Math.abs(iat - Date.now() / 1000)).toBeLessThan(60);
  });

  it.each([
    ['90s', 90],
    ['15m', 900],
    ['12h', 43_200],
    ['30d', 2_592_000],
  ])('should sign a token valid for --ttl %s, which the gateway accepts', async (ttl, seconds) => {
    const args = ['service', 'service:inference-sidecar', '--scope', 'serving:register'];
    const spaced = run([...args, '--ttl', ttl], { JWT_HS256_SECRET: SECRET });
    const joined = run([...args, `--ttl=${ttl}`], { JWT_HS256_SECRET: SECRET });

    for (const { status, stdout } of [spaced, joined]) {
      expect(status).toBe(0);
      const { iat, exp, scope } = claimsOf(stdout.trim());
      expect({ lifetime: exp - iat, scope }).toEqual({ lifetime: seconds, scope: 'serving:register' });
    }
    const identity = await createJwtVerifier({ hs256Secret: SECRET }).verify(spaced.stdout.trim());
    expect(identity).toMatchObject({ subject: 'service:inference-sidecar', scopes: ['serving:register'] });
  });

  it.each([['0d'], ['30'], ['1.5h'], ['-1d'], ['2w'], ['30 d'], ['99999999999999999d']])(
    'should refuse --ttl %p with a message naming it, and print no token',
    (ttl) => {
      const { status, stdout, stderr } = run(['viewer', '--ttl', ttl], { JWT_HS256_SECRET: SECRET });

      expect(status).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toContain(
        `--ttl must be a positive whole number of seconds, minutes, hours or days (90s, 15m, 12h, 30d); got '${ttl}'`,
      );
    },
  );

  it('should refuse --ttl without a value', () => {
    const { status, stdout, stderr } = run(['viewer', '--ttl'], { JWT_HS256_SECRET: SECRET });

    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/--ttl must be .*; got ''/);
  });

  it('should refuse an unknown role with its usage', () => {
    const { status, stderr } = run(['root'], { JWT_HS256_SECRET: SECRET });

    expect(status).toBe(2);
    expect(stderr).toMatch(/usage: npm run -s token -- <viewer\|data-scientist\|ml-engineer\|admin>/);
  });

  it('should say how to get a secret when there is none', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'mlops-token-'));
    try {
      const { status, stderr } = run(['viewer'], { DATA_DIR: dataDir });

      expect(status).toBe(1);
      expect(stderr).toMatch(/run `npm start` once first/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
