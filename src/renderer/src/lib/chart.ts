// Chart series helpers shared by the run and compare pages.
import type { MetricPoint } from '@shared/api';
import { isAccuracyKey, isLossKey, loss, num, pct } from './format';

export type XAxis = 'epoch' | 'step';
export type YFormat = 'pct' | 'loss' | 'num';

export interface ChartSeries {
  label: string;
  /** Opaque hex colour. */
  color: string;
  points: { x: number; y: number }[];
  /** A thin line drawn behind the others (per-step values). */
  thin?: boolean;
  dashed?: boolean;
  /** Dash pattern in px (wins over `dashed`); [] is solid. */
  dash?: number[];
  /** Drawn faint (another series is highlighted). */
  faded?: boolean;
  /** Drawn thicker and on top of the others. */
  highlighted?: boolean;
}

export function toXY(points: readonly MetricPoint[] | undefined, x: XAxis): { x: number; y: number }[] {
  if (!points) return [];
  return points.map((p) => ({ x: x === 'epoch' ? p.epoch : p.step, y: p.value }));
}

export function yFormatFor(key: string): YFormat {
  if (isAccuracyKey(key)) return 'pct';
  if (isLossKey(key)) return 'loss';
  return 'num';
}

/** A value as its format shows it in tooltips. */
export function formatValue(v: number, f: YFormat): string {
  if (f === 'pct') return pct(v);
  if (f === 'loss') return loss(v);
  return num(v, 3);
}

/** A "nice" tick step (1, 2 or 5 × 10^k) for a span. */
export function niceStep(span: number): number {
  const raw = span / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

export interface YRange {
  min?: number;
  max?: number;
  step?: number;
}

/** The range of the drawn values rounded out to nice ticks; accuracies stay within [0, 1] (unless
 * `signed`: differences), non-negative data >= 0. */
export function yRangeOf(values: Iterable<number>, f: YFormat, signed = false): YRange {
  let lo = Infinity;
  let hi = -Infinity;
  for (const y of values) {
    if (!Number.isFinite(y)) continue;
    if (y < lo) lo = y;
    if (y > hi) hi = y;
  }
  if (!Number.isFinite(lo)) return {};
  if (hi === lo) {
    const pad = Math.abs(hi) * 0.1 || (f === 'pct' ? 0.01 : 1);
    lo -= pad;
    hi += pad;
  }
  const step = niceStep(hi - lo);
  let min = Math.floor(lo / step) * step;
  let max = Math.ceil(hi / step) * step;
  if (max - hi < step * 0.15) max += step; // keep the top points off the frame
  if (f === 'pct' && !signed) {
    min = Math.max(0, min);
    max = Math.min(1, max);
  } else if (lo >= 0 && !signed) min = Math.max(0, min);
  return { min, max, step };
}

/** Axis tick labels: as many decimals as the tick step needs (shorter than tooltips). */
export function formatTick(v: number, range: YRange, f: YFormat): string {
  const step = range.step;
  if (step === undefined) return formatValue(v, f);
  if (Math.abs(v) < step * 1e-6) v = 0; // a tick at 0 built by adding steps: no "-0%
  const scale = f === 'pct' ? 100 : 1;
  const decimals = Math.max(0, -Math.floor(Math.log10(step * scale) + 1e-9));
  if (f !== 'pct' && v !== 0 && step < 1e-4) return v.toExponential(Math.max(0, Math.round(Math.log10(Math.abs(v) / step))));
  return `${(v * scale).toFixed(decimals)}${f === 'pct' ? '%' : ''}`;
}

/** The y axis of a chart: the nice range, its title, tick labels as the format needs. */
export function yScale(range: YRange, title: string, f: YFormat) {
  return {
    type: 'linear' as const,
    min: range.min,
    max: range.max,
    title: { display: true, text: title },
    ticks: { callback: (v: number | string) => formatTick(Number(v), range, f), stepSize: range.step, maxTicksLimit: 12 },
  };
}
