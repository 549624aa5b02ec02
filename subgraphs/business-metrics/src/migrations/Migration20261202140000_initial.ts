import { Migration } from '@mikro-orm/migrations';
import type { Knex } from '@mikro-orm/knex';

/**
 * The initial business-metrics schema, written with knex's schema builder so that one migration
 * serves PostgreSQL and SQLite alike; each statement is added on its own because SQLite runs one at
 * a time.
 */
export class Migration20261202140000_initial extends Migration {
  override up(): void {
    // `knex.schema` is a fresh builder on every access; one builder would accumulate every table.
    const add = (build: (schema: Knex.SchemaBuilder) => Knex.SchemaBuilder) => {
      for (const statement of build(this.getKnex().schema).toSQL()) this.addSql(statement.sql);
    };
    add((schema) =>
      schema.createTable('strategies', (t) => {
        t.string('id', 36).primary();
        t.string('name', 250).notNullable().unique({ indexName: 'strategies_name_uq' });
        t.text('description').nullable();
        t.string('deployment_name', 250).nullable();
        t.bigInteger('created_at').notNullable();
        // Newest first, the order `strategies` pages in.
        t.index(['created_at', 'id'], 'strategies_created_idx');
        t.index(['deployment_name'], 'strategies_deployment_idx');
      }),
    );
    add((schema) =>
      schema.createTable('performance_points', (t) => {
        t.string('strategy_id', 36).notNullable().references('id').inTable('strategies').onDelete('CASCADE');
        t.bigInteger('at').notNullable();
        t.double('equity').notNullable();
        t.double('volume').notNullable();
        // The key is also the index of the one ordered read a performance window takes.
        t.primary(['strategy_id', 'at']);
      }),
    );
  }
}
