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
import { getExperiment } from '../store/experiments';
import { logBatch, logInputs } from '../store/logging';
import { metricHistory } from '../store/metric-history';
import { createRun, deleteRunTag, getRun, setRunLifecycle, setRunTag, updateRun } from '../store/runs';
import { searchRuns } from '../store/search-runs';
import { EXPERIMENT_WRITERS } from './access';
import type { ExperimentsContext } from './context';
import { CreateRunInput, DatasetInputInput, LogBatchInput, UpdateRunInput } from './inputs';
import { epochMs, toExperimentNode, toMetricNode, toRunNode } from './mappers';
import { DatasetInput, Experiment, KeyValue, LifecycleView, Metric, Run, RunConnection } from './types';

@ArgsType()
class SearchRunsArgs {
  @Field(() => [ID])
  experimentIds!: string[];

  @Field(() => String, {
    nullable: true,
    description:
      'MLflow filter syntax, e.g. "metrics.rmse < 1 and params.model = \'tree\'"; AND, OR and parentheses.',
  })
  filter?: string | null;

  @Field(() => [String], {
    nullable: true,
    description: "Terms like 'metrics.rmse DESC'; ties break on start time, then id.",
  })
  orderBy?: string[] | null;

  @Field(() => LifecycleView, { defaultValue: LifecycleView.ACTIVE_ONLY })
  runView!: LifecycleView;

  @Field(() => Int, { nullable: true, description: 'Page size; default 100, at most 1000.' })
  first?: number | null;

  @Field(() => String, { nullable: true, description: 'endCursor of the previous page of the same search.' })
  after?: string | null;
}

@ArgsType()
class MetricHistoryArgs {
  @Field(() => String)
  key!: string;

  @Field(() => Int, {
    nullable: true,
    description: 'Default 1000. Longer histories are downsampled, keeping first, last, minimum and maximum.',
  })
  maxPoints?: number | null;
}

@Resolver(() => Run)
export class RunResolver {
  @Query(() => Run, { description: 'A run by id; NOT_FOUND when there is none.' })
  async run(@Arg('id', () => ID) id: string, @Ctx() { db }: ExperimentsContext): Promise<Run> {
    return toRunNode(await getRun(db.knex, id));
  }

  @Query(() => RunConnection)
  async searchRuns(
    @Args(() => SearchRunsArgs) args: SearchRunsArgs,
    @Ctx() { db, loaders }: ExperimentsContext,
  ): Promise<RunConnection> {
    const page = await searchRuns(db, args);
    for (const edge of page.edges) loaders.run.prime(edge.run.id, edge.run);
    const edges = page.edges.map((e) => ({ cursor: e.cursor, node: toRunNode(e.run) }));
    return {
      edges,
      pageInfo: {
        hasNextPage: page.hasNextPage,
        hasPreviousPage: false,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges[edges.length - 1]?.cursor ?? null,
      },
    };
  }

  @Query(() => [Metric], { description: "A metric's history in step order; NOT_FOUND for an unknown run." })
  async metricHistory(
    @Arg('runId', () => ID) runId: string,
    @Args(() => MetricHistoryArgs) args: MetricHistoryArgs,
    @Ctx() { db }: ExperimentsContext,
  ): Promise<Metric[]> {
    return (await metricHistory(db, { runId, ...args })).map(toMetricNode);
  }

  @FieldResolver(() => Experiment)
  async experiment(@Root() run: Run, @Ctx() { db, loaders }: ExperimentsContext): Promise<Experiment> {
    const record = await loaders.experiment.load(run.experimentId);
    return toExperimentNode(record ?? (await getExperiment(db, run.experimentId)));
  }

  @FieldResolver(() => [KeyValue])
  tags(@Root() run: Run, @Ctx() { loaders }: ExperimentsContext): Promise<KeyValue[]> {
    return loaders.runTags.load(run.id);
  }

