import { BigIntType, Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * One incident of a rule: PENDING → FIRING → RESOLVED. At most one alert per fingerprint is open
 * (resolved_at null), enforced by a partial unique index.
 */
@Entity({ tableName: 'alerts' })
export class Alert {
  @PrimaryKey({ type: 'string', length: 36 })
  id!: string;

  @Property({ type: 'string', length: 64 })
  fingerprint!: string;

  /** No foreign key: a deleted rule's resolved alerts stay as history. */
  @Property({ type: 'string', length: 36 })
  ruleId!: string;

  @Property({ type: 'string', length: 250 })
  ruleName!: string;

  @Property({ type: 'string', length: 250 })
  deployment!: string;

  @Property({ type: 'string', length: 128 })
  metric!: string;

  @Property({ type: 'string', length: 16 })
  severity!: string;

  @Property({ type: 'string', length: 16 })
  state!: string;

  /** JSON array of `{ name, value }`, sorted by name. */
  @Property({ type: 'text' })
  labels!: string;

  @Property({ type: 'double', nullable: true })
  value?: number | null;

  @Property({ type: new BigIntType('number') })
  activeAt!: number;

  @Property({ type: new BigIntType('number'), nullable: true })
  firedAt?: number | null;

  @Property({ type: new BigIntType('number'), nullable: true })
  resolvedAt?: number | null;

  @Property({ type: 'string', length: 250, nullable: true })
  acknowledgedBy?: string | null;

  @Property({ type: new BigIntType('number'), nullable: true })
  acknowledgedAt?: number | null;

  @Property({ type: new BigIntType('number') })
  updatedAt!: number;
}
