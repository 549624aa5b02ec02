import { Migration } from '@mikro-orm/migrations';
import type { Knex } from '@mikro-orm/knex';

/**
 * The initial alerts schema, written with knex's schema builder so that one migration serves
 * PostgreSQL and SQLite alike; each statement is added on its own because SQLite runs one at a time.
 */
export class Migration20261122210000_initial extends Migration {
  override up(): void {
    // `knex.schema` is a fresh builder on every access; one builder would accumulate every table.
    const add = (build: (schema: Knex.SchemaBuilder) => Knex.SchemaBuilder) => {
      for (const statement of build(this.getKnex().schema).toSQL()) this.addSql(statement.sql);
    };
    add((schema) =>
      schema.createTable('alert_rules', (t) => {
        t.string('id', 36).primary();
        t.string('name', 250).notNullable().unique({ indexName: 'alert_rules_name_uq' });
        t.string('deployment', 250).notNullable();
        t.string('metric', 128).notNullable();
        t.string('comparison', 8).notNullable();
        t.double('threshold').notNullable();
        t.integer('for_seconds').notNullable();
        t.string('severity', 16).notNullable();
        t.text('labels').notNullable();
        t.bigInteger('created_at').notNullable();
        t.bigInteger('updated_at').notNullable();
        t.index(['deployment', 'metric'], 'alert_rules_series_idx');
      }),
    );
    add((schema) =>
      schema.createTable('alerts', (t) => {
        t.string('id', 36).primary();
        t.string('fingerprint', 64).notNullable();
        t.string('rule_id', 36).notNullable();
        t.string('rule_name', 250).notNullable();
        t.string('deployment', 250).notNullable();
        t.string('metric', 128).notNullable();
        t.string('severity', 16).notNullable();
        t.string('state', 16).notNullable();
        t.text('labels').notNullable();
        t.double('value').nullable();
        t.bigInteger('active_at').notNullable();
        t.bigInteger('fired_at').nullable();
        t.bigInteger('resolved_at').nullable();
        t.string('acknowledged_by', 250).nullable();
        t.bigInteger('acknowledged_at').nullable();
        t.bigInteger('updated_at').notNullable();
        t.index(['rule_id'], 'alerts_rule_idx');
        t.index(['deployment', 'state'], 'alerts_deployment_state_idx');
      }),
    );
    // One open incident per fingerprint: of two replicas opening the same alert, one insert fails.
    this.addSql(
      'CREATE UNIQUE INDEX alerts_open_fingerprint_uq ON alerts (fingerprint) WHERE resolved_at IS NULL',
    );
    add((schema) =>
      schema.createTable('alert_events', (t) => {
        t.bigIncrements('cursor').primary();
        t.string('type', 16).notNullable();
        t.string('alert_id', 36).notNullable();
        t.string('rule_id', 36).notNullable();
        t.string('deployment', 250).notNullable();
        t.string('severity', 16).notNullable();
        t.string('state', 16).notNullable();
        t.double('value').nullable();
        t.boolean('silenced').notNullable();
        t.string('actor', 250).nullable();
        t.text('comment').nullable();
        t.bigInteger('at').notNullable();
        t.index(['alert_id'], 'alert_events_alert_idx');
      }),
    );
    add((schema) =>
      schema.createTable('silences', (t) => {
        t.string('id', 36).primary();
        t.text('matchers').notNullable();
        t.bigInteger('starts_at').notNullable();
        t.bigInteger('ends_at').notNullable();
        t.string('created_by', 250).notNullable();
        t.text('comment').notNullable();
        t.bigInteger('created_at').notNullable();
        t.index(['ends_at'], 'silences_ends_at_idx');
      }),
    );
    add((schema) =>
      schema.createTable('metric_samples', (t) => {
        t.string('deployment', 250).notNullable();
        t.string('metric', 128).notNullable();
        t.double('value').notNullable();
        t.bigInteger('at').notNullable();
        t.primary(['deployment', 'metric']);
      }),
    );
  }
}
