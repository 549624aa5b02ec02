import {
  Arg,
  Ctx,
  Directive,
  FieldResolver,
  Float,
  Mutation,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import type { SubscribeResolverData } from 'type-graphql';
import { MAX_POINTS_PER_BATCH, MAX_WINDOW_POINTS } from '../domain/limits';
import { DEFAULT_PERIODS_PER_YEAR } from '../domain/performance';
import type { PerformancePoint as PointRecord } from '../domain/performance';
import { openPerformanceStream } from '../events/performance-stream';
import { performanceSummary, validatePeriodsPerYear } from '../store/performance';
import { getStrategyByName } from '../store/strategies';
import type { StrategyRecord } from '../store/records';
import { STRATEGY_WRITERS } from './access';
import type { BusinessMetricsContext } from './context';
import { PerformancePointInput } from './inputs';
import { toPointNode, toStrategyNode, toSummaryNode } from './mappers';
import { PERIODS_PER_YEAR_DESCRIPTION } from './strategy.resolver';
import { PerformanceSummary, PerformanceUpdate, RecordPerformancePayload } from './types';

interface StrategyPerformanceArgs {
  readonly [name: string]: unknown;
  readonly name: string;
  readonly from?: Date | null;
  readonly periodsPerYear: number;
}

/** What the subscription's stream yields per event: the strategy and the points one call stored. */
interface UpdatePayload {
  readonly strategy: StrategyRecord;
  readonly points: readonly PointRecord[];
}

/** Maps each batch of the stream to an event payload; `return()` reaches the stream. */
function withStrategy(
  strategy: StrategyRecord,
  stream: AsyncIterableIterator<readonly PointRecord[]>,
): AsyncIterableIterator<UpdatePayload> {
  const iterator: AsyncIterableIterator<UpdatePayload> = {
    async next() {
      const result = await stream.next();
      return result.done
        ? { value: undefined, done: true }
        : { value: { strategy, points: result.value }, done: false };
    },
    async return() {
      await stream.return?.();
      return { value: undefined, done: true };
    },
    async throw(error?: unknown) {
      await stream.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

@Resolver(() => PerformanceUpdate)
export class PerformanceResolver {
  @Directive(STRATEGY_WRITERS)
  @Mutation(() => RecordPerformancePayload, {
    description: `Records points of a strategy's series, all or nothing, then tells its live subscribers. At most ${MAX_POINTS_PER_BATCH} points (LIMIT_EXCEEDED); BAD_USER_INPUT naming points[i].equity (not above 0), points[i].volume (below 0) or points[i].at (repeated in the batch with other values); NOT_FOUND naming strategy. A point already stored with the same values is left alone (re-sending is idempotent); with other values it is a CONFLICT naming points[i].at: points are write-once.`,
  })
  async recordPerformance(
    @Arg('strategy', () => String, { description: 'The strategy, by name.' }) strategy: string,
    @Arg('points', () => [PerformancePointInput]) points: PerformancePointInput[],
    @Ctx() { operations }: BusinessMetricsContext,
  ): Promise<RecordPerformancePayload> {
    const outcome = await operations.recordPerformance(
      strategy,
      points.map((p) => ({ at: p.at.getTime(), equity: p.equity, volume: p.volume })),
    );
    return {
      strategy: toStrategyNode(outcome.strategy),
      recorded: outcome.recorded.length,
      unchanged: outcome.unchanged,
    };
  }

  @Subscription(() => PerformanceUpdate, {
    description:
      'An update after each recordPerformance that stores points of the strategy: the new points and the summary of the series from `from` (default: its start) to its newest point. Live only, at most once per update: after (re)subscribing, read `strategy { performance }` for what came before. Completes when the strategy is deleted. NOT_FOUND naming `name`; UNAVAILABLE when the pub/sub broker cannot be reached.',
    subscribe: async ({
      args,
      context,
    }: SubscribeResolverData<unknown, StrategyPerformanceArgs, BusinessMetricsContext>) => {
      validatePeriodsPerYear(args.periodsPerYear);
      const strategy = await getStrategyByName(context.db.knex, args.name);
      const stream = await openPerformanceStream({
        pubsub: context.pubsub,
        channelPrefix: context.channelPrefix,
        strategyId: strategy.id,
        logger: context.logger,
      });
      return withStrategy(strategy, stream);
    },
  })
  strategyPerformance(
    @Root() payload: UpdatePayload,
    @Arg('name', () => String) _name: string,
    @Arg('from', () => Date, {
      nullable: true,
      description: 'Where the summary starts; default the first point of the series.',
    })
    from: Date | null,
    @Arg('periodsPerYear', () => Float, {
      defaultValue: DEFAULT_PERIODS_PER_YEAR,
      description: PERIODS_PER_YEAR_DESCRIPTION,
    })
    periodsPerYear: number,
  ): PerformanceUpdate {
    // Strategies are never renamed or edited: the record read at subscribe time is still current.
    return {
      strategy: toStrategyNode(payload.strategy),
      points: payload.points.map(toPointNode),
      window: { from: from ? from.getTime() : null, to: null },
      periodsPerYear,
    };
  }

  @FieldResolver(() => PerformanceSummary, {
    nullable: true,
    description: `The summary from \`from\` to the newest point, read when the update is sent; null (with a LIMIT_EXCEEDED error) when that window holds more than ${MAX_WINDOW_POINTS} points: subscribe with a later \`from\`.`,
  })
  async summary(
    @Root() update: PerformanceUpdate,
    @Ctx() { db }: BusinessMetricsContext,
  ): Promise<PerformanceSummary | null> {
    const summary = await performanceSummary(
      db.knex,
      update.strategy.id,
      update.window,
      update.periodsPerYear,
    );
    return summary ? toSummaryNode(summary) : null;
  }
}
