// Colour-blind-friendly series colours: Okabe–Ito (yellow moved last: weak on white), then the
// rest of Tableau 10 for larger comparisons. Opaque hex only, so tests can find them on a canvas.
export const PALETTE = [
  '#0072b2', // blue
  '#e69f00', // orange
  '#009e73', // bluish green
  '#d55e00', // vermillion
  '#cc79a7', // reddish purple
  '#56b4e9', // sky blue
  '#000000', // black
  '#9c755f', // brown (Tableau)
  '#8c8c8c', // grey
  '#b07aa1', // purple (Tableau)
  '#edc948', // yellow (Tableau)
  '#76b7b2', // teal (Tableau)
] as const;

export function colorAt(i: number): string {
  return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length]!;
}

/** Fixed colours of the single-run charts. */
export const METRIC_COLORS = {
  train: '#0072b2',
  val: '#d55e00',
  step: '#8fb8de', // thin per-step line, light blue (opaque)
  lr: '#009e73',
} as const;


/** Dash patterns (canvas setLineDash / SVG stroke-dasharray, in px) that tell apart runs whose
 * colours repeat: the first PALETTE.length series are solid, the next ones dashed, then dotted,
 * dash-dot, long dashes; after 60 series the patterns repeat too. */
export const DASHES: readonly (readonly number[])[] = [[], [7, 4], [2, 3], [9, 3, 2, 3], [14, 5]];

export function dashAt(i: number): number[] {
  const k = Math.floor(Math.max(0, i) / PALETTE.length) % DASHES.length;
  return [...DASHES[k]!];
}

/** The colour and line style of the i-th run of a comparison (distinct for the first 60). */
export function seriesStyleAt(i: number): { color: string; dash: number[] } {
  return { color: colorAt(i), dash: dashAt(i) };
}
