// @ts-check
// A closed-loop HTTP load generator: `concurrency` virtual users, each POSTing the same body again as
// soon as its previous answer has arrived, over one keep-alive connection each. A warm-up at full
// concurrency, then a fixed measured window. Every answer is checked: HTTP 200 and, byte for byte or
// after re-serialising the JSON, the expected result (so no answer with `errors` passes).
import { createHash } from 'node:crypto';
import http from 'node:http';

/** @param {string | Buffer} text */
export function sha1(text) {
  return createHash('sha1').update(text).digest('hex');
}

/**
 * The hash every correct answer must have after `JSON.stringify(JSON.parse(body))`.
 * @param {unknown} result the expected `{ data }`
 */
export function expectedHash(result) {
  return sha1(JSON.stringify(result));
}

/**
 * A checker that accepts only bodies equal to the expected result. Gateways may serialise the same
 * JSON differently (whitespace), so an unknown body is parsed and re-serialised once; its verdict is
 * then remembered by the raw body's hash, which keeps checking cheap under load.
 * @param {string} hash from `expectedHash`
 */
export function createVerifier(hash) {
  /** @type {Map<string, string | null>} raw-body hash → null (correct) or why it is wrong */
  const verdicts = new Map();
  /** @param {Buffer} body @returns {string | null} */
  return (body) => {
    const raw = sha1(body);
    let verdict = verdicts.get(raw);
    if (verdict === undefined) {
      try {
        const parsed = JSON.parse(body.toString('utf8'));
        if (parsed.errors) verdict = `errors: ${JSON.stringify(parsed.errors).slice(0, 300)}`;
        else if (sha1(JSON.stringify(parsed)) !== hash) verdict = 'data differs from the expected result';
        else verdict = null;
      } catch {
        verdict = `not JSON: ${body.toString('utf8').slice(0, 200)}`;
      }
      if (verdicts.size < 1_000) verdicts.set(raw, verdict);
    }
    return verdict;
  };
}

/**
 * @typedef {object} LoadOptions
 * @property {string} url
 * @property {string} body the JSON request body
 * @property {(body: Buffer) => string | null} verify null when the answer is correct
 * @property {number} concurrency virtual users
 * @property {number} warmupSeconds
 * @property {number} seconds measured window
 * @property {() => void} [onMeasureStart] called when the measured window opens
 *
 * @typedef {object} Window one measured window
 * @property {number[]} latencies ms, of every correct answer in the window
 * @property {number} errors wrong status, wrong body or failed connection, in the window
 * @property {string | undefined} firstError
 * @property {number} seconds the window's actual length
 *
 * @typedef {object} Summary
 * @property {number} requests correct answers
 * @property {number} errors
 * @property {string | undefined} firstError
 * @property {number} rps correct answers per second
 * @property {number} p50 ms
 * @property {number} p95 ms
 * @property {number} p99 ms
 * @property {number} seconds measured in all
 */

/**
 * @param {LoadOptions} options
 * @returns {Promise<Window>}
 */
export async function runLoad({ url, body, verify, concurrency, warmupSeconds, seconds, onMeasureStart }) {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const payload = Buffer.from(body);
  const headers = { 'content-type': 'application/json', 'content-length': payload.length };

  /** @type {'warmup' | 'measure' | 'done'} */
  let phase = 'warmup';
  /** @type {number[]} */
  const latencies = [];
  let errors = 0;
  /** @type {string | undefined} */
  let firstError;

  /** @param {number} started @param {string | null} problem */
  const record = (started, problem) => {
    if (phase !== 'measure') return;
    if (problem === null) latencies.push(performance.now() - started);
    else {
      errors += 1;
      firstError ??= problem;
    }
  };

  /** @returns {Promise<void>} one request, recorded */
  const once = () =>
    new Promise((resolve) => {
      const started = performance.now();
      const req = http.request(
        { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers, agent },
        (res) => {
          /** @type {Buffer[]} */
          const chunks = [];
          res.on('data', (chunk) => chunks.push(chunk));
          res.on('end', () => {
            const answer = Buffer.concat(chunks);
            record(
              started,
              res.statusCode === 200
                ? verify(answer)
                : `HTTP ${res.statusCode}: ${answer.toString('utf8').slice(0, 200)}`,
            );
            resolve();
          });
          res.on('error', (error) => {
            record(started, String(error));
            resolve();
          });
        },
      );
      req.on('error', (error) => {
        record(started, String(error));
        // A refused or reset connection must not turn the loop into a busy spin.
        setTimeout(resolve, 10);
      });
      req.end(payload);
    });

  const user = async () => {
    while (phase !== 'done') await once();
  };
  const users = Array.from({ length: concurrency }, user);

  await new Promise((resolve) => setTimeout(resolve, warmupSeconds * 1000));
  phase = 'measure';
  onMeasureStart?.();
  const opened = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const elapsed = (performance.now() - opened) / 1000;
  phase = 'done';
  await Promise.all(users);
  agent.destroy();

  return { latencies, errors, firstError, seconds: elapsed };
}

/**
 * Pools the windows of one target (several rounds) into one figure: all answers over all time.
 * @param {readonly Window[]} windows
 * @returns {Summary}
 */
export function summarize(windows) {
  const latencies = windows.flatMap((w) => w.latencies).sort((a, b) => a - b);
  const seconds = windows.reduce((n, w) => n + w.seconds, 0);
  const at = (/** @type {number} */ p) =>
    latencies.length === 0
      ? NaN
      : latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return {
    requests: latencies.length,
    errors: windows.reduce((n, w) => n + w.errors, 0),
    firstError: windows.find((w) => w.firstError)?.firstError,
    rps: latencies.length / seconds,
    p50: at(50),
    p95: at(95),
    p99: at(99),
    seconds,
  };
}
