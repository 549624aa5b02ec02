// @ts-check
// Closed-loop gRPC load generator for `bench/sidecar.mjs`, run as a forked worker process so it
// shares no event loop with the parent or the server under test. Each virtual client sends its next
// ModelInfer as soon as the previous answer arrives, round-robin over several channels.
//
// The generator's own cost shows up in every latency it records, so the hot loop allocates as
// little as a grpc-js client can: pre-encoded request bytes, pass-through (de)serialisers, plain
// callbacks instead of a promise per call, latencies written into a preallocated Float64Array, and
// the monotonic clock (`process.hrtime.bigint`), not wall time.
//
// Protocol with the parent (IPC): parent sends `{ kind: 'prepare', ... }`; worker opens channels,
// checks one decoded answer and replies `{ kind: 'prepared' }`; parent sends `{ kind: 'run',
// startAt, endAt }` (wall-clock ms); worker replies `{ kind: 'done', latencies, errors }` with the
// latency (ms) of every call that completed inside [startAt, endAt].
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO = fileURLToPath(new URL('../schema/proto/grpc_predict_v2.proto', import.meta.url));
const METHOD = '/inference.GRPCInferenceService/ModelInfer';
const FEATURES = 20;
/** Room for this many completed calls per second of the run; beyond it, latencies are not kept. */
const MAX_RATE = 60_000;

/** Encodes one request once; the hot loop sends the bytes as they are and decodes nothing. */
export function encodedRequest(definition, model, rows) {
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

/** Wall-clock ms (from the parent) as a point on this process's monotonic clock, in ns. */
const monotonicAt = (/** @type {number} */ wallMs) =>
  process.hrtime.bigint() + BigInt(Math.round((wallMs - Date.now()) * 1e6));

/**
 * @param {{ address: string; model: string; rows: number; concurrency: number; channels: number }} options
 */
/** The pre-encoded ModelInfer request for `rows` rows of `model`, and its response decoder. */
export function requestFor(/** @type {string} */ model, /** @type {number} */ rows) {
  return encodedRequest(protoLoader.loadSync(PROTO, { keepCase: true, longs: String }), model, rows);
}

/** Throws unless `client` gets a well-formed answer of `rows` rows to `request`. */
export async function checkAnswer(
  /** @type {grpc.Client} */ client,
  /** @type {ReturnType<typeof requestFor>} */ { request, decode },
  /** @type {number} */ rows,
) {
  const answer = /** @type {{ outputs: { shape: string[] }[] }} */ (decode(await call(client, request)));
  if (answer.outputs[0]?.shape.join(',') !== `${rows},1`)
    throw new Error(`unexpected answer from ${client.getChannel().getTarget()}: ${JSON.stringify(answer)}`);
}

/** A grpc-js client with its own connection (a local subchannel pool), for pass-through calls. */
export function newClient(/** @type {string} */ address) {
  return new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
}

async function prepare({ address, model, rows, concurrency, channels }) {
  const encoded = requestFor(model, rows);
  const { request } = encoded;
  const clients = Array.from({ length: channels }, () => newClient(address));
  for (const client of clients) await checkAnswer(client, encoded, rows);
  // Warm the call path (JIT) before the parent's clock starts.
  for (let i = 0; i < 200; i++) await call(/** @type {grpc.Client} */ (clients[i % clients.length]), request);

  /** @param {number} startAt @param {number} endAt */
  function run(startAt, endAt) {
    const startNs = monotonicAt(startAt);
    const endNs = monotonicAt(endAt);
    const latencies = new Float64Array(Math.ceil(((endAt - startAt) / 1000) * MAX_RATE));
    let count = 0;
    let errors = 0;
    let running = concurrency;
    return new Promise((resolve) => {
      const virtualClient = (/** @type {grpc.Client} */ client) => {
        let sentAt = 0n;
        const onAnswer = (/** @type {grpc.ServiceError | null} */ error) => {
          const doneAt = process.hrtime.bigint();
          if (error) errors += 1;
          else if (doneAt >= startNs && doneAt <= endNs && count < latencies.length)
            latencies[count++] = Number(doneAt - sentAt) / 1e6;
          if (doneAt >= endNs) {
            running -= 1;
            if (running === 0) resolve({ latencies: Array.from(latencies.subarray(0, count)), errors });
            return;
          }
          send();
        };
        const send = () => {
          sentAt = process.hrtime.bigint();
          client.makeUnaryRequest(METHOD, identity, identity, request, onAnswer);
        };
        send();
      };
      for (let i = 0; i < concurrency; i++)
        virtualClient(/** @type {grpc.Client} */ (clients[i % clients.length]));
    });
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
