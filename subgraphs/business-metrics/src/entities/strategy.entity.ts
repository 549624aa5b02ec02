import { BigIntType, Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/** A trading strategy whose business outcome is tracked; optionally trading one deployment's predictions. */
@Entity({ tableName: 'strategies' })
export class Strategy {
  @PrimaryKey({ type: 'string', length: 36 })
  id!: string;

  @Property({ type: 'string', length: 250, unique: true })
  name!: string;

  @Property({ type: 'text', nullable: true })
  description!: string | null;

  /** The deployments subgraph's deployment (by name) whose predictions the strategy trades; a reference, not checked. */
  @Property({ type: 'string', length: 250, nullable: true })
  @Index()
  deploymentName!: string | null;

  /** Milliseconds since the epoch. */
  @Property({ type: new BigIntType('number') })
  createdAt!: number;
}
