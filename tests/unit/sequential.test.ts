// src/shared/sequential.ts (anytime-valid confidence sequence) against numerical integration of the
// mixture martingale (tests/reference/sequential_reference.py with SciPy 1.10 wrote
// tests/fixtures/sequential_reference.json), its edges, and a seeded Monte Carlo of the property
// it exists for: the CS misses the true mean at ANY n = 2..20 with probability <= alpha, while the
// fixed-n t-interval looked at after every seed does not.
import fs from 'node:fs';
import path from 'node:path';
import mt19937 from '@stdlib/random-base-mt19937';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { describe, expect, it } from 'vitest';
import { csHalfWidthFactor, csLogMartingale, csMixing, csPath, csRunningIntersection, tConfidenceSequence } from '../../src/shared/sequential';

interface SeqCase {
  name: string;
  d: number[];
  alpha: number;
  c: number;
  lo: number | null; // null: -Infinity
  hi: number | null; // null: +Infinity
  logM: { mu0: number; logM: number }[];
}

const fx = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/sequential_reference.json'), 'utf8')) as {
  scipy: string;
  sequential: { cases: SeqCase[]; mixing: { alpha: number; targetN: number; c: number; halfWidth: number }[] };
};

const sd = (d: readonly number[]) => {
  const m = d.reduce((a, b) => a + b, 0) / d.length;
  return Math.sqrt(d.reduce((a, b) => a + (b - m) * (b - m), 0) / (d.length - 1));
};

describe('confidence sequence against numerical integration (SciPy)', () => {
  it('the fixture comes from SciPy 1.10 and covers n = 2..30, several alpha and c, infinite and finite CSs', () => {
    expect(fx.scipy.startsWith('1.10.')).toBe(true);
    const cases = fx.sequential.cases;
    expect(cases.length).toBeGreaterThanOrEqual(15);
    expect(Math.min(...cases.map((c) => c.d.length))).toBe(2);
    expect(Math.max(...cases.map((c) => c.d.length))).toBe(30);
    expect(new Set(cases.map((c) => c.alpha)).size).toBeGreaterThanOrEqual(3);
    expect(cases.some((c) => c.hi === null)).toBe(true);
    expect(cases.filter((c) => c.hi !== null).length).toBeGreaterThanOrEqual(10);
  });

  // The reference integrates to ~1e-12 relative in M and root-finds to 1e-13 s, so the endpoints
  // agree to rounding of the closed form: 1e-9 s plus 1e-13 of the endpoint's size (the "offset"
  // case sits at 1000 with s = 1e-3). A wrong R, K, s2b or c moves them by percents of s.
  it.each(fx.sequential.cases)('$name: endpoints', (c) => {
    const ci = tConfidenceSequence(c.d, c.alpha, { c: c.c });
    expect(ci).not.toBeNull();
    const s = sd(c.d);
    const want: [number, number] = [c.lo ?? -Infinity, c.hi ?? Infinity];
    for (let k = 0; k < 2; k++) {
      if (!Number.isFinite(want[k]!)) expect(ci![k]).toBe(want[k]);
      else expect(Math.abs(ci![k]! - want[k]!), `${k}: ${ci![k]} vs ${want[k]}`).toBeLessThanOrEqual(1e-9 * s + 1e-13 * Math.abs(want[k]!));
    }
  });

  // log M itself, at the mean, 0.5 s, -1.3 s and 4 s away: the integrals are good to ~1e-12.
  it.each(fx.sequential.cases)('$name: log M_n', (c) => {
    for (const { mu0, logM } of c.logM) {
      expect(Math.abs(csLogMartingale(c.d, mu0, c.c) - logM), `mu0 ${mu0}`).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(logM)));
    }
  });

  // The reference minimises the numerical half-width over log c to 1e-7; the half-width is flat at
  // its minimum, so its value agrees closely (1e-8 relative) and the argmin loosely (1e-3 relative).
  it.each(fx.sequential.mixing)('csMixing(alpha=$alpha, targetN=$targetN)', (m) => {
    const c = csMixing(m.alpha, m.targetN);
    expect(Math.abs(c / m.c - 1), `c ${c} vs ${m.c}`).toBeLessThanOrEqual(1e-3);
    const hw = csHalfWidthFactor(m.targetN, m.alpha, c);
    expect(Math.abs(hw / m.halfWidth - 1), `half-width ${hw} vs ${m.halfWidth}`).toBeLessThanOrEqual(1e-8);
    // it is a minimum: a little more or less mixing is wider
    expect(csHalfWidthFactor(m.targetN, m.alpha, c * 1.05)).toBeGreaterThan(hw);
    expect(csHalfWidthFactor(m.targetN, m.alpha, c / 1.05)).toBeGreaterThan(hw);
  });
});

