import { Directive, Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { MODEL_VERSION_STATUSES } from '../entities';
import type { ModelVersionStatus as ModelVersionStatusValue } from '../entities';
import { TensorDimScalar } from './tensor-dim.scalar';

export const ModelVersionStatus = Object.fromEntries(MODEL_VERSION_STATUSES.map((s) => [s, s])) as {
  [S in ModelVersionStatusValue]: S;
};
registerEnumType(ModelVersionStatus, {
  name: 'ModelVersionStatus',
  description:
    'PENDING_REGISTRATION while the file is validated; READY once ONNX Runtime loaded it; FAILED_REGISTRATION with statusMessage otherwise.',
});

@ObjectType({ description: 'A key with a string value: a tag or a param.' })
@Directive('@shareable')
export class KeyValue {
  @Field(() => String)
  key!: string;

  @Field(() => String)
  value!: string;
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

@ObjectType({ description: 'A stored file, addressed by the sha256 of its content.' })
export class ModelArtifact {
  @Field(() => String, { description: 'Lower-case hex sha256 of the content.' })
  sha256!: string;

  @Field(() => Float, { description: 'Size in bytes.' })
  size!: number;

  @Field(() => String, { description: 'Where the artifact store keeps it, e.g. a file:// URI.' })
  uri!: string;
}

@ObjectType({ description: 'One input or output of a model.' })
export class TensorSpec {
  @Field(() => String)
  name!: string;

  @Field(() => String, {
    description: 'KServe v2 datatype: FP32, INT64, BYTES, …; NON_TENSOR for sequences and maps.',
  })
  elementType!: string;

  @Field(() => [TensorDimScalar], { description: 'Empty when the model does not declare a shape.' })
  shape!: (string | number)[];
}

@ObjectType({ description: 'The inputs and outputs the ONNX file declares, recorded at registration.' })
export class ModelSignature {
  @Field(() => [TensorSpec])
  inputs!: TensorSpec[];

  @Field(() => [TensorSpec])
  outputs!: TensorSpec[];
}

@ObjectType({ description: 'A movable name for one version, e.g. champion.' })
export class ModelAlias {
  @Field(() => String)
  alias!: string;

  @Field(() => Int)
  version!: number;
}

@ObjectType({ description: 'A named model in the registry; its versions are numbered from 1.' })
@Directive('@key(fields: "name")')
export class RegisteredModel {
  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { description: 'Changes when the model is edited or a version is registered.' })
  updatedAt!: Date;
}

@ObjectType({ description: 'One registered file of a model.' })
@Directive('@key(fields: "id")')
export class ModelVersion {
  @Field(() => ID, { description: '`<modelName>/<version>`, e.g. "stock-predictor/3".' })
  id!: string;

  @Field(() => String)
  modelName!: string;

  @Field(() => Int)
  version!: number;

  @Field(() => ModelVersionStatus)
  status!: ModelVersionStatusValue;

  @Field(() => String, { nullable: true, description: 'Why registration failed.' })
  statusMessage!: string | null;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => ID, { nullable: true, description: 'The training run the version came from.' })
  runId!: string | null;

  @Field(() => ModelArtifact)
  source!: ModelArtifact;

  @Field(() => ModelSignature, { nullable: true, description: 'Null unless READY.' })
  signature!: ModelSignature | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

// No description: the experiments subgraph owns `Run` and describes it.
@ObjectType()
@Directive('@key(fields: "id")')
export class Run {
  @Field(() => ID)
  id!: string;
}

@ObjectType()
export class RegisteredModelConnection {
  @Field(() => [RegisteredModel])
  nodes!: RegisteredModel[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
