import { BigIntType, Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** A named group of inference sidecars that serve the same deployments. */
@Entity({ tableName: 'serving_pools' })
export class ServingPool {
  @PrimaryKey({ type: 'string', length: 250 })
  name!: string;

  /** Milliseconds since the epoch. */
  @Property({ type: new BigIntType('number') })
  createdAt!: number;
}

/** One sidecar of a pool, registered by itself and kept alive by heartbeats. */
@Entity({ tableName: 'serving_endpoints' })
export class ServingEndpoint {
  @PrimaryKey({ type: 'string', length: 36 })
  id!: string;

  @Property({ type: 'string', length: 250 })
  poolName!: string;

  @Property({ type: 'string', length: 250 })
  grpcAddress!: string;

  @Property({ type: new BigIntType('number') })
  lastHeartbeatAt!: number;

  @Property({ type: 'string', length: 8, nullable: true })
  probeStatus?: string | null;

  @Property({ type: 'text', nullable: true })
  probeMessage?: string | null;

  @Property({ type: new BigIntType('number'), nullable: true })
  probedAt?: number | null;

  @Property({ type: new BigIntType('number') })
  createdAt!: number;
}
