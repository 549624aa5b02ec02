import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { RunStatus } from './types';
import type { RunStatus as RunStatusValue } from '../entities';

@InputType()
export class KeyValueInput {
  @Field(() => String)
  key!: string;

  @Field(() => String)
  value!: string;
}

@InputType()
export class CreateExperimentInput {
  @Field(() => String, { description: 'Unique; at most 500 characters.' })
  name!: string;

  @Field(() => [KeyValueInput], { defaultValue: [] })
  tags!: KeyValueInput[];
}

@InputType()
export class CreateRunInput {
  @Field(() => ID)
  experimentId!: string;

  @Field(() => String, { nullable: true, description: 'Default: a generated name.' })
  name?: string | null;

  @Field(() => Date, { nullable: true, description: 'Default: now.' })
  startTime?: Date | null;

  @Field(() => RunStatus, { nullable: true, description: 'Default: RUNNING.' })
  status?: RunStatusValue | null;

  @Field(() => [KeyValueInput], { nullable: true })
  tags?: KeyValueInput[] | null;
}

@InputType()
export class UpdateRunInput {
  @Field(() => ID)
  runId!: string;

  @Field(() => RunStatus, {
    nullable: true,
    description: 'A terminal status without endTime ends the run now.',
  })
  status?: RunStatusValue | null;

  @Field(() => Date, { nullable: true })
  endTime?: Date | null;

  @Field(() => String, { nullable: true })
  name?: string | null;
}

@InputType()
export class MetricInput {
  @Field(() => String)
  key!: string;

  @Field(() => Float)
  value!: number;

  @Field(() => Date, { nullable: true, description: 'Default: when the batch is received.' })
  timestamp?: Date | null;

  @Field(() => Int, { nullable: true, description: 'Default: 0.' })
  step?: number | null;
}

@InputType({ description: 'At most 1000 metrics, 100 params and 100 tags; written all or nothing.' })
export class LogBatchInput {
  @Field(() => ID)
  runId!: string;

  @Field(() => [MetricInput], { nullable: true })
  metrics?: MetricInput[] | null;

  @Field(() => [KeyValueInput], {
    nullable: true,
    description: 'Write-once: the same value again is a no-op.',
  })
  params?: KeyValueInput[] | null;

  @Field(() => [KeyValueInput], { nullable: true })
  tags?: KeyValueInput[] | null;
}

@InputType()
export class DatasetInputInput {
  @Field(() => String)
  name!: string;

  @Field(() => String)
  digest!: string;

  @Field(() => String, { nullable: true })
  source?: string | null;

  @Field(() => String, { nullable: true, description: "Default: 'unknown'." })
  sourceType?: string | null;

  @Field(() => String, { nullable: true, description: "Default: 'training'." })
  context?: string | null;
}
