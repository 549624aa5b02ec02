import { DomainError } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import type { Identity } from '@mlops/schema';
import type { ActingCallerOptions } from '../src/graphql/acting-caller';
import { actingCaller } from '../src/graphql/acting-caller';

const grace: Identity = {
  subject: 'grace',
  issuer: undefined,
  roles: ['viewer'],
  scopes: [],
  expiresAt: Math.floor(Date.now() / 1000) + 3600,
};

const refusalOf = (run: () => unknown): DomainError => {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError; nothing was thrown');
};

const ACTIONS: readonly ActingCallerOptions[] = [
  { field: 'by', action: 'Acknowledging an alert' },
  { field: 'createdBy', action: 'Creating a silence' },
];

describe.each(ACTIONS)('actingCaller for $field ($action)', (options) => {
  const { field, action } = options;

  it(`should be the verified subject when ${field} is omitted or repeats it`, () => {
    expect(actingCaller(grace, undefined, options)).toBe('grace');
    expect(actingCaller(grace, null, options)).toBe('grace');
    expect(actingCaller(grace, 'grace', options)).toBe('grace');
  });

  it(`should refuse a ${field} naming anyone else (even an empty one) with FORBIDDEN naming ${field}`, () => {
    for (const claimed of ['ada', '', ' grace']) {
      const refusal = refusalOf(() => actingCaller(grace, claimed, options));
      expect(refusal.code).toBe(ErrorCode.FORBIDDEN);
      expect(refusal.details).toEqual({ field });
    }
    expect(refusalOf(() => actingCaller(grace, 'ada', options)).message).toBe(
      `'${field}' must be the verified caller 'grace' when given; got 'ada' (omit it: the caller is recorded)`,
    );
  });

  it(`should refuse without a verified caller with UNAUTHENTICATED naming the action, whatever ${field} says`, () => {
    for (const claimed of ['ada', undefined, null]) {
      const refusal = refusalOf(() => actingCaller(null, claimed, options));
      expect(refusal.code).toBe(ErrorCode.UNAUTHENTICATED);
      expect(refusal.message).toMatch(new RegExp(`^${action} takes a verified caller: `));
    }
  });
});
