/**
 * The lexer for MLflow's `search_runs` filter and order-by grammar (see `filter-parser.ts`), and the token
 * helpers the parser and the operator table share.
 *
 * IDENTIFIER is `<prefix>.<key>`; the key is bare (split on the first dot only) or quoted with backticks or
 * double quotes, without escapes. Strings use single or double quotes; a doubled quote is an escaped quote.
 */
import type { NumericOperator } from './filter-ast';
import { SearchSyntaxError } from './filter-ast';

type TokenFields =
  | { readonly kind: 'identifier'; readonly prefix: string; readonly key: string }
  | { readonly kind: 'word'; readonly text: string }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'operator'; readonly op: NumericOperator }
  | { readonly kind: 'lparen' | 'rparen' | 'comma' | 'end' };

/** A token spans `[start, end)` of the input text. */
type Token = TokenFields & { readonly start: number; readonly end: number };
export type IdentifierToken = Extract<Token, { kind: 'identifier' }>;

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const WORD = /[A-Za-z][\w\-./:]*/y;
const WORD_RUN = /[\w\-./:]*/y;
const WORD_CHAR = /[\w\-./:]/;
export const BARE_KEY = /^[\w\-./:]+$/;
const NUMBER = /-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
// Longest first, so `<=` is not scanned as `<` followed by `=`.
const OPERATORS: readonly NumericOperator[] = ['<=', '>=', '!=', '=', '<', '>'];

/** Scans tokens on demand, so the first error in reading order is the one reported. */
export class Lexer {
  private offset = 0;
  private lookahead: Token | undefined;

  constructor(private readonly text: string) {}

  peek(): Token {
    this.lookahead ??= this.scan();
    return this.lookahead;
  }

  next(): Token {
    const token = this.peek();
    this.lookahead = undefined;
    return token;
  }

  raw(token: Token): string {
    return this.text.slice(token.start, token.end);
  }

  private scan(): Token {
    while (WHITESPACE.has(this.text.charAt(this.offset))) this.offset++;
    const token = this.scanAt(this.offset, this.text.charAt(this.offset));
    this.offset = token.end;
    return token;
  }

  private scanAt(start: number, char: string): Token {
    switch (char) {
      case '':
        return { kind: 'end', start, end: start };
      case '(':
        return { kind: 'lparen', start, end: start + 1 };
      case ')':
        return { kind: 'rparen', start, end: start + 1 };
      case ',':
        return { kind: 'comma', start, end: start + 1 };
      case "'":
      case '"':
        return this.scanString(char, start);
      case '`':
        throw new SearchSyntaxError(
          "Unexpected '`'; backticks only quote a key, as in params.`my key`",
          start,
        );
    }
    if (this.text.startsWith('--', start) || this.text.startsWith('/*', start)) {
      throw new SearchSyntaxError('SQL comments are not allowed', start);
    }
    if (/[A-Za-z]/.test(char)) return this.scanWord(start);
    if (/[\d.-]/.test(char)) return this.scanNumber(start);
    const op = OPERATORS.find((candidate) => this.text.startsWith(candidate, start));
    if (op !== undefined) return { kind: 'operator', op, start, end: start + op.length };
    throw unexpectedCharacter(this.text, start);
  }

  private scanString(quote: string, start: number): Token {
    let value = '';
    let from = start + 1;
    for (;;) {
      const close = this.text.indexOf(quote, from);
      if (close === -1) throw new SearchSyntaxError('Unterminated string', start);
      value += this.text.slice(from, close);
      if (this.text.charAt(close + 1) !== quote) return { kind: 'string', value, start, end: close + 1 };
      value += quote;
      from = close + 2;
    }
  }

  /** A bare word is a keyword (`AND`, `ASC`, ...) unless it has a dot, which makes it an identifier. */
  private scanWord(start: number): Token {
    const word = matchAt(WORD, this.text, start);
    const end = start + word.length;
    const dot = word.indexOf('.');
    if (dot === -1) return { kind: 'word', text: word, start, end };
    const prefix = word.slice(0, dot);
    const key = word.slice(dot + 1);
    if (key !== '') return { kind: 'identifier', prefix, key, start, end };
    return this.scanQuotedKey(prefix, start, end);
  }

