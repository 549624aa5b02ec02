import {
  ERRORS,
  isCompositeType,
  isCustomScalarType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  isSubtype,
  Variable,
  typenameFieldName,
} from '@apollo/federation-internals';
import type {
  CompositeType,
  Directive,
  Operation,
  OperationElement,
  OutputType,
  Schema,
  SelectionSet,
} from '@apollo/federation-internals';
import type { GraphQLError } from 'graphql';

/**
 * The last step of a federated query, compiled once per operation: the data fetched by the query
 * plan (with keys, `@requires` inputs and `__typename`s the client never asked for, in fetch order)
 * is filtered and re-ordered into the client's answer, nulls bubble up through non-null fields,
 * and values a subgraph should not have sent (an unknown `__typename`, an invalid enum value, an
 * Int that is not one) become nulls with `INVALID_GRAPHQL` errors.
 *
 * It is `@apollo/gateway`'s `computeResponse` (resultShaping.ts) with the same walk, the same
 * checks, the same messages and the same error paths, but with everything that depends only on
 * the operation decided once: response names, types, leaf checks, `@skip`/`@include` conditions
 * and type-condition tests are plain data and memoised lookups instead of schema-model method
 * calls per value, and no object is allocated per value but the answer itself.
 */
export interface ResultShaper {
  shape(input: Record<string, unknown>, variables: Record<string, unknown> | undefined): ShapedResult;
}

export interface ShapedResult {
  readonly data: Record<string, unknown> | null;
  /** Apollo's "post-processing" errors (reported as `extensions.valueCompletion`). */
  readonly errors: GraphQLError[];
}

/** An operation the shaper cannot compile: the caller runs Apollo's executor instead. */
export class UnsupportedOperation extends Error {}

/** `true`/`false`, or the name of the variable that holds it. */
type IfArgument = boolean | { readonly variable: string; readonly text: string; readonly directive: string };

interface Conditions {
  readonly skip: IfArgument | undefined;
  readonly include: IfArgument | undefined;
}

type ShapeSelection =
  | { readonly kind: 'typename'; readonly responseName: string; readonly when: Conditions | undefined }
  | {
      readonly kind: 'field';
      readonly responseName: string;
      readonly type: ShapeType;
      readonly when: Conditions | undefined;
    }
  | {
      readonly kind: 'fragment';
      /** The type condition's name; undefined for a fragment without one. */
      readonly typeCondition: string | undefined;
      /** Whether the condition applies to an object of the named type (memoised per name). */
      readonly appliesTo: (typeName: string) => boolean;
      readonly selections: readonly ShapeSelection[];
      readonly when: Conditions | undefined;
    };

type ShapeType =
  | {
      readonly kind: 'nonNull';
      readonly ofType: ShapeType;
      /** The wrapped type as printed (`[Review!]`), for error messages. */
      readonly ofTypeText: string;
      readonly composite: boolean;
    }
  | { readonly kind: 'list'; readonly ofType: ShapeType; readonly composite: boolean }
  | {
      readonly kind: 'composite';
      readonly name: string;
      readonly selections: readonly ShapeSelection[];
      readonly composite: true;
    }
  | {
      readonly kind: 'leaf';
      readonly text: string;
      /** Undefined for custom scalars: any value is valid. */
      readonly valid: ((value: unknown) => boolean) | undefined;
      readonly composite: false;
    };

const OK = 0;
const NULL_BUBBLE_UP = 1;
const INVALID = 1;
const HAS_ERRORS = 2;

interface ShapeState {
  readonly variables: Record<string, unknown>;
  readonly errors: GraphQLError[];
  readonly path: (string | number)[];
  /** What the last `updateOutputValue` found: INVALID, HAS_ERRORS, both or neither. */
  flags: number;
}

interface SchemaFacts {
  /** Every type's name, built-in ones included (`schema.type(name)` finds it). */
  readonly types: ReadonlySet<string>;
  readonly objectTypes: ReadonlySet<string>;
  readonly compositeTypes: ReadonlySet<string>;
}

const schemaFacts = new WeakMap<Schema, SchemaFacts>();

function factsOf(schema: Schema): SchemaFacts {
  let facts = schemaFacts.get(schema);
  if (!facts) {
    const all = schema.allTypes();
    facts = {
      types: new Set(all.map((type) => type.name)),
      objectTypes: new Set(all.filter(isObjectType).map((type) => type.name)),
      compositeTypes: new Set(all.filter(isCompositeType).map((type) => type.name)),
    };
    schemaFacts.set(schema, facts);
  }
  return facts;
}

