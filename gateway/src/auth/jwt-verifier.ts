import { createHmac, timingSafeEqual, verify as verifySignature } from 'node:crypto';
import { UnauthenticatedError } from '@mlops/runtime';
import { ROLES } from '@mlops/schema';
import type { Identity, Role } from '@mlops/schema';
import type { JwksKeyStore } from './jwks';

/** Why a token was refused; the message says what to fix, never echoes secrets. */
export class TokenRejected extends UnauthenticatedError {
  constructor(message: string) {
    super(message);
    this.name = 'TokenRejected';
  }
}

export interface JwtVerifierOptions {
  /** HS256 shared secret (development); HS256 tokens are refused when unset. */
  readonly hs256Secret?: string;
  /** RS256/ES256 keys by `kid` (production); such tokens are refused when unset. */
  readonly keys?: JwksKeyStore;
  /** Accepted `iss` values; when set, a token must carry one of them. */
  readonly issuers?: readonly string[];
  /** Accepted audiences; when set, the token's `aud` must name one of them. */
  readonly audiences?: readonly string[];
  /** Allowed clock difference for `exp`/`nbf`, in seconds; default 30. */
  readonly clockToleranceSeconds?: number;
  /** Claim holding the role list; default `roles`. */
  readonly rolesClaim?: string;
  /** Default `Date.now`. */
  readonly now?: () => number;
}

export interface JwtVerifier {
  /** The identity a valid token carries; rejects with `TokenRejected` otherwise. */
  verify(token: string): Promise<Identity>;
}

interface Header {
  alg?: unknown;
  kid?: unknown;
  typ?: unknown;
  crit?: unknown;
}

type Claims = Record<string, unknown>;

const MAX_TOKEN_LENGTH = 8 * 1024; // 8 KiB

/**
 * Verifies compact JWS tokens. The algorithm is never taken on the token's word alone: HS256 is
 * checked only against the configured secret, RS256/ES256 only against a key published for that
 * algorithm, and `none` (or anything else) is refused — which closes `alg: none` and RS/HS
 * confusion (a public key used as an HMAC secret).
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const { clockToleranceSeconds = 30, rolesClaim = 'roles', now = Date.now } = options;
  const secret = options.hs256Secret === undefined ? undefined : Buffer.from(options.hs256Secret, 'utf8');

  return {
    async verify(token) {
      if (token.length > MAX_TOKEN_LENGTH)
        throw new TokenRejected(`The token is longer than ${MAX_TOKEN_LENGTH} bytes`);
      const parts = token.split('.');
      if (parts.length !== 3)
        throw new TokenRejected('The token is not a compact JWS (header.payload.signature)');
      const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
      const header = decodeJson<Header>(encodedHeader, 'header');
      const signingInput = Buffer.from(`${encodedHeader}.${encodedPayload}`, 'ascii');
      const signature = decodeBase64Url(encodedSignature, 'signature');
      if (header.crit !== undefined)
        throw new TokenRejected('Tokens with critical header extensions (crit) are not accepted');

      switch (header.alg) {
        case 'HS256': {
          if (!secret) throw new TokenRejected('HS256 tokens are not accepted here');
          const expected = createHmac('sha256', secret).update(signingInput).digest();
          if (expected.length !== signature.length || !timingSafeEqual(expected, signature)) {
            throw new TokenRejected('The token signature is invalid');
          }
          break;
        }
        case 'RS256':
        case 'ES256': {
          if (!options.keys) throw new TokenRejected(`${header.alg} tokens are not accepted here`);
          if (typeof header.kid !== 'string') throw new TokenRejected('The token header names no key (kid)');
          const signing = await options.keys.find(header.kid);
          if (!signing) throw new TokenRejected(`No signing key '${header.kid}' is known`);
          if (signing.algorithm !== header.alg) {
            throw new TokenRejected(`Key '${header.kid}' is for ${signing.algorithm}, not ${header.alg}`);
          }
          const valid = verifySignature(
            'sha256',
            signingInput,
            header.alg === 'ES256' ? { key: signing.key, dsaEncoding: 'ieee-p1363' } : signing.key,
            signature,
          );
          if (!valid) throw new TokenRejected('The token signature is invalid');
          break;
        }
        default:
          throw new TokenRejected(`Tokens signed with ${JSON.stringify(header.alg)} are not accepted`);
      }

      const claims = decodeJson<Claims>(encodedPayload, 'payload');
      return identityOf(claims, {
        nowSeconds: now() / 1000,
        clockToleranceSeconds,
        issuers: options.issuers,
        audiences: options.audiences,
        rolesClaim,
      });
    },
  };
}

function identityOf(
  claims: Claims,
  rules: {
    nowSeconds: number;
    clockToleranceSeconds: number;
    issuers: readonly string[] | undefined;
    audiences: readonly string[] | undefined;
    rolesClaim: string;
  },
): Identity {
  const { sub, iss, aud, exp, nbf } = claims;
  if (typeof exp !== 'number') throw new TokenRejected('The token has no expiry (exp)');
  if (exp + rules.clockToleranceSeconds <= rules.nowSeconds) throw new TokenRejected('The token has expired');
  if (
    nbf !== undefined &&
    (typeof nbf !== 'number' || nbf - rules.clockToleranceSeconds > rules.nowSeconds)
  ) {
    throw new TokenRejected('The token is not valid yet (nbf)');
  }
  if (typeof sub !== 'string' || sub.length === 0) throw new TokenRejected('The token has no subject (sub)');
  if (rules.issuers && (typeof iss !== 'string' || !rules.issuers.includes(iss))) {
    throw new TokenRejected('The token issuer (iss) is not accepted');
  }
  if (rules.audiences) {
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    if (!audiences.some((a) => typeof a === 'string' && rules.audiences!.includes(a))) {
      throw new TokenRejected('The token audience (aud) is not accepted');
    }
  }
  const roleNames = claims[rules.rolesClaim];
  const roles = (Array.isArray(roleNames) ? roleNames : []).filter((r): r is Role =>
    (ROLES as readonly unknown[]).includes(r),
  );
  const scopes =
    typeof claims.scope === 'string'
      ? claims.scope.split(' ').filter(Boolean)
      : Array.isArray(claims.scp)
        ? claims.scp.filter((s): s is string => typeof s === 'string')
        : [];
  return { subject: sub, issuer: typeof iss === 'string' ? iss : undefined, roles, scopes, expiresAt: exp };
}

function decodeBase64Url(part: string, name: string): Buffer {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) throw new TokenRejected(`The token ${name} is not base64url`);
  return Buffer.from(part, 'base64url');
}

function decodeJson<T>(part: string, name: string): T {
  try {
    const value = JSON.parse(decodeBase64Url(part, name).toString('utf8')) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value as T;
  } catch (error) {
    if (error instanceof TokenRejected) throw error;
    throw new TokenRejected(`The token ${name} is not a JSON object`);
  }
}
