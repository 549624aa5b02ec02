import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { writeSupergraphFile } from './support/supergraph-file';
import type { SupergraphFile } from './support/supergraph-file';

// federation-internals' schema builder leaves a supergraph's names two-byte in V8's string table,
// which made every answer keyed by them a two-byte string (twice the bytes to flatten and transcode
// per response). The gateway pins the names one-byte before the schema is built; each case runs in
// a fresh Node process, since the string table is per process.

const run = promisify(execFile);
const SCRIPT = path.join(__dirname, 'support', 'name-representation.js');
const ROOT = path.join(__dirname, '..');

const link = (imports: string[]) =>
  `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ${JSON.stringify(imports)})`;

let supergraph: SupergraphFile;

beforeAll(async () => {
  // The benchmark workload's shape: an entity across subgraphs with @requires on external fields.
  supergraph = await writeSupergraphFile([
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
  await supergraph?.remove();
});

async function representation(name: string, pin: boolean): Promise<string> {
  const { stdout } = await run(process.execPath, [SCRIPT, supergraph.path, name, ...(pin ? ['pin'] : [])], {
    cwd: ROOT,
  });
  return stdout;
}

describe('supergraph names as one-byte strings', () => {
  it('should be two-byte after federation-internals builds the schema unpinned (the quirk this guards against)', async () => {
    expect(await representation('available', false)).toBe('two-byte');
    expect(await representation('deliveryDays', false)).toBe('two-byte');
  });

  it('should be one-byte when the gateway pinned them before the build', async () => {
    for (const name of ['available', 'deliveryDays', 'code', 'topItems', 'Item']) {
      expect(await representation(name, true)).toBe('one-byte');
    }
  });
});
