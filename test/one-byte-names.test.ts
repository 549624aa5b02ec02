import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { writeSupergraphFile } from './support/supergraph-file';
import type { SupergraphFile } from './support/supergraph-file';

// A supergraph's names can reach V8's string table as two-byte strings, which makes every answer
// keyed by them a two-byte string (twice the bytes to flatten and transcode per response). The
// gateway pins the names one-byte before the schema is built; each case runs in a fresh Node
// process, since the string table is per process.
//
// The platform's own supergraph is read as a two-byte string: one non-ASCII character in a
// description ('…', '→') makes V8 store the whole SDL two-byte, and every name the parser slices
// from it, so there the unpinned case is certain. From an ASCII SDL, federation-internals makes
// two-byte copies of names on some runs and not on others (V8 marks every ThinString two-byte, and
// Array.prototype.join over one yields a two-byte string), so only its pinned case is asserted.

const run = promisify(execFile);
const SCRIPT = path.join(__dirname, 'support', 'name-representation.js');
const ROOT = path.join(__dirname, '..');
const PLATFORM_SUPERGRAPH = path.join(ROOT, 'schema', 'supergraph.graphql');
// Names of the platform's schema that no code the gateway loads spells out (a literal in loaded
// code would store them one-byte first and hide the outcome).
const PLATFORM_NAMES = [
  'acknowledgedAt',
  'lifecycleStage',
  'lastHeartbeatAt',
  'experimentByName',
  'datasetInputs',
];

const link = (imports: string[]) =>
  `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ${JSON.stringify(imports)})`;

let asciiSupergraph: SupergraphFile;

beforeAll(async () => {
  // The benchmark workload's shape: an entity across subgraphs with @requires on external fields.
  asciiSupergraph = await writeSupergraphFile([
    {
      name: 'products',
      url: 'http://products.invalid/graphql',
      sdl: `${link(['@key'])}
        type Query { topItems: [Item] }
        type Item @key(fields: "code") { code: String! label: String cost: Int mass: Int }`,
    },
    {
      name: 'stock',
      url: 'http://stock.invalid/graphql',
      sdl: `${link(['@key', '@external', '@requires'])}
        type Item @key(fields: "code") {
          code: String!
          cost: Int @external
          mass: Int @external
          available: Boolean
          deliveryDays: Int @requires(fields: "cost mass")
        }`,
    },
  ]);
});

afterAll(async () => {
  await asciiSupergraph?.remove();
});

/** How a fresh process that took in `file` the way `mode` says stores each name as a key. */
async function representations(
  file: string,
  mode: 'build' | 'pin' | 'gateway',
  names: string[],
): Promise<string[]> {
  const { stdout } = await run(process.execPath, [SCRIPT, file, mode, ...names], { cwd: ROOT });
  return stdout.split('\n');
}

describe('supergraph names as one-byte strings', () => {
  it("should read the platform's supergraph as a two-byte string (what makes the cases below certain)", () => {
    expect(readFileSync(PLATFORM_SUPERGRAPH, 'utf8')).toMatch(/[\u0080-\uffff]/);
  });

  it("should be two-byte when the platform's supergraph is built unpinned (what the pinning guards against)", async () => {
    expect(await representations(PLATFORM_SUPERGRAPH, 'build', PLATFORM_NAMES)).toEqual(
      PLATFORM_NAMES.map(() => 'two-byte'),
    );
  });

  it("should be one-byte when the platform's supergraph is pinned before the build", async () => {
    expect(await representations(PLATFORM_SUPERGRAPH, 'pin', PLATFORM_NAMES)).toEqual(
      PLATFORM_NAMES.map(() => 'one-byte'),
    );
  });

  it('should be one-byte when an ASCII supergraph is pinned before the build', async () => {
    const names = ['available', 'deliveryDays', 'code', 'topItems', 'Item'];
    expect(await representations(asciiSupergraph.path, 'pin', names)).toEqual(names.map(() => 'one-byte'));
  });

  it("should be one-byte once the gateway serves the platform's supergraph", async () => {
    expect(await representations(PLATFORM_SUPERGRAPH, 'gateway', PLATFORM_NAMES)).toEqual(
      PLATFORM_NAMES.map(() => 'one-byte'),
    );
  });
});
