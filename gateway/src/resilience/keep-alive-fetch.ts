import http from 'node:http';
import https from 'node:https';
import nodeFetch from 'node-fetch';
import type { RequestInit as NodeFetchInit } from 'node-fetch';

// One pool of persistent connections per protocol for every subgraph: a federated query makes many
// small requests, and a new TCP connection (or Apollo's default fetcher stack) per request costs
// more than the request itself (bench/RESULTS.md, federation).
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' });

/** `fetch` over keep-alive agents (node-fetch), shaped like the global one for the resilience layer. */
export const keepAliveFetch: typeof fetch = async (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const response = await nodeFetch(url, {
    ...(init as NodeFetchInit),
    agent: (parsed: URL) => (parsed.protocol === 'https:' ? httpsAgent : httpAgent),
  });
  return response as unknown as Response;
};
