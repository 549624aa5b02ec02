// @ts-check
/**
 * `npm run compose` (after `npm run build`): asks every subgraph in `SUBGRAPHS` for its SDL
 * (`printSubgraphSdl()` exported by `subgraphs/<name>/dist/index.js`), writes it to
 * `schema/subgraphs/<name>.graphql`, composes them with each subgraph's default routing URL and writes
 * `schema/supergraph.graphql`. `schema/subgraphs/` is generated: files for subgraphs no longer in
 * `SUBGRAPHS` are removed.
 *
 * `--check` writes nothing and exits 1 listing the files that differ from what would be written (CI).
 * Composition errors are printed and exit 1 in both modes.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import schema from '../schema/dist/index.js';

const { SUBGRAPHS, composeSupergraph, defaultSubgraphUrl } = schema;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SUBGRAPH_SDL_DIR = path.join(ROOT, 'schema', 'subgraphs');
const SUPERGRAPH_PATH = path.join(ROOT, 'schema', 'supergraph.graphql');
const require = createRequire(import.meta.url);

/**
 * @param {string} name
 * @returns {Promise<string>}
 */
async function printSubgraphSdl(name) {
  const entry = path.join(ROOT, 'subgraphs', name, 'dist', 'index.js');
  if (!existsSync(entry)) {
    throw new Error(
      `Not built: ${path.relative(ROOT, entry)}; run \`npm run build\` (or \`npm run compose\`)`,
    );
  }
  /** @type {{ printSubgraphSdl?: unknown }} */
  const subgraph = require(entry);
  if (typeof subgraph.printSubgraphSdl !== 'function') {
    throw new Error(`subgraphs/${name} must export printSubgraphSdl(): Promise<string> from its index`);
  }
  const sdl = await subgraph.printSubgraphSdl();
  if (typeof sdl !== 'string' || sdl.trim() === '') {
    throw new Error(`subgraphs/${name}: printSubgraphSdl() must resolve to a non-empty SDL string`);
  }
  return withFinalNewline(sdl);
}

/** @param {string} text */
function withFinalNewline(text) {
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** @param {string} file */
function readIfExists(file) {
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

/** @param {string} file */
function relative(file) {
  return path.relative(ROOT, file);
}

/**
 * Everything the generator owns, as it should be: path → content (undefined: must not exist).
 * @returns {Promise<Map<string, string | undefined>>}
 */
async function expectedFiles() {
  /** @type {Map<string, string | undefined>} */
  const files = new Map();
  /** @type {{ name: string; url: string; sdl: string }[]} */
  const subgraphs = [];
  for (const descriptor of SUBGRAPHS) {
    const sdl = await printSubgraphSdl(descriptor.name);
    subgraphs.push({ name: descriptor.name, url: defaultSubgraphUrl(descriptor), sdl });
    files.set(path.join(SUBGRAPH_SDL_DIR, `${descriptor.name}.graphql`), sdl);
  }
  const stale = existsSync(SUBGRAPH_SDL_DIR)
    ? readdirSync(SUBGRAPH_SDL_DIR).filter(
        (f) => f.endsWith('.graphql') && !files.has(path.join(SUBGRAPH_SDL_DIR, f)),
      )
    : [];
  for (const file of stale) files.set(path.join(SUBGRAPH_SDL_DIR, file), undefined);

  const outcome = composeSupergraph(subgraphs);
  if (!outcome.ok) {
    throw new Error(`Composition failed:\n${outcome.errors.map((e) => `  - ${e}`).join('\n')}`);
  }
  files.set(SUPERGRAPH_PATH, withFinalNewline(outcome.supergraphSdl));
  return files;
}

/** @param {Map<string, string | undefined>} files */
function check(files) {
  /** @type {string[]} */
  const drift = [];
  for (const [file, content] of files) {
    const current = readIfExists(file);
    if (current === content) continue;
    if (content === undefined) drift.push(`${relative(file)} is stale (no such subgraph in SUBGRAPHS)`);
    else if (current === undefined) drift.push(`${relative(file)} is missing`);
    else drift.push(`${relative(file)} differs`);
  }
  if (drift.length === 0) {
    process.stdout.write('Supergraph and subgraph SDL are up to date\n');
    return 0;
  }
  process.stderr.write(
    `Generated schema files are out of date:\n${drift.map((d) => `  - ${d}`).join('\n')}\n` +
      'Run `npm run compose` and commit the result.\n',
  );
  return 1;
}

/** @param {Map<string, string | undefined>} files */
function write(files) {
  mkdirSync(SUBGRAPH_SDL_DIR, { recursive: true });
  for (const [file, content] of files) {
    if (content === undefined) {
      rmSync(file);
      process.stdout.write(`removed ${relative(file)}\n`);
    } else if (readIfExists(file) !== content) {
      writeFileSync(file, content);
      process.stdout.write(`wrote ${relative(file)}\n`);
    }
  }
  process.stdout.write(`Composed ${SUBGRAPHS.length} subgraph(s) into ${relative(SUPERGRAPH_PATH)}\n`);
  return 0;
}

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--check');
if (unknown.length > 0) {
  process.stderr.write(
    `Unknown argument(s): ${unknown.join(' ')}; usage: compose-supergraph.mjs [--check]\n`,
  );
  process.exit(2);
}

try {
  const files = await expectedFiles();
  // Exit explicitly: a subgraph module may hold handles open that a script should not wait for.
  process.exit(args.includes('--check') ? check(files) : write(files));
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
