import { badInput } from '@mlops/runtime';
import type { Label } from './labels';

/** Alertmanager's matcher: `name = value`, `!=`, `=~` (a full-match regex) or `!~`. */
export interface Matcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex: boolean;
  readonly isEqual: boolean;
}

export const MAX_MATCHERS = 32;

/** BAD_USER_INPUT naming the matcher at fault: none at all, a bad name or an invalid regex. */
export function validateMatchers(field: string, matchers: readonly Matcher[]): Matcher[] {
  if (matchers.length === 0)
    throw badInput(field, `${field} must hold at least one matcher; a silence of everything is refused`);
  if (matchers.length > MAX_MATCHERS)
    throw badInput(field, `${field} may hold at most ${MAX_MATCHERS} matchers; got ${matchers.length}`);
  return matchers.map((m, i) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(m.name))
      throw badInput(
        `${field}[${i}].name`,
        `${field}[${i}].name '${m.name.slice(0, 40)}' is not a label name`,
      );
    if (m.isRegex) {
      try {
        new RegExp(`^(?:${m.value})$`);
      } catch (error) {
        throw badInput(
          `${field}[${i}].value`,
          `${field}[${i}].value is not a valid regex: ${(error as Error).message}`,
        );
      }
    }
    return { name: m.name, value: m.value, isRegex: m.isRegex, isEqual: m.isEqual };
  });
}

function matches(matcher: Matcher, labels: ReadonlyMap<string, string>): boolean {
  // A missing label matches the empty string, as in Alertmanager.
  const value = labels.get(matcher.name) ?? '';
  const hit = matcher.isRegex ? new RegExp(`^(?:${matcher.value})$`).test(value) : value === matcher.value;
  return matcher.isEqual ? hit : !hit;
}

/** True when every matcher of the silence matches the labels. */
export function silenceMatches(matchers: readonly Matcher[], labels: readonly Label[]): boolean {
  const byName = new Map(labels.map((l) => [l.name, l.value]));
  return matchers.every((m) => matches(m, byName));
}
