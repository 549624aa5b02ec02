import { BigIntType, Entity, PrimaryKey, Property } from '@mikro-orm/core';

@Entity({ tableName: 'deployments' })
export class Deployment {
  @PrimaryKey({ type: 'string', length: 250 })
  name!: string;

  @Property({ type: 'string', length: 250 })
  poolName!: string;

  /** The newest revision's number; the optimistic version every change is conditioned on. */
  @Property({ type: 'integer' })
  currentRevision!: number;

  @Property({ type: new BigIntType('number') })
  createdAt!: number;
}

/** An immutable revision; only its status and its activation/supersession times move. */
@Entity({ tableName: 'deployment_revisions' })
export class DeploymentRevision {
  @PrimaryKey({ type: 'string', length: 250 })
  deploymentName!: string;

  @PrimaryKey({ type: 'integer' })
  number!: number;

  @Property({ type: 'string', length: 16 })
  kind!: string;

  @Property({ type: 'string', length: 16 })
  strategy!: string;

  @Property({ type: 'string', length: 16 })
  status!: string;

  @Property({ type: 'text', nullable: true })
  statusMessage?: string | null;

  @Property({ type: new BigIntType('number') })
  createdAt!: number;

  @Property({ type: new BigIntType('number'), nullable: true })
  activatedAt?: number | null;

  @Property({ type: new BigIntType('number'), nullable: true })
  supersededAt?: number | null;
}

/** One model version of a revision with its traffic weight. */
@Entity({ tableName: 'revision_models' })
export class RevisionModel {
  @PrimaryKey({ type: 'string', length: 250 })
  deploymentName!: string;

  @PrimaryKey({ type: 'integer' })
  revision!: number;

  @PrimaryKey({ type: 'integer' })
  position!: number;

  @Property({ type: 'string', length: 250 })
  modelName!: string;

  @Property({ type: 'integer' })
  version!: number;

  @Property({ type: 'integer' })
  weight!: number;
}
