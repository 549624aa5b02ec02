import { Kind, isTypeDefinitionNode, isTypeExtensionNode, parse } from 'graphql';
import type {
  ConstDirectiveNode,
  ConstValueNode,
  DefinitionNode,
  FieldDefinitionNode,
  GraphQLSchema,
} from 'graphql';

/** What `@listSize` says about one list field. */
export interface ListSizeDirective {
  /** Size to assume when no slicing argument is given. */
  readonly assumedSize: number | undefined;
  /** Arguments whose value is the list's size (the largest given one counts). */
  readonly slicingArguments: readonly string[];
}

/** The `@cost` and `@listSize` applications of one schema, looked up by type and field name. */
export interface CostDirectives {
  /** `@cost(weight:)` on the field `typeName.fieldName`. */
  fieldWeight(typeName: string, fieldName: string): number | undefined;
  /** `@cost(weight:)` on the type itself (object, interface, scalar, enum). */
  typeWeight(typeName: string): number | undefined;
  listSize(typeName: string, fieldName: string): ListSizeDirective | undefined;
}

// The names the directives go by: imported (`@cost`), un-imported from the cost spec in a
// supergraph (`@cost`, `@cost__listSize`) and un-imported from the federation spec in a subgraph.
const COST_NAMES = new Set(['cost', 'federation__cost']);
const LIST_SIZE_NAMES = new Set(['listSize', 'cost__listSize', 'federation__listSize']);

const bySchema = new WeakMap<GraphQLSchema, CostDirectives>();
let lastSdl: { sdl: string; directives: CostDirectives } | undefined;

/** The directives applied in `schema`'s AST nodes (types built from SDL carry them); cached per schema. */
export function costDirectivesOfSchema(schema: GraphQLSchema): CostDirectives {
  let found = bySchema.get(schema);
  if (!found) {
    const definitions: DefinitionNode[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.astNode) definitions.push(type.astNode);
      definitions.push(...type.extensionASTNodes);
    }
    found = readCostDirectives(definitions);
    bySchema.set(schema, found);
  }
  return found;
}

/** The directives applied in an SDL document (a subgraph schema or a composed supergraph). */
export function costDirectivesOfSdl(sdl: string): CostDirectives {
  if (lastSdl?.sdl !== sdl) {
    lastSdl = { sdl, directives: readCostDirectives(parse(sdl, { noLocation: true }).definitions) };
  }
  return lastSdl.directives;
}

function readCostDirectives(definitions: readonly DefinitionNode[]): CostDirectives {
  const fieldWeights = new Map<string, number>();
  const typeWeights = new Map<string, number>();
  const listSizes = new Map<string, ListSizeDirective>();
  for (const definition of definitions) {
    if (!isTypeDefinitionNode(definition) && !isTypeExtensionNode(definition)) continue;
    const typeName = definition.name.value;
    const typeWeight = costWeight(definition.directives);
    if (typeWeight !== undefined) typeWeights.set(typeName, typeWeight);
    const fields: readonly FieldDefinitionNode[] =
      definition.kind === Kind.OBJECT_TYPE_DEFINITION ||
      definition.kind === Kind.OBJECT_TYPE_EXTENSION ||
      definition.kind === Kind.INTERFACE_TYPE_DEFINITION ||
      definition.kind === Kind.INTERFACE_TYPE_EXTENSION
        ? (definition.fields ?? [])
        : [];
    for (const field of fields) {
      const key = `${typeName}.${field.name.value}`;
      const weight = costWeight(field.directives);
      if (weight !== undefined) fieldWeights.set(key, weight);
      const size = listSize(field.directives);
      if (size) listSizes.set(key, size);
    }
  }
  return {
    fieldWeight: (typeName, fieldName) => fieldWeights.get(`${typeName}.${fieldName}`),
    typeWeight: (typeName) => typeWeights.get(typeName),
    listSize: (typeName, fieldName) => listSizes.get(`${typeName}.${fieldName}`),
  };
}

function costWeight(directives: readonly ConstDirectiveNode[] | undefined): number | undefined {
  const cost = directives?.find((d) => COST_NAMES.has(d.name.value));
  const weight = cost?.arguments?.find((a) => a.name.value === 'weight')?.value;
  // Apollo declares `weight: Int!`, IBM's spec a String ("1.5"); accept both.
  if (weight?.kind === Kind.INT || weight?.kind === Kind.FLOAT || weight?.kind === Kind.STRING) {
    const value = Number(weight.value);
    return Number.isFinite(value) && value >= 0 ? value : undefined;
  }
  return undefined;
}

function listSize(directives: readonly ConstDirectiveNode[] | undefined): ListSizeDirective | undefined {
  const directive = directives?.find((d) => LIST_SIZE_NAMES.has(d.name.value));
  if (!directive) return undefined;
  const argument = (name: string): ConstValueNode | undefined =>
    directive.arguments?.find((a) => a.name.value === name)?.value;
  const assumed = argument('assumedSize');
  const slicing = argument('slicingArguments');
  const names = (value: ConstValueNode | undefined): string[] => {
    if (value?.kind === Kind.STRING) return [value.value];
    if (value?.kind !== Kind.LIST) return [];
    return value.values.flatMap((v) => (v.kind === Kind.STRING ? [v.value] : []));
  };
  return {
    assumedSize: assumed?.kind === Kind.INT ? Number(assumed.value) : undefined,
    slicingArguments: names(slicing),
  };
}
