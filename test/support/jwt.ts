import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

export type TestAlgorithm = 'HS256' | 'RS256' | 'ES256' | 'none';

export interface TestKeyPair {
  readonly kid: string;
  readonly algorithm: 'RS256' | 'ES256';
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The public key as a JWKS entry. */
  readonly jwk: Record<string, unknown>;
}

export function generateTestKey(kid: string, algorithm: 'RS256' | 'ES256'): TestKeyPair {
  const { privateKey, publicKey } =
    algorithm === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    kid,
    algorithm,
    privateKey,
    publicKey,
    jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: algorithm, use: 'sig' },
  };
}

const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs a compact JWS as an identity provider (or an attacker) would. */
export function signTestToken(
  claims: Record<string, unknown>,
  signer:
    | { readonly algorithm: 'HS256'; readonly secret: string | Buffer }
    | { readonly algorithm: 'none' }
    | TestKeyPair,
  header: Record<string, unknown> = {},
): string {
  const kid = 'kid' in signer ? { kid: signer.kid } : {};
  const input = `${part({ alg: signer.algorithm, typ: 'JWT', ...kid, ...header })}.${part(claims)}`;
  switch (signer.algorithm) {
    case 'none':
      return `${input}.`;
    case 'HS256':
      return `${input}.${createHmac('sha256', signer.secret).update(input).digest('base64url')}`;
    case 'RS256':
      return `${input}.${sign('sha256', Buffer.from(input), signer.privateKey).toString('base64url')}`;
    case 'ES256':
      return `${input}.${sign('sha256', Buffer.from(input), { key: signer.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  }
}

/** Claims valid for an hour from now. */
export function validClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { sub: 'user-1', iss: 'https://id.example', aud: 'mlops', iat: now, exp: now + 3600, ...extra };
}

/** The HS256 secret the test stacks' gateways accept. */
export const TEST_JWT_SECRET = 'test-stack-secret-of-at-least-32-characters';

/** A token for a caller with `roles` (and `extra` claims, e.g. `scope`), valid for an hour, signed with `TEST_JWT_SECRET`. */
export function testToken(roles: readonly string[], extra: Record<string, unknown> = {}): string {
  return signTestToken(validClaims({ sub: `test-${roles.join('-') || 'anyone'}`, roles, ...extra }), {
    algorithm: 'HS256',
    secret: TEST_JWT_SECRET,
  });
}

/** An `Authorization` header for a caller with `roles`, valid for an hour, signed with `TEST_JWT_SECRET`. */
export function bearerHeaders(
  roles: readonly string[],
  extra: Record<string, unknown> = {},
): Record<string, string> {
  return { authorization: `Bearer ${testToken(roles, extra)}` };
}

/** What the contract suites act as: an operator who may change anything. */
export const operatorHeaders = (): Record<string, string> => bearerHeaders(['ml-engineer', 'admin']);
