import 'reflect-metadata';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { printSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import type { GraphQLSchema } from 'graphql';
import { parse } from 'graphql';
import { buildSchema, createResolversMap } from 'type-graphql';
import type { ModelsContext } from './context';
import { toModelVersionNode, toRegisteredModelNode } from './mappers';
import { ModelVersionResolver } from './model-version.resolver';
import { RegisteredModelResolver } from './registered-model.resolver';
import { RunResolver } from './run.resolver';

const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@authenticated", "@requiresScopes"])';

/** Entities the gateway fetches by key: the entity, or null when it does not exist. */
const referenceResolvers = {
  RegisteredModel: {
    async __resolveReference(reference: { name: string }, { loaders }: ModelsContext) {
      const record = await loaders.model.load(reference.name);
      return record ? toRegisteredModelNode(record) : null;
    },
  },
  ModelVersion: {
    async __resolveReference(reference: { id: string }, { loaders }: ModelsContext) {
      const record = await loaders.version.load(reference.id);
      return record ? toModelVersionNode(record) : null;
    },
  },
  // Runs live in the experiments subgraph; here a run is its id, and `modelVersions` is empty for
  // an id with no versions rather than an error.
  Run: {
    __resolveReference(reference: { id: string }) {
      return { id: reference.id };
    },
  },
};

/**
 * The models subgraph schema: type-graphql builds the types from the resolver classes, and
 * `@apollo/subgraph` adds federation (`_entities`, `_service`) from the printed SDL.
 */
export async function buildModelsSchema(): Promise<GraphQLSchema> {
  const typeGraphqlSchema = await buildSchema({
    resolvers: [RegisteredModelResolver, ModelVersionResolver, RunResolver],
    validate: false,
    emitSchemaFile: false,
  });
  const resolvers = createResolversMap(typeGraphqlSchema) as Record<string, object>;
  const merged = {
    ...resolvers,
    RegisteredModel: { ...resolvers.RegisteredModel, ...referenceResolvers.RegisteredModel },
    ModelVersion: { ...resolvers.ModelVersion, ...referenceResolvers.ModelVersion },
    Run: { ...resolvers.Run, ...referenceResolvers.Run },
  };
  return buildSubgraphSchema({
    typeDefs: parse(`${FEDERATION_LINK}\n\n${printSchemaWithDirectives(typeGraphqlSchema)}`),
    resolvers: merged as unknown as GraphQLResolverMap<unknown>,
  });
}

/** The subgraph SDL as composition sees it (checked in under `schema/subgraphs/`). */
export async function printSubgraphSdl(): Promise<string> {
  return printSubgraphSchema(await buildModelsSchema());
}
