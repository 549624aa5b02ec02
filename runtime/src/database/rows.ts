/** PostgreSQL returns BIGINT as a string; epoch milliseconds, steps and sizes fit a double exactly. */
export function toNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

/** Groups rows by one column's value (as a string), mapping each row; for DataLoader batches. */
export function groupBy<T>(
  rows: readonly Record<string, unknown>[],
  column: string,
  map: (row: Record<string, unknown>) => T,
): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const id = String(row[column]);
    const list = groups.get(id);
    if (list) list.push(map(row));
    else groups.set(id, [map(row)]);
  }
  return groups;
}
