import { Entity, PrimaryKey, Property, BigIntType } from '@mikro-orm/core';
import type { LifecycleStage } from './experiment.entity';

export const RUN_STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

@Entity({ tableName: 'runs' })
export class Run {
  @PrimaryKey({ type: 'string', length: 36 })
  id!: string;

  @Property({ type: 'string', length: 36 })
  experimentId!: string;

  @Property({ type: 'string', length: 250 })
  name!: string;

  @Property({ type: 'string', length: 16 })
  status: RunStatus = 'RUNNING';

  @Property({ type: new BigIntType('number'), nullable: true })
  startTime?: number | null;

  @Property({ type: new BigIntType('number'), nullable: true })
  endTime?: number | null;

  @Property({ type: 'string', length: 16 })
  lifecycleStage: LifecycleStage = 'active';

  @Property({ type: new BigIntType('number') })
  createdAt!: number;

  @Property({ type: new BigIntType('number') })
  updatedAt!: number;
}

@Entity({ tableName: 'run_tags' })
export class RunTag {
  @PrimaryKey({ type: 'string', length: 36 })
  runId!: string;

  @PrimaryKey({ type: 'string', length: 250 })
  key!: string;

  @Property({ type: 'text' })
  value!: string;
}

/** Write-once: a param keeps the value it was first logged with. */
@Entity({ tableName: 'params' })
export class Param {
  @PrimaryKey({ type: 'string', length: 36 })
  runId!: string;

  @PrimaryKey({ type: 'string', length: 250 })
  key!: string;

  @Property({ type: 'text' })
  value!: string;
}

/** A dataset a run consumed, with the role it played (`context`: training, validation, …). */
@Entity({ tableName: 'run_inputs' })
export class RunInput {
  @PrimaryKey({ type: 'string', length: 36 })
  runId!: string;

  @PrimaryKey({ type: 'string', length: 500 })
  name!: string;

  @PrimaryKey({ type: 'string', length: 64 })
  digest!: string;

  @PrimaryKey({ type: 'string', length: 64 })
  context!: string;

  @Property({ type: 'string', length: 64 })
  sourceType!: string;

  @Property({ type: 'text' })
  source!: string;
}
