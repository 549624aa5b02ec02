import { Arg, Ctx, Directive, FieldResolver, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import {
  getDeployment,
  getRevision,
  listDeployments,
  revisionsOf,
  servingAt,
  servingRevision,
} from '../store/deployments';
import { getPool } from '../store/pools';
import { CHANGES_SERVING } from './access';
import type { DeploymentsContext } from './context';
import { CreateDeploymentInput, RolloutInput, VersionWeightInput } from './inputs';
import { toDeploymentNode, toPoolNode, toRevisionNode } from './mappers';
import { Deployment, DeploymentRevision, DeploymentStatus, ServingPool } from './types';

const CHANGE =
  'Creates a new revision and returns when the controller has made it serve on every UP endpoint, or FAILED (the previous revision serving on), within ROLLOUT_TIMEOUT_MS. CONFLICT unless expectedRevision is the current revision.';

@Resolver(() => Deployment)
export class DeploymentResolver {
  @Query(() => Deployment, { description: 'NOT_FOUND for an unknown deployment.' })
  async deployment(@Arg('name', () => String) name: string, @Ctx() { db }: DeploymentsContext) {
    return toDeploymentNode(await getDeployment(db.knex, name));
  }

  @Query(() => [Deployment])
  async deployments(@Ctx() { db }: DeploymentsContext): Promise<Deployment[]> {
    return (await listDeployments(db.knex)).map(toDeploymentNode);
  }

  @Query(() => DeploymentRevision, {
    nullable: true,
    description: 'The revision that served at a past instant; null before the first one served.',
  })
  async servingAt(
    @Arg('deployment', () => String) deployment: string,
    @Arg('time', () => Date) time: Date,
    @Ctx() { db }: DeploymentsContext,
  ): Promise<DeploymentRevision | null> {
    await getDeployment(db.knex, deployment, 'deployment');
    const revision = await servingAt(db.knex, deployment, time.getTime());
    return revision ? toRevisionNode(revision) : null;
  }

  @FieldResolver(() => ServingPool)
  async pool(@Root() deployment: Deployment, @Ctx() { db }: DeploymentsContext): Promise<ServingPool> {
    return toPoolNode(await getPool(db.knex, deployment.poolName));
  }

  @FieldResolver(() => DeploymentRevision, {
    description: 'The newest revision (whatever its status); its number is what the next change expects.',
  })
  async currentRevision(@Root() deployment: Deployment, @Ctx() { db }: DeploymentsContext) {
    return toRevisionNode(await getRevision(db.knex, deployment.name, deployment.currentRevisionNumber));
  }

  @FieldResolver(() => DeploymentStatus, { description: 'The status of the current revision.' })
  async status(@Root() deployment: Deployment, @Ctx() { db }: DeploymentsContext): Promise<string> {
    return (await getRevision(db.knex, deployment.name, deployment.currentRevisionNumber)).state.phase;
  }

  @FieldResolver(() => DeploymentRevision, {
    nullable: true,
    description: 'The revision serving now: after a FAILED rollout, the one before it.',
  })
  async servingRevision(@Root() deployment: Deployment, @Ctx() { db }: DeploymentsContext) {
    const revision = await servingRevision(db.knex, deployment.name);
    return revision ? toRevisionNode(revision) : null;
  }

  @FieldResolver(() => [DeploymentRevision], { description: 'Every revision, oldest first.' })
  async revisions(@Root() deployment: Deployment, @Ctx() { db }: DeploymentsContext) {
    return (await revisionsOf(db.knex, deployment.name)).map(toRevisionNode);
  }

  @Directive(CHANGES_SERVING)
  @Mutation(() => Deployment, {
    description:
      'Creates a deployment and rolls out revision 1 (see rollout). CONFLICT for a taken name, NOT_FOUND for an unknown pool.',
  })
  async createDeployment(
    @Arg('input', () => CreateDeploymentInput) input: CreateDeploymentInput,
    @Ctx() { operations }: DeploymentsContext,
  ): Promise<Deployment> {
    const spec = { strategy: input.strategy, models: input.models };
    return toDeploymentNode(await operations.create(input.name, input.pool, spec));
  }

  @Directive(CHANGES_SERVING)
  @Mutation(() => Deployment, { description: CHANGE })
  async rollout(
    @Arg('input', () => RolloutInput) input: RolloutInput,
    @Ctx() { operations }: DeploymentsContext,
  ): Promise<Deployment> {
    const spec = { strategy: input.strategy, models: input.models };
    return toDeploymentNode(await operations.rollout(input.deployment, input.expectedRevision, spec));
  }

  @Directive(CHANGES_SERVING)
  @Mutation(() => Deployment, {
    description: `New weights for the versions serving now, same strategy. ${CHANGE}`,
  })
  async setTrafficWeights(
    @Arg('deployment', () => String) deployment: string,
    @Arg('expectedRevision', () => Int) expectedRevision: number,
    @Arg('weights', () => [VersionWeightInput]) weights: VersionWeightInput[],
    @Ctx() { operations }: DeploymentsContext,
  ): Promise<Deployment> {
    return toDeploymentNode(await operations.setTrafficWeights(deployment, expectedRevision, weights));
  }

  @Directive(CHANGES_SERVING)
  @Mutation(() => Deployment, {
    description: `Gives the candidate (the version listed last in the serving revision) all traffic, DIRECT. ${CHANGE}`,
  })
  async promote(
    @Arg('deployment', () => String) deployment: string,
    @Arg('expectedRevision', () => Int) expectedRevision: number,
    @Ctx() { operations }: DeploymentsContext,
  ): Promise<Deployment> {
    return toDeploymentNode(await operations.promote(deployment, expectedRevision));
  }

  @Directive(CHANGES_SERVING)
  @Mutation(() => Deployment, {
    description: `Re-applies the newest revision that served before the one serving now, as a new revision ending ROLLED_BACK. INVALID_STATE when there is none. ${CHANGE}`,
  })
  async rollback(
    @Arg('deployment', () => String) deployment: string,
    @Arg('expectedRevision', () => Int) expectedRevision: number,
    @Ctx() { operations }: DeploymentsContext,
  ): Promise<Deployment> {
    return toDeploymentNode(await operations.rollback(deployment, expectedRevision));
  }
}
