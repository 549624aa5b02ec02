import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261122100000_initial } from './Migration20261122100000_initial';
import { Migration20261202100000_artifacts } from './Migration20261202100000_artifacts';

/** Every migration, in order. Add new ones at the end; never edit one that has shipped. */
export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261122100000_initial', class: Migration20261122100000_initial },
  { name: 'Migration20261202100000_artifacts', class: Migration20261202100000_artifacts },
];
