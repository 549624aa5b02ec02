import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { printSubgraphSdl as printAlertsSdl } from '@mlops/alerts';
import { printSubgraphSdl as printBusinessMetricsSdl } from '@mlops/business-metrics';
import { printSubgraphSdl as printDeploymentsSdl } from '@mlops/deployments';
import { printSubgraphSdl as printExperimentsSdl } from '@mlops/experiments';
import { printSubgraphSdl as printModelsSdl } from '@mlops/models';
import { SUBGRAPHS, composeSupergraph, defaultSubgraphUrl } from '@mlops/schema';

/** Every subgraph's SDL printer, by the name it is composed under. */
const PRINTERS: Readonly<Record<string, () => Promise<string>>> = {
  experiments: printExperimentsSdl,
  models: printModelsSdl,
  deployments: printDeploymentsSdl,
  alerts: printAlertsSdl,
  'business-metrics': printBusinessMetricsSdl,
};

const SCHEMA_DIR = path.resolve(__dirname, '..', 'schema');
const withFinalNewline = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);

describe('the checked-in supergraph', () => {
  it('should have an SDL printer for every subgraph in SUBGRAPHS', () => {
    expect(Object.keys(PRINTERS).sort()).toEqual(SUBGRAPHS.map((s) => s.name).sort());
  });

  it.each(SUBGRAPHS.map((s) => s.name))(
    'should hold the current SDL of the %s subgraph (run `npm run compose`)',
    async (name) => {
      const checkedIn = await readFile(path.join(SCHEMA_DIR, 'subgraphs', `${name}.graphql`), 'utf8');
      expect(checkedIn).toBe(withFinalNewline(await PRINTERS[name]!()));
    },
  );

  it('should equal a fresh composition of the subgraphs, which reports no errors (run `npm run compose`)', async () => {
    const subgraphs = await Promise.all(
      SUBGRAPHS.map(async (s) => ({
        name: s.name,
        url: defaultSubgraphUrl(s),
        sdl: withFinalNewline(await PRINTERS[s.name]!()),
      })),
    );
    const outcome = composeSupergraph(subgraphs);
    expect(outcome.ok ? [] : outcome.errors).toEqual([]);
    const checkedIn = await readFile(path.join(SCHEMA_DIR, 'supergraph.graphql'), 'utf8');
    expect(checkedIn).toBe(outcome.ok ? withFinalNewline(outcome.supergraphSdl) : '');
  });

  it('should fail composition when two subgraphs disagree on a shared type', () => {
    const outcome = composeSupergraph([
      { name: 'a', url: 'http://a/graphql', sdl: 'type Query { a: Thing } type Thing { id: ID! }' },
      { name: 'b', url: 'http://b/graphql', sdl: 'type Query { b: Thing } type Thing { id: String! }' },
    ]);
    expect(outcome.ok).toBe(false);
  });
});
