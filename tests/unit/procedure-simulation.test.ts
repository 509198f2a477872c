// The whole decision procedure under the null, simulated (seeded, fast): several arms against one
// baseline, paired by seed, and — in the sequential mode — seeds added one at a time until every
// arm is decided. The false-positive rate (any arm declared better or worse when none differs, or
// "equivalent" when the true difference sits on the margin) must stay at or below alpha within
// Monte Carlo error; the naive procedures it replaces must not, or the test could not fail.
//
// The verdicts come from src/shared/verdicts.ts, the functions the comparison service uses, fed
// with the paired t-test (@stdlib, as stats.ts uses it), Holm (inference.ts) and the confidence
// sequence (sequential.ts). pairedComparison itself (0.3 ms a call, with its signed-rank test) is
// checked against SciPy in stats.test.ts; here its t-test is called directly to keep this fast.
import { describe, expect, it } from 'vitest';
import mt19937 from '@stdlib/random-base-mt19937';
import { adjustP, tostPaired } from '../../src/shared/inference';
import { tConfidenceSequence } from '../../src/shared/sequential';
import ttest from '@stdlib/stats-ttest';
import { armVerdict, stoppingRule, type VerdictInput } from '../../src/shared/verdicts';

/** Standard normal draws (Box–Muller on a seeded Mersenne Twister). */
function normals(seed: number): () => number {
  const rand = mt19937.factory({ seed }); // 32-bit integers
  const u = () => rand() / 4294967296; // [0, 1)
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const t = 2 * Math.PI * u();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
}

const ALPHA = 0.05;
const SIMS = 2000;
// One-sided bound on a rate estimated from SIMS runs: alpha + 3 binomial SEs (0.0146 at 2000);
// a procedure at exactly alpha exceeds it with probability ~0.1%.
const bound = ALPHA + 3 * Math.sqrt((ALPHA * (1 - ALPHA)) / SIMS);

/** Per seed: a seed effect shared by every arm (so differences to the baseline are correlated,
 * as in the real design) and independent noise per arm; `effects[i]` shifts arm i. */
function simulateSeeds(rand: () => number, arms: number, seeds: number, effects: number[] = []): { base: number[]; arms: number[][] } {
  const base: number[] = [];
  const out: number[][] = Array.from({ length: arms }, () => []);
  for (let s = 0; s < seeds; s++) {
    const u = 2 * rand();
    base.push(u + rand());
    for (let i = 0; i < arms; i++) out[i]!.push(u + rand() + (effects[i] ?? 0));
  }
  return { base, arms: out };
}

/** Mean, SD and two-sided paired t-test p of the differences arm - base (the first n seeds). */
function paired(arm: readonly number[], base: readonly number[], n: number): { d: number[]; n: number; delta: number; sdDelta: number; identical: false; pTTest: number } {
  const d = arm.slice(0, n).map((v, j) => v - base[j]!);
  const mean = d.reduce((s, v) => s + v, 0) / n;
  const sd = Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  return { d, n, delta: mean, sdDelta: sd, identical: false, pTTest: ttest(Float64Array.from(d)).pValue };
}

const common = (k: number): Omit<VerdictInput, 'n' | 'delta' | 'sdDelta' | 'identical' | 'cs' | 'p' | 'tostP' | 'useCS'> => ({
  confirmatory: true,
  higherIsBetter: true,
  alpha: ALPHA,
  k,
  margin: null,
  effect: null,
  fmt: (v) => v.toFixed(3),
  // the seeds-needed figure only labels an undecided verdict (and costs a power search per call)
  seedsNeeded: () => null,
});

