import { Directive, Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { RUN_STATUSES } from '../entities';
import type { RunStatus as RunStatusValue } from '../entities';

export const RunStatus = Object.fromEntries(RUN_STATUSES.map((s) => [s, s])) as { [S in RunStatusValue]: S };
registerEnumType(RunStatus, { name: 'RunStatus', description: 'Where a run is in its execution.' });

export enum LifecycleStage {
  ACTIVE = 'active',
  DELETED = 'deleted',
}
registerEnumType(LifecycleStage, {
  name: 'LifecycleStage',
  description: 'Deleted experiments and runs are hidden from default listings and can be restored.',
});

export enum LifecycleView {
  ACTIVE_ONLY = 'ACTIVE_ONLY',
  DELETED_ONLY = 'DELETED_ONLY',
  ALL = 'ALL',
}
registerEnumType(LifecycleView, {
  name: 'LifecycleView',
  description: 'Which lifecycle stages a listing includes.',
});

@ObjectType({ description: 'A key with a string value: a tag or a param.' })
@Directive('@shareable')
export class KeyValue {
  @Field(() => String)
  key!: string;

  @Field(() => String)
  value!: string;
}

@ObjectType({ description: 'One point of a metric: the latest point of a run, or a point of its history.' })
export class Metric {
  @Field(() => String)
  key!: string;

  @Field(() => Float)
  value!: number;

  @Field(() => Date, { description: 'When the point was measured.' })
  timestamp!: Date;

  @Field(() => Int, { description: 'Training step; 0 when not given.' })
  step!: number;
}

@ObjectType({ description: 'A dataset a run consumed and the role it played.' })
export class DatasetInput {
  @Field(() => String)
  name!: string;

  @Field(() => String, { description: 'Content digest identifying the dataset version.' })
  digest!: string;

  @Field(() => String, { description: 'Where the dataset lives (a URI), as the caller described it.' })
  source!: string;

  @Field(() => String, { description: "Kind of source, e.g. 's3', 'local', 'delta-table'." })
  sourceType!: string;

  @Field(() => String, { description: "Role in the run: 'training', 'validation', 'evaluation', …" })
  context!: string;
}

@ObjectType({ description: 'An experiment groups the runs of one modelling question.' })
@Directive('@key(fields: "id")')
export class Experiment {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => LifecycleStage)
  lifecycleStage!: LifecycleStage;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

@ObjectType({
  description: 'One execution of training or evaluation code, with its params, metrics and tags.',
})
@Directive('@key(fields: "id")')
export class Run {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  experimentId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => RunStatus)
  status!: RunStatusValue;

  @Field(() => Date, { nullable: true })
  startTime!: Date | null;

  @Field(() => Date, { nullable: true })
  endTime!: Date | null;

  @Field(() => LifecycleStage)
  lifecycleStage!: LifecycleStage;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
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

@ObjectType()
export class RunEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Run)
  node!: Run;
}

@ObjectType()
export class RunConnection {
  @Field(() => [RunEdge])
  edges!: RunEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType()
export class ExperimentConnection {
  @Field(() => [Experiment])
  nodes!: Experiment[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
