import 'reflect-metadata';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { printSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import type { GraphQLSchema } from 'graphql';
import { parse } from 'graphql';
import { buildSchema, createResolversMap } from 'type-graphql';
import type { ExperimentsContext } from './context';
import { ExperimentResolver } from './experiment.resolver';
import { toExperimentNode, toRunNode } from './mappers';
import { RunResolver } from './run.resolver';

const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@requiresScopes"])';

/** Entities the gateway fetches by key: `{ __typename, id }` → the entity, or null when it does not exist. */
const referenceResolvers = {
  Experiment: {
    async __resolveReference(reference: { id: string }, { loaders }: ExperimentsContext) {
      const record = await loaders.experiment.load(reference.id);
      return record ? toExperimentNode(record) : null;
    },
  },
  Run: {
    async __resolveReference(reference: { id: string }, { loaders }: ExperimentsContext) {
      const record = await loaders.run.load(reference.id);
      return record ? toRunNode(record) : null;
    },
  },
};

/**
 * The experiments subgraph schema: type-graphql builds the types from the resolver classes, and
 * `@apollo/subgraph` adds federation (`_entities`, `_service`) from the printed SDL.
 */
export async function buildExperimentsSchema(): Promise<GraphQLSchema> {
  const typeGraphqlSchema = await buildSchema({
    resolvers: [ExperimentResolver, RunResolver],
    validate: false,
    emitSchemaFile: false,
  });
  const resolvers = createResolversMap(typeGraphqlSchema) as Record<string, object>;
  const merged = {
    ...resolvers,
    Experiment: { ...resolvers.Experiment, ...referenceResolvers.Experiment },
    Run: { ...resolvers.Run, ...referenceResolvers.Run },
  };
  return buildSubgraphSchema({
    typeDefs: parse(`${FEDERATION_LINK}\n\n${printSchemaWithDirectives(typeGraphqlSchema)}`),
    resolvers: merged as unknown as GraphQLResolverMap<unknown>,
  });
}

/** The subgraph SDL as composition sees it (checked in under `schema/subgraphs/`). */
export async function printSubgraphSdl(): Promise<string> {
  return printSubgraphSchema(await buildExperimentsSchema());
}