  private scanQuotedKey(prefix: string, start: number, keyStart: number): Token {
    const quote = this.text.charAt(keyStart);
    if (quote !== '`' && quote !== '"') {
      throw new SearchSyntaxError(`Missing key after '${truncate(prefix)}.'`, keyStart);
    }
    const close = this.text.indexOf(quote, keyStart + 1);
    if (close === -1) throw new SearchSyntaxError('Unterminated quoted key', keyStart);
    const key = this.text.slice(keyStart + 1, close);
    if (key === '') throw new SearchSyntaxError('Quoted key must not be empty', keyStart);
    return { kind: 'identifier', prefix, key, start, end: close + 1 };
  }

  private scanNumber(start: number): Token {
    const literal = matchAt(NUMBER, this.text, start);
    if (literal === '') throw unexpectedCharacter(this.text, start);
    const end = start + literal.length;
    if (WORD_CHAR.test(this.text.charAt(end))) {
      const run = matchAt(WORD_RUN, this.text, start);
      throw new SearchSyntaxError(`Invalid number '${truncate(run)}'`, start);
    }
    const value = Number(literal);
    if (!Number.isFinite(value))
      throw new SearchSyntaxError(`Number '${truncate(literal)}' is out of range`, start);
    // -0 would survive into bound parameters and surprise equality checks; it means 0.
    return { kind: 'number', value: value === 0 ? 0 : value, start, end };
  }
}

function matchAt(pattern: RegExp, text: string, start: number): string {
  pattern.lastIndex = start;
  return pattern.exec(text)?.[0] ?? '';
}

function unexpectedCharacter(text: string, offset: number): SearchSyntaxError {
  const codePoint = text.codePointAt(offset) ?? 0;
  const hex = `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
  if (codePoint < 0x20 || (codePoint >= 0x7f && codePoint <= 0x9f)) {
    return new SearchSyntaxError(`Unexpected character ${hex}`, offset);
  }
  const char = String.fromCodePoint(codePoint);
  if (codePoint > 0x7f) {
    // Typographic quotes and full-width operators usually come from pasted text; say what to type instead.
    const hint = 'outside quoted strings and keys only ASCII characters are allowed';
    return new SearchSyntaxError(`Unexpected character '${char}' (${hex}); ${hint}`, offset);
  }
  return new SearchSyntaxError(`Unexpected character '${char}'`, offset);
}

// ----------------------------------------------------------------------------------- shared token helpers

function isKeyword(token: Token, keyword: string): boolean {
  return token.kind === 'word' && token.text.toUpperCase() === keyword;
}

export function acceptKeyword(lexer: Lexer, keyword: string): boolean {
  if (!isKeyword(lexer.peek(), keyword)) return false;
  lexer.next();
  return true;
}

export function expectKeyword(lexer: Lexer, keyword: string, message: string): void {
  const token = lexer.next();
  if (!isKeyword(token, keyword)) throw new SearchSyntaxError(message, token.start);
}

export function expectEnd(lexer: Lexer): void {
  const token = lexer.peek();
  if (token.kind !== 'end') throw new SearchSyntaxError('Unexpected trailing input', token.start);
}

export function describeToken(lexer: Lexer, token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'end of input';
    case 'string':
      return 'a quoted string';
    case 'identifier':
    case 'word':
    case 'number':
    case 'operator':
    case 'lparen':
    case 'rparen':
    case 'comma':
      return `'${truncate(lexer.raw(token))}'`;
    default: {
      const _exhaustive: never = token;
      return _exhaustive;
    }
  }
}

/** Keeps messages short when the offending text is long; counts code points so no surrogate is split. */
export function truncate(text: string, max = 40): string {
  if (text.length <= max) return text;
  const codePoints = Array.from(text);
  return codePoints.length <= max ? text : `${codePoints.slice(0, max).join('')}…`;
}
