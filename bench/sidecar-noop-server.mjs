// @ts-check
// The protocol ceiling for `bench/sidecar.mjs`: a grpc-js server on the same KServe v2 proto, loaded
// with proto-loader as the sidecar loads it, whose ModelInfer answers one fixed response without
// touching a model. Run as its own process; prints `{"port":N}` on stdout once bound.
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

const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
server.addService(loaded.inference.GRPCInferenceService.service, {
  /** @type {grpc.handleUnaryCall<unknown, unknown>} */
  ModelInfer: (_call, callback) => callback(null, answer),
});
const port = Number(process.env.NOOP_GRPC_PORT ?? 0);
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => {
  if (error) throw error;
  process.stdout.write(`${JSON.stringify({ port: bound })}\n`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
