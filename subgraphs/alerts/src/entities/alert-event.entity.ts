import { BigIntType, Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * An append-only log of every alert state change. `cursor` order is commit order: writers take one
 * advisory lock (PostgreSQL) before inserting, so replay by cursor never skips a committed event.
 */
@Entity({ tableName: 'alert_events' })
export class AlertEvent {
  @PrimaryKey({ type: new BigIntType('number'), autoincrement: true })
  cursor!: number;

  @Property({ type: 'string', length: 16 })
  type!: string;

  @Property({ type: 'string', length: 36 })
  alertId!: string;

  @Property({ type: 'string', length: 36 })
  ruleId!: string;

  @Property({ type: 'string', length: 250 })
  deployment!: string;

  @Property({ type: 'string', length: 16 })
  severity!: string;

  /** The alert's state after the event. */
  @Property({ type: 'string', length: 16 })
  state!: string;

  @Property({ type: 'double', nullable: true })
  value?: number | null;

  /** Whether a silence matched the alert when the event was raised. */
  @Property({ type: 'boolean' })
  silenced!: boolean;

  @Property({ type: 'string', length: 250, nullable: true })
  actor?: string | null;

  @Property({ type: 'text', nullable: true })
  comment?: string | null;

  @Property({ type: new BigIntType('number') })
  at!: number;
}
