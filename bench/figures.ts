/**
 * What the benchmark reports: figures, each a value measured side by side with a baseline in
 * the same process run, over at least three paired runs. On a small, noisy machine absolute
 * numbers drift from run to run; the ratio to a baseline measured moments apart does not.
 */
import { formatNumber } from './table.ts';

/** One run of a figure: the measured value and the baseline measured next to it. */
export interface RunPair {
  value: number;
  baseline: number;
}

/** A target on the value itself or on the ratio value / baseline. */
export interface Target {
  on: 'value' | 'ratio';
  op: '>=' | '<=' | '<' | '=';
  bound: number;
}

export interface Figure {
  section: string;
  name: string;
  unit: string;
  value: number;
  baseline: { name: string; value: number };
  /** Median of the per-run ratios value / baseline (runs are paired); null when undefined (0 / 0). */
  ratio: number | null;
  /** E.g. "ratio ≥ 0.5", "≤ 20 ms"; null when the figure has no target. */
  target: string | null;
  met: boolean | null;
  runs: RunPair[];
  note?: string;
}

export interface FigureSpec {
  section: string;
  name: string;
  unit: string;
  baselineName: string;
  runs: RunPair[];
  target?: Target;
  note?: string;
}

/**
 * A figure from paired runs: value and baseline are the medians of their runs; the ratio is the
 * median of the per-run ratios, so a noisy moment that slows one pair does not skew it.
 */
export function pairedFigure(spec: FigureSpec): Figure {
  if (spec.runs.length === 0) throw new Error(`${spec.section}/${spec.name}: no runs`);
  const value = median(spec.runs.map((r) => r.value));
  const baseline = median(spec.runs.map((r) => r.baseline));
  const ratios = spec.runs.filter((r) => r.baseline !== 0).map((r) => r.value / r.baseline);
  const ratio = ratios.length > 0 ? median(ratios) : null;
  return finish(spec, value, baseline, ratio);
}

/** A figure whose value and baseline are totals over the runs (e.g. error counts), not medians. */
export function summedFigure(spec: FigureSpec): Figure {
  const value = spec.runs.reduce((s, r) => s + r.value, 0);
  const baseline = spec.runs.reduce((s, r) => s + r.baseline, 0);
  return finish(spec, value, baseline, baseline === 0 ? null : value / baseline);
}

function finish(spec: FigureSpec, value: number, baseline: number, ratio: number | null): Figure {
  const { target } = spec;
  return {
    section: spec.section,
    name: spec.name,
    unit: spec.unit,
    value,
    baseline: { name: spec.baselineName, value: baseline },
    ratio,
    target: target ? describeTarget(target, spec.unit) : null,
    met: target ? meets(target, target.on === 'value' ? value : ratio) : null,
    runs: spec.runs,
    ...(spec.note ? { note: spec.note } : {}),
  };
}

const OP_TEXT: Record<Target['op'], string> = { '>=': '≥', '<=': '≤', '<': '<', '=': '=' };

function describeTarget(t: Target, unit: string): string {
  return t.on === 'ratio' ? `ratio ${OP_TEXT[t.op]} ${formatNumber(t.bound)}` : `${OP_TEXT[t.op]} ${formatNumber(t.bound)} ${unit}`;
}

function meets(t: Target, x: number | null): boolean {
  if (x === null || !Number.isFinite(x)) return false;
  switch (t.op) {
    case '>=':
      return x >= t.bound;
    case '<=':
      return x <= t.bound;
    case '<':
      return x < t.bound;
    case '=':
      return x === t.bound;
  }
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(xs: ArrayLike<number>, p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = Float64Array.from(xs).sort();
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1] as number;
}

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export function nowMs(): number {
  return performance.now();
}
