import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { Redis } from 'ioredis';
import { ConfigError, codedError } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';

/** The registered operations, by id (the SHA-256 of the document text, as in Apollo's manifests). */
export interface TrustedDocumentStore {
  get(id: string): Promise<string | undefined>;
}

/**
 * Reads an Apollo persisted-query manifest (`{ "format": "apollo-persisted-query-manifest",
 * "version": 1, "operations": [{ "id", "body", "name", "type" }] }`); each id must be the SHA-256 of
 * its body. Throws a `ConfigError` naming the file and what is wrong.
 */
export async function readTrustedDocumentManifest(file: string): Promise<Map<string, string>> {
  let manifest: { format?: unknown; operations?: unknown };
  try {
    manifest = JSON.parse(await readFile(file, 'utf8')) as typeof manifest;
  } catch (error) {
    throw new ConfigError([`TRUSTED_DOCUMENTS: cannot read '${file}' as JSON (${(error as Error).message})`]);
  }
  if (manifest.format !== 'apollo-persisted-query-manifest' || !Array.isArray(manifest.operations)) {
    throw new ConfigError([`TRUSTED_DOCUMENTS: '${file}' is not an apollo-persisted-query-manifest`]);
  }
  const documents = new Map<string, string>();
  for (const [index, operation] of (manifest.operations as { id?: unknown; body?: unknown }[]).entries()) {
    const { id, body } = operation;
    if (typeof id !== 'string' || typeof body !== 'string' || sha256(body) !== id) {
      throw new ConfigError([
        `TRUSTED_DOCUMENTS: operations[${index}] needs an id equal to the SHA-256 of its body`,
      ]);
    }
    documents.set(id, body);
  }
  return documents;
}

/**
 * The manifest's documents, also written to a Redis hash when Redis is configured so every replica
 * (and tooling that registers documents at run time) shares one list; lookups read Redis and fall
 * back to the manifest while it is unreachable.
 */
export async function createTrustedDocumentStore(
  manifest: ReadonlyMap<string, string>,
  redis: Redis | undefined,
  key = 'mlops:trusted-documents',
): Promise<TrustedDocumentStore> {
  if (redis && manifest.size > 0) {
    await redis.hset(key, Object.fromEntries(manifest)).catch(() => undefined);
  }
  return {
    async get(id) {
      if (redis) {
        const stored = await redis.hget(key, id).catch(() => null);
        if (stored !== null) return stored;
      }
      return manifest.get(id);
    },
  };
}

/**
 * Trusted-documents mode: only registered operations run. A request names its document by
 * `extensions.persistedQuery.sha256Hash` (or sends the text of a registered one); anything else is
 * refused with 400 PERSISTED_QUERY_NOT_TRUSTED before it is parsed or planned.
 */
export function createTrustedDocumentsPlugin(store: TrustedDocumentStore): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart({ request }) {
      const hash = (request.extensions?.persistedQuery as { sha256Hash?: unknown } | undefined)?.sha256Hash;
      const id =
        typeof hash === 'string'
          ? hash
          : typeof request.query === 'string'
            ? sha256(request.query)
            : undefined;
      const document = id === undefined ? undefined : await store.get(id);
      let refusal: Error | undefined;
      if (document === undefined) {
        refusal = codedError(
          ErrorCode.BAD_USER_INPUT,
          'Only registered operations run on this gateway; this one is not in its trusted documents',
          { reason: 'PERSISTED_QUERY_NOT_TRUSTED', http: { status: 400 } },
        );
        // Apollo refuses from a plugin only once the operation is resolved: give it a trivial one.
        request.query = '{ __typename }';
      } else {
        request.query = document;
      }
      if (request.extensions?.persistedQuery !== undefined) {
        // The document is ours now; Apollo's own persisted-query handling must not look it up again.
        const { persistedQuery: _handled, ...extensions } = request.extensions;
        request.extensions = extensions;
      }
      return {
        async didResolveOperation() {
          if (refusal) throw refusal;
        },
      };
    },
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
