import {
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  getNamedType,
  getNullableType,
  getOperationAST,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
} from 'graphql';
import type {
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  GraphQLField,
  GraphQLNamedType,
  GraphQLSchema,
  OperationDefinitionNode,
  SelectionSetNode,
  ValueNode,
} from 'graphql';
import { costDirectivesOfSchema, costDirectivesOfSdl } from './cost-directives';
import type { CostDirectives } from './cost-directives';
import { MAX_ANALYSED_DEPTH, resolveOperationLimits } from './operation-limits-options';
import type { OperationLimitsOptions } from './operation-limits-options';

/** What one operation asks of the server, fragments expanded (each spread counts in full). */
export interface OperationAnalysis {
  /** Deepest nesting of fields: `{ a { b } }` has depth 2. */
  readonly depth: number;
  /**
   * True when fields and fragments nest more than 1000 levels; the walk stopped there, so `depth`,
   * `aliases` and `cost` are lower bounds.
   */
  readonly truncated: boolean;
  readonly aliases: number;
  /** Fields selected directly on the root type. */
  readonly rootFields: number;
  /** Estimated cost; see `OperationLimitsOptions.maxCost`. */
  readonly cost: number;
  /** The most directives on one field, fragment spread, inline fragment or operation, and where. */
  readonly mostDirectives: { readonly count: number; readonly where: string };
  /** Fragments that spread themselves, directly or through others (validation rejects these). */
  readonly cyclicFragments: readonly string[];
}

interface Stats {
  readonly depth: number;
  readonly aliases: number;
  readonly fields: number;
  readonly cost: number;
}

const EMPTY: Stats = { depth: 0, aliases: 0, fields: 0, cost: 0 };
const PAGING_ARGUMENTS = ['first', 'last', 'limit'];

/**
 * Measures the operation `operationName` selects in `document` (every operation when none can be
 * selected: an ambiguous or unknown name, each metric then the largest of any operation). Runs in
 * time linear in the document whatever its shape: each fragment is measured once, cyclic spreads
 * count as empty and are listed, and nesting beyond 1000 levels is not descended into. Does not
 * validate the document; fields unknown to the schema count as object fields of unknown type.
 */
export function analyzeOperation(
  document: DocumentNode,
  operationName: string | null | undefined,
  schema: GraphQLSchema,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  options: OperationLimitsOptions = {},
): OperationAnalysis {
  const limits = resolveOperationLimits(options);
  const sdl = limits.costDirectivesSdl?.();
  const costDirectives = sdl === undefined ? costDirectivesOfSchema(schema) : costDirectivesOfSdl(sdl);
  const selected = getOperationAST(document, operationName);
  const operations = selected
    ? [selected]
    : document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const walker = new OperationWalker(
    schema,
    fragments,
    costDirectives,
    variables ?? {},
    limits.defaultListSize,
  );
  let total: Stats = EMPTY;
  let rootFields = 0;
  for (const operation of operations) {
    const stats = walker.operation(operation);
    total = {
      depth: Math.max(total.depth, stats.depth),
      aliases: Math.max(total.aliases, stats.aliases),
      fields: 0,
      cost: Math.max(total.cost, stats.cost),
    };
    rootFields = Math.max(rootFields, stats.fields);
  }
  return {
    depth: total.depth,
    truncated: walker.truncated,
    aliases: total.aliases,
    rootFields,
    cost: total.cost,
    mostDirectives: walker.mostDirectives,
    cyclicFragments: [...walker.cyclic],
  };
}

