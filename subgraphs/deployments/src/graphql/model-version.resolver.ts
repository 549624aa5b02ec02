import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { deploymentsServingVersions, findDeployments } from '../store/deployments';
import type { DeploymentsContext } from './context';
import { toDeploymentNode } from './mappers';
import { Deployment, ModelVersion, RevisionModel } from './types';

/** Extends the models subgraph's `ModelVersion` (keyed `<modelName>/<version>`). */
@Resolver(() => ModelVersion)
export class ModelVersionResolver {
  @FieldResolver(() => [Deployment], {
    description: 'Deployments whose serving revision includes this version.',
  })
  async deployments(@Root() version: ModelVersion, @Ctx() { db }: DeploymentsContext): Promise<Deployment[]> {
    const names = (await deploymentsServingVersions(db.knex, [version.id])).get(version.id) ?? [];
    const found = await findDeployments(db.knex, names);
    return names.flatMap((n) => {
      const record = found.get(n);
      return record ? [toDeploymentNode(record)] : [];
    });
  }
}

@Resolver(() => RevisionModel)
export class RevisionModelResolver {
  @FieldResolver(() => ModelVersion, { description: 'The registry entry (models subgraph).' })
  modelVersion(@Root() model: RevisionModel): ModelVersion {
    return { id: `${model.modelName}/${model.version}` };
  }
}
