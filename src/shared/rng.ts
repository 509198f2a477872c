// Seeded randomness. Every random draw of a run comes from a named stream derived from the run
// seed, so that changing one part (say, the data order) never shifts another (the initial
// weights), and arms of a matched pair share the streams they have in common.
import seedrandom from 'seedrandom';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  uniform(lo: number, hi: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
}

export function makeRng(seed: number | string, stream: string): Rng {
  const prng = seedrandom.alea(`${stream}:${seed}`);
  let spare: number | null = null;
  const next = () => prng();
  return {
    next,
    int: (n) => Math.floor(next() * n),
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    normal() {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
  };
}

/** Fisher–Yates shuffle of 0..n-1 (or of the given indices), in place. */
export function permutation(rng: Rng, n: number): Int32Array;
export function permutation(rng: Rng, items: Int32Array): Int32Array;
export function permutation(rng: Rng, arg: number | Int32Array): Int32Array {
  const a = typeof arg === 'number' ? Int32Array.from({ length: arg }, (_, i) => i) : arg;
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}
