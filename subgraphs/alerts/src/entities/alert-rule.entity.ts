import { BigIntType, Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** A condition on one metric of one deployment; evaluated on a schedule. */
@Entity({ tableName: 'alert_rules' })
export class AlertRule {
  @PrimaryKey({ type: 'string', length: 36 })
  id!: string;

  @Property({ type: 'string', length: 250, unique: true })
  name!: string;

  @Property({ type: 'string', length: 250 })
  deployment!: string;

  @Property({ type: 'string', length: 128 })
  metric!: string;

  @Property({ type: 'string', length: 8 })
  comparison!: string;

  @Property({ type: 'double' })
  threshold!: number;

  @Property({ type: 'integer' })
  forSeconds!: number;

  @Property({ type: 'string', length: 16 })
  severity!: string;

  /** JSON array of `{ name, value }`, sorted by name. */
  @Property({ type: 'text' })
  labels!: string;

  @Property({ type: new BigIntType('number') })
  createdAt!: number;

  @Property({ type: new BigIntType('number') })
  updatedAt!: number;
}
