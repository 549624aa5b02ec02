import { createHash } from 'node:crypto';
import { GraphQLError, Kind, TypeInfo, getNamedType, parse, visit, visitWithTypeInfo } from 'graphql';
import type { ConstDirectiveNode, DocumentNode, FieldNode, GraphQLSchema, SelectionSetNode } from 'graphql';
import { ErrorCode } from '@mlops/schema';
import type { Identity } from '@mlops/schema';

/** What reading a field (or any field returning a type) takes, from the subgraphs' schemas. */
interface Requirement {
  /** `@authenticated`: any verified caller. */
  readonly authenticated: boolean;
  /** `@requiresScopes(scopes:)`: one of these sets, each in full; roles count as `role:<name>`. */
  readonly scopes: readonly (readonly string[])[] | undefined;
}

/** The result of checking one operation against the caller. */
export interface AccessDecision {
  /** The operation with every field the caller may not read removed (the same object when none is). */
  readonly document: DocumentNode;
  /** One coded error per removed field: UNAUTHENTICATED for an anonymous caller, else FORBIDDEN. */
  readonly denied: readonly GraphQLError[];
  /** True when nothing of the operation is left to run. */
  readonly empty: boolean;
  /** Distinguishes documents cut differently, for plan caches keyed by the query text. */
  readonly fingerprint: string;
}

/**
 * The `@authenticated` and `@requiresScopes` rules the subgraphs declare, as composed into the
 * supergraph, enforced at the gateway: a field the caller may not read is removed from the operation
 * and answered with a coded error, and the rest of the response is still served.
 */
export interface AccessRules {
  /** Whether any rule exists (a supergraph without rules skips the walk). */
  readonly any: boolean;
  decide(document: DocumentNode, schema: GraphQLSchema, identity: Identity | null): AccessDecision;
}

/** Distinct sets of rights remembered per document (callers' scope sets can vary widely). */
const MAX_RIGHTS_PER_DOCUMENT = 64;

const SECURITY_FEATURES =
  /(@link\(url: "https:\/\/specs\.apollo\.dev\/(?:authenticated|requiresScopes)\/v[\d.]+"), for: SECURITY\)/g;

/**
 * The supergraph as `@apollo/gateway` accepts it: it refuses every `for: SECURITY` feature it does
 * not enforce itself, and the gateway enforces `@authenticated`/`@requiresScopes` here instead
 * (`readAccessRules` reads them from the same SDL).
 */
export function withoutSecurityPurpose(supergraphSdl: string): string {
  return supergraphSdl.replace(SECURITY_FEATURES, '$1)');
}

