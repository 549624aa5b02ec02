import { Migration } from '@mikro-orm/migrations';
import type { Knex } from '@mikro-orm/knex';

/**
 * The tables of the database artifact store (`MODEL_ARTIFACT_STORE=database`): one row per artifact,
 * its bytes in 1 MiB chunks. A chunk's owner is its artifact's sha256, or `upload:<uuid>` while a put
 * is writing it; only those carry `written_at`, so the abandoned-upload sweep reads none but theirs.
 * No foreign key from chunks to artifacts: an upload's chunks exist before its artifact row.
 */
export class Migration20261202100000_artifacts extends Migration {
  override up(): void {
    // `knex.schema` is a fresh builder on every access; one builder would accumulate every table.
    const add = (build: (schema: Knex.SchemaBuilder) => Knex.SchemaBuilder) => {
      for (const statement of build(this.getKnex().schema).toSQL()) this.addSql(statement.sql);
    };

    add((schema) =>
      schema.createTable('model_artifacts', (t) => {
        t.string('sha256', 64).primary();
        t.bigInteger('size').notNullable();
        t.bigInteger('created_at').notNullable();
      }),
    );
    add((schema) =>
      schema.createTable('model_artifact_chunks', (t) => {
        t.string('owner', 64).notNullable();
        t.integer('seq').notNullable();
        // bytea on PostgreSQL, blob on SQLite.
        t.binary('data').notNullable();
        t.bigInteger('written_at').nullable().index('model_artifact_chunks_written_at_idx');
        t.primary(['owner', 'seq']);
      }),
    );
  }
}
