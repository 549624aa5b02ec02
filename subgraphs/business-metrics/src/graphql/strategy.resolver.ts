import {
  Arg,
  Args,
  ArgsType,
  Ctx,
  Directive,
  Field,
  FieldResolver,
  Float,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import { MAX_WINDOW_POINTS } from '../domain/limits';
import { DEFAULT_PERIODS_PER_YEAR } from '../domain/performance';
import { performanceSummary } from '../store/performance';
import { getStrategyByName, listStrategies } from '../store/strategies';
import { STRATEGY_WRITERS } from './access';
import type { BusinessMetricsContext } from './context';
import { CreateStrategyInput } from './inputs';
import { toStrategyNode, toSummaryNode } from './mappers';
import { Deployment, PerformanceSummary, TradingStrategy, TradingStrategyConnection } from './types';

@ArgsType()
class StrategiesArgs {
  @Field(() => Int, { nullable: true, description: 'Page size; default 100, at most 1000.' })
  first?: number | null;

  @Field(() => String, { nullable: true })
  after?: string | null;
}

/** The annualisation argument shared by `performance` and `strategyPerformance`. */
export const PERIODS_PER_YEAR_DESCRIPTION =
  'Return periods in a year, for the Sharpe ratio: 252 for daily points (the default), 52 weekly, 12 monthly; above 0.';

@Resolver(() => TradingStrategy)
export class StrategyResolver {
  @Query(() => TradingStrategy, {
    description: 'A strategy by its unique name; NOT_FOUND when there is none.',
  })
  async strategy(
    @Arg('name', () => String) name: string,
    @Ctx() { db }: BusinessMetricsContext,
  ): Promise<TradingStrategy> {
    return toStrategyNode(await getStrategyByName(db.knex, name));
  }

  @Query(() => TradingStrategyConnection, { description: 'Strategies, newest first.' })
  async strategies(
    @Args(() => StrategiesArgs) args: StrategiesArgs,
    @Ctx() { db }: BusinessMetricsContext,
  ): Promise<TradingStrategyConnection> {
    const page = await listStrategies(db.knex, args);
    return {
      nodes: page.strategies.map(toStrategyNode),
      pageInfo: {
        hasNextPage: page.hasNextPage,
        hasPreviousPage: false,
        startCursor: null,
        endCursor: page.endCursor,
      },
    };
  }

  @FieldResolver(() => PerformanceSummary, {
    nullable: true,
    description: `The outcome of the points with from <= at <= to (either bound open), from one ordered read; null when the window holds no point. LIMIT_EXCEEDED when it holds more than ${MAX_WINDOW_POINTS} points (narrow from and to); BAD_USER_INPUT naming \`to\` before \`from\` or a bad \`periodsPerYear\`.`,
  })
  async performance(
    @Root() strategy: TradingStrategy,
    @Arg('from', () => Date, { nullable: true }) from: Date | null,
    @Arg('to', () => Date, { nullable: true }) to: Date | null,
    @Arg('periodsPerYear', () => Float, {
      defaultValue: DEFAULT_PERIODS_PER_YEAR,
      description: PERIODS_PER_YEAR_DESCRIPTION,
    })
    periodsPerYear: number,
    @Ctx() { db }: BusinessMetricsContext,
  ): Promise<PerformanceSummary | null> {
    const summary = await performanceSummary(
      db.knex,
      strategy.id,
      { from: from ? from.getTime() : null, to: to ? to.getTime() : null },
      periodsPerYear,
    );
    return summary ? toSummaryNode(summary) : null;
  }

  @FieldResolver(() => Deployment, {
    nullable: true,
    description: 'The deployment whose predictions the strategy trades (deployments subgraph).',
  })
  deployment(@Root() strategy: TradingStrategy): Deployment | null {
    return strategy.deploymentName === null ? null : { name: strategy.deploymentName };
  }

  @Directive(STRATEGY_WRITERS)
  @Mutation(() => TradingStrategy, {
    description:
      'BAD_USER_INPUT naming the field at fault (name, description, deploymentName); CONFLICT when the name is taken.',
  })
  async createStrategy(
    @Arg('input', () => CreateStrategyInput) input: CreateStrategyInput,
    @Ctx() { operations }: BusinessMetricsContext,
  ): Promise<TradingStrategy> {
    return toStrategyNode(await operations.createStrategy(input));
  }

  @Directive(STRATEGY_WRITERS)
  @Mutation(() => TradingStrategy, {
    description:
      'Deletes the strategy and its performance series; its live subscriptions complete. NOT_FOUND for an unknown name.',
  })
  async deleteStrategy(
    @Arg('name', () => String) name: string,
    @Ctx() { operations }: BusinessMetricsContext,
  ): Promise<TradingStrategy> {
    return toStrategyNode(await operations.deleteStrategy(name));
  }
}
