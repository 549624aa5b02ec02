import { DomainError } from '@mlops/runtime';
import { ErrorCode } from '@mlops/schema';
import type { Identity } from '@mlops/schema';
import { acknowledgerOf } from '../src/graphql/acknowledger';

const grace: Identity = {
  subject: 'grace',
  issuer: undefined,
  roles: ['viewer'],
  scopes: [],
  expiresAt: Math.floor(Date.now() / 1000) + 3600,
};

const codeOf = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error) {
    return error instanceof DomainError ? error.code : error;
  }
  return undefined;
};

describe('acknowledgerOf', () => {
  it('should be the verified subject when by is omitted or repeats it', () => {
    expect(acknowledgerOf(grace, undefined)).toBe('grace');
    expect(acknowledgerOf(grace, null)).toBe('grace');
    expect(acknowledgerOf(grace, 'grace')).toBe('grace');
  });

  it('should refuse a by naming anyone else (even an empty one) with FORBIDDEN', () => {
    expect(codeOf(() => acknowledgerOf(grace, 'ada'))).toBe(ErrorCode.FORBIDDEN);
    expect(codeOf(() => acknowledgerOf(grace, ''))).toBe(ErrorCode.FORBIDDEN);
  });

  it('should refuse without a verified caller (no signed identity reached the subgraph) with UNAUTHENTICATED, whatever by says', () => {
    expect(codeOf(() => acknowledgerOf(null, 'ada'))).toBe(ErrorCode.UNAUTHENTICATED);
    expect(codeOf(() => acknowledgerOf(null, undefined))).toBe(ErrorCode.UNAUTHENTICATED);
  });
});
