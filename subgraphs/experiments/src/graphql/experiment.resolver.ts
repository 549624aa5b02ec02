import {
  Arg,
  Args,
  ArgsType,
  Ctx,
  Directive,
  Field,
  FieldResolver,
  ID,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import {
  createExperiment,
  deleteExperimentTag,
  getExperiment,
  getExperimentByName,
  listExperiments,
  renameExperiment,
  setExperimentLifecycle,
  setExperimentTag,
} from '../store/experiments';
import { EXPERIMENT_WRITERS } from './access';
import type { ExperimentsContext } from './context';
import { CreateExperimentInput } from './inputs';
import { toExperimentNode } from './mappers';
import { Experiment, ExperimentConnection, KeyValue, LifecycleView } from './types';

@ArgsType()
class ExperimentsArgs {
  @Field(() => LifecycleView, { defaultValue: LifecycleView.ACTIVE_ONLY })
  view!: LifecycleView;

  @Field(() => Int, { nullable: true, description: 'Page size; default 100, at most 1000.' })
  first?: number | null;

  @Field(() => String, { nullable: true })
  after?: string | null;
}

@Resolver(() => Experiment)
export class ExperimentResolver {
  @Query(() => Experiment, { description: 'An experiment by id; NOT_FOUND when there is none.' })
  async experiment(@Arg('id', () => ID) id: string, @Ctx() { db }: ExperimentsContext): Promise<Experiment> {
    return toExperimentNode(await getExperiment(db, id));
  }

  @Query(() => Experiment, { description: 'An experiment by its unique name; NOT_FOUND when there is none.' })
  async experimentByName(
    @Arg('name', () => String) name: string,
    @Ctx() { db }: ExperimentsContext,
  ): Promise<Experiment> {
    return toExperimentNode(await getExperimentByName(db, name));
  }

  @Query(() => ExperimentConnection, { description: 'Experiments, newest first.' })
  async experiments(
    @Args(() => ExperimentsArgs) args: ExperimentsArgs,
    @Ctx() { db }: ExperimentsContext,
  ): Promise<ExperimentConnection> {
    const page = await listExperiments(db, args);
    const nodes = page.experiments.map(toExperimentNode);
    return {
      nodes,
      pageInfo: {
        hasNextPage: page.hasNextPage,
        hasPreviousPage: false,
        startCursor: null,
        endCursor: page.endCursor,
      },
    };
  }

  @FieldResolver(() => [KeyValue])
  tags(@Root() experiment: Experiment, @Ctx() { loaders }: ExperimentsContext): Promise<KeyValue[]> {
    return loaders.experimentTags.load(experiment.id);
  }

  @Directive(EXPERIMENT_WRITERS)
  @Mutation(() => Experiment, { description: 'CONFLICT when the name is taken.' })
  async createExperiment(
    @Arg('input', () => CreateExperimentInput) input: CreateExperimentInput,
    @Ctx() { db }: ExperimentsContext,
  ): Promise<Experiment> {
    return toExperimentNode(await createExperiment(db, input));
  }

  @Directive(EXPERIMENT_WRITERS)
  @Mutation(() => Experiment)
  async renameExperiment(
    @Arg('id', () => ID) id: string,
    @Arg('name', () => String) name: string,
    @Ctx() { db }: ExperimentsContext,
  ): Promise<Experiment> {
    return toExperimentNode(await renameExperiment(db, id, name));
  }

  @Directive(EXPERIMENT_WRITERS)
  @Mutation(() => Experiment, { description: 'Marks the experiment and its runs deleted; restorable.' })
  async deleteExperiment(
    @Arg('id', () => ID) id: string,
    @Ctx() { db }: ExperimentsContext,
  ): Promise<Experiment> {
    return toExperimentNode(await setExperimentLifecycle(db, id, 'deleted'));
  }

  @Directive(EXPERIMENT_WRITERS)
  @Mutation(() => Experiment, { description: 'Restores a deleted experiment and its runs.' })
  async restoreExperiment(
    @Arg('id', () => ID) id: string,
    @Ctx() { db }: ExperimentsContext,
  ): Promise<Experiment> {
    return toExperimentNode(await setExperimentLifecycle(db, id, 'active'));
  }

  @Directive(EXPERIMENT_WRITERS)
  @Mutation(() => Experiment)
  async setExperimentTag(
    @Arg('experimentId', () => ID) experimentId: string,
    @Arg('key', () => String) key: string,
    @Arg('value', () => String) value: string,
    @Ctx() { db }: ExperimentsContext,
  ): Promise<Experiment> {
    return toExperimentNode(await setExperimentTag(db, experimentId, { key, value }));
  }

  @Directive(EXPERIMENT_WRITERS)
  @Mutation(() => Experiment, { description: 'NOT_FOUND when the experiment has no such tag.' })
  async deleteExperimentTag(
    @Arg('experimentId', () => ID) experimentId: string,
    @Arg('key', () => String) key: string,
    @Ctx() { db }: ExperimentsContext,
  ): Promise<Experiment> {
    return toExperimentNode(await deleteExperimentTag(db, experimentId, key));
  }
}
