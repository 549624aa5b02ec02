import { parseTrafficSplit, pickVersion } from '../src/traffic';

describe('parseTrafficSplit', () => {
  it('should accept integer percentages over numbered versions summing to 100', () => {
    expect([...parseTrafficSplit('{"1": 90, "2": 10}')]).toEqual([
      ['1', 90],
      ['2', 10],
    ]);
  });

  it.each([
    ['not JSON', '{1: 90}', 'JSON object'],
    ['an array', '[90, 10]', 'JSON object'],
    ['a sum under 100', '{"1": 90, "2": 5}', 'sum to 100; got 95'],
    ['a fractional weight', '{"1": 99.5, "2": 0.5}', 'integer percentage'],
    ['a negative weight', '{"1": 110, "2": -10}', 'integer percentage'],
    ['a version that is not a number', '{"v1": 100}', "version 'v1'"],
  ])('should refuse %s with BAD_USER_INPUT naming the problem', (_name, json, message) => {
    expect(() => parseTrafficSplit(json)).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringContaining(message) }),
    );
  });
});

describe('pickVersion', () => {
  const split = parseTrafficSplit('{"1": 80, "2": 20}');

  it('should keep one stickiness key on one version', () => {
    const first = pickVersion(split, 'trader-42');
    for (let i = 0; i < 20; i++) expect(pickVersion(split, 'trader-42')).toBe(first);
  });

  it('should spread keys and random picks by the weights', () => {
    const keyed = Array.from({ length: 2000 }, (_, i) => pickVersion(split, `caller-${i}`));
    const share = keyed.filter((v) => v === '2').length / keyed.length;
    expect(share).toBeGreaterThan(0.15);
    expect(share).toBeLessThan(0.25);
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const picks = Array.from({ length: 2000 }, () => pickVersion(split, undefined, random));
    const randomShare = picks.filter((v) => v === '2').length / picks.length;
    expect(randomShare).toBeGreaterThan(0.15);
    expect(randomShare).toBeLessThan(0.25);
  });

  it('should never pick a version with no weight', () => {
    const canaryOff = parseTrafficSplit('{"1": 100, "2": 0}');
    for (let i = 0; i < 200; i++) expect(pickVersion(canaryOff, `k${i}`)).toBe('1');
  });
});
