// Percentiles and plain-text tables.

/** Collects samples (ms) and answers percentiles (nearest rank). */
export class Samples {
  private values: number[] = [];
  private sorted = true;

  static of(values: number[]): Samples {
    const s = new Samples();
    for (const v of values) s.add(v);
    return s;
  }

  add(v: number): void {
    this.values.push(v);
    this.sorted = false;
  }

  get count(): number {
    return this.values.length;
  }

  p(q: number): number | null {
    if (!this.values.length) return null;
    if (!this.sorted) {
      this.values.sort((a, b) => a - b);
      this.sorted = true;
    }
    const rank = Math.min(
      this.values.length - 1,
      Math.max(0, Math.ceil(q * this.values.length) - 1),
    );
    return round(this.values[rank]!, 2);
  }

  mean(): number | null {
    if (!this.values.length) return null;
    return round(this.values.reduce((a, b) => a + b, 0) / this.values.length, 2);
  }
}

export function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export type Cell = string | number | null | undefined;

function show(c: Cell): string {
  if (c === null || c === undefined) return '-';
  if (typeof c === 'number') {
    if (!Number.isFinite(c)) return '-';
    if (Number.isInteger(c)) return c.toLocaleString('en');
    return Math.abs(c) >= 100 ? Math.round(c).toLocaleString('en') : c.toFixed(c < 10 ? 2 : 1);
  }
  return c;
}

/** An aligned table: text columns to the left, numbers to the right. */
export function table(title: string, header: string[], rows: Cell[][]): string {
  const cells = rows.map((r) => r.map(show));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.every((r) => typeof r[i] !== 'string'));
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] && i > 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [title, line(header), rule, ...cells.map(line)].join('\n');
}
