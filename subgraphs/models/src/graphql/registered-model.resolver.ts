import {
  Arg,
  Args,
  ArgsType,
  Ctx,
  Directive,
  Field,
  FieldResolver,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import { deleteAlias } from '../store/aliases';
import {
  createRegisteredModel,
  deleteRegisteredModelTag,
  getRegisteredModel,
  listRegisteredModels,
  setRegisteredModelTag,
  updateRegisteredModel,
} from '../store/registered-models';
import type { ModelsContext } from './context';
import { CreateRegisteredModelInput } from './inputs';
import { toModelVersionNode, toRegisteredModelNode } from './mappers';
import { KeyValue, ModelAlias, ModelVersion, RegisteredModel, RegisteredModelConnection } from './types';
import { MODEL_WRITERS } from './access';

@ArgsType()
class RegisteredModelsArgs {
  @Field(() => Int, { nullable: true, description: 'Page size; default 100, at most 1000.' })
  first?: number | null;

  @Field(() => String, { nullable: true })
  after?: string | null;
}

@Resolver(() => RegisteredModel)
export class RegisteredModelResolver {
  @Query(() => RegisteredModel, { description: 'A registered model by name; NOT_FOUND when there is none.' })
  async registeredModel(
    @Arg('name', () => String) name: string,
    @Ctx() { db }: ModelsContext,
  ): Promise<RegisteredModel> {
    return toRegisteredModelNode(await getRegisteredModel(db.knex, name));
  }

  @Query(() => RegisteredModelConnection, { description: 'Registered models, newest first.' })
  async registeredModels(
    @Args(() => RegisteredModelsArgs) args: RegisteredModelsArgs,
    @Ctx() { db }: ModelsContext,
  ): Promise<RegisteredModelConnection> {
    const page = await listRegisteredModels(db, args);
    return {
      nodes: page.models.map(toRegisteredModelNode),
      pageInfo: {
        hasNextPage: page.hasNextPage,
        hasPreviousPage: false,
        startCursor: null,
        endCursor: page.endCursor,
      },
    };
  }

  @FieldResolver(() => [KeyValue])
  tags(@Root() model: RegisteredModel, @Ctx() { loaders }: ModelsContext): Promise<KeyValue[]> {
    return loaders.modelTags.load(model.name);
  }

  @FieldResolver(() => [ModelVersion], { description: 'Every version, newest first.' })
  async versions(@Root() model: RegisteredModel, @Ctx() { loaders }: ModelsContext): Promise<ModelVersion[]> {
    return (await loaders.modelVersions.load(model.name)).map(toModelVersionNode);
  }

  @FieldResolver(() => [ModelAlias], { description: 'Aliases set on the model, by name.' })
  aliases(@Root() model: RegisteredModel, @Ctx() { loaders }: ModelsContext): Promise<ModelAlias[]> {
    return loaders.modelAliases.load(model.name);
  }

  @Directive(MODEL_WRITERS)
  @Mutation(() => RegisteredModel, { description: 'CONFLICT when the name is taken.' })
  async createRegisteredModel(
    @Arg('input', () => CreateRegisteredModelInput) input: CreateRegisteredModelInput,
    @Ctx() { db }: ModelsContext,
  ): Promise<RegisteredModel> {
    return toRegisteredModelNode(await createRegisteredModel(db, input));
  }

  @Directive(MODEL_WRITERS)
  @Mutation(() => RegisteredModel, { description: 'Replaces the description; null clears it.' })
  async updateRegisteredModel(
    @Arg('name', () => String) name: string,
    @Arg('description', () => String, { nullable: true }) description: string | null,
    @Ctx() { db }: ModelsContext,
  ): Promise<RegisteredModel> {
    return toRegisteredModelNode(await updateRegisteredModel(db, name, description ?? null));
  }

  @Directive(MODEL_WRITERS)
  @Mutation(() => RegisteredModel)
  async setRegisteredModelTag(
    @Arg('name', () => String) name: string,
    @Arg('key', () => String) key: string,
    @Arg('value', () => String) value: string,
    @Ctx() { db }: ModelsContext,
  ): Promise<RegisteredModel> {
    return toRegisteredModelNode(await setRegisteredModelTag(db, name, { key, value }));
  }

  @Directive(MODEL_WRITERS)
  @Mutation(() => RegisteredModel, { description: 'NOT_FOUND when the model has no such tag.' })
  async deleteRegisteredModelTag(
    @Arg('name', () => String) name: string,
    @Arg('key', () => String) key: string,
    @Ctx() { db }: ModelsContext,
  ): Promise<RegisteredModel> {
    return toRegisteredModelNode(await deleteRegisteredModelTag(db, name, key));
  }

  @Directive(MODEL_WRITERS)
  @Mutation(() => RegisteredModel, { description: 'NOT_FOUND when the model has no such alias.' })
  async deleteAlias(
    @Arg('modelName', () => String) modelName: string,
    @Arg('alias', () => String) alias: string,
    @Ctx() { db }: ModelsContext,
  ): Promise<RegisteredModel> {
    return toRegisteredModelNode(await deleteAlias(db, modelName, alias));
  }
}
