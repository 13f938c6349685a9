/** Markdown tables for command and benchmark reports. */

export type Align = 'left' | 'right' | 'center';
export type Cell = string | number | null | undefined;

/** Escapes the characters that would break a table cell. */
function cellText(c: Cell): string {
  if (c === null || c === undefined) return '';
  return String(c).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/**
 * A GitHub-flavoured Markdown table. Columns default to right alignment for
 * numbers (judged from the first row) and left otherwise.
 */
export function markdownTable(header: readonly string[], rows: readonly (readonly Cell[])[], align?: readonly Align[]): string {
  const cols = header.length;
  for (const [i, r] of rows.entries()) {
    if (r.length !== cols) throw new Error(`markdownTable: row ${i} has ${r.length} cells, header has ${cols}`);
  }
  const al = header.map((_, j) => align?.[j] ?? (typeof rows[0]?.[j] === 'number' ? 'right' : 'left'));
  const text = [header.map(cellText), ...rows.map((r) => r.map(cellText))];
  const width = header.map((_, j) => Math.max(3, ...text.map((r) => r[j]!.length)));
  const pad = (s: string, j: number): string => (al[j] === 'right' ? s.padStart(width[j]!) : al[j] === 'center' ? s.padStart((width[j]! + s.length) >> 1).padEnd(width[j]!) : s.padEnd(width[j]!));
  const rule = al.map((a, j) => {
    const w = width[j]!;
    if (a === 'right') return '-'.repeat(w - 1) + ':';
    if (a === 'center') return ':' + '-'.repeat(w - 2) + ':';
    return '-'.repeat(w);
  });
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(text[0]!.map(pad)), line(rule), ...text.slice(1).map((r) => line(r.map(pad)))].join('\n') + '\n';
}

/** Compact scientific notation for errors and small quantities: 9.766e-4. */
export function sci(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  return x === 0 ? '0' : x.toExponential(digits);
}