/**
 * Compiles the shaping of `operation` (built by `operationFromDocument(apiSchema, …, { validate:
 * false })`, as Apollo's executor builds it). Throws `UnsupportedOperation` for schema
 * introspection (`__schema`, `__type`), which Apollo answers by running graphql-js over the API
 * schema.
 */
export function compileResultShaper(operation: Operation): ResultShaper {
  const schema = operation.schema();
  const facts = factsOf(schema);
  const compiledSets = new Map<SelectionSet, readonly ShapeSelection[]>();
  let usesVariables = false;

  const ifArgument = (directive: Directive<OperationElement, { if: boolean | Variable }>): IfArgument => {
    const argument = directive.arguments().if;
    if (!(argument instanceof Variable)) return argument;
    usesVariables = true;
    return { variable: argument.name, text: String(argument), directive: String(directive) };
  };
  const conditionsOf = (element: OperationElement): Conditions | undefined => {
    const skip = element.appliedDirectivesOf(schema.skipDirective())[0];
    const include = element.appliedDirectivesOf(schema.includeDirective())[0];
    if (!skip && !include) return undefined;
    return {
      skip: skip && ifArgument(skip as Directive<OperationElement, { if: boolean | Variable }>),
      include: include && ifArgument(include as Directive<OperationElement, { if: boolean | Variable }>),
    };
  };

  const compileType = (type: OutputType, selectionSet: SelectionSet | undefined): ShapeType => {
    if (isNonNullType(type)) {
      const ofType = compileType(type.ofType, selectionSet);
      return { kind: 'nonNull', ofType, ofTypeText: String(type.ofType), composite: ofType.composite };
    }
    if (isListType(type)) {
      const ofType = compileType(type.ofType, selectionSet);
      return { kind: 'list', ofType, composite: ofType.composite };
    }
    if (isCompositeType(type)) {
      if (!selectionSet) throw new Error(`Invalid empty selection set for composite type ${type}`);
      return { kind: 'composite', name: type.name, selections: compileSet(selectionSet), composite: true };
    }
    return { kind: 'leaf', text: String(type), valid: leafCheck(schema, type), composite: false };
  };

  const compileSet = (selectionSet: SelectionSet): readonly ShapeSelection[] => {
    const known = compiledSets.get(selectionSet);
    if (known) return known;
    const compiled: ShapeSelection[] = [];
    for (const selection of selectionSet.selections()) {
      const when = conditionsOf(selection.element);
      if (selection.kind === 'FieldSelection') {
        const field = selection.element;
        if (field.definition.isSchemaIntrospectionField()) {
          throw new UnsupportedOperation('schema introspection is answered by Apollo');
        }
        const responseName = field.responseName();
        if (field.name === typenameFieldName) {
          compiled.push({ kind: 'typename', responseName, when });
        } else {
          compiled.push({
            kind: 'field',
            responseName,
            type: compileType(field.definition.type!, selection.selectionSet),
            when,
          });
        }
      } else {
        const condition = selection.element.typeCondition;
        compiled.push({
          kind: 'fragment',
          typeCondition: condition?.name,
          appliesTo: condition ? typeConditionTest(schema, condition) : () => true,
          selections: compileSet(selection.selectionSet),
          when,
        });
      }
    }
    compiledSets.set(selectionSet, compiled);
    return compiled;
  };

  const root = compileSet(operation.selectionSet);
  const rootType = schema.schemaDefinition.rootType(operation.rootKind)!.name;
  const defaults: Record<string, unknown> = operation.collectDefaultedVariableValues();
  const hasDefaults = Object.keys(defaults).length > 0;

  return {
    shape(input, variables) {
      const state: ShapeState = {
        variables: !usesVariables
          ? {}
          : ({ __proto__: null, ...(hasDefaults ? defaults : {}), ...variables } as Record<string, unknown>),
        errors: [],
        path: [],
        flags: 0,
      };
      const data = Object.create(null) as Record<string, unknown>;
      const result = applySelections(input, root, data, state, rootType, facts);
      return { data: result === NULL_BUBBLE_UP ? null : data, errors: state.errors };
    },
  };
}

/** Apollo's `typeConditionApplies` for one condition, memoised per type name. */
function typeConditionTest(schema: Schema, condition: CompositeType): (typeName: string) => boolean {
  const answers = new Map<string, boolean>();
  return (typeName) => {
    let applies = answers.get(typeName);
    if (applies === undefined) {
      const type = schema.type(typeName);
      applies = !!type && isSubtype(condition, type);
      answers.set(typeName, applies);
    }
    return applies;
  };
}

