import type { IncomingHttpHeaders } from 'node:http';
import { UnauthenticatedError, signIdentityHeaders } from '@mlops/runtime';
import type { InternalIdentityKeys } from '@mlops/runtime';
import type { Identity } from '@mlops/schema';
import type { AuthConfig } from '../config';
import type { ForwardedIdentity } from '../subscriptions/upstream-pool';
import { createJwksKeyStore } from './jwks';
import { createJwtVerifier } from './jwt-verifier';

/** How the gateway establishes callers and vouches for them to the subgraphs. */
export interface CallerAuthenticator {
  /** HTTP: the `Authorization: Bearer <JWT>` header. */
  fromHeaders(headers: IncomingHttpHeaders): Promise<Identity | null>;
  /**
   * WebSocket `connection_init`: `authorization` (or `Authorization`) in the payload, as browsers
   * cannot set headers on a WebSocket; else the upgrade request's header.
   */
  fromConnection(request: {
    readonly headers: IncomingHttpHeaders;
    readonly connectionParams: Readonly<Record<string, unknown>>;
  }): Promise<Identity | null>;
  /** The signed identity headers a subgraph request carries (none without internal keys). */
  signedHeaders(identity: Identity | null): Record<string, string>;
  /** What identifies `identity` to subgraph subscriptions (and which callers may share one). */
  forwarded(identity: Identity | null): ForwardedIdentity;
}

const SIGNATURE_REUSE_MS = 60_000; // 1 min

export function createCallerAuthenticator(
  auth: AuthConfig,
  internalKeys: InternalIdentityKeys | undefined,
): CallerAuthenticator {
  const verifier =
    auth.hs256Secret !== undefined || auth.jwks !== undefined
      ? createJwtVerifier({
          hs256Secret: auth.hs256Secret,
          keys: auth.jwks ? createJwksKeyStore({ source: auth.jwks }) : undefined,
          issuers: auth.issuers,
          audiences: auth.audiences,
          rolesClaim: auth.rolesClaim,
        })
      : undefined;

  const fromAuthorization = async (value: unknown): Promise<Identity | null> => {
    if (value === undefined || value === null || value === '') {
      if (auth.required)
        throw new UnauthenticatedError('A bearer token is required (Authorization: Bearer <JWT>)');
      return null;
    }
    const match = typeof value === 'string' ? /^Bearer\s+(\S+)$/i.exec(value) : null;
    if (!match) throw new UnauthenticatedError('The authorization is not "Bearer <JWT>"');
    if (!verifier) {
      throw new UnauthenticatedError(
        'This gateway accepts no tokens: set JWT_HS256_SECRET, JWT_JWKS_FILE or JWT_JWKS_URL',
      );
    }
    return verifier.verify(match[1] as string);
  };

  // A federated request makes many subgraph fetches for one caller: sign once, reuse for a minute
  // (subgraphs accept a signature for five).
  const signatures = new WeakMap<object, { headers: Record<string, string>; at: number }>();
  const anonymous = {};
  const signedHeaders = (identity: Identity | null): Record<string, string> => {
    if (!internalKeys) return {};
    const key = identity ?? anonymous;
    const now = Date.now();
    const cached = signatures.get(key);
    if (cached && now - cached.at < SIGNATURE_REUSE_MS) return cached.headers;
    const headers = signIdentityHeaders(identity, internalKeys, now);
    signatures.set(key, { headers, at: now });
    return headers;
  };

  return {
    fromHeaders: (headers) => fromAuthorization(headers.authorization),
    fromConnection: ({ headers, connectionParams }) =>
      fromAuthorization(
        connectionParams.authorization ?? connectionParams.Authorization ?? headers.authorization,
      ),
    signedHeaders,
    forwarded: (identity) => ({
      key: identity
        ? JSON.stringify([identity.issuer ?? null, identity.subject, identity.roles, identity.scopes])
        : '',
      headers: () => signedHeaders(identity),
    }),
  };
}
