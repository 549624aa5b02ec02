import { Lexer, Source, TokenKind } from 'graphql';

/**
 * Counts the lexical tokens of a GraphQL document the way `graphql`'s parser does for its
 * `maxTokens` option (comments and the end-of-file marker do not count), without building an AST.
 * Stops at the first token over `max` and returns `max + 1`, so the work is bounded by `max`
 * whatever the document's size. A lexical error (an unterminated string, a stray character) ends
 * the count where it occurs and returns the tokens seen so far: reporting it is the parser's job.
 */
export function countTokens(source: string | Source, max: number = Infinity): number {
  const lexer = new Lexer(typeof source === 'string' ? new Source(source) : source);
  let count = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) {
      count += 1;
      if (count > max) return count;
    }
  } catch {
    // A syntax error; the parser reports it with its location.
  }
  return count;
}
