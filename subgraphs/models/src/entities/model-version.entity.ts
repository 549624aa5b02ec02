import { Entity, Index, PrimaryKey, Property, BigIntType } from '@mikro-orm/core';

export const MODEL_VERSION_STATUSES = ['PENDING_REGISTRATION', 'READY', 'FAILED_REGISTRATION'] as const;
export type ModelVersionStatus = (typeof MODEL_VERSION_STATUSES)[number];

@Entity({ tableName: 'model_versions' })
export class ModelVersion {
  @PrimaryKey({ type: 'string', length: 250 })
  modelName!: string;

  @PrimaryKey({ type: 'integer' })
  version!: number;

  @Property({ type: 'string', length: 32 })
  status: ModelVersionStatus = 'PENDING_REGISTRATION';

  /** Why registration failed; null otherwise. */
  @Property({ type: 'text', nullable: true })
  statusMessage?: string | null;

  @Property({ type: 'text', nullable: true })
  description?: string | null;

  /** The experiments subgraph's run the version came from; not a foreign key (another subgraph's data). */
  @Property({ type: 'string', length: 36, nullable: true })
  @Index()
  runId?: string | null;

  @Property({ type: 'string', length: 64 })
  @Index()
  artifactSha256!: string;

  @Property({ type: new BigIntType('number') })
  artifactSize!: number;

  @Property({ type: 'text' })
  artifactUri!: string;

  /** The ONNX signature as JSON (`ModelSignature`); null until validated or when validation failed. */
  @Property({ type: 'text', nullable: true })
  signature?: string | null;

  @Property({ type: new BigIntType('number') })
  createdAt!: number;

  @Property({ type: new BigIntType('number') })
  updatedAt!: number;
}

@Entity({ tableName: 'model_version_tags' })
export class ModelVersionTag {
  @PrimaryKey({ type: 'string', length: 250 })
  modelName!: string;

  @PrimaryKey({ type: 'integer' })
  version!: number;

  @PrimaryKey({ type: 'string', length: 250 })
  key!: string;

  @Property({ type: 'text' })
  value!: string;
}
