import { Field, Float, InputType } from 'type-graphql';

@InputType()
export class CreateStrategyInput {
  @Field(() => String, { description: 'Unique; at most 250 characters.' })
  name!: string;

  @Field(() => String, { nullable: true, description: 'At most 2000 characters.' })
  description?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'The deployment whose predictions the strategy trades (a reference; not checked).',
  })
  deploymentName?: string | null;
}

@InputType()
export class PerformancePointInput {
  @Field(() => Date)
  at!: Date;

  @Field(() => Float, { description: 'Portfolio value at `at`; above 0.' })
  equity!: number;

  @Field(() => Float, {
    defaultValue: 0,
    description: 'Notional traded in the period ending at `at`; at least 0.',
  })
  volume!: number;
}
