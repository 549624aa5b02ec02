/**
 * What an identifier of the search grammar names: its prefix and key resolved to a `SearchEntity`, with
 * aliases (`run.id`, `attributes.created`, ...) mapped to canonical names, and how entities are written in
 * error messages.
 */
import type { DatasetField, NumericAttribute, OrderTerm, SearchEntity, StringAttribute } from './filter-ast';
import { SearchSyntaxError } from './filter-ast';
import type { IdentifierToken } from './filter-lexer';
import { BARE_KEY, truncate } from './filter-lexer';

type Prefix = 'metric' | 'param' | 'tag' | 'attribute' | 'dataset';
type OrderableEntity = OrderTerm['entity'];
type AttributeEntity = Extract<SearchEntity, { kind: 'attribute' | 'numericAttribute' }>;

// Maps, not object literals: a key such as `constructor` must not resolve through Object.prototype.
const PREFIXES = new Map<string, Prefix>([
  ['metric', 'metric'],
  ['metrics', 'metric'],
  ['param', 'param'],
  ['params', 'param'],
  ['parameter', 'param'],
  ['parameters', 'param'],
  ['tag', 'tag'],
  ['tags', 'tag'],
  ['attribute', 'attribute'],
  ['attributes', 'attribute'],
  ['attr', 'attribute'],
  ['run', 'attribute'],
  ['dataset', 'dataset'],
  ['datasets', 'dataset'],
]);

const stringAttribute = (name: StringAttribute): AttributeEntity => ({ kind: 'attribute', name });
const numericAttribute = (name: NumericAttribute): AttributeEntity => ({ kind: 'numericAttribute', name });

const ATTRIBUTES = new Map<string, AttributeEntity>([
  ['run_id', stringAttribute('run_id')],
  ['id', stringAttribute('run_id')],
  ['run_name', stringAttribute('run_name')],
  ['name', stringAttribute('run_name')],
  ['status', stringAttribute('status')],
  ['lifecycle_stage', stringAttribute('lifecycle_stage')],
  ['start_time', numericAttribute('start_time')],
  ['created', numericAttribute('start_time')],
  ['end_time', numericAttribute('end_time')],
]);
const ATTRIBUTE_NAMES = 'run_id, run_name, status, lifecycle_stage, start_time, end_time';

const DATASET_FIELDS = new Map<string, DatasetField>([
  ['name', 'name'],
  ['digest', 'digest'],
  ['context', 'context'],
]);

export function resolvePrefix(token: IdentifierToken): Prefix {
  const prefix = PREFIXES.get(token.prefix.toLowerCase());
  if (prefix !== undefined) return prefix;
  const expected = 'expected one of metrics, params, tags, attributes, datasets';
  throw new SearchSyntaxError(
    `Unknown identifier prefix '${truncate(token.prefix)}'; ${expected}`,
    token.start,
  );
}

export function resolveEntity(token: IdentifierToken): SearchEntity {
  const prefix = resolvePrefix(token);
  return prefix === 'dataset' ? resolveDatasetField(token) : resolveOrderableEntity(prefix, token);
}

export function resolveOrderableEntity(
  prefix: Exclude<Prefix, 'dataset'>,
  token: IdentifierToken,
): OrderableEntity {
  switch (prefix) {
    case 'metric':
      return { kind: 'metric', key: token.key };
    case 'param':
      return { kind: 'param', key: token.key };
    case 'tag':
      return { kind: 'tag', key: token.key };
    case 'attribute':
      return resolveAttribute(token);
    default: {
      const _exhaustive: never = prefix;
      return _exhaustive;
    }
  }
}

function resolveAttribute(token: IdentifierToken): AttributeEntity {
  const attribute = ATTRIBUTES.get(token.key);
  if (attribute !== undefined) return attribute;
  const message = `Unknown attribute '${truncate(token.key)}'; expected one of ${ATTRIBUTE_NAMES}`;
  throw new SearchSyntaxError(message, token.start);
}

function resolveDatasetField(token: IdentifierToken): SearchEntity {
  const field = DATASET_FIELDS.get(token.key);
  if (field !== undefined) return { kind: 'dataset', field };
  const message = `Unknown dataset field '${truncate(token.key)}'; expected one of name, digest, context`;
  throw new SearchSyntaxError(message, token.start);
}

// ---------------------------------------------------------------------------------------------- labels

/** How an entity is written in messages: canonical prefix, alias resolved, key quoted when it must be. */
export function entityLabel(entity: SearchEntity): string {
  switch (entity.kind) {
    case 'metric':
      return `metrics.${formatKey(entity.key)}`;
    case 'param':
      return `params.${formatKey(entity.key)}`;
    case 'tag':
      return `tags.${formatKey(entity.key)}`;
    case 'attribute':
    case 'numericAttribute':
      return `attributes.${entity.name}`;
    case 'dataset':
      return `datasets.${entity.field}`;
    default: {
      const _exhaustive: never = entity;
      return _exhaustive;
    }
  }
}

/** What an operator rule applies to: every key of a metric, param, tag or dataset; one named attribute. */
export function operatorSubject(entity: SearchEntity): string {
  switch (entity.kind) {
    case 'metric':
      return 'metrics';
    case 'param':
      return 'params';
    case 'tag':
      return 'tags';
    case 'dataset':
      return 'datasets';
    case 'attribute':
    case 'numericAttribute':
      return `attributes.${entity.name}`;
    default: {
      const _exhaustive: never = entity;
      return _exhaustive;
    }
  }
}

function formatKey(key: string): string {
  const shown = truncate(key);
  if (BARE_KEY.test(key)) return shown;
  return key.includes('`') ? `"${shown}"` : `\`${shown}\``;
}
