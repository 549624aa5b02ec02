import { parseInternalIdentityKeys } from '@mlops/runtime';
import type { InternalIdentityKeys } from '@mlops/runtime';

/** `INTERNAL_IDENTITY_KEYS` for tests: one fixed 32-byte key, id `test`. */
export const TEST_IDENTITY_KEYS_VALUE = `test:${Buffer.alloc(32, 7).toString('base64')}`;

export const TEST_IDENTITY_KEYS: InternalIdentityKeys = parseInternalIdentityKeys(TEST_IDENTITY_KEYS_VALUE);

/** A different key under the same id: what a forger without the secret would sign with. */
export const FORGED_IDENTITY_KEYS: InternalIdentityKeys = parseInternalIdentityKeys(
  `test:${Buffer.alloc(32, 9).toString('base64')}`,
);