  @FieldResolver(() => [KeyValue])
  params(@Root() run: Run, @Ctx() { loaders }: ExperimentsContext): Promise<KeyValue[]> {
    return loaders.runParams.load(run.id);
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'One param value, or null when it was not logged.',
  })
  async param(
    @Root() run: Run,
    @Arg('key', () => String) key: string,
    @Ctx() { loaders }: ExperimentsContext,
  ): Promise<string | null> {
    return (await loaders.runParams.load(run.id)).find((p) => p.key === key)?.value ?? null;
  }

  @FieldResolver(() => [Metric], {
    description: 'The latest point of every metric (highest step, then timestamp).',
  })
  async metrics(@Root() run: Run, @Ctx() { loaders }: ExperimentsContext): Promise<Metric[]> {
    return (await loaders.runMetrics.load(run.id)).map(toMetricNode);
  }

  @FieldResolver(() => Metric, { nullable: true, description: 'The latest point of one metric.' })
  async metric(
    @Root() run: Run,
    @Arg('key', () => String) key: string,
    @Ctx() { loaders }: ExperimentsContext,
  ): Promise<Metric | null> {
    const point = (await loaders.runMetrics.load(run.id)).find((m) => m.key === key);
    return point ? toMetricNode(point) : null;
  }

  @FieldResolver(() => [Metric], { name: 'metricHistory' })
  async runMetricHistory(
    @Root() run: Run,
    @Args(() => MetricHistoryArgs) args: MetricHistoryArgs,
    @Ctx() { db }: ExperimentsContext,
  ): Promise<Metric[]> {
    return (await metricHistory(db, { runId: run.id, ...args })).map(toMetricNode);
  }

  @FieldResolver(() => [DatasetInput])
  datasetInputs(@Root() run: Run, @Ctx() { loaders }: ExperimentsContext): Promise<DatasetInput[]> {
    return loaders.runInputs.load(run.id);
  }

  @Directive(EXPERIMENT_WRITERS)
  @Mutation(() => Run)
  async createRun(
    @Arg('input', () => CreateRunInput) input: CreateRunInput,
    @Ctx() { db }: ExperimentsContext,
  ): Promise<Run> {
    return toRunNode(await createRun(db, { ...input, startTime: epochMs(input.startTime) }));
  }

  @Directive(EXPERIMENT_WRITERS)
  @Mutation(() => Run)
  async updateRun(
    @Arg('input', () => UpdateRunInput) input: UpdateRunInput,
    @Ctx() { db }: ExperimentsContext,
  ): Promise<Run> {
    return toRunNode(await updateRun(db, { ...input, endTime: epochMs(input.endTime) }));
  }

  @Directive(EXPERIMENT_WRITERS)
  @Mutation(() => Run)
  async deleteRun(@Arg('id', () => ID) id: string, @Ctx() { db }: ExperimentsContext): Promise<Run> {
    return toRunNode(await setRunLifecycle(db, id, 'deleted'));
  }

  @Directive(EXPERIMENT_WRITERS)
  @Mutation(() => Run)
  async restoreRun(@Arg('id', () => ID) id: string, @Ctx() { db }: ExperimentsContext): Promise<Run> {
    return toRunNode(await setRunLifecycle(db, id, 'active'));
  }

  @Directive(EXPERIMENT_WRITERS)
  @Mutation(() => Run)
  async setRunTag(
    @Arg('runId', () => ID) runId: string,
    @Arg('key', () => String) key: string,
    @Arg('value', () => String) value: string,
    @Ctx() { db }: ExperimentsContext,
  ): Promise<Run> {
    return toRunNode(await setRunTag(db, runId, { key, value }));
  }

  @Directive(EXPERIMENT_WRITERS)
  @Mutation(() => Run)
  async deleteRunTag(
    @Arg('runId', () => ID) runId: string,
    @Arg('key', () => String) key: string,
    @Ctx() { db }: ExperimentsContext,
  ): Promise<Run> {
    return toRunNode(await deleteRunTag(db, runId, key));
  }

  @Directive(EXPERIMENT_WRITERS)
  @Mutation(() => Run, {
    description: 'Logs metrics, params and tags atomically: all of the batch is written or none.',
  })
  async logBatch(
    @Arg('input', () => LogBatchInput) input: LogBatchInput,
    @Ctx() { db }: ExperimentsContext,
  ): Promise<Run> {
    const metrics = input.metrics?.map((m) => ({ ...m, timestamp: epochMs(m.timestamp) }));
    return toRunNode(await logBatch(db, { ...input, metrics }));
  }

  @Directive(EXPERIMENT_WRITERS)
  @Mutation(() => Run, {
    description: 'Records datasets the run consumed; the same dataset and context again is a no-op.',
  })
  async logInputs(
    @Arg('runId', () => ID) runId: string,
    @Arg('datasets', () => [DatasetInputInput]) datasets: DatasetInputInput[],
    @Ctx() { db }: ExperimentsContext,
  ): Promise<Run> {
    return toRunNode(await logInputs(db, runId, datasets));
  }
}