export function readAccessRules(supergraphSdl: string): AccessRules {
  const fields = new Map<string, Requirement>();
  const types = new Map<string, Requirement>();
  for (const definition of parse(supergraphSdl).definitions) {
    if (
      definition.kind !== Kind.OBJECT_TYPE_DEFINITION &&
      definition.kind !== Kind.INTERFACE_TYPE_DEFINITION &&
      definition.kind !== Kind.OBJECT_TYPE_EXTENSION
    ) {
      continue;
    }
    const typeRequirement = requirementOf(definition.directives ?? []);
    if (typeRequirement) types.set(definition.name.value, typeRequirement);
    for (const field of definition.fields ?? []) {
      const requirement = requirementOf(field.directives ?? []);
      if (requirement) fields.set(`${definition.name.value}.${field.name.value}`, requirement);
    }
  }
  const any = fields.size > 0 || types.size > 0;
  const decisions = new WeakMap<
    DocumentNode,
    Map<string, { schema: GraphQLSchema; decision: AccessDecision }>
  >();

  return {
    any,
    decide(document, schema, identity) {
      if (!any) return { document, denied: [], empty: false, fingerprint: '' };
      const held = new Set([...(identity?.scopes ?? []), ...(identity?.roles ?? []).map((r) => `role:${r}`)]);
      // Apollo hands the same document object to every request with the same text: walk it once
      // per set of rights, not once per request.
      const rights = `${identity ? 'caller' : 'anonymous'}|${[...held].sort().join(' ')}`;
      let byRights = decisions.get(document);
      if (!byRights) {
        byRights = new Map();
        decisions.set(document, byRights);
      }
      const cached = byRights.get(rights);
      if (cached && cached.schema === schema) return cached.decision;
      const decision = walk(document, schema, identity, held);
      if (byRights.size < MAX_RIGHTS_PER_DOCUMENT) byRights.set(rights, { schema, decision });
      return decision;
    },
  };

  function walk(
    document: DocumentNode,
    schema: GraphQLSchema,
    identity: Identity | null,
    held: ReadonlySet<string>,
  ): AccessDecision {
    const denied: GraphQLError[] = [];
    const removed: string[] = [];
    const path: string[] = [];
    const typeInfo = new TypeInfo(schema);
    let rootEmpty = false;
    const cut = visit(
      document,
      visitWithTypeInfo(typeInfo, {
        Field: {
          enter(node: FieldNode) {
            const parent = typeInfo.getParentType();
            const definition = typeInfo.getFieldDef();
            path.push(node.alias?.value ?? node.name.value);
            if (!parent || !definition) return undefined;
            const coordinate = `${parent.name}.${definition.name}`;
            const returned = getNamedType(definition.type).name;
            const blocking = [fields.get(coordinate), types.get(returned)].find(
              (r) => r !== undefined && !satisfied(r, identity, held),
            );
            if (!blocking) return undefined;
            path.pop();
            removed.push(coordinate);
            denied.push(
              deniedError(coordinate, blocking, identity, [...path, node.alias?.value ?? node.name.value]),
            );
            return null;
          },
          leave() {
            path.pop();
          },
        },
        SelectionSet: {
          leave(node: SelectionSetNode, _key, parent) {
            if (node.selections.length > 0) return undefined;
            const isRoot =
              parent !== undefined && 'kind' in parent && parent.kind === Kind.OPERATION_DEFINITION;
            if (isRoot) rootEmpty = true;
            // Keep the document valid where every field of a selection was removed.
            return {
              ...node,
              selections: [{ kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } }],
            };
          },
        },
      }),
    );
    if (denied.length === 0) return { document, denied, empty: false, fingerprint: '' };
    const fingerprint = createHash('sha256').update(removed.sort().join('\n')).digest('hex').slice(0, 16);
    return { document: cut, denied, empty: rootEmpty, fingerprint };
  }
}

function satisfied(requirement: Requirement, identity: Identity | null, held: ReadonlySet<string>): boolean {
  if (requirement.authenticated && !identity) return false;
  if (!requirement.scopes) return true;
  return identity !== null && requirement.scopes.some((set) => set.every((scope) => held.has(scope)));
}

function deniedError(
  coordinate: string,
  requirement: Requirement,
  identity: Identity | null,
  path: readonly string[],
): GraphQLError {
  const needs = requirement.scopes
    ? `one of the scope sets ${requirement.scopes.map((set) => `[${set.join(', ')}]`).join(' or ')}`
    : 'an authenticated caller';
  return new GraphQLError(`Not authorized to access ${coordinate}: it requires ${needs}`, {
    path,
    extensions: { code: identity ? ErrorCode.FORBIDDEN : ErrorCode.UNAUTHENTICATED, field: coordinate },
  });
}

function requirementOf(directives: readonly ConstDirectiveNode[]): Requirement | undefined {
  let authenticated = false;
  let scopes: string[][] | undefined;
  for (const directive of directives) {
    if (directive.name.value === 'authenticated') authenticated = true;
    if (directive.name.value === 'requiresScopes') {
      const argument = directive.arguments?.find((a) => a.name.value === 'scopes');
      if (argument?.value.kind === Kind.LIST) {
        scopes = argument.value.values.map((set) =>
          set.kind === Kind.LIST ? set.values.flatMap((s) => (s.kind === Kind.STRING ? [s.value] : [])) : [],
        );
      }
    }
  }
  return authenticated || scopes ? { authenticated, scopes } : undefined;
}