/** federation-internals' `isValidLeafValue` for one leaf type; undefined when every value is valid. */
function leafCheck(schema: Schema, type: OutputType): ((value: unknown) => boolean) | undefined {
  if (isCustomScalarType(type)) return undefined;
  if (isEnumType(type)) return (value) => typeof value === 'string' && type.value(value) !== undefined;
  // Its test of a finite number's decimal text against /^-?(?:0|[1-9][0-9]*)$/: an integer printed
  // without an exponent, which JavaScript does below 1e21.
  const integral = (value: number): boolean => Number.isInteger(value) && Math.abs(value) < 1e21;
  if (type === schema.booleanType()) return (value) => typeof value === 'boolean';
  if (type === schema.intType()) {
    return (value) => typeof value === 'number' && Number.isFinite(value) && integral(value);
  }
  if (type === schema.idType()) {
    return (value) =>
      typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value) && integral(value));
  }
  if (type === schema.floatType()) return (value) => typeof value === 'number' && Number.isFinite(value);
  // String, and any other built-in scalar: strings only.
  return (value) => typeof value === 'string';
}

function ifValue(argument: IfArgument, variables: Record<string, unknown>): boolean {
  if (typeof argument === 'boolean') return argument;
  const value = variables[argument.variable];
  if (value === undefined || typeof value !== 'boolean') {
    throw new Error(
      `Unexpected value ${String(value)} for variable ${argument.text} of ${argument.directive}`,
    );
  }
  return value;
}

function skipped(when: Conditions, variables: Record<string, unknown>): boolean {
  return (
    (when.skip !== undefined && ifValue(when.skip, variables)) ||
    (when.include !== undefined && !ifValue(when.include, variables))
  );
}

const hasOwn = (object: object, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key);

function applySelections(
  input: Record<string, unknown>,
  selections: readonly ShapeSelection[],
  output: Record<string, unknown>,
  state: ShapeState,
  parentType: string,
  facts: SchemaFacts,
): number {
  for (const selection of selections) {
    if (selection.when !== undefined && skipped(selection.when, state.variables)) continue;
    switch (selection.kind) {
      case 'typename': {
        const { responseName } = selection;
        if (output[responseName] !== undefined) continue;
        let value = (hasOwn(input, responseName) ? input[responseName] : undefined) ?? null;
        if (value === null && responseName !== typenameFieldName) value = input[typenameFieldName] ?? null;
        const typeName = typeof value === 'string' && facts.types.has(value) ? value : parentType;
        if (!facts.objectTypes.has(typeName)) return NULL_BUBBLE_UP;
        output[responseName] = typeName;
        continue;
      }
      case 'field': {
        const { responseName } = selection;
        const value = (hasOwn(input, responseName) ? input[responseName] : undefined) ?? null;
        state.path.push(responseName);
        const updated = updateOutputValue(
          output[responseName],
          selection.type,
          value,
          state,
          parentType,
          facts,
        );
        const invalid = (state.flags & INVALID) !== 0;
        output[responseName] = updated;
        state.path.pop();
        if (invalid) return NULL_BUBBLE_UP;
        continue;
      }
      case 'fragment': {
        const typeName = input[typenameFieldName];
        if (typeName && typeof typeName !== 'string') {
          throw new Error(`Got unexpected value for __typename: ${String(typeName)}`);
        }
        const typeNameOrParent = typeof typeName === 'string' && typeName !== '' ? typeName : parentType;
        if (selection.typeCondition !== undefined && !selection.appliesTo(typeNameOrParent)) continue;
        const nested = applySelections(
          input,
          selection.selections,
          output,
          state,
          selection.typeCondition ?? parentType,
          facts,
        );
        if (nested === NULL_BUBBLE_UP) return NULL_BUBBLE_UP;
        continue;
      }
    }
  }
  return OK;
}

function describeLast(path: readonly (string | number)[], currentType: string, parentType: string): string {
  const element = path[path.length - 1];
  return typeof element === 'string'
    ? `field ${parentType}.${element}`
    : `array element of type ${currentType} at index ${String(element)}`;
}

/**
 * Apollo's `updateOutputValue`: the value to put in the answer for `input` (never undefined) under
 * `type`, merged into what an earlier selection of the same response name built (`output`). What
 * it found is left in `state.flags`.
 */
