import type { Logger } from '@mlops/runtime';
import type { Database } from '@mlops/runtime/database';
import type { RuleSpec } from './domain/rule-spec';
import type { AlertEvaluator, EvaluationSummary } from './evaluator';
import type { EventPublisher } from './events/event-publisher';
import { acknowledgeAlert } from './store/alerts';
import type { AlertRecord, RuleRecord } from './store/records';
import type { RuleChanges } from './store/rules';
import { createRule, deleteRule, updateRule } from './store/rules';
import type { SampleInput } from './store/samples';
import { recordSamples, validateSamples } from './store/samples';

/** The mutations that raise events: each publishes what it committed, after the commit. */
export interface AlertOperations {
  createRule(spec: RuleSpec): Promise<RuleRecord>;
  updateRule(id: string, changes: RuleChanges): Promise<RuleRecord>;
  /** Deletes the rule; its open alerts resolve (RESOLVED events). */
  deleteRule(id: string): Promise<RuleRecord>;
  /** Stores the batch (all or nothing), then evaluates the rules watching it when configured to. */
  recordMetrics(samples: readonly SampleInput[]): Promise<number>;
  acknowledge(id: string, by: string, comment: string | null): Promise<AlertRecord>;
  /** Evaluates every rule now (what the schedule does). */
  evaluateNow(): Promise<EvaluationSummary>;
}

export function createAlertOperations(options: {
  readonly db: Database;
  /** Runs after `recordMetrics` (when `evaluateOnRecord`) and for `evaluateNow`. */
  readonly evaluator: AlertEvaluator;
  /** Publishes the events of rule deletions and acknowledgements after their commit. */
  readonly publisher: EventPublisher;
  /** Evaluate the rules of the recorded series right after `recordMetrics` commits. */
  readonly evaluateOnRecord: boolean;
  /** Where a failed evaluation after `recordMetrics` is logged (the samples stay recorded). */
  readonly logger: Logger;
}): AlertOperations {
  const { db, evaluator, publisher, evaluateOnRecord, logger } = options;
  return {
    createRule: (spec) => createRule(db, spec),
    updateRule: (id, changes) => updateRule(db, id, changes),
    async deleteRule(id) {
      const { rule, events } = await deleteRule(db, id);
      await publisher.publish(events);
      return rule;
    },
    async recordMetrics(input) {
      const samples = validateSamples(input, db.clock.now());
      await recordSamples(db, samples);
      if (evaluateOnRecord && samples.length > 0) {
        // The samples are stored either way; a failed evaluation is retried by the schedule.
        await evaluator.evaluate(samples).catch((error: unknown) => {
          logger.error({ err: error }, 'alert evaluation after recordMetrics failed');
        });
      }
      return samples.length;
    },
    async acknowledge(id, by, comment) {
      const { alert, events } = await acknowledgeAlert(db, id, by, comment);
      await publisher.publish(events);
      return alert;
    },
    evaluateNow: () => evaluator.evaluate(),
  };
}
