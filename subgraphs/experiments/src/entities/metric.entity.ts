import { Entity, PrimaryKey, Property, BigIntType } from '@mikro-orm/core';

/** One point of a metric's append-only history. */
@Entity({ tableName: 'metrics' })
export class Metric {
  @PrimaryKey({ type: new BigIntType('number'), autoincrement: true })
  id!: number;

  @Property({ type: 'string', length: 36 })
  runId!: string;

  @Property({ type: 'string', length: 250 })
  key!: string;

  @Property({ type: 'double' })
  value!: number;

  @Property({ type: new BigIntType('number') })
  timestamp!: number;

  @Property({ type: new BigIntType('number') })
  step!: number;
}

/**
 * The latest point per (run, key), kept apart from the history so that reading or searching runs
 * never scans a history. "Latest" is MLflow's order: highest step, then timestamp, then value.
 */
@Entity({ tableName: 'latest_metrics' })
export class LatestMetric {
  @PrimaryKey({ type: 'string', length: 36 })
  runId!: string;

  @PrimaryKey({ type: 'string', length: 250 })
  key!: string;

  @Property({ type: 'double' })
  value!: number;

  @Property({ type: new BigIntType('number') })
  timestamp!: number;

  @Property({ type: new BigIntType('number') })
  step!: number;
}
