import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { ModelsContext } from './context';
import { toModelVersionNode } from './mappers';
import { ModelVersion, Run } from './types';

/** Extends the experiments subgraph's `Run`: the models subgraph knows only its id. */
@Resolver(() => Run)
export class RunResolver {
  @FieldResolver(() => [ModelVersion], { description: 'Model versions registered from this run.' })
  async modelVersions(@Root() run: Run, @Ctx() { loaders }: ModelsContext): Promise<ModelVersion[]> {
    return (await loaders.runVersions.load(run.id)).map(toModelVersionNode);
  }
}
