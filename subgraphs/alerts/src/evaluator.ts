import type { Logger } from '@mlops/runtime';
import type { Database } from '@mlops/runtime/database';
import { compare, planTransition } from './domain/alert-lifecycle';
import { alertLabels, fingerprint } from './domain/labels';
import type { EventPublisher } from './events/event-publisher';
import { applyTransition, openAlertsOfRules, resolveOpenAlerts } from './store/alerts';
import type { AlertEventRecord, AlertRecord, RuleRecord } from './store/records';
import { listRules } from './store/rules';
import { latestSamples, seriesKey } from './store/samples';
import { activeSilences, isSilenced } from './store/silences';

export interface Series {
  readonly deployment: string;
  readonly metric: string;
}

export interface EvaluationSummary {
  /** Rules evaluated. */
  readonly rules: number;
  /** Events this evaluation committed (and published), in cursor order. */
  readonly events: readonly AlertEventRecord[];
}

export interface AlertEvaluator {
  /**
   * Evaluates every rule (or those watching `series`) against the latest fresh sample and applies
   * the transitions. Safe to run on several replicas at once: each transition is conditional, so
   * an alert opens, fires and resolves once whoever gets there first.
   */
  evaluate(series?: readonly Series[]): Promise<EvaluationSummary>;
}

export interface AlertEvaluatorOptions {
  /** Where rules, samples, alerts and events live; its clock is the evaluation time. */
  readonly db: Database;
  /** Receives the events of each rule once their transaction committed. */
  readonly publisher: EventPublisher;
  /** A sample older than this (ms) no longer counts; the rule then evaluates false. */
  readonly sampleStalenessMs: number;
  /** A rule whose evaluation fails is logged here and skipped; the others go on. */
  readonly logger: Logger;
}

export function createAlertEvaluator(options: AlertEvaluatorOptions): AlertEvaluator {
  const { db, publisher, sampleStalenessMs, logger } = options;

  async function evaluateRule(
    rule: RuleRecord,
    value: number | null,
    open: readonly AlertRecord[],
    silences: Awaited<ReturnType<typeof activeSilences>>,
    now: number,
  ): Promise<AlertEventRecord[]> {
    const labels = alertLabels(rule);
    const print = fingerprint(rule.id, labels);
    const events: AlertEventRecord[] = [];
    // The rule's labels, deployment or metric changed: the old identity's incident is over.
    if (open.some((a) => a.fingerprint !== print))
      events.push(...(await db.knex.transaction((trx) => resolveOpenAlerts(trx, db, rule.id, print))));
    const current = open.find((a) => a.fingerprint === print);
    const condition = value !== null && compare(value, rule.comparison, rule.threshold);
    const transition = planTransition(
      current && current.state !== 'RESOLVED'
        ? { id: current.id, state: current.state, activeAt: current.activeAt }
        : null,
      condition,
      value,
      rule.forSeconds,
      now,
    );
    const silenced = isSilenced(silences, { labels, ruleName: rule.name, severity: rule.severity });
    events.push(
      ...(await applyTransition(db, transition, { rule, fingerprint: print, labels, silenced, now })),
    );
    return events;
  }

  return {
    async evaluate(series) {
      const now = db.clock.now();
      const rules = await listRules(db.knex, series);
      if (rules.length === 0) return { rules: 0, events: [] };
      const [samples, open, silences] = await Promise.all([
        latestSamples(db.knex, rules),
        openAlertsOfRules(
          db.knex,
          rules.map((r) => r.id),
        ),
        activeSilences(db.knex, now),
      ]);
      const events: AlertEventRecord[] = [];
      for (const rule of rules) {
        const sample = samples.get(seriesKey(rule));
        const value = sample && now - sample.at <= sampleStalenessMs ? sample.value : null;
        try {
          const raised = await evaluateRule(
            rule,
            value,
            open.filter((a) => a.ruleId === rule.id),
            silences,
            now,
          );
          // Published per rule as soon as committed, so one slow rule does not hold the others back.
          await publisher.publish(raised);
          events.push(...raised);
        } catch (error) {
          logger.error({ err: error, rule: rule.name }, 'alert rule evaluation failed');
        }
      }
      return { rules: rules.length, events: events.sort((a, b) => a.cursor - b.cursor) };
    },
  };
}

/** Runs `evaluate` every `intervalMs` (never two at once); `stop` waits for the one running. */
export function scheduleEvaluation(options: {
  readonly evaluator: AlertEvaluator;
  /** Period in ms; 0 or less: no schedule. */
  readonly intervalMs: number;
  /** Where a failed evaluation is logged; the next tick runs regardless. */
  readonly logger: Logger;
}): { stop(): Promise<void> } {
  const { evaluator, intervalMs, logger } = options;
  if (intervalMs <= 0) return { stop: async () => undefined };
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = evaluator
      .evaluate()
      .then(
        () => undefined,
        (error: unknown) => logger.error({ err: error }, 'scheduled alert evaluation failed'),
      )
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
