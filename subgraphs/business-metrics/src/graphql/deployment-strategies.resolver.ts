import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { BusinessMetricsContext } from './context';
import { toStrategyNode } from './mappers';
import { Deployment, TradingStrategy } from './types';

/** Extends the deployments subgraph's `Deployment` with the strategies trading its predictions. */
@Resolver(() => Deployment)
export class DeploymentStrategiesResolver {
  @FieldResolver(() => [TradingStrategy], {
    description: "Strategies trading the deployment's predictions, by name.",
  })
  async strategies(
    @Root() deployment: Deployment,
    @Ctx() { loaders }: BusinessMetricsContext,
  ): Promise<TradingStrategy[]> {
    return (await loaders.deploymentStrategies.load(deployment.name)).map(toStrategyNode);
  }
}
