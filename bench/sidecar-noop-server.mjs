// @ts-check
// The protocol ceiling for `bench/sidecar.mjs`: a grpc-js server on the same KServe v2 proto, loaded
// with proto-loader as the sidecar loads it, whose ModelInfer answers one fixed response without
// touching a model. Run as its own process; prints `{"port":N,"metricsPort":M}` on stdout once
// bound. Its HTTP `/metrics` reports `nodejs_eventloop_lag_max_seconds` as the sidecar does (a 1 ms
// event-loop delay monitor, reset at every scrape), the baseline for the sidecar's loop delay.
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO = fileURLToPath(new URL('../schema/proto/grpc_predict_v2.proto', import.meta.url));

const definition = protoLoader.loadSync(PROTO, { keepCase: true, longs: String });
const loaded = /** @type {any} */ (grpc.loadPackageDefinition(definition));

const answer = {
  model_name: 'stock-predictor',
  model_version: '1',
  outputs: [{ name: 'predicted_return', datatype: 'FP32', shape: ['1', '1'] }],
  raw_output_contents: [Buffer.from(new Float32Array([0.01]).buffer)],
};

const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
const metrics = http.createServer((_request, response) => {
  response.end(`nodejs_eventloop_lag_max_seconds ${loopDelay.max / 1e9}\n`);
  loopDelay.reset();
});

const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
server.addService(loaded.inference.GRPCInferenceService.service, {
  /** @type {grpc.handleUnaryCall<unknown, unknown>} */
  ModelInfer: (_call, callback) => callback(null, answer),
});
const port = Number(process.env.NOOP_GRPC_PORT ?? 0);
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => {
  if (error) throw error;
  metrics.listen(0, '127.0.0.1', () => {
    const address = /** @type {import('node:net').AddressInfo} */ (metrics.address());
    process.stdout.write(`${JSON.stringify({ port: bound, metricsPort: address.port })}\n`);
  });
});
process.on('SIGTERM', () => {
  metrics.close();
  server.tryShutdown(() => process.exit(0));
});
