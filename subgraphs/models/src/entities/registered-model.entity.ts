import { Entity, PrimaryKey, Property, BigIntType } from '@mikro-orm/core';

/** A named model; its versions are numbered from 1 by `lastVersion`, the per-model counter. */
@Entity({ tableName: 'registered_models' })
export class RegisteredModel {
  @PrimaryKey({ type: 'string', length: 250 })
  name!: string;

  @Property({ type: 'text', nullable: true })
  description?: string | null;

  /** The highest version number handed out; registration increments it in its own transaction. */
  @Property({ type: 'integer' })
  lastVersion = 0;

  /** Milliseconds since the epoch. */
  @Property({ type: new BigIntType('number') })
  createdAt!: number;

  @Property({ type: new BigIntType('number') })
  updatedAt!: number;
}

@Entity({ tableName: 'registered_model_tags' })
export class RegisteredModelTag {
  @PrimaryKey({ type: 'string', length: 250 })
  modelName!: string;

  @PrimaryKey({ type: 'string', length: 250 })
  key!: string;

  @Property({ type: 'text' })
  value!: string;
}

/** A movable name (champion, challenger) for one version of a model. */
@Entity({ tableName: 'model_aliases' })
export class ModelAlias {
  @PrimaryKey({ type: 'string', length: 250 })
  modelName!: string;

  @PrimaryKey({ type: 'string', length: 250 })
  alias!: string;

  @Property({ type: 'integer' })
  version!: number;

  @Property({ type: new BigIntType('number') })
  updatedAt!: number;
}
