// The y axis of a chart: the data's range with a minimum height, so values that differ
// by float32 rounding (a constant learning rate of 0.01 stored as 9.9999997764825856e-3, a mean of
// three equal seeds, an EMA of a constant) are drawn as the flat line they are instead of a
// full-height zigzag with ticks like 9.9999997764825856e-3; then rounded out to nice ticks. The run
// page's charts (MetricChart) and the comparison's (BandChart) both use it. Self-contained (no
// imports) so that it is unit-tested as is.

export type AxisFormat = 'pct' | 'loss' | 'num';

export interface AxisRange {
  min?: number;
  max?: number;
  step?: number;
}

/** Spans below this fraction of the values' magnitude are rounding noise: a constant. */
export const NOISE = 1e-5;
/** The smallest span drawn, as a fraction of the values' magnitude. */
export const MIN_SPAN = 0.01;

/** A "nice" tick step (1, 2 or 5 × 10^k) for a span. */
export function niceStep(span: number): number {
  const raw = span / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/** The range of the finite values, at least MIN_SPAN of their magnitude high (centred on the
 * data), a constant padded by 10% each side as the run page does; rounded out to nice ticks.
 * Accuracies stay within [0, 1] and non-negative data >= 0, unless `signed` (differences). */
export function yRangeMin(values: Iterable<number>, f: AxisFormat, signed = false): AxisRange {
  let lo = Infinity;
  let hi = -Infinity;
  for (const y of values) {
    if (!Number.isFinite(y)) continue;
    if (y < lo) lo = y;
    if (y > hi) hi = y;
  }
  if (!Number.isFinite(lo)) return {};
  const nonNegative = lo >= 0;
  const mag = Math.max(Math.abs(lo), Math.abs(hi));
  const span = hi - lo;
  const mid = (lo + hi) / 2;
  if (mag === 0) {
    lo = -(f === 'pct' ? 0.01 : 1);
    hi = -lo;
  } else if (span < NOISE * mag) {
    // one value up to rounding: the run page's padding of a constant
    lo = mid - Math.abs(mid) * 0.1;
    hi = mid + Math.abs(mid) * 0.1;
  } else if (span < MIN_SPAN * mag) {
    lo = mid - (MIN_SPAN * mag) / 2;
    hi = mid + (MIN_SPAN * mag) / 2;
  }
  // padding must not push non-negative data (a loss, a rate) below zero
  if (!signed && nonNegative) lo = Math.max(0, lo);
  const step = niceStep(hi - lo);
  let min = Math.floor(lo / step + 1e-9) * step;
  let max = Math.ceil(hi / step - 1e-9) * step;
  if (max - hi < step * 0.15) max += step; // keep the top points off the frame
  if (f === 'pct' && !signed) {
    min = Math.max(0, min);
    max = Math.min(1, max);
  } else if (nonNegative && !signed) min = Math.max(0, min);
  return { min: round(min, step), max: round(max, step), step };
}

/** A multiple of step without the float error of the multiplication (0.0085 not 0.008499999…). */
function round(v: number, step: number): number {
  const d = Math.max(0, -Math.floor(Math.log10(step)) + 2);
  return Number(v.toFixed(Math.min(20, d)));
}

/** A tick label: as many decimals as the tick step needs, percent for accuracies; very small
 * steps in exponent notation with the digits the step needs (never 17 of them). */
export function tickLabel(v: number, range: AxisRange, f: AxisFormat): string {
  const step = range.step;
  if (step === undefined) return String(Number(v.toPrecision(4)));
  if (Math.abs(v) < step * 1e-6) v = 0; // a tick at 0 built by adding steps: no "-0%"
  const scale = f === 'pct' ? 100 : 1;
  const decimals = Math.max(0, -Math.floor(Math.log10(step * scale) + 1e-9));
  if (f !== 'pct' && v !== 0 && step < 1e-4) return v.toExponential(Math.max(0, Math.min(6, Math.round(Math.log10(Math.abs(v) / step)))));
  return `${(v * scale).toFixed(decimals)}${f === 'pct' ? '%' : ''}`;
}

/** The tick values from min to max by step. */
export function tickValues(r: AxisRange): number[] {
  if (r.min === undefined || r.max === undefined || !r.step) return [];
  const n = Math.round((r.max - r.min) / r.step);
  return Array.from({ length: Math.min(n, 100) + 1 }, (_, i) => round(r.min! + i * r.step!, r.step!));
}

/** The y axis of a comparison chart for Chart.js: the range, its title, our tick labels. */
export function yAxis(range: AxisRange, title: string, f: AxisFormat) {
  return {
    type: 'linear' as const,
    min: range.min,
    max: range.max,
    title: { display: true, text: title },
    ticks: { callback: (v: number | string) => tickLabel(Number(v), range, f), stepSize: range.step, maxTicksLimit: 12 },
  };
}
