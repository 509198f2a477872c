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

