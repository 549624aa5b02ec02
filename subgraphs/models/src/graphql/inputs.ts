import { Field, ID, InputType } from 'type-graphql';

@InputType()
export class KeyValueInput {
  @Field(() => String)
  key!: string;

  @Field(() => String)
  value!: string;
}

@InputType()
export class CreateRegisteredModelInput {
  @Field(() => String, { description: 'Unique; at most 250 characters.' })
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => [KeyValueInput], { defaultValue: [] })
  tags!: KeyValueInput[];
}

@InputType({ description: 'Exactly one of the two.' })
export class ModelSourceInput {
  @Field(() => String, { nullable: true, description: 'An artifact uploaded with POST /artifacts.' })
  artifactSha256?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'An absolute path the models service can read; the file is copied into the artifact store.',
  })
  path?: string | null;
}

@InputType()
export class RegisterModelVersionInput {
  @Field(() => String)
  modelName!: string;

  @Field(() => ModelSourceInput)
  source!: ModelSourceInput;

  @Field(() => ID, { nullable: true, description: 'The training run the file came from.' })
  runId?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => [KeyValueInput], { nullable: true })
  tags?: KeyValueInput[] | null;
}
