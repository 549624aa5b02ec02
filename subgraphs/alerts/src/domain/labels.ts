import { createHash } from 'node:crypto';
import { badInput } from '@mlops/runtime';

export interface Label {
  readonly name: string;
  readonly value: string;
}

/** Prometheus label names. */
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** Labels every alert carries, set from the rule; a rule may not set them itself. */
export const RESERVED_LABELS = ['deployment', 'metric', 'alertname', 'severity'] as const;
export const MAX_LABELS = 32;
export const MAX_LABEL_VALUE_LENGTH = 1024;

/** Refuses bad names, reserved names, long values and duplicates; returns the labels sorted by name. */
export function validateLabels(field: string, labels: readonly Label[]): Label[] {
  if (labels.length > MAX_LABELS)
    throw badInput(field, `${field} may hold at most ${MAX_LABELS} labels; got ${labels.length}`);
  const seen = new Set<string>();
  labels.forEach((label, i) => {
    const at = `${field}[${i}]`;
    if (!LABEL_NAME.test(label.name))
      throw badInput(
        `${at}.name`,
        `${at}.name '${label.name.slice(0, 40)}' must match ${LABEL_NAME.source} (a Prometheus label name)`,
      );
    if ((RESERVED_LABELS as readonly string[]).includes(label.name))
      throw badInput(
        `${at}.name`,
        `${at}.name '${label.name}' is reserved: every alert carries ${RESERVED_LABELS.join(', ')} from its rule`,
      );
    if (label.value.length > MAX_LABEL_VALUE_LENGTH)
      throw badInput(
        `${at}.value`,
        `${at}.value may be at most ${MAX_LABEL_VALUE_LENGTH} characters long; got ${label.value.length}`,
      );
    if (seen.has(label.name)) throw badInput(field, `Label '${label.name}' appears twice in ${field}`);
    seen.add(label.name);
  });
  return sortLabels(labels);
}

export function sortLabels(labels: readonly Label[]): Label[] {
  return [...labels]
    .map((l) => ({ name: l.name, value: l.value }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** An alert's identifying labels: the rule's own plus `deployment` and `metric`, sorted by name. */
export function alertLabels(rule: {
  readonly labels: readonly Label[];
  readonly deployment: string;
  readonly metric: string;
}): Label[] {
  return sortLabels([
    ...rule.labels,
    { name: 'deployment', value: rule.deployment },
    { name: 'metric', value: rule.metric },
  ]);
}

/**
 * The identity of an alert across evaluations and replicas: a SHA-256 of the rule id and its sorted
 * labels, each part length-prefixed so that no two label sets print alike.
 */
export function fingerprint(ruleId: string, labels: readonly Label[]): string {
  const hash = createHash('sha256');
  const part = (text: string) => hash.update(`${Buffer.byteLength(text)}:${text};`);
  part(ruleId);
  for (const label of sortLabels(labels)) {
    part(label.name);
    part(label.value);
  }
  return hash.digest('hex');
}
