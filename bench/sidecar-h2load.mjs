// @ts-check
// An optional native load generator for `bench/sidecar.mjs`: h2load (Debian's `nghttp2-client`)
// sending one pre-encoded gRPC frame per request, closed loop, over plain HTTP/2. It costs far less
// per call than a grpc-js client, so less of the client shows up in the latencies. It checks no
// gRPC status (h2load sees HTTP 200 either way): `bench/sidecar.mjs` checks one decoded answer
// with grpc-js first and counts failures from the sidecar's own /metrics.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const METHOD_PATH = '/inference.GRPCInferenceService/ModelInfer';

/** Whether `h2load` is on the PATH. */
export function h2loadAvailable() {
  try {
    execFileSync('h2load', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** One serialized message in gRPC's length-prefixed framing (uncompressed). */
export function grpcFrame(/** @type {Buffer} */ message) {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/**
 * Runs h2load closed loop: `concurrency` streams in flight, spread over `channels` connections
 * (each connection keeps `concurrency / channels` streams busy). Resolves with the latency (ms) of
 * every request of the measured window (h2load logs only those) and h2load's failure count.
 * @param {{ address: string; frame: Buffer; concurrency: number; channels: number;
 *   warmupSeconds: number; seconds: number }} options
 */
export async function runH2load({ address, frame, concurrency, channels, warmupSeconds, seconds }) {
  const connections = Math.max(1, Math.min(channels, concurrency));
  if (concurrency % connections !== 0)
    throw new Error(`h2load needs concurrency (${concurrency}) divisible by channels (${connections})`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sidecar-h2load-'));
  try {
    const data = path.join(dir, 'request.bin');
    const log = path.join(dir, 'requests.log');
    await writeFile(data, frame);
    const stdout = await new Promise((resolve, reject) =>
      execFile(
        'h2load',
        [
          `--clients=${connections}`,
          `--max-concurrent-streams=${concurrency / connections}`,
          `--duration=${seconds}`,
          `--warm-up-time=${warmupSeconds}`,
          `--data=${data}`,
          '--header=content-type: application/grpc',
          '--header=te: trailers',
          `--log-file=${log}`,
          `http://${address}${METHOD_PATH}`,
        ],
        (error, out) => (error ? reject(error) : resolve(out)),
      ),
    );
    // Each line: start time (µs since the epoch), HTTP status, latency (µs).
    const latencies = [];
    let failed = 0;
    for (const line of (await readFile(log, 'utf8')).split('\n')) {
      const [, status, micros] = line.split('\t');
      if (status === undefined || micros === undefined) continue;
      if (status === '200') latencies.push(Number(micros) / 1000);
      else failed += 1;
    }
    // "failed" counts every request that did not succeed, errored and timed out ones included.
    const summary = /requests: .*? (\d+) failed,/.exec(String(stdout));
    const errors = summary ? Number(summary[1]) : failed;
    return { latencies, errors };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
