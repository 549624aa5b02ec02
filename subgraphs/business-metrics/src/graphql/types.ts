import { Directive, Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { MAX_WINDOW_POINTS } from '../domain/limits';
import type { Window } from '../store/performance';

/** Owned by the deployments subgraph; here only its key, extended with the strategies trading it. */
@ObjectType()
@Directive('@key(fields: "name")')
export class Deployment {
  @Field(() => String)
  name!: string;
}

@ObjectType({ description: 'Relay page information; paging is forward with keyset cursors.' })
@Directive('@shareable')
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => Boolean)
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true })
  startCursor!: string | null;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType({
  description:
    "A trading strategy of the stock-prediction product, with its performance series. Named TradingStrategy because the deployments subgraph's `Strategy` is the rollout strategy enum.",
})
export class TradingStrategy {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { description: 'Unique; at most 250 characters.' })
  name!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'The deployment whose predictions the strategy trades (by name), if any.',
  })
  deploymentName!: string | null;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType()
export class TradingStrategyConnection {
  @Field(() => [TradingStrategy])
  nodes!: TradingStrategy[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType({ description: "One observation of a strategy's portfolio." })
export class PerformancePoint {
  @Field(() => Date)
  at!: Date;

  @Field(() => Float, { description: 'Portfolio value at `at` (> 0).' })
  equity!: number;

  @Field(() => Float, { description: 'Notional traded in the period ending at `at` (>= 0).' })
  volume!: number;
}

@ObjectType({
  description:
    'The business outcome of a window of a performance series, computed from its points in time order. Returns are simple per-period returns between consecutive points.',
})
export class PerformanceSummary {
  @Field(() => Date, { description: 'The first point of the window: the start actually covered.' })
  from!: Date;

  @Field(() => Date, { description: 'The last point of the window: the end actually covered.' })
  to!: Date;

  @Field(() => Int, { description: 'Points in the window.' })
  count!: number;

  @Field(() => Float, { description: 'equity(to) / equity(from) - 1.' })
  totalReturn!: number;

  @Field(() => Float, { description: 'equity(to) - equity(from).' })
  pnl!: number;

  @Field(() => Float, { description: "Sum of the window's point volumes." })
  volume!: number;

  @Field(() => Float, {
    nullable: true,
    description:
      'Annualised Sharpe ratio (risk-free rate 0): mean / sample standard deviation of the per-period returns × sqrt(periodsPerYear). Null with fewer than 2 returns or no deviation.',
  })
  sharpe!: number | null;

  @Field(() => Float, {
    description:
      'Largest peak-to-trough fall of the equity as a fraction of the peak (0.2 = 20%); 0 when it never fell below a peak.',
  })
  maxDrawdown!: number;

  @Field(() => Float, { description: 'The annualisation the Sharpe ratio used.' })
  periodsPerYear!: number;

  @Field(() => [PerformancePoint], {
    description: `Every point of the window, by time (a window holds at most ${MAX_WINDOW_POINTS}).`,
  })
  points!: PerformancePoint[];
}

@ObjectType({ description: 'What a `recordPerformance` call did.' })
export class RecordPerformancePayload {
  @Field(() => TradingStrategy)
  strategy!: TradingStrategy;

  @Field(() => Int, { description: 'Points stored by this call.' })
  recorded!: number;

  @Field(() => Int, {
    description: 'Points already stored with the same values (a re-sent batch is idempotent).',
  })
  unchanged!: number;
}

@ObjectType({ description: 'Points a `recordPerformance` call stored, and the summary they lead to.' })
export class PerformanceUpdate {
  @Field(() => TradingStrategy)
  strategy!: TradingStrategy;

  @Field(() => [PerformancePoint], { description: 'The points the call stored, by time.' })
  points!: PerformancePoint[];

  /** The window and annualisation the subscriber asked for; read by the `summary` resolver. */
  window!: Window;
  periodsPerYear!: number;
}
