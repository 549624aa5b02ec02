import { Directive, Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { REVISION_KINDS, REVISION_PHASES, STRATEGIES } from '../domain/revision-state';
import type { RevisionKind, RevisionPhase, Strategy as StrategyValue } from '../domain/revision-state';

const enumOf = <T extends string>(values: readonly T[]) =>
  Object.fromEntries(values.map((v) => [v, v])) as { [K in T]: K };

export const Strategy = enumOf(STRATEGIES);
registerEnumType(Strategy, {
  name: 'Strategy',
  description:
    'How a revision spreads traffic. DIRECT: one version. CANARY: a small weight on the new version. AB: the split is sticky per caller when requests carry the `sticky_key` request parameter to the sidecar. BLUE_GREEN: both versions loaded, traffic on one. SHADOW: the primary version(s) take 100% and exactly one version with weight 0 is the shadow: the sidecar sends it a copy of every unpinned request and records its answers (never returned) in its Prometheus metrics.',
});

export const DeploymentStatus = enumOf(REVISION_PHASES);
registerEnumType(DeploymentStatus, {
  name: 'DeploymentStatus',
  description:
    'PENDING → ROLLING_OUT → ACTIVE for a change; PENDING → ROLLING_BACK → ROLLED_BACK for a rollback; FAILED (with statusMessage) when a load or the split failed, the previous revision serving on.',
});

export const RevisionKindEnum = enumOf(REVISION_KINDS);
registerEnumType(RevisionKindEnum, {
  name: 'RevisionKind',
  description: 'The change that created a revision.',
});

export const EndpointStatus = enumOf(['UP', 'DOWN'] as const);
registerEnumType(EndpointStatus, {
  name: 'EndpointStatus',
  description: 'DOWN when the last heartbeat is older than the timeout or the last ServerReady probe failed.',
});

/** Owned by the models subgraph; here only its key, extended with the deployments serving it. */
@ObjectType()
@Directive('@key(fields: "id")')
export class ModelVersion {
  @Field(() => ID)
  id!: string;
}

@ObjectType({ description: 'One model version of a revision and its share of unpinned requests.' })
export class RevisionModel {
  @Field(() => String)
  modelName!: string;

  @Field(() => Int)
  version!: number;

  @Field(() => Int, { description: 'Percent of requests that do not pin a version; 0 for a shadow.' })
  weight!: number;
}

@ObjectType({ description: 'An immutable revision of a deployment; only its status moves.' })
export class DeploymentRevision {
  deploymentName!: string;

  @Field(() => Int)
  number!: number;

  @Field(() => RevisionKindEnum)
  kind!: RevisionKind;

  @Field(() => Strategy)
  strategy!: StrategyValue;

  @Field(() => DeploymentStatus)
  status!: RevisionPhase;

  @Field(() => String, { nullable: true, description: 'Why the revision FAILED.' })
  statusMessage!: string | null;

  @Field(() => [RevisionModel])
  models!: RevisionModel[];

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'When it started serving.' })
  activatedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When another revision replaced it.' })
  supersededAt!: Date | null;
}

@ObjectType({ description: 'A sidecar of a pool.' })
export class ServingEndpoint {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  pool!: string;

  @Field(() => String, { description: '`host:port` of its gRPC server.' })
  grpcAddress!: string;

  @Field(() => EndpointStatus)
  status!: 'UP' | 'DOWN';

  @Field(() => String, {
    nullable: true,
    description:
      'Why it is DOWN; for an UP endpoint, "reconciling" while it is being given the serving revisions of its pool, or "reconcile failed: …".',
  })
  statusReason!: string | null;

  @Field(() => Date)
  lastHeartbeatAt!: Date;

  @Field(() => Date, { nullable: true })
  lastProbedAt!: Date | null;
}

@ObjectType({ description: 'A group of inference sidecars that serve the same deployments.' })
export class ServingPool {
  @Field(() => String)
  name!: string;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType({ description: 'A named model deployment on a serving pool, with its revision history.' })
@Directive('@key(fields: "name")')
export class Deployment {
  @Field(() => String)
  name!: string;

  poolName!: string;
  currentRevisionNumber!: number;

  @Field(() => Date)
  createdAt!: Date;
}
