import { Migration } from '@mikro-orm/migrations';
import type { Knex } from '@mikro-orm/knex';

/**
 * The initial experiments schema. Written with knex's schema builder so that one migration serves
 * PostgreSQL and SQLite alike; each statement is added on its own because SQLite runs one at a time.
 */
export class Migration20261122000000_initial extends Migration {
  override up(): void {
    // `knex.schema` is a fresh builder on every access; one builder would accumulate every table.
    const add = (build: (schema: Knex.SchemaBuilder) => Knex.SchemaBuilder) => {
      for (const statement of build(this.getKnex().schema).toSQL()) this.addSql(statement.sql);
    };
    const runFk = (t: Knex.CreateTableBuilder) =>
      t.string('run_id', 36).notNullable().references('id').inTable('runs').onDelete('CASCADE');

    add((schema) =>
      schema.createTable('experiments', (t) => {
        t.string('id', 36).primary();
        t.string('name', 500).notNullable().unique();
        t.string('lifecycle_stage', 16).notNullable().defaultTo('active').index();
        t.bigInteger('created_at').notNullable();
        t.bigInteger('updated_at').notNullable();
      }),
    );
    add((schema) =>
      schema.createTable('experiment_tags', (t) => {
        t.string('experiment_id', 36)
          .notNullable()
          .references('id')
          .inTable('experiments')
          .onDelete('CASCADE');
        t.string('key', 250).notNullable();
        t.text('value').notNullable();
        t.primary(['experiment_id', 'key']);
      }),
    );
    add((schema) =>
      schema.createTable('runs', (t) => {
        t.string('id', 36).primary();
        t.string('experiment_id', 36)
          .notNullable()
          .references('id')
          .inTable('experiments')
          .onDelete('CASCADE');
        t.string('name', 250).notNullable();
        t.string('status', 16).notNullable();
        t.bigInteger('start_time').nullable();
        t.bigInteger('end_time').nullable();
        t.string('lifecycle_stage', 16).notNullable().defaultTo('active');
        t.bigInteger('created_at').notNullable();
        t.bigInteger('updated_at').notNullable();
      }),
    );
    for (const table of ['run_tags', 'params']) {
      add((schema) =>
        schema.createTable(table, (t) => {
          runFk(t);
          t.string('key', 250).notNullable();
          t.text('value').notNullable();
          t.primary(['run_id', 'key']);
        }),
      );
    }
    add((schema) =>
      schema.createTable('run_inputs', (t) => {
        runFk(t);
        t.string('name', 500).notNullable();
        t.string('digest', 64).notNullable();
        t.string('context', 64).notNullable();
        t.string('source_type', 64).notNullable();
        t.text('source').notNullable();
        t.primary(['run_id', 'name', 'digest', 'context']);
      }),
    );
    add((schema) =>
      schema.createTable('metrics', (t) => {
        t.bigIncrements('id').primary();
        // No foreign key: the history is append-only, runs are never hard-deleted, and logBatch
        // checks the run inside the same transaction. A per-row key check would halve insert speed.
        t.string('run_id', 36).notNullable();
        t.string('key', 250).notNullable();
        t.double('value').notNullable();
        t.bigInteger('timestamp').notNullable();
        t.bigInteger('step').notNullable();
        t.index(['run_id', 'key', 'step', 'timestamp'], 'metrics_history_idx');
      }),
    );
    add((schema) =>
      schema.createTable('latest_metrics', (t) => {
        runFk(t);
        t.string('key', 250).notNullable();
        t.double('value').notNullable();
        t.bigInteger('timestamp').notNullable();
        t.bigInteger('step').notNullable();
        t.primary(['run_id', 'key']);
        // Serves filters and ordering on one metric across runs.
        t.index(['key', 'value', 'run_id'], 'latest_metrics_key_value_idx');
      }),
    );
    // Serves the default order (start_time DESC NULLS LAST, id) within an experiment, so a filtered
    // search walks runs newest first and stops after one page. SQLite sorts NULLs lowest, so its
    // plain descending scan already puts them last.
    if (this.getKnex().client.dialect === 'postgresql') {
      this.addSql(
        'CREATE INDEX runs_experiment_start_time_idx ON runs (experiment_id, start_time DESC NULLS LAST, id)',
      );
    } else {
      add((schema) =>
        schema.alterTable('runs', (t) =>
          t.index(['experiment_id', 'start_time', 'id'], 'runs_experiment_start_time_idx'),
        ),
      );
    }
    // Equality filters and ordering on param and tag values. A B-tree entry must stay under ~2.7 kB
    // and params hold up to 6,000 characters, so the index covers a 200-character prefix
    // (VALUE_PREFIX_LENGTH in search-sql.ts); the same expression works in PostgreSQL and SQLite.
    for (const table of ['params', 'run_tags']) {
      this.addSql(`CREATE INDEX ${table}_key_value_prefix_idx ON ${table} ("key", substr("value", 1, 200))`);
      if (this.getKnex().client.dialect === 'postgresql') {
        // Values depend on keys ('tree' is common for `model`, absent for `lr`); without joint
        // statistics the planner multiplies the two selectivities, underestimates matches by ~5×
        // and sorts whole tables instead of walking an index.
        this.addSql(
          `CREATE STATISTICS ${table}_key_value_stats (mcv) ON "key", substr("value", 1, 200) FROM ${table}`,
        );
      }
    }
  }
}