describe('confidence sequence: API and edges', () => {
  const d = [0.012, 0.004, 0.009, -0.002, 0.015, 0.007, 0.011, 0.003, 0.008, 0.010, 0.006, 0.013];

  it('the default mixing is csMixing(alpha, 10) = 0.7224 for alpha = 0.05, independent of the data', () => {
    expect(csMixing(0.05, 10)).toBeCloseTo(0.7224, 4);
    expect(tConfidenceSequence(d, 0.05)).toEqual(tConfidenceSequence(d, 0.05, { c: csMixing(0.05, 10) }));
    expect(tConfidenceSequence(d, 0.05, { targetN: 10 })).toEqual(tConfidenceSequence(d, 0.05));
    // a larger targetN spreads the prior less (larger c)
    expect(csMixing(0.05, 20)).toBeGreaterThan(csMixing(0.05, 10));
  });

  it('null for n < 2, whole line while R >= n, then finite and wider than the t-interval', () => {
    expect(tConfidenceSequence([], 0.05)).toBeNull();
    expect(tConfidenceSequence([1], 0.05)).toBeNull();
    expect(tConfidenceSequence(d.slice(0, 2), 0.05)).toEqual([-Infinity, Infinity]);
    expect(tConfidenceSequence(d.slice(0, 4), 0.05)).toEqual([-Infinity, Infinity]);
    const c = csMixing(0.05, 10);
    for (const n of [5, 10, 20]) {
      const t = tQuantile(0.975, n - 1) / Math.sqrt(n);
      expect(csHalfWidthFactor(n, 0.05, c)).toBeGreaterThan(t);
    }
    const ci = tConfidenceSequence(d, 0.05)!;
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    expect((ci[0] + ci[1]) / 2).toBeCloseTo(mean, 15);
    expect((ci[1] - ci[0]) / 2 / sd(d)).toBeCloseTo(csHalfWidthFactor(d.length, 0.05, c), 12);
  });

  it('the endpoints are where M_n = 1/alpha, and M_n < 1/alpha inside', () => {
    const c = csMixing(0.05, 10);
    const [lo, hi] = tConfidenceSequence(d, 0.05)!;
    expect(csLogMartingale(d, lo, c)).toBeCloseTo(Math.log(20), 9);
    expect(csLogMartingale(d, hi, c)).toBeCloseTo(Math.log(20), 9);
    expect(csLogMartingale(d, (lo + hi) / 2, c)).toBeLessThan(Math.log(20));
    expect(csLogMartingale([d[0]!], 5, c)).toBe(0); // M_1 = 1
  });

  it('is equivariant under shift and scale of the differences', () => {
    const [lo, hi] = tConfidenceSequence(d, 0.1)!;
    const [lo2, hi2] = tConfidenceSequence(
      d.map((x) => 3 - 250 * x),
      0.1,
    )!;
    expect(lo2).toBeCloseTo(3 - 250 * hi, 10);
    expect(hi2).toBeCloseTo(3 - 250 * lo, 10);
  });

  it('identical differences: [x, x] once R < n (the model reads them as exact), the whole line before', () => {
    expect(tConfidenceSequence([0.1, 0.1, 0.1], 0.05)).toEqual([-Infinity, Infinity]);
    expect(tConfidenceSequence(Array(8).fill(0.1), 0.05)).toEqual([0.1, 0.1]);
  });

  it('csPath is the CS of each prefix; the running intersection is nested and contains each path element', () => {
    const p = csPath(d, 0.05);
    expect(p).toHaveLength(d.length);
    expect(p[0]).toEqual([-Infinity, Infinity]);
    for (let n = 2; n <= d.length; n++) expect(p[n - 1]).toEqual(tConfidenceSequence(d.slice(0, n), 0.05));
    const r = csRunningIntersection(d, 0.05);
    for (let i = 0; i < d.length; i++) {
      expect(r[i]).not.toBeNull();
      expect(r[i]![0]).toBeGreaterThanOrEqual(p[i]![0]);
      expect(r[i]![1]).toBeLessThanOrEqual(p[i]![1]);
      if (i > 0) {
        expect(r[i]![0]).toBeGreaterThanOrEqual(r[i - 1]![0]);
        expect(r[i]![1]).toBeLessThanOrEqual(r[i - 1]![1]);
      }
    }
    expect(r[d.length - 1]![0]).toBe(Math.max(...p.map((x) => x[0])));
  });

  it('the running intersection skips zero-spread prefixes and reports null once empty', () => {
    // eight tied differences (quantized metric) then spread: the tied prefixes are [0.001, 0.001]
    const tied = [...Array(8).fill(0.001), 0.004, 0.006, -0.001, 0.005];
    const p = csPath(tied, 0.05);
    expect(p[7]).toEqual([0.001, 0.001]);
    const r = csRunningIntersection(tied, 0.05);
    expect(r[7]).toEqual([-Infinity, Infinity]);
    const after = p.slice(8);
    expect(r[11]).toEqual([Math.max(...after.map((x) => x[0])), Math.min(...after.map((x) => x[1]))]);
    expect(r[11]![0]).toBeLessThan(0.001); // the tie would have pinned it to [0.001, 0.001]
    // disjoint CSs: an empty intersection
    const jump = [...[0.1, 0.2, 0.15, 0.12, 0.18, 0.11, 0.16, 0.14, 0.13, 0.17], ...Array(40).fill(0).map((_, i) => 5 + 0.01 * (i % 5))];
    const rj = csRunningIntersection(jump, 0.05);
    expect(rj[9]).not.toBeNull();
    expect(rj[rj.length - 1]).toBeNull();
  });

  it('rejects bad input', () => {
    expect(() => tConfidenceSequence([1, 2, NaN], 0.05)).toThrow(/non-finite/);
    expect(() => tConfidenceSequence([1, 2], 0)).toThrow(/alpha/);
    expect(() => tConfidenceSequence([1, 2], 1.5)).toThrow(/alpha/);
    expect(() => tConfidenceSequence([1, 2], 0.05, { c: -1 })).toThrow(/c must/);
    expect(() => csMixing(0.05, 1)).toThrow(/targetN/);
  });
});