describe('false-positive rate of the whole procedure under the null (simulated)', () => {
  it('sequential: 4 arms, seeds added one at a time from 2 up to 12 until every arm is decided; no arm is ever wrongly declared better or worse more often than alpha', () => {
    const rand = normals(20261201);
    const K = 4;
    const MAX = 12;
    let anyFalse = 0;
    let naiveFalse = 0;
    for (let sim = 0; sim < SIMS; sim++) {
      const { base, arms } = simulateSeeds(rand, K, MAX);
      let falseHere = false;
      let naiveHere = false;
      for (let n = 2; n <= MAX; n++) {
        const verdicts = arms.map((a, i) => {
          const c = paired(a, base, n);
          if (c.pTTest < ALPHA) naiveHere = true; // what "add seeds until p < 0.05" does
          const cs = tConfidenceSequence(c.d, ALPHA / K, { targetN: MAX });
          return { name: `arm ${i}`, verdict: armVerdict({ ...common(K), n: c.n, delta: c.delta, sdDelta: c.sdDelta, identical: c.identical, cs, p: null, tostP: null, useCS: true }) };
        });
        if (verdicts.some((v) => v.verdict.kind === 'better' || v.verdict.kind === 'worse')) falseHere = true;
        if (stoppingRule(verdicts, n, MAX).done) break;
      }
      if (falseHere) anyFalse++;
      if (naiveHere) naiveFalse++;
    }
    expect(anyFalse / SIMS).toBeLessThanOrEqual(bound);
    // The naive procedure (unadjusted t-test after every seed, 4 arms) is far above alpha.
    expect(naiveFalse / SIMS).toBeGreaterThan(0.3);
  });

  it('fixed n: 5 arms at n = 3 and at n = 10; Holm keeps the family-wise rate at alpha, no correction does not', () => {
    const rand = normals(7);
    const K = 5;
    for (const n of [3, 10]) {
      let holmFalse = 0;
      let rawFalse = 0;
      for (let sim = 0; sim < SIMS; sim++) {
        const { base, arms } = simulateSeeds(rand, K, n);
        const cs = arms.map((a) => paired(a, base, n));
        const raw = cs.map((c) => c.pTTest);
        const adj = adjustP(raw, 'holm');
        const verdicts = cs.map((c, i) => armVerdict({ ...common(K), n: c.n, delta: c.delta, sdDelta: c.sdDelta, identical: c.identical, cs: null, p: adj[i]!, tostP: null, useCS: false }));
        if (verdicts.some((v) => v.kind === 'better' || v.kind === 'worse')) holmFalse++;
          if (raw.some((p) => p < ALPHA)) rawFalse++;
      }
      expect(holmFalse / SIMS, `Holm, n = ${n}`).toBeLessThanOrEqual(bound);
      // Five correlated comparisons without correction: about 0.18 here (the 0.21 is for independent arms).
      expect(rawFalse / SIMS, `unadjusted, n = ${n}`).toBeGreaterThan(0.12);
    }
  });

  it('"equivalent within ±m" is wrongly declared at most alpha of the time when the true difference is exactly m (TOST at fixed n, the sequence when seeds are added)', () => {
    const rand = normals(99);
    const M = 0.8; // the margin, in units of the per-arm noise SD
    const n = 10;
    let tostFalse = 0;
    let csFalse = 0;
    for (let sim = 0; sim < SIMS; sim++) {
      const { base, arms } = simulateSeeds(rand, 1, n, [M]);
      const c = paired(arms[0]!, base, n);
      const d = c.d;
      const v = armVerdict({ ...common(1), margin: M, n, delta: c.delta, sdDelta: c.sdDelta, identical: false, cs: null, p: c.pTTest, tostP: tostPaired(d, M).p, useCS: false });
      if (v.kind === 'equivalent') tostFalse++;
      for (let m = 2; m <= n; m++) {
        const cs = tConfidenceSequence(d.slice(0, m), ALPHA, { targetN: n });
        const w = armVerdict({ ...common(1), margin: M, n: m, delta: null, sdDelta: null, identical: false, cs, p: null, tostP: null, useCS: true });
        if (w.kind === 'equivalent') {
          csFalse++;
          break;
        }
      }
    }
    expect(tostFalse / SIMS).toBeLessThanOrEqual(bound);
    expect(csFalse / SIMS).toBeLessThanOrEqual(bound);
  });
});
