import { BigIntType, Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** The latest sample of each (deployment, metric): what rules evaluate. Older samples are not kept. */
@Entity({ tableName: 'metric_samples' })
export class MetricSample {
  @PrimaryKey({ type: 'string', length: 250 })
  deployment!: string;

  @PrimaryKey({ type: 'string', length: 128 })
  metric!: string;

  @Property({ type: 'double' })
  value!: number;

  @Property({ type: new BigIntType('number') })
  at!: number;
}
