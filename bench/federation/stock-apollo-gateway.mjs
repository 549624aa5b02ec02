// @ts-check
// The baseline: stock `@apollo/gateway` under `@apollo/server`'s `startStandaloneServer`, no plugins,
// one process, as the public benchmark's apollo-gateway entry runs it (minus its cluster fork).
// Env: SUPERGRAPH_PATH, PORT; SUBGRAPH_FETCHER=default|node-fetch|undici picks how subgraphs are
// called (default: the gateway's own make-fetch-happen), to measure what the fetcher costs.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

// The node-fetch @apollo/gateway itself depends on (it is not a dependency of this repository).
const nodeFetch = createRequire(createRequire(import.meta.url).resolve('@apollo/gateway'))('node-fetch');

const supergraphSdl = readFileSync(process.env.SUPERGRAPH_PATH ?? 'supergraph.graphql', 'utf8');
const fetcher = createFetcher(process.env.SUBGRAPH_FETCHER ?? 'default');
const gateway = new ApolloGateway({
  supergraphSdl,
  ...(fetcher && { buildService: ({ url }) => new RemoteGraphQLDataSource({ url, fetcher }) }),
});
const server = new ApolloServer({ gateway });
await startStandaloneServer(server, {
  listen: { port: Number(process.env.PORT ?? 4000), host: '127.0.0.1' },
});

/** @param {string} kind @returns {any} undefined for the gateway's own fetcher */
function createFetcher(kind) {
  switch (kind) {
    case 'default':
      return undefined;
    case 'node-fetch': {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
      return (/** @type {any} */ url, /** @type {any} */ init) => nodeFetch(url, { ...init, agent });
    }
    case 'undici':
      // Node's built-in fetch; it pools keep-alive connections per origin itself.
      return (/** @type {any} */ url, /** @type {any} */ init) => fetch(url, init);
    default:
      throw new Error(`SUBGRAPH_FETCHER must be default, node-fetch or undici; got '${kind}'`);
  }
}
