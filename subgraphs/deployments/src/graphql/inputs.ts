import { Field, InputType, Int } from 'type-graphql';
import type { Strategy as StrategyValue } from '../domain/revision-state';
import { Strategy } from './types';

@InputType()
export class RevisionModelInput {
  @Field(() => String)
  modelName!: string;

  @Field(() => Int, { description: 'A READY version in the model registry, present on every sidecar.' })
  version!: number;

  @Field(() => Int, { description: 'Integer percent; the weights of a revision sum to 100.' })
  weight!: number;
}

@InputType()
export class CreateDeploymentInput {
  @Field(() => String, { description: 'Unique; at most 250 characters.' })
  name!: string;

  @Field(() => String, { description: 'The serving pool.' })
  pool!: string;

  @Field(() => Strategy, { defaultValue: 'DIRECT' })
  strategy!: StrategyValue;

  @Field(() => [RevisionModelInput], { description: 'Versions of one model.' })
  models!: RevisionModelInput[];
}

@InputType()
export class RolloutInput {
  @Field(() => String)
  deployment!: string;

  @Field(() => Int, { description: 'The current revision number; another answers CONFLICT.' })
  expectedRevision!: number;

  @Field(() => Strategy)
  strategy!: StrategyValue;

  @Field(() => [RevisionModelInput])
  models!: RevisionModelInput[];
}

@InputType()
export class VersionWeightInput {
  @Field(() => Int)
  version!: number;

  @Field(() => Int)
  weight!: number;
}
