import { Entity, Index, PrimaryKey, Property, BigIntType } from '@mikro-orm/core';

export type LifecycleStage = 'active' | 'deleted';

@Entity({ tableName: 'experiments' })
export class Experiment {
  @PrimaryKey({ type: 'string', length: 36 })
  id!: string;

  @Property({ type: 'string', length: 500, unique: true })
  name!: string;

  @Property({ type: 'string', length: 16 })
  @Index()
  lifecycleStage: LifecycleStage = 'active';

  /** Milliseconds since the epoch, as MLflow stores times. */
  @Property({ type: new BigIntType('number') })
  createdAt!: number;

  @Property({ type: new BigIntType('number') })
  updatedAt!: number;
}

@Entity({ tableName: 'experiment_tags' })
export class ExperimentTag {
  @PrimaryKey({ type: 'string', length: 36 })
  experimentId!: string;

  @PrimaryKey({ type: 'string', length: 250 })
  key!: string;

  @Property({ type: 'text' })
  value!: string;
}
