import { createHash } from 'node:crypto';
import { ErrorCode } from '@mlops/schema';
import { DomainError } from '@mlops/runtime';

/**
 * How requests that do not pin a version are spread over the versions of one model: percentages
 * per version, summing to 100. Set by the control plane when it rolls out a canary or an A/B test.
 */
export type TrafficSplit = ReadonlyMap<string, number>;

/** Parses `{"1": 90, "2": 10}`; every weight an integer 0–100, the sum exactly 100. */
export function parseTrafficSplit(json: string): TrafficSplit {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw badTraffic(
      `traffic must be a JSON object of version → percentage, e.g. {"1": 90, "2": 10}; got ${truncate(json)}`,
    );
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw badTraffic(`traffic must be a JSON object of version → percentage; got ${truncate(json)}`);
  }
  const split = new Map<string, number>();
  for (const [version, weight] of Object.entries(raw)) {
    if (!/^\d+$/.test(version))
      throw badTraffic(`traffic names version '${truncate(version)}'; versions are numbers`);
    if (!Number.isInteger(weight) || (weight as number) < 0 || (weight as number) > 100) {
      throw badTraffic(
        `traffic for version ${version} must be an integer percentage 0–100; got ${JSON.stringify(weight)}`,
      );
    }
    split.set(version, weight as number);
  }
  const total = [...split.values()].reduce((a, b) => a + b, 0);
  if (total !== 100) throw badTraffic(`traffic percentages must sum to 100; got ${total}`);
  return split;
}

/**
 * Picks a version. With a stickiness key the choice is a pure function of the key and the split,
 * so one caller stays on one version for as long as the split does not change.
 */
export function pickVersion(
  split: TrafficSplit,
  stickyKey: string | undefined,
  random: () => number = Math.random,
): string {
  const point =
    stickyKey === undefined
      ? random() * 100
      : createHash('sha256').update(stickyKey).digest().readUInt32BE(0) % 100;
  let cumulative = 0;
  let last: string | undefined;
  for (const [version, weight] of split) {
    if (weight === 0) continue;
    cumulative += weight;
    last = version;
    if (point < cumulative) return version;
  }
  if (last === undefined) throw new Error('a traffic split with no weight');
  return last;
}

function badTraffic(message: string): DomainError {
  return new DomainError(ErrorCode.BAD_USER_INPUT, message, { field: 'traffic' });
}

function truncate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
