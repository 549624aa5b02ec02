import { badInput, validateName } from '@mlops/runtime';
import type { Comparison, Severity } from './alert-lifecycle';
import type { Label } from './labels';
import { validateLabels } from './labels';

export const MAX_NAME_LENGTH = 250;
/** `latency_p99_ms`, `error_rate`, `drift_score`, `sharpe`, `pnl.daily`, … */
export const METRIC_PATTERN = /^[a-z][a-z0-9_.]{0,127}$/;
/** A rule may wait at most a week before firing. */
export const MAX_FOR_SECONDS = 7 * 24 * 3600;

/** What a rule watches and when it fires; validated and normalized. */
export interface RuleSpec {
  readonly name: string;
  readonly deployment: string;
  readonly metric: string;
  readonly comparison: Comparison;
  readonly threshold: number;
  readonly forSeconds: number;
  readonly severity: Severity;
  readonly labels: readonly Label[];
}

/** BAD_USER_INPUT naming `field` unless `metric` is a metric name. */
export function validateMetric(field: string, metric: string): string {
  if (!METRIC_PATTERN.test(metric))
    throw badInput(
      field,
      `${field} '${metric.slice(0, 40)}' must match ${METRIC_PATTERN.source}: lower-case letters, digits, '_' and '.', starting with a letter, at most 128 characters`,
    );
  return metric;
}

/** Checks every field, in input order, and answers BAD_USER_INPUT naming the first one at fault. */
export function validateRuleSpec(spec: RuleSpec): RuleSpec {
  const name = validateName('name', spec.name, MAX_NAME_LENGTH);
  const deployment = validateName('deployment', spec.deployment, MAX_NAME_LENGTH);
  const metric = validateMetric('metric', spec.metric);
  if (!Number.isFinite(spec.threshold))
    throw badInput('threshold', `threshold must be a finite number; got ${spec.threshold}`);
  if (!Number.isInteger(spec.forSeconds) || spec.forSeconds < 0 || spec.forSeconds > MAX_FOR_SECONDS)
    throw badInput(
      'forSeconds',
      `forSeconds must be an integer between 0 and ${MAX_FOR_SECONDS}; got ${spec.forSeconds}`,
    );
  const labels = validateLabels('labels', spec.labels);
  return { ...spec, name, deployment, metric, labels };
}