function updateOutputValue(
  output: unknown,
  type: ShapeType,
  input: unknown,
  state: ShapeState,
  parentType: string,
  facts: SchemaFacts,
): unknown {
  if (input === undefined) throw new Error('Should not pass undefined for `inputValue` to this method');
  if (output === null || (output !== undefined && !type.composite)) {
    state.flags = 0;
    return output;
  }
  if (type.kind === 'nonNull') {
    const updated = updateOutputValue(output, type.ofType, input, state, parentType, facts);
    if (updated !== null) {
      state.flags = 0;
      return updated;
    }
    if ((state.flags & HAS_ERRORS) === 0) {
      state.errors.push(
        ERRORS.INVALID_GRAPHQL.err(
          `Cannot return null for non-nullable ${describeLast(state.path, type.ofTypeText, parentType)}.`,
          { path: Array.from(state.path) },
        ),
      );
    }
    state.flags = INVALID | HAS_ERRORS;
    return null;
  }
  if (input === null) {
    state.flags = 0;
    return null;
  }
  switch (type.kind) {
    case 'list': {
      if (!Array.isArray(input)) {
        throw new Error(
          `Invalid non-list value ${String(input)} returned by subgraph for list type ${listText(type)}`,
        );
      }
      if (output !== undefined && !Array.isArray(output)) {
        throw new Error(
          `Invalid non-list value ${String(output)} returned by subgraph for list type ${listText(type)}`,
        );
      }
      const length = input.length;
      const previous = output as unknown[] | undefined;
      if (previous !== undefined && previous.length !== length) {
        throw new Error(
          `[${String(input)}].length (${length}) !== [${String(previous)}].length (${previous.length})`,
        );
      }
      const updated = new Array<unknown>(length);
      let nullify = false;
      let hasErrors = false;
      for (let index = 0; index < length; index++) {
        state.path.push(index);
        updated[index] = updateOutputValue(
          previous === undefined ? undefined : previous[index],
          type.ofType,
          input[index],
          state,
          parentType,
          facts,
        );
        state.path.pop();
        if ((state.flags & INVALID) !== 0) nullify = true;
        if ((state.flags & HAS_ERRORS) !== 0) hasErrors = true;
      }
      state.flags = hasErrors ? HAS_ERRORS : 0;
      return nullify ? null : updated;
    }
    case 'composite': {
      if (typeof input !== 'object') {
        throw new Error(
          `Invalid non-object value ${String(input)} returned by subgraph for composite type ${type.name}`,
        );
      }
      if (output !== undefined && typeof output !== 'object') {
        throw new Error(
          `Invalid non-object value ${String(input)} returned by subgraph for composite type ${type.name}`,
        );
      }
      const object = input as Record<string, unknown>;
      const typeName = object[typenameFieldName];
      if (typeName !== undefined && typeof typeName !== 'string') {
        throw new Error(
          `Invalid non-string value ${String(typeName)} for __typename at ${String(state.path)}`,
        );
      }
      let objectType = type.name;
      if (typeName) {
        if (!facts.compositeTypes.has(typeName)) {
          // Never the received name: it may be an @inaccessible type's.
          state.errors.push(
            ERRORS.INVALID_GRAPHQL.err(
              `Invalid __typename found for object at ${describeLast(state.path, type.name, parentType)}.`,
              { path: Array.from(state.path) },
            ),
          );
          state.flags = HAS_ERRORS;
          return null;
        }
        objectType = typeName;
      }
      const target = (output ?? Object.create(null)) as Record<string, unknown>;
      const result = applySelections(object, type.selections, target, state, objectType, facts);
      state.flags = result === NULL_BUBBLE_UP ? HAS_ERRORS : 0;
      return result === NULL_BUBBLE_UP ? null : target;
    }
    case 'leaf': {
      if (output !== undefined) {
        throw new Error(`Excepted output to be undefined but got ${type.text} for type ${type.text}`);
      }
      const valid = type.valid === undefined || type.valid(input);
      if (!valid) {
        state.errors.push(
          ERRORS.INVALID_GRAPHQL.err(
            `Invalid value found for ${describeLast(state.path, type.text, parentType)}.`,
            {
              path: Array.from(state.path),
            },
          ),
        );
      }
      state.flags = valid ? 0 : HAS_ERRORS;
      return valid ? input : null;
    }
  }
}

function listText(type: ShapeType): string {
  switch (type.kind) {
    case 'nonNull':
      return `${listText(type.ofType)}!`;
    case 'list':
      return `[${listText(type.ofType)}]`;
    case 'composite':
      return type.name;
    case 'leaf':
      return type.text;
  }
}
