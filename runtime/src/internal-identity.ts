import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ROLES } from '@mlops/schema';
import type { Identity } from '@mlops/schema';
import { ConfigError } from './config-reader';
import type { EnvReader } from './config-reader';

/** The caller's identity as the gateway verified it: base64url JSON `{ v, iat, identity }`. */
export const IDENTITY_HEADER = 'x-mlops-identity';
/** `<key id>.<base64url HMAC-SHA256 of the identity header's value>`. */
export const IDENTITY_SIGNATURE_HEADER = 'x-mlops-identity-signature';

/** HMAC keys shared by the gateway and the services it calls; the first signs, all verify (rotation). */
export interface InternalIdentityKeys {
  readonly signingKeyId: string;
  readonly keys: ReadonlyMap<string, Buffer>;
}

const MIN_KEY_BYTES = 32;

/**
 * Parses `INTERNAL_IDENTITY_KEYS`: `id:secret` pairs separated by commas, the first one signing;
 * secrets are base64 (or base64url) of at least 32 bytes. To rotate, put the new key first on every
 * service, then drop the old one once no caller signs with it.
 */
export function parseInternalIdentityKeys(
  value: string,
  variable = 'INTERNAL_IDENTITY_KEYS',
): InternalIdentityKeys {
  const keys = new Map<string, Buffer>();
  const problems: string[] = [];
  let signingKeyId: string | undefined;
  for (const entry of value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const separator = entry.indexOf(':');
    const id = separator > 0 ? entry.slice(0, separator) : '';
    if (!/^[\w-]{1,64}$/.test(id)) {
      problems.push(`${variable}: each entry is <id>:<base64 secret> with an id of letters, digits, _ or -`);
      continue;
    }
    const secret = Buffer.from(entry.slice(separator + 1), 'base64');
    if (secret.length < MIN_KEY_BYTES) {
      problems.push(
        `${variable}: key '${id}' has ${secret.length} bytes; at least ${MIN_KEY_BYTES} are required`,
      );
      continue;
    }
    if (keys.has(id)) problems.push(`${variable}: key id '${id}' appears twice`);
    keys.set(id, secret);
    signingKeyId ??= id;
  }
  if (signingKeyId === undefined && problems.length === 0) problems.push(`${variable}: no key given`);
  if (problems.length > 0 || signingKeyId === undefined) throw new ConfigError(problems);
  return { signingKeyId, keys };
}

/**
 * Reads `INTERNAL_IDENTITY_KEYS` for a service: without it the service trusts every caller
 * (development); in production it is required, so a service never runs open by accident.
 */
export function readInternalIdentityKeys(
  read: EnvReader,
  production: boolean,
): InternalIdentityKeys | undefined {
  const value = read.optionalString('INTERNAL_IDENTITY_KEYS');
  if (value !== undefined) return parseInternalIdentityKeys(value);
  if (production) {
    throw new ConfigError([
      'INTERNAL_IDENTITY_KEYS is required in production: the service must be able to tell the gateway from any other caller',
    ]);
  }
  return undefined;
}

/**
 * A caller that could not be authenticated. Thrown by an `authenticate` hook, it answers HTTP 401
 * (WebSocket: close 4401) with the message and code UNAUTHENTICATED; other errors answer 500.
 */
export class UnauthenticatedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnauthenticatedError';
  }
}

/** Why a request's identity headers were refused. */
export class IdentityRejected extends UnauthenticatedError {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityRejected';
  }
}

interface SignedPayload {
  readonly v: 1;
  /** Signing time, seconds since the epoch. */
  readonly iat: number;
  readonly identity: Identity | null;
}

const sign = (key: Buffer, value: string): Buffer => createHmac('sha256', key).update(value).digest();

/** The issuer of the identities platform services sign for themselves; no identity provider's tokens carry it. */
const PLATFORM_ISSUER = 'mlops-internal';

/** Whether `identity` is the platform service `service`'s own (as `serviceIdentityHeaders` signs it). */
export function isServiceIdentity(identity: Identity, service: string): boolean {
  return identity.issuer === PLATFORM_ISSUER && identity.subject === `service:${service}`;
}

/**
 * The headers a platform service signs its own calls to another service with (the deployments
 * controller reading the registry, a sidecar registering): subject `service:<name>`, no roles.
 */
export function serviceIdentityHeaders(
  service: string,
  keys: InternalIdentityKeys | undefined,
  now: number = Date.now(),
): Record<string, string> {
  if (!keys) return {};
  const identity: Identity = {
    subject: `service:${service}`,
    issuer: PLATFORM_ISSUER,
    roles: [],
    scopes: [],
    expiresAt: Math.floor(now / 1000) + 300,
  };
  return signIdentityHeaders(identity, keys, now);
}

/** The headers that carry `identity` (null: an anonymous caller the gateway let through) to a service. */
export function signIdentityHeaders(
  identity: Identity | null,
  keys: InternalIdentityKeys,
  now: number = Date.now(),
): Record<string, string> {
  const payload: SignedPayload = { v: 1, iat: Math.floor(now / 1000), identity };
  const value = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const key = keys.keys.get(keys.signingKeyId) as Buffer;
  return {
    [IDENTITY_HEADER]: value,
    [IDENTITY_SIGNATURE_HEADER]: `${keys.signingKeyId}.${sign(key, value).toString('base64url')}`,
  };
}

export interface VerifyIdentityOptions {
  readonly keys: InternalIdentityKeys;
  /** Oldest accepted signature, in seconds; default 300. Limits the replay of a captured header. */
  readonly maxAgeSeconds?: number;
  readonly now?: number;
}

/**
 * The identity a request carries when its signature is valid and fresh; null for an anonymous caller
 * the gateway signed for. Throws `IdentityRejected` for a missing, forged, stale or unknown-key one.
 */
export function verifyIdentityHeaders(
  headers: IncomingHttpHeaders | Readonly<Record<string, string | undefined>>,
  options: VerifyIdentityOptions,
): Identity | null {
  const { keys, maxAgeSeconds = 300, now = Date.now() } = options;
  const value = single(headers[IDENTITY_HEADER]);
  const signature = single(headers[IDENTITY_SIGNATURE_HEADER]);
  if (value === undefined || signature === undefined) {
    throw new IdentityRejected(
      'The request carries no signed identity; call this service through the gateway',
    );
  }
  const dot = signature.indexOf('.');
  const key = dot > 0 ? keys.keys.get(signature.slice(0, dot)) : undefined;
  if (!key) throw new IdentityRejected('The identity is signed with an unknown key');
  const expected = sign(key, value);
  const given = Buffer.from(signature.slice(dot + 1), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new IdentityRejected('The identity signature is invalid');
  }
  let payload: SignedPayload;
  try {
    payload = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as SignedPayload;
  } catch {
    throw new IdentityRejected('The identity header is not valid JSON');
  }
  const age = now / 1000 - payload.iat;
  if (payload.v !== 1 || typeof payload.iat !== 'number' || age > maxAgeSeconds || age < -60) {
    throw new IdentityRejected('The identity signature is stale');
  }
  const identity = payload.identity;
  if (identity === null) return null;
  if (identity.expiresAt * 1000 <= now) throw new IdentityRejected('The identity has expired');
  return { ...identity, roles: identity.roles.filter((r) => (ROLES as readonly string[]).includes(r)) };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
