import { Migration } from '@mikro-orm/migrations';
import type { Knex } from '@mikro-orm/knex';

/**
 * The initial models schema. Written with knex's schema builder so that one migration serves
 * PostgreSQL and SQLite alike; each statement is added on its own because SQLite runs one at a time.
 */
export class Migration20261122100000_initial extends Migration {
  override up(): void {
    // `knex.schema` is a fresh builder on every access; one builder would accumulate every table.
    const add = (build: (schema: Knex.SchemaBuilder) => Knex.SchemaBuilder) => {
      for (const statement of build(this.getKnex().schema).toSQL()) this.addSql(statement.sql);
    };
    const modelFk = (t: Knex.CreateTableBuilder) =>
      t
        .string('model_name', 250)
        .notNullable()
        .references('name')
        .inTable('registered_models')
        .onDelete('CASCADE');

    add((schema) =>
      schema.createTable('registered_models', (t) => {
        t.string('name', 250).primary();
        t.text('description').nullable();
        t.integer('last_version').notNullable().defaultTo(0);
        t.bigInteger('created_at').notNullable();
        t.bigInteger('updated_at').notNullable();
        // Serves registeredModels: newest first, then name.
        t.index(['created_at', 'name'], 'registered_models_created_at_idx');
      }),
    );
    add((schema) =>
      schema.createTable('registered_model_tags', (t) => {
        modelFk(t);
        t.string('key', 250).notNullable();
        t.text('value').notNullable();
        t.primary(['model_name', 'key']);
      }),
    );
    add((schema) =>
      schema.createTable('model_versions', (t) => {
        modelFk(t);
        t.integer('version').notNullable();
        t.string('status', 32).notNullable();
        t.text('status_message').nullable();
        t.text('description').nullable();
        // The experiments subgraph owns runs: no foreign key, only the id federation resolves.
        t.string('run_id', 36).nullable().index('model_versions_run_id_idx');
        t.string('artifact_sha256', 64).notNullable().index('model_versions_artifact_sha256_idx');
        t.bigInteger('artifact_size').notNullable();
        t.text('artifact_uri').notNullable();
        t.text('signature').nullable();
        t.bigInteger('created_at').notNullable();
        t.bigInteger('updated_at').notNullable();
        t.primary(['model_name', 'version']);
      }),
    );
    add((schema) =>
      schema.createTable('model_version_tags', (t) => {
        t.string('model_name', 250).notNullable();
        t.integer('version').notNullable();
        t.string('key', 250).notNullable();
        t.text('value').notNullable();
        t.primary(['model_name', 'version', 'key']);
        t.foreign(['model_name', 'version'])
          .references(['model_name', 'version'])
          .inTable('model_versions')
          .onDelete('CASCADE');
      }),
    );
    add((schema) =>
      schema.createTable('model_aliases', (t) => {
        t.string('model_name', 250).notNullable();
        t.string('alias', 250).notNullable();
        t.integer('version').notNullable();
        t.bigInteger('updated_at').notNullable();
        t.primary(['model_name', 'alias']);
        t.foreign(['model_name', 'version'])
          .references(['model_name', 'version'])
          .inTable('model_versions')
          .onDelete('CASCADE');
      }),
    );
  }
}
