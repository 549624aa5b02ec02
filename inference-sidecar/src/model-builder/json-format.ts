/**
 * JSON text laid out exactly as the repository's prettier config lays it out (print width 110),
 * so the generated model files pass `prettier --check` and regenerate byte for byte. Objects are
 * always expanded one key per line; arrays stay on one line when they fit, numbers otherwise fill
 * lines, and anything else goes one element per line (prettier's rules for JSON).
 */

const PRINT_WIDTH = 110;
const INDENT = '  ';

/** A JSON value whose text is deterministic: no `undefined`, no functions, finite numbers. */
export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Serialises `value` with a trailing newline. */
export function formatJson(value: JsonValue): string {
  return `${formatValue(value, '', 0)}\n`;
}

/**
 * `prefixWidth` is how many characters precede the value on its first line (indent and key);
 * `suffixWidth` is what follows it there (a comma), both needed to decide whether an array fits.
 */
function formatValue(value: JsonValue, indent: string, prefixWidth: number, suffixWidth = 0): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`JSON cannot hold the number ${value}`);
    return JSON.stringify(value);
  }
  if (isArray(value)) return formatArray(value, indent, prefixWidth, suffixWidth);
  const keys = Object.keys(value);
  if (keys.length === 0) return '{}';
  const inner = indent + INDENT;
  const lines = keys.map((key, i) => {
    const prefix = `${inner}${JSON.stringify(key)}: `;
    const comma = i + 1 < keys.length ? ',' : '';
    return `${prefix}${formatValue(value[key]!, inner, prefix.length, comma.length)}${comma}`;
  });
  return `{\n${lines.join('\n')}\n${indent}}`;
}

function isArray(value: JsonValue): value is readonly JsonValue[] {
  return Array.isArray(value);
}

function formatArray(
  values: readonly JsonValue[],
  indent: string,
  prefixWidth: number,
  suffixWidth: number,
): string {
  if (values.length === 0) return '[]';
  const inner = indent + INDENT;
  const flat = values.every((v) => v === null || typeof v !== 'object');
  if (flat) {
    const items = values.map((v) => formatValue(v, inner, 0));
    const oneLine = `[${items.join(', ')}]`;
    if (prefixWidth + oneLine.length + suffixWidth <= PRINT_WIDTH) return oneLine;
    if (values.every((v) => typeof v === 'number'))
      return `[\n${fillLines(items, inner).join('\n')}\n${indent}]`;
  }
  const lines = values.map((v, i) => {
    const comma = i + 1 < values.length ? ',' : '';
    return `${inner}${formatValue(v, inner, inner.length, comma.length)}${comma}`;
  });
  return `[\n${lines.join('\n')}\n${indent}]`;
}

/** Prettier's `fill`: the next number, with its comma, joins the line while it still fits. */
function fillLines(items: readonly string[], indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  items.forEach((item, i) => {
    const text = i + 1 < items.length ? `${item},` : item;
    if (line !== '' && line.length + 1 + text.length <= PRINT_WIDTH) line += ` ${text}`;
    else {
      if (line !== '') lines.push(line);
      line = indent + text;
    }
  });
  lines.push(line);
  return lines;
}
