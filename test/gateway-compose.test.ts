import { composeSupergraph } from '@mlops/schema';
import { createComposeSandbox } from './support/compose-sandbox';
import type { ComposeSandbox } from './support/compose-sandbox';

const FEDERATION = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])';
const ALPHA_SDL = `${FEDERATION}\n\ntype Query {\n  alpha: Alpha\n}\n\ntype Alpha @key(fields: "id") {\n  id: ID!\n}\n`;
const BETA_SDL = `${FEDERATION}\n\ntype Alpha @key(fields: "id") {\n  id: ID!\n  beta: String\n}\n`;
const SUBGRAPHS = [
  { name: 'alpha', defaultPort: 4101 },
  { name: 'beta', defaultPort: 4102 },
];

/** `scripts/compose-supergraph.mjs` run for real, over stand-in subgraph builds (see `support/compose-sandbox`). */
describe('compose-supergraph.mjs', () => {
  let sandbox: ComposeSandbox;

  beforeEach(() => {
    sandbox = createComposeSandbox(SUBGRAPHS);
    sandbox.setSubgraphSdl('alpha', ALPHA_SDL);
    sandbox.setSubgraphSdl('beta', BETA_SDL);
  });
  afterEach(() => sandbox.dispose());

  it('should write each subgraph SDL and the supergraph composed with the default routing URLs', () => {
    const run = sandbox.run();

    expect(run).toMatchObject({ status: 0, stderr: '' });
    expect(sandbox.read('schema/subgraphs/alpha.graphql')).toBe(ALPHA_SDL);
    expect(sandbox.read('schema/subgraphs/beta.graphql')).toBe(BETA_SDL);
    const expected = composeSupergraph([
      { name: 'alpha', url: 'http://127.0.0.1:4101/graphql', sdl: ALPHA_SDL },
      { name: 'beta', url: 'http://127.0.0.1:4102/graphql', sdl: BETA_SDL },
    ]);
    if (!expected.ok) throw new Error(expected.errors.join('\n'));
    expect(sandbox.read('schema/supergraph.graphql')?.trimEnd()).toBe(expected.supergraphSdl.trimEnd());
  });

  it('should pass --check right after composing, writing nothing', () => {
    sandbox.run();
    const before = sandbox.generatedFiles();

    const check = sandbox.run('--check');

    expect(check).toMatchObject({ status: 0, stdout: 'Supergraph and subgraph SDL are up to date\n' });
    expect(sandbox.generatedFiles()).toEqual(before);
  });

  it('should fail --check listing drifted, missing and stale files, writing nothing', () => {
    sandbox.run();
    sandbox.setSubgraphSdl('beta', BETA_SDL.replace('beta: String', 'beta: String\n  gamma: Int'));
    sandbox.remove('schema/subgraphs/alpha.graphql');
    sandbox.write('schema/subgraphs/retired.graphql', 'type Query { old: String }\n');
    const before = sandbox.generatedFiles();

    const check = sandbox.run('--check');

    expect(check.status).toBe(1);
    expect(check.stderr).toBe(
      [
        'Generated schema files are out of date:',
        '  - schema/subgraphs/alpha.graphql is missing',
        '  - schema/subgraphs/beta.graphql differs',
        '  - schema/subgraphs/retired.graphql is stale (no such subgraph in SUBGRAPHS)',
        '  - schema/supergraph.graphql differs',
        'Run `npm run compose` and commit the result.',
        '',
      ].join('\n'),
    );
    expect(sandbox.generatedFiles()).toEqual(before);
  });

  it('should remove SDL files of subgraphs no longer in SUBGRAPHS', () => {
    sandbox.write('schema/subgraphs/retired.graphql', 'type Query { old: String }\n');

    const run = sandbox.run();

    expect(run.status).toBe(0);
    expect(run.stdout).toContain('removed schema/subgraphs/retired.graphql');
    expect(sandbox.read('schema/subgraphs/retired.graphql')).toBeUndefined();
  });

  it('should print composition errors and exit 1 without writing', () => {
    sandbox.setSubgraphSdl('beta', `${FEDERATION}\n\ntype Query {\n  alpha: Int\n}\n`);

    const run = sandbox.run();

    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^Composition failed:\n {2}- .*Query\.alpha/);
    expect(sandbox.generatedFiles()).toEqual({});
  });

  it('should name a subgraph whose build does not export printSubgraphSdl', () => {
    sandbox.setSubgraphModule('beta', 'exports.somethingElse = 1;\n');

    const run = sandbox.run('--check');

    expect(run).toMatchObject({
      status: 1,
      stderr: 'subgraphs/beta must export printSubgraphSdl(): Promise<string> from its index\n',
    });
  });

  it('should reject unknown arguments', () => {
    expect(sandbox.run('--chek')).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('Unknown argument(s): --chek'),
    });
  });
});