class OperationWalker {
  truncated = false;
  mostDirectives = { count: 0, where: 'the operation' };
  readonly cyclic = new Set<string>();
  private readonly measured = new Map<string, Stats>();
  private readonly visiting = new Set<string>();
  private variableDefaults = new Map<string, ValueNode>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>,
    private readonly costDirectives: CostDirectives,
    private readonly variables: Readonly<Record<string, unknown>>,
    private readonly defaultListSize: number,
  ) {}

  operation(operation: OperationDefinitionNode): Stats {
    this.variableDefaults = new Map(
      (operation.variableDefinitions ?? []).flatMap((v) =>
        v.defaultValue ? [[v.variable.name.value, v.defaultValue] as const] : [],
      ),
    );
    this.countDirectives(operation.directives?.length, `The ${operation.operation} operation`);
    const root = this.schema.getRootType(operation.operation) ?? undefined;
    return this.selectionSet(operation.selectionSet, root, 0);
  }

  private selectionSet(set: SelectionSetNode, parent: GraphQLNamedType | undefined, nesting: number): Stats {
    // Once past the cap the operation is rejected whatever else it holds: stop walking altogether.
    if (this.truncated || nesting > MAX_ANALYSED_DEPTH) {
      this.truncated = true;
      return EMPTY;
    }
    let depth = 0;
    let aliases = 0;
    let fields = 0;
    let cost = 0;
    for (const selection of set.selections) {
      let stats: Stats;
      switch (selection.kind) {
        case Kind.FIELD:
          stats = this.field(selection, parent, nesting);
          break;
        case Kind.INLINE_FRAGMENT: {
          const on = selection.typeCondition?.name.value;
          this.countDirectives(
            selection.directives?.length,
            `The inline fragment on '${on ?? parent?.name}'`,
          );
          const type = on === undefined ? parent : this.schema.getType(on);
          stats = this.selectionSet(selection.selectionSet, type ?? undefined, nesting + 1);
          break;
        }
        case Kind.FRAGMENT_SPREAD:
          this.countDirectives(
            selection.directives?.length,
            `The fragment spread '...${selection.name.value}'`,
          );
          stats = this.fragment(selection.name.value, nesting);
          break;
        default: {
          const _exhaustive: never = selection;
          throw new Error(`Unknown selection ${String(_exhaustive)}`);
        }
      }
      depth = Math.max(depth, stats.depth);
      aliases += stats.aliases;
      fields += stats.fields;
      cost += stats.cost;
    }
    return { depth, aliases, fields, cost };
  }

  private fragment(name: string, nesting: number): Stats {
    const known = this.measured.get(name);
    if (known) return known;
    const definition = this.fragments.get(name);
    if (!definition) return EMPTY; // validation reports unknown fragments
    if (this.visiting.has(name)) {
      this.cyclic.add(name);
      return EMPTY;
    }
    this.visiting.add(name);
    this.countDirectives(definition.directives?.length, `The fragment '${name}'`);
    const type = this.schema.getType(definition.typeCondition.name.value) ?? undefined;
    const stats = this.selectionSet(definition.selectionSet, type, nesting + 1);
    this.visiting.delete(name);
    this.measured.set(name, stats);
    return stats;
  }

  private field(node: FieldNode, parent: GraphQLNamedType | undefined, nesting: number): Stats {
    const name = node.name.value;
    this.countDirectives(
      node.directives?.length,
      `The field '${node.alias ? `${node.alias.value}: ` : ''}${name}'`,
    );
    const definition = parent ? this.fieldDefinition(parent, name) : undefined;
    const type = definition ? getNamedType(definition.type) : undefined;
    const children = node.selectionSet ? this.selectionSet(node.selectionSet, type, nesting + 1) : EMPTY;
    const aliases = children.aliases + (node.alias ? 1 : 0);
    if (!parent || !definition || !type) {
      return {
        depth: children.depth + 1,
        aliases,
        fields: 1,
        cost: (node.selectionSet ? 1 : 0) + children.cost,
      };
    }
    const weight =
      this.costDirectives.fieldWeight(parent.name, name) ??
      this.costDirectives.typeWeight(type.name) ??
      (isCompositeType(type) ? 1 : 0);
    const size = isListType(getNullableType(definition.type))
      ? this.listSize(node, definition, parent.name)
      : 1;
    return { depth: children.depth + 1, aliases, fields: 1, cost: size * (weight + children.cost) };
  }

  private fieldDefinition(
    parent: GraphQLNamedType,
    name: string,
  ): GraphQLField<unknown, unknown> | undefined {
    if (name === TypeNameMetaFieldDef.name) return TypeNameMetaFieldDef;
    if (parent === this.schema.getQueryType()) {
      if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
      if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
    }
    return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
  }

  /** `@listSize` slicing arguments, then its `assumedSize`, then `first`/`last`/`limit`, then the default. */
  private listSize(node: FieldNode, definition: GraphQLField<unknown, unknown>, parentName: string): number {
    const directive = this.costDirectives.listSize(parentName, node.name.value);
    if (directive) {
      const sliced = this.largestArgument(node, definition, directive.slicingArguments);
      if (sliced !== undefined) return sliced;
      if (directive.assumedSize !== undefined) return directive.assumedSize;
    }
    return this.largestArgument(node, definition, PAGING_ARGUMENTS) ?? this.defaultListSize;
  }

  private largestArgument(
    node: FieldNode,
    definition: GraphQLField<unknown, unknown>,
    names: readonly string[],
  ): number | undefined {
    let largest: number | undefined;
    for (const name of names) {
      const value = this.argumentValue(node, definition, name);
      if (value !== undefined) largest = Math.max(largest ?? 0, value);
    }
    return largest;
  }

  /** A non-negative integer argument: literal, variable (given, else its default) or schema default. */
  private argumentValue(
    node: FieldNode,
    definition: GraphQLField<unknown, unknown>,
    name: string,
  ): number | undefined {
    const given = node.arguments?.find((a) => a.name.value === name)?.value;
    const schemaDefault = (): unknown => definition.args.find((a) => a.name === name)?.defaultValue;
    let value: unknown;
    if (given === undefined) {
      value = schemaDefault();
    } else if (given.kind === Kind.VARIABLE) {
      const variable = given.name.value;
      const fallback = this.variableDefaults.get(variable);
      if (Object.hasOwn(this.variables, variable)) value = this.variables[variable];
      else if (fallback) value = fallback.kind === Kind.INT ? Number(fallback.value) : undefined;
      // A variable neither given nor defaulted leaves the argument unset, so the schema default applies.
      else value = schemaDefault();
    } else if (given.kind === Kind.INT) {
      value = Number(given.value);
    }
    return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  }

  private countDirectives(count: number | undefined, where: string): void {
    if (count !== undefined && count > this.mostDirectives.count) this.mostDirectives = { count, where };
  }
}
