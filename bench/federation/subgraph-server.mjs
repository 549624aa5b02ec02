// @ts-check
// One subgraph of the federation workload as a process: `node subgraph-server.mjs <name>`. Kept as
// cheap as a Node subgraph gets, so the gateway is what the benchmark measures: `node:http` with
// long keep-alive, no logging, each distinct query parsed and validated once, then graphql-js
// `execute` over in-memory data. Listens on an ephemeral loopback port and sends
// `{ ready: { url } }` to its parent over IPC.
import http from 'node:http';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { execute, parse, validate } from 'graphql';
import { subgraphDefinition } from './workload.mjs';

const definition = subgraphDefinition(process.argv[2] ?? '');
const schema = buildSubgraphSchema({ typeDefs: definition.typeDefs, resolvers: definition.resolvers });

/** @type {Map<string, { document?: import('graphql').DocumentNode, errors?: readonly import('graphql').GraphQLError[] }>} */
const documents = new Map();

/** @param {string} query */
function prepare(query) {
  let prepared = documents.get(query);
  if (!prepared) {
    try {
      const document = parse(query);
      const errors = validate(schema, document);
      prepared = errors.length > 0 ? { errors } : { document };
    } catch (error) {
      prepared = { errors: [/** @type {import('graphql').GraphQLError} */ (error)] };
    }
    // Gateways send a handful of distinct operations; the bound only guards against a runaway client.
    if (documents.size < 1_000) documents.set(query, prepared);
  }
  return prepared;
}

/** @param {http.ServerResponse} res @param {number} status @param {unknown} body */
function send(res, status, body) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST') return send(res, 405, { errors: [{ message: 'POST only' }] });
  /** @type {Buffer[]} */
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    try {
      const { query, variables, operationName } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const { document, errors } = prepare(query);
      if (!document) return send(res, 400, { errors });
      const result = await execute({ schema, document, variableValues: variables, operationName });
      send(res, 200, result);
    } catch (error) {
      send(res, 400, { errors: [{ message: String(error) }] });
    }
  });
});
// Longer than any gateway's idle timeout, so pooled upstream connections are never cut mid-run.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  process.send?.({ ready: { url: `http://127.0.0.1:${port}/graphql` } });
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('disconnect', () => process.exit(0));
