import { parse, visit } from 'graphql';

// Every name ever pinned, as keys: V8 keeps one string per content in its string table (property
// keys, JSON keys), and these references keep the one-byte ones there for the process's life.
const pinned = Object.create(null) as Record<string, true>;

/**
 * Makes the supergraph's names one-byte strings in V8's string table before
 * `@apollo/federation-internals` builds the schema, and so before anything else can add them.
 *
 * Why: names reach V8's string table as two-byte (UTF-16) strings unless pinned. A supergraph with
 * one non-ASCII character in a description (the platform's has '…' and '→') is a two-byte string,
 * and so is every name parsed from it; from an ASCII one, federation-internals' `buildSchema`
 * makes two-byte copies of names on some runs (V8 marks ThinStrings two-byte, and joins over them
 * come out two-byte). V8 stores one string per content for every object key. The first to add "price" decides it for the
 * whole process, so every answer object keyed by a schema name — the result shaper's and the
 * parsed subgraph answers alike — is then two-byte, and so is `JSON.stringify` of the answer.
 * The 87 KB benchmark answer became a 174 KB string, flattened into V8's large-object space on each
 * write (fresh pages, page faults) and transcoded to UTF-8 by the socket: 15% of the gateway's CPU
 * per request. GraphQL names are ASCII, so a one-byte copy always exists; pinned first, it is the
 * one every later key finds.
 *
 * A name a running process has already stored two-byte stays so; an SDL that does not parse is
 * left to Apollo to report.
 */
export function pinSchemaNamesOneByte(supergraphSdl: string): string {
  let document;
  try {
    document = parse(supergraphSdl, { noLocation: true });
  } catch {
    return supergraphSdl;
  }
  visit(document, {
    Name(node) {
      // Decoding as latin1 always makes a one-byte string; the SDL itself is two-byte as soon as
      // one description holds a non-ASCII character, and so is every name parsed from it. Only the
      // copy may touch a key: V8 stores a string used to look a key up too (`pinned[node.value]`
      // would store the two-byte name first, and the pin would find it).
      pinned[Buffer.from(node.value, 'latin1').toString('latin1')] = true;
    },
  });
  return supergraphSdl;
}
