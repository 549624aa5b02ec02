import { createPublicKey } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** Where signing keys come from: a JWKS document on disk (a mounted secret) or at a URL. */
export type JwksSource =
  { readonly kind: 'file'; readonly path: string } | { readonly kind: 'url'; readonly url: string };

export interface JwksKeyStoreOptions {
  readonly source: JwksSource;
  /**
   * Least time between two reloads of the key set, in ms; default 30 s. A token whose `kid` is not
   * in the current set triggers a reload (key rotation), but at most this often, so a flood of
   * tokens with made-up key ids cannot hammer the identity provider.
   */
  readonly minReloadIntervalMs?: number;
  /** Default the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Default `Date.now`. */
  readonly now?: () => number;
}

/** A verification key and the one JWS algorithm it may be used with. */
export interface SigningKey {
  readonly key: KeyObject;
  readonly algorithm: 'RS256' | 'ES256';
}

export interface JwksKeyStore {
  /** The key with this id, reloading the set once if it is unknown; undefined when it stays unknown. */
  find(kid: string): Promise<SigningKey | undefined>;
}

export function createJwksKeyStore(options: JwksKeyStoreOptions): JwksKeyStore {
  const { source, minReloadIntervalMs = 30_000, now = Date.now } = options; // 30 s
  const fetchImpl = options.fetch ?? fetch;
  let keys = new Map<string, SigningKey>();
  let loadedAt = Number.NEGATIVE_INFINITY;
  let loading: Promise<void> | undefined;

  const load = async (): Promise<void> => {
    loadedAt = now();
    const text =
      source.kind === 'file' ? await readFile(source.path, 'utf8') : await fetchText(fetchImpl, source.url);
    keys = parseJwks(text);
  };

  return {
    async find(kid) {
      const known = keys.get(kid);
      if (known) return known;
      if (now() - loadedAt >= minReloadIntervalMs) {
        loading ??= load().finally(() => (loading = undefined));
        await loading;
      } else if (loading) {
        await loading;
      }
      return keys.get(kid);
    },
  };
}

async function fetchText(fetchImpl: typeof fetch, url: string): Promise<string> {
  const response = await fetchImpl(url, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`JWKS at ${url} answered ${response.status}`);
  return response.text();
}

/**
 * The usable keys of a JWKS document by `kid`: RSA keys for RS256 and P-256 EC keys for ES256.
 * Keys without a `kid`, meant for encryption (`use: enc`), or whose `alg` names another algorithm
 * are skipped, so a key can never be used with an algorithm it was not published for.
 */
export function parseJwks(text: string): Map<string, SigningKey> {
  const document = JSON.parse(text) as { keys?: unknown };
  if (!Array.isArray(document.keys)) throw new Error('A JWKS document has a "keys" array');
  const keys = new Map<string, SigningKey>();
  for (const jwk of document.keys as (JsonWebKey & { kid?: string; alg?: string; use?: string })[]) {
    if (typeof jwk.kid !== 'string' || (jwk.use !== undefined && jwk.use !== 'sig')) continue;
    const algorithm =
      jwk.kty === 'RSA' ? 'RS256' : jwk.kty === 'EC' && jwk.crv === 'P-256' ? 'ES256' : undefined;
    if (!algorithm || (jwk.alg !== undefined && jwk.alg !== algorithm)) continue;
    // Only the public members: a JWKS that (wrongly) carries private parts must not make a private key.
    const { kty, n, e, crv, x, y } = jwk;
    const key = createPublicKey({ key: { kty, n, e, crv, x, y } as JsonWebKey, format: 'jwk' });
    keys.set(jwk.kid, { key, algorithm });
  }
  return keys;
}
