/** The printed report: one aligned row per figure, notes underneath. */
import type { Figure } from './figures.ts';

const HEADER = ['section', 'figure', 'value', 'baseline', 'baseline value', 'ratio', 'target', 'met'] as const;

export function renderTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [
    f.section,
    f.note ? `${f.name} [${noteNumber(figures, f)}]` : f.name,
    `${formatNumber(f.value)} ${f.unit}`,
    f.baseline.name,
    `${formatNumber(f.baseline.value)} ${f.unit}`,
    f.ratio === null ? '–' : formatNumber(f.ratio),
    f.target ?? '–',
    f.met === null ? '' : f.met ? 'yes' : 'NO',
  ]);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  // Numbers read best right-aligned; words left-aligned.
  const numeric = new Set([2, 4, 5]);
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  const out = [line(HEADER), widths.map((w) => '-'.repeat(w)).join('  ')];
  let previous: string | undefined;
  for (const [i, r] of rows.entries()) {
    const section = (figures[i] as Figure).section;
    if (previous !== undefined && section !== previous) out.push('');
    previous = section;
    out.push(line(r));
  }
  const notes = figures.filter((f) => f.note);
  if (notes.length > 0) {
    out.push('');
    for (const f of notes) out.push(`[${noteNumber(figures, f)}] ${f.note}`);
  }
  return out.join('\n');
}

function noteNumber(figures: readonly Figure[], f: Figure): number {
  return figures.filter((g) => g.note).indexOf(f) + 1;
}

/** Three significant digits at most below 1000, whole numbers with separators above. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  if (abs >= 1000) return Math.round(x).toLocaleString('en-US');
  if (abs >= 100) return x.toFixed(0);
  if (abs >= 10) return x.toFixed(1);
  if (abs >= 1) return x.toFixed(2);
  if (abs === 0) return '0';
  return x.toPrecision(2);
}

/** A size as figure names use it: 2000 → "2k", 1000000 → "1M". */
export function formatCount(n: number): string {
  if (n >= 1_000_000 && n % 100_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 1000 && n % 100 === 0) return `${n / 1000}k`;
  return String(n);
}
