// @ts-check
// Closed-loop gRPC load generator for `bench/sidecar.mjs`, run as a forked worker process so it
// shares no event loop with the parent or the server under test. Each virtual client sends its next
// ModelInfer as soon as the previous answer arrives, round-robin over several channels.
//
// Protocol with the parent (IPC): parent sends `{ kind: 'prepare', ... }`; worker opens channels,
// checks one decoded answer and replies `{ kind: 'prepared' }`; parent sends `{ kind: 'run',
// startAt, endAt }` (wall-clock ms); worker replies `{ kind: 'done', latencies, errors }` with the
// latency of every call that completed inside [startAt, endAt].
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO = fileURLToPath(new URL('../schema/proto/grpc_predict_v2.proto', import.meta.url));
const METHOD = '/inference.GRPCInferenceService/ModelInfer';
const FEATURES = 20;

/** Encodes one request once; the hot loop sends the bytes as they are and decodes nothing. */
function encodedRequest(definition, model, rows) {
  const features = Float32Array.from({ length: rows * FEATURES }, (_, i) => Math.sin(i) / 20);
  const method = /** @type {protoLoader.MethodDefinition<object, object>} */ (
    /** @type {any} */ (definition['inference.GRPCInferenceService']).ModelInfer
  );
  const request = method.requestSerialize({
    model_name: model,
    inputs: [{ name: 'features', datatype: 'FP32', shape: [rows, FEATURES] }],
    raw_input_contents: [Buffer.from(features.buffer)],
  });
  return { request, decode: method.responseDeserialize };
}

/** Pass-through (de)serialisers: the load generator should cost as little as a client can. */
const identity = (/** @type {Buffer} */ bytes) => bytes;

/** @param {grpc.Client} client @param {Buffer} request @returns {Promise<Buffer>} */
function call(client, request) {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(METHOD, identity, identity, request, (error, response) =>
      error ? reject(error) : resolve(/** @type {Buffer} */ (response)),
    ),
  );
}

const wallClock = () => performance.timeOrigin + performance.now();

/**
 * @param {{ address: string; model: string; rows: number; concurrency: number; channels: number }} options
 */
async function prepare({ address, model, rows, concurrency, channels }) {
  const definition = protoLoader.loadSync(PROTO, { keepCase: true, longs: String });
  const { request, decode } = encodedRequest(definition, model, rows);
  // A local subchannel pool per client, or grpc-js would share one connection among them all.
  const clients = Array.from(
    { length: channels },
    () =>
      new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }),
  );
  for (const client of clients) {
    const answer = /** @type {{ outputs: { shape: string[] }[] }} */ (decode(await call(client, request)));
    if (answer.outputs[0]?.shape.join(',') !== `${rows},1`)
      throw new Error(`unexpected answer from ${address}: ${JSON.stringify(answer)}`);
  }
  /** @param {number} startAt @param {number} endAt */
  async function run(startAt, endAt) {
    /** @type {number[]} */
    const latencies = [];
    let errors = 0;
    async function virtualClient(/** @type {number} */ index) {
      const client = clients[index % clients.length];
      for (;;) {
        const sentAt = wallClock();
        if (sentAt >= endAt) return;
        try {
          await call(client, request);
        } catch {
          errors += 1;
          continue;
        }
        const doneAt = wallClock();
        if (doneAt >= startAt && doneAt <= endAt) latencies.push(doneAt - sentAt);
      }
    }
    await Promise.all(Array.from({ length: concurrency }, (_, i) => virtualClient(i)));
    return { latencies, errors };
  }
  return { run, close: () => clients.forEach((client) => client.close()) };
}

if (process.send) {
  /** @type {Awaited<ReturnType<typeof prepare>> | undefined} */
  let load;
  const send = (/** @type {unknown} */ message) => process.send?.(message);
  process.on('message', (/** @type {any} */ message) => {
    const step =
      message.kind === 'prepare'
        ? prepare(message).then((prepared) => {
            load = prepared;
            send({ kind: 'prepared' });
          })
        : /** @type {NonNullable<typeof load>} */ (load)
            .run(message.startAt, message.endAt)
            .then((result) => {
              load?.close();
              send({ kind: 'done', ...result });
            });
    step.catch((error) => {
      send({ kind: 'failed', message: String(error?.stack ?? error) });
    });
  });
}