describe('time-uniform coverage (seeded Monte Carlo)', () => {
  it('the CS misses the mean at some n = 2..20 at most alpha of the time; the t-interval looked at after every seed, far more', () => {
    const alpha = 0.05;
    const reps = 20_000;
    const nMax = 20;
    const mu = 0.3;
    const sigma = 2;
    const rand = mt19937.factory({ seed: 12345 }); // 32-bit integers
    const normal = () => {
      // Box-Muller from two uniforms, u in (0, 1) (never 0: log u finite), v in [0, 1)
      const u = (rand() + 0.5) / 4294967296;
      const v = rand() / 4294967296;
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    };
    const c = csMixing(alpha, 10);
    const tq = Array.from({ length: nMax + 1 }, (_, n) => (n >= 2 ? tQuantile(1 - alpha / 2, n - 1) : NaN));
    let csMiss = 0;
    let tMiss = 0;
    let tMissAt20 = 0;
    const x = new Array<number>(nMax);
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < nMax; i++) x[i] = mu + sigma * normal();
      let csOut = false;
      let tOut = false;
      let sum = 0;
      let ss = 0;
      for (let n = 1; n <= nMax; n++) {
        // running mean and sum of squared deviations (Welford) for the t-interval
        const delta = x[n - 1]! - sum / Math.max(n - 1, 1);
        sum += x[n - 1]!;
        if (n > 1) ss += delta * (x[n - 1]! - sum / n);
        if (n < 2) continue;
        const mean = sum / n;
        const half = (tq[n]! * Math.sqrt(ss / (n - 1))) / Math.sqrt(n);
        const tHit = Math.abs(mean - mu) > half;
        if (tHit) tOut = true;
        if (n === nMax && tHit) tMissAt20++;
        if (!csOut) {
          const [lo, hi] = tConfidenceSequence(x.slice(0, n), alpha, { c })!;
          if (mu < lo || mu > hi) csOut = true;
        }
      }
      if (csOut) csMiss++;
      if (tOut) tMiss++;
    }
    // Binomial SE of a rate near alpha over 20,000 repetitions: sqrt(0.05 * 0.95 / 20000) = 0.0015;
    // we allow 3 SEs above alpha (one-sided false-alarm chance ~0.1% if the true rate were exactly
    // alpha; Ville's bound makes it lower, about 0.01 here).
    const se = Math.sqrt((alpha * (1 - alpha)) / reps);
    const csRate = csMiss / reps;
    const tRate = tMiss / reps;
    expect(csRate, `CS ever misses: ${csRate}`).toBeLessThanOrEqual(alpha + 3 * se);
    // The fixed-n t-interval is exact at each n (its rate at n = 20 alone is alpha, within 3 SEs:
    // this checks the simulation itself), but looked at after each of 19 seeds it misses at some n
    // far more often: ~0.2 here; we require it above alpha + 20 SEs = 0.08.
    expect(Math.abs(tMissAt20 / reps - alpha), `t at n=20: ${tMissAt20 / reps}`).toBeLessThanOrEqual(3 * se);
    expect(tRate, `t-interval ever misses: ${tRate}`).toBeGreaterThan(alpha + 20 * se);
  });
});
