import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261202140000_initial } from './Migration20261202140000_initial';

/** Every migration, in order. Add new ones at the end; never edit one that has shipped. */
export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261202140000_initial', class: Migration20261202140000_initial },
];
