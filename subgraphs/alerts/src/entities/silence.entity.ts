import { BigIntType, Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** Suppresses notifications of matching alerts between `startsAt` and `endsAt`; never their state. */
@Entity({ tableName: 'silences' })
export class Silence {
  @PrimaryKey({ type: 'string', length: 36 })
  id!: string;

  /** JSON array of `{ name, value, isRegex, isEqual }`. */
  @Property({ type: 'text' })
  matchers!: string;

  @Property({ type: new BigIntType('number') })
  startsAt!: number;

  @Property({ type: new BigIntType('number') })
  endsAt!: number;

  @Property({ type: 'string', length: 250 })
  createdBy!: string;

  @Property({ type: 'text' })
  comment!: string;

  @Property({ type: new BigIntType('number') })
  createdAt!: number;
}
