import { BigIntType, Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** One point of a strategy's performance series: write-once, unique per (strategy, at). */
@Entity({ tableName: 'performance_points' })
export class PerformancePoint {
  @PrimaryKey({ type: 'string', length: 36 })
  strategyId!: string;

  /** Milliseconds since the epoch. */
  @PrimaryKey({ type: new BigIntType('number') })
  at!: number;

  /** Portfolio value (> 0). */
  @Property({ type: 'double' })
  equity!: number;

  /** Notional traded in the period ending at `at` (>= 0). */
  @Property({ type: 'double' })
  volume!: number;
}
