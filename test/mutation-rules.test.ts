import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Kind, parse } from 'graphql';
import type { ConstDirectiveNode } from 'graphql';

const SUPERGRAPH = path.resolve(__dirname, '..', 'schema', 'supergraph.graphql');

const OPERATORS = [['role:ml-engineer'], ['role:admin']];
const WRITERS = [['role:data-scientist'], ...OPERATORS];

/** Who may call each mutation, as the subgraphs declare it; a change here is a change of policy. */
const EXPECTED: Readonly<Record<string, readonly (readonly string[])[] | 'authenticated'>> = {
  ...Object.fromEntries(
    [
      'createExperiment',
      'renameExperiment',
      'deleteExperiment',
      'restoreExperiment',
      'setExperimentTag',
      'deleteExperimentTag',
      'createRun',
      'updateRun',
      'deleteRun',
      'restoreRun',
      'setRunTag',
      'deleteRunTag',
      'logBatch',
      'logInputs',
    ].map((name) => [name, [...WRITERS, ['experiments:write']]]),
  ),
  ...Object.fromEntries(
    [
      'createRegisteredModel',
      'updateRegisteredModel',
      'setRegisteredModelTag',
      'deleteRegisteredModelTag',
      'deleteAlias',
      'registerModelVersion',
      'updateModelVersion',
      'setModelVersionTag',
      'deleteModelVersionTag',
      'setAlias',
    ].map((name) => [name, WRITERS]),
  ),
  ...Object.fromEntries(
    [
      'createServingPool',
      'probeServingPool',
      'createDeployment',
      'rollout',
      'setTrafficWeights',
      'promote',
      'rollback',
      'createAlertRule',
      'updateAlertRule',
      'deleteAlertRule',
      'createSilence',
      'expireSilence',
    ].map((name) => [name, OPERATORS]),
  ),
  registerEndpoint: [...OPERATORS, ['serving:register']],
  heartbeat: [...OPERATORS, ['serving:register']],
  deregisterEndpoint: [...OPERATORS, ['serving:register']],
  recordMetrics: [...OPERATORS, ['metrics:write']],
  ...Object.fromEntries(
    ['createStrategy', 'recordPerformance', 'deleteStrategy'].map((name) => [
      name,
      [...WRITERS, ['business-metrics:write']],
    ]),
  ),
  acknowledgeAlert: 'authenticated',
};

function ruleOf(directives: readonly ConstDirectiveNode[]): (typeof EXPECTED)[string] | 'none' {
  if (directives.some((d) => d.name.value === 'authenticated')) return 'authenticated';
  const scopes = directives.find((d) => d.name.value === 'requiresScopes')?.arguments?.[0]?.value;
  if (scopes?.kind !== Kind.LIST) return 'none';
  return scopes.values.map((set) =>
    set.kind === Kind.LIST ? set.values.map((s) => (s.kind === Kind.STRING ? s.value : '?')) : ['?'],
  );
}

describe('the mutations of the supergraph', () => {
  it('should each declare who may call them, exactly as the policy says', async () => {
    const document = parse(await readFile(SUPERGRAPH, 'utf8'));
    const declared: Record<string, unknown> = {};
    for (const definition of document.definitions) {
      if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION || definition.name.value !== 'Mutation') continue;
      for (const field of definition.fields ?? [])
        declared[field.name.value] = ruleOf(field.directives ?? []);
    }

    expect(declared).toEqual(EXPECTED);
  });
});
