import { Arg, Ctx, Directive, FieldResolver, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { resolveAlias, setAlias } from '../store/aliases';
import {
  deleteModelVersionTag,
  getModelVersion,
  setModelVersionTag,
  updateModelVersion,
} from '../store/model-versions';
import { registerModelVersion } from '../store/registration';
import { getRegisteredModel } from '../store/registered-models';
import type { ModelsContext } from './context';
import { RegisterModelVersionInput } from './inputs';
import { toModelVersionNode, toRegisteredModelNode } from './mappers';
import { KeyValue, ModelVersion, RegisteredModel, Run } from './types';
import { MODEL_WRITERS } from './access';

@Resolver(() => ModelVersion)
export class ModelVersionResolver {
  @Query(() => ModelVersion, { description: 'NOT_FOUND for an unknown model or version.' })
  async modelVersion(
    @Arg('modelName', () => String) modelName: string,
    @Arg('version', () => Int) version: number,
    @Ctx() { db }: ModelsContext,
  ): Promise<ModelVersion> {
    return toModelVersionNode(await getModelVersion(db.knex, modelName, version));
  }

  @Query(() => ModelVersion, {
    description:
      "The version an alias points at; also 'latest' (newest READY) and 'v<n>'. NOT_FOUND otherwise.",
  })
  async modelVersionByAlias(
    @Arg('modelName', () => String) modelName: string,
    @Arg('alias', () => String) alias: string,
    @Ctx() { db }: ModelsContext,
  ): Promise<ModelVersion> {
    return toModelVersionNode(await resolveAlias(db, modelName, alias));
  }

  @FieldResolver(() => [KeyValue])
  tags(@Root() version: ModelVersion, @Ctx() { loaders }: ModelsContext): Promise<KeyValue[]> {
    return loaders.versionTags.load(version.id);
  }

  @FieldResolver(() => [String], { description: 'Aliases pointing at this version.' })
  async aliases(@Root() version: ModelVersion, @Ctx() { loaders }: ModelsContext): Promise<string[]> {
    const aliases = await loaders.modelAliases.load(version.modelName);
    return aliases.filter((a) => a.version === version.version).map((a) => a.alias);
  }

  @FieldResolver(() => RegisteredModel)
  async registeredModel(
    @Root() version: ModelVersion,
    @Ctx() { db, loaders }: ModelsContext,
  ): Promise<RegisteredModel> {
    const record = await loaders.model.load(version.modelName);
    return toRegisteredModelNode(record ?? (await getRegisteredModel(db.knex, version.modelName)));
  }

  @FieldResolver(() => Run, {
    nullable: true,
    description:
      'The training run (experiments subgraph); null without runId or when the run does not exist.',
  })
  run(@Root() version: ModelVersion): Run | null {
    return version.runId === null ? null : { id: version.runId };
  }

  @Directive(MODEL_WRITERS)
  @Mutation(() => ModelVersion, {
    description:
      'Registers the next version of a model from a stored artifact or a path. A file ONNX Runtime cannot load gives a FAILED_REGISTRATION version with the reason.',
  })
  async registerModelVersion(
    @Arg('input', () => RegisterModelVersionInput) input: RegisterModelVersionInput,
    @Ctx() { db, registry }: ModelsContext,
  ): Promise<ModelVersion> {
    return toModelVersionNode(await registerModelVersion(db, registry, input));
  }

  @Directive(MODEL_WRITERS)
  @Mutation(() => ModelVersion, { description: 'Replaces the description; null clears it.' })
  async updateModelVersion(
    @Arg('modelName', () => String) modelName: string,
    @Arg('version', () => Int) version: number,
    @Arg('description', () => String, { nullable: true }) description: string | null,
    @Ctx() { db }: ModelsContext,
  ): Promise<ModelVersion> {
    return toModelVersionNode(await updateModelVersion(db, modelName, version, description ?? null));
  }

  @Directive(MODEL_WRITERS)
  @Mutation(() => ModelVersion)
  async setModelVersionTag(
    @Arg('modelName', () => String) modelName: string,
    @Arg('version', () => Int) version: number,
    @Arg('key', () => String) key: string,
    @Arg('value', () => String) value: string,
    @Ctx() { db }: ModelsContext,
  ): Promise<ModelVersion> {
    return toModelVersionNode(await setModelVersionTag(db, modelName, version, { key, value }));
  }

  @Directive(MODEL_WRITERS)
  @Mutation(() => ModelVersion, { description: 'NOT_FOUND when the version has no such tag.' })
  async deleteModelVersionTag(
    @Arg('modelName', () => String) modelName: string,
    @Arg('version', () => Int) version: number,
    @Arg('key', () => String) key: string,
    @Ctx() { db }: ModelsContext,
  ): Promise<ModelVersion> {
    return toModelVersionNode(await deleteModelVersionTag(db, modelName, version, key));
  }

  @Directive(MODEL_WRITERS)
  @Mutation(() => ModelVersion, {
    description:
      "Points an alias at a READY version, creating or moving it atomically. 'latest' and 'v<n>' are reserved (BAD_USER_INPUT).",
  })
  async setAlias(
    @Arg('modelName', () => String) modelName: string,
    @Arg('alias', () => String) alias: string,
    @Arg('version', () => Int) version: number,
    @Ctx() { db }: ModelsContext,
  ): Promise<ModelVersion> {
    return toModelVersionNode(await setAlias(db, modelName, alias, version));
  }
}
