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

/** A key's y format from the metric table: fractions in %, losses with 4 digits, else a number. */
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

