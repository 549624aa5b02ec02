import { Migration } from '@mikro-orm/migrations';
import type { Knex } from '@mikro-orm/knex';

/**
 * The initial deployments schema, written with knex's schema builder so that one migration serves
 * PostgreSQL and SQLite alike; each statement is added on its own because SQLite runs one at a time.
 */
export class Migration20261122200000_initial extends Migration {
  override up(): void {
    // `knex.schema` is a fresh builder on every access; one builder would accumulate every table.
    const add = (build: (schema: Knex.SchemaBuilder) => Knex.SchemaBuilder) => {
      for (const statement of build(this.getKnex().schema).toSQL()) this.addSql(statement.sql);
    };
    add((schema) =>
      schema.createTable('serving_pools', (t) => {
        t.string('name', 250).primary();
        t.bigInteger('created_at').notNullable();
      }),
    );
    add((schema) =>
      schema.createTable('serving_endpoints', (t) => {
        t.string('id', 36).primary();
        t.string('pool_name', 250)
          .notNullable()
          .references('name')
          .inTable('serving_pools')
          .onDelete('CASCADE');
        t.string('grpc_address', 250).notNullable();
        t.bigInteger('last_heartbeat_at').notNullable();
        // The last gRPC ServerReady probe: UP, DOWN or null before the first probe.
        t.string('probe_status', 8).nullable();
        t.text('probe_message').nullable();
        t.bigInteger('probed_at').nullable();
        t.bigInteger('created_at').notNullable();
        t.unique(['pool_name', 'grpc_address'], { indexName: 'serving_endpoints_address_uq' });
      }),
    );
    add((schema) =>
      schema.createTable('deployments', (t) => {
        t.string('name', 250).primary();
        t.string('pool_name', 250).notNullable().references('name').inTable('serving_pools');
        // The optimistic version: every change bumps it with UPDATE … WHERE current_revision = ?.
        t.integer('current_revision').notNullable();
        t.bigInteger('created_at').notNullable();
      }),
    );
    add((schema) =>
      schema.createTable('deployment_revisions', (t) => {
        t.string('deployment_name', 250)
          .notNullable()
          .references('name')
          .inTable('deployments')
          .onDelete('CASCADE');
        t.integer('number').notNullable();
        t.string('kind', 16).notNullable();
        t.string('strategy', 16).notNullable();
        t.string('status', 16).notNullable();
        t.text('status_message').nullable();
        t.bigInteger('created_at').notNullable();
        // When it started serving and when another revision replaced it: `servingAt` reads these.
        t.bigInteger('activated_at').nullable();
        t.bigInteger('superseded_at').nullable();
        t.primary(['deployment_name', 'number']);
      }),
    );
    add((schema) =>
      schema.createTable('revision_models', (t) => {
        t.string('deployment_name', 250).notNullable();
        t.integer('revision').notNullable();
        t.integer('position').notNullable();
        t.string('model_name', 250).notNullable();
        t.integer('version').notNullable();
        t.integer('weight').notNullable();
        t.primary(['deployment_name', 'revision', 'position']);
        t.index(['model_name', 'version'], 'revision_models_version_idx');
        t.foreign(['deployment_name', 'revision'])
          .references(['deployment_name', 'number'])
          .inTable('deployment_revisions')
          .onDelete('CASCADE');
      }),
    );
  }
}
