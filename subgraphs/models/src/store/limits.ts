import { badInput } from '@mlops/runtime';

export const MAX_MODEL_NAME_LENGTH = 250;
export const MAX_DESCRIPTION_LENGTH = 5000;
export const MAX_ALIAS_LENGTH = 250;
/** Runs are the experiments subgraph's UUIDs. */
export const MAX_RUN_ID_LENGTH = 36;

const ALIAS_PATTERN = /^[A-Za-z0-9_-]+$/;
/** `latest` and `v<digits>` name versions already (MLflow reserves them for model URIs). */
const RESERVED_ALIAS = /^(latest|v\d+)$/i;

export function validateAlias(alias: string): void {
  if (alias.length === 0 || alias.length > MAX_ALIAS_LENGTH || !ALIAS_PATTERN.test(alias)) {
    throw badInput(
      'alias',
      `alias must be 1 to ${MAX_ALIAS_LENGTH} ASCII letters, digits, underscores or dashes; got '${alias.slice(0, 40)}'`,
    );
  }
  if (RESERVED_ALIAS.test(alias)) {
    throw badInput('alias', `alias '${alias}' is reserved: 'latest' and 'v<number>' already name versions`);
  }
}

/** Version numbers start at 1. */
export function validateVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 1)
    throw badInput('version', `version must be a positive integer; got ${version}`);
}
