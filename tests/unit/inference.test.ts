// src/shared/inference.ts against statsmodels 0.13.5 / SciPy 1.10.1 / mpmath 1.2
// (tests/reference/inference_reference.py wrote tests/fixtures/inference_reference.json), and its
// behaviour: nulls in adjustP, bad arguments, monotonicity of the power.
import fs from 'node:fs';
import path from 'node:path';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { describe, expect, it } from 'vitest';
import {
  adjustP,
  clopperPearson,
  mcnemarExact,
  mde,
  pairedTPower,
  predictiveBetter,
  seedsNeeded,
  signTest,
  tostPaired,
  type PAdjustMethod,
} from '../../src/shared/inference';

interface Fixture {
  versions: { scipy: string; statsmodels: string; numpy: string; mpmath: string };
  adjust: { name: string; method: Exclude<PAdjustMethod, 'none'>; p: (number | null)[]; adjusted: (number | null)[] }[];
  tost: { name: string; x1: number[]; x2: number[]; margin: number; p: number; pLower: number; pUpper: number; df: number }[];
  sign: { better: number; worse: number; p: number }[];
  clopperPearson: { k: number; n: number; level: number; ci: [number, number] }[];
  mcnemar: { table: number[][]; armOnly: number; refOnly: number; p: number }[];
  power: { effect: number; sd: number; n: number; alpha: number; power: number; statsmodels: number; critExact: number; critSciPy: number; mpmath?: number }[];
  mde: { sd: number; n: number; alpha: number; power: number; mde: number; statsmodels: number | null }[];
  seedsNeeded: { effect: number; sd: number; alpha: number; power: number; max: number; n: number | null; ceilSolvePower: number | null }[];
  predictiveBetter: { better: number; tied: number; n: number; estimate: number; ci: [number, number] }[];
}

const fx = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/inference_reference.json'), 'utf8')) as Fixture;

const close = (actual: number | null | undefined, expected: number, label: string, rel: number, abs = 0) => {
  expect(actual, label).toBeTypeOf('number');
  expect(Math.abs(actual! - expected), `${label}: ${actual} vs ${expected}`).toBeLessThanOrEqual(rel * Math.abs(expected) + abs);
};

// Tolerances, by where the two sides' numbers come from:
// adjustP does statsmodels' arithmetic (the same products, quotients and running max/min in
// float64), so only an ulp of freedom: 1e-15 relative.
const ADJUST_REL = 1e-15;
// Tests on the t and binomial distributions (TOST, sign, McNemar) and Clopper–Pearson: one CDF or
// quantile on each side, Boost's (SciPy) against @stdlib's ports of the same incomplete-beta
// algorithms, each good to ~1e-14; 1e-11 relative fails on any wrong tail, df or off-by-one count.
const DIST_REL = 1e-11;
// Power: our adaptive Gauss–Kronrod integration (tolerance 1e-13 per tail) against Boost's
// noncentral t at the exact critical value: 1e-10 relative (the brief asks ~1e-9).
const POWER_REL = 1e-10;
// statsmodels' own power uses SciPy 1.10's t.isf for the critical value, which is off by up to
// ~3e-9 relative (cdflib); the fixture's worst effect on the power is 2.6e-8 relative: 5e-8.
const POWER_SM_REL = 5e-8;
// MDE: bisection to 1e-13 on a power accurate to ~1e-10; the power's slope in the effect is at
// least ~1e-3 in the fixture's ranges (n=2, alpha=0.001 is the flattest), so 1e-8 relative.
const MDE_REL = 1e-8;
// statsmodels' solve_power stops at its own tolerance: the fixture's worst is 7.9e-6 relative.
const MDE_SM_REL = 2e-5;

describe('fixture', () => {
  it('comes from the libraries the reference names', () => {
    expect(fx.versions.scipy).toBe('1.10.1');
    expect(fx.versions.statsmodels.startsWith('0.13.5')).toBe(true);
    expect(fx.power.length).toBeGreaterThanOrEqual(250);
  });
});

describe('adjustP against statsmodels multipletests', () => {
  it.each(fx.adjust)('$name ($method)', (c) => {
    const r = adjustP(c.p, c.method);
    expect(r).toHaveLength(c.p.length);
    c.adjusted.forEach((e, i) => {
      if (e === null) expect(r[i], `[${i}]`).toBeNull();
      else close(r[i], e, `[${i}]`, ADJUST_REL);
    });
  });

  it('nulls are not tests: they stay null and do not count in m', () => {
    const withNulls = adjustP([0.01, null, 0.02, null], 'bonferroni');
    expect(withNulls).toEqual([0.02, null, 0.04, null]);
    expect(adjustP([null, 0.01, 0.02], 'holm')).toEqual([null, ...adjustP([0.01, 0.02], 'holm')]);
    expect(adjustP([null, null], 'bh')).toEqual([null, null]);
    expect(adjustP([], 'hochberg')).toEqual([]);
  });

  it("'none' returns the p-values unchanged, and the input is not modified", () => {
    const p = [0.3, null, 0.01];
    expect(adjustP(p, 'none')).toEqual([0.3, null, 0.01]);
    adjustP(p, 'bonferroni');
    expect(p).toEqual([0.3, null, 0.01]);
  });

  it('adjusted p are >= raw p, <= 1, ordered as the raw p, and tied p stay tied', () => {
    const p = [0.04, 0.001, 0.04, 0.3, 0.02, 0.02, 0.9, 0.0499];
    for (const m of ['holm', 'bonferroni', 'hochberg', 'bh'] as const) {
      const a = adjustP(p, m) as number[];
      p.forEach((v, i) => {
        expect(a[i]).toBeGreaterThanOrEqual(v);
        expect(a[i]).toBeLessThanOrEqual(1);
        p.forEach((w, j) => {
          if (v < w) expect(a[i], `${m} ${i} ${j}`).toBeLessThanOrEqual(a[j]!);
          if (v === w) expect(a[i]).toBe(a[j]);
        });
      });
      // the usual ordering of the methods' strictness
      if (m === 'hochberg') adjustP(p, 'holm').forEach((h, i) => expect(a[i]).toBeLessThanOrEqual(h!));
    }
  });

  it('throws on p outside [0, 1] or an unknown method', () => {
    expect(() => adjustP([0.1, 1.2], 'holm')).toThrow(/adjustP: p\[1\] must be a probability/);
    expect(() => adjustP([NaN], 'bh')).toThrow(/p\[0\]/);
    expect(() => adjustP([0.1], 'fdr' as PAdjustMethod)).toThrow(/adjustP: method must be one of/);
  });
});

describe('tostPaired against statsmodels ttost_paired', () => {
  it.each(fx.tost)('$name', (c) => {
    const d = c.x1.map((v, i) => v - c.x2[i]!);
    const r = tostPaired(d, c.margin);
    expect(r.df).toBe(c.df);
    close(r.pLower, c.pLower, 'pLower', DIST_REL);
    close(r.pUpper, c.pUpper, 'pUpper', DIST_REL);
    close(r.p, c.p, 'p', DIST_REL);
  });

  it('differences with no variance: p = 0 strictly inside the margin, else 1', () => {
    expect(tostPaired([0.003, 0.003, 0.003], 0.01)).toEqual({ p: 0, pLower: 0, pUpper: 0, df: 2 });
    expect(tostPaired([0.02, 0.02], 0.01)).toEqual({ p: 1, pLower: 0, pUpper: 1, df: 1 });
    expect(tostPaired([-0.01, -0.01], 0.01)).toEqual({ p: 1, pLower: 1, pUpper: 0, df: 1 });
  });

  it('throws on fewer than 2 differences, a bad margin or a non-finite difference', () => {
    expect(() => tostPaired([0.1], 0.5)).toThrow(/tostPaired: d needs at least 2/);
    expect(() => tostPaired([0.1, 0.2], 0)).toThrow(/tostPaired: margin must be a positive/);
    expect(() => tostPaired([0.1, 0.2], -1)).toThrow(/margin/);
    expect(() => tostPaired([0.1, NaN], 1)).toThrow(/tostPaired: d\[1\] must be finite/);
  });
});

describe('sign test, Clopper–Pearson and McNemar against SciPy / statsmodels', () => {
  it.each(fx.sign)('signTest($better, $worse)', (c) => close(signTest(c.better, c.worse), c.p, 'p', DIST_REL));

  it.each(fx.clopperPearson)('clopperPearson($k, $n, $level)', (c) => {
    const [lo, up] = clopperPearson(c.k, c.n, c.level);
    close(lo, c.ci[0], 'lower', DIST_REL);
    close(up, c.ci[1], 'upper', DIST_REL);
    if (c.k === 0) expect(lo).toBe(0);
    if (c.k === c.n) expect(up).toBe(1);
  });

  it.each(fx.mcnemar)('mcnemarExact($armOnly, $refOnly)', (c) => close(mcnemarExact(c.armOnly, c.refOnly), c.p, 'p', DIST_REL));

  it('edge cases and bad counts', () => {
    expect(signTest(0, 0)).toBeNull();
    expect(mcnemarExact(0, 0)).toBe(1);
    expect(clopperPearson(3, 10)).toEqual(clopperPearson(3, 10, 0.95));
    expect(() => signTest(-1, 3)).toThrow(/signTest: better must be a non-negative integer/);
    expect(() => signTest(1, 2.5)).toThrow(/signTest: worse/);
    expect(() => mcnemarExact(1, -2)).toThrow(/mcnemarExact: refOnly/);
    expect(() => clopperPearson(1, 0)).toThrow(/clopperPearson: n must be a positive integer/);
    expect(() => clopperPearson(11, 10)).toThrow(/clopperPearson: k must be an integer in 0..n/);
    expect(() => clopperPearson(1, 10, 1)).toThrow(/clopperPearson: level/);
  });
});

describe('power of the paired t-test against Boost / statsmodels / mpmath', () => {
  it('each case: exact-critical-value power to 1e-10, statsmodels to its t.isf error, mpmath spot checks', () => {
    let mpmathChecked = 0;
    for (const c of fx.power) {
      const label = `effect=${c.effect} sd=${c.sd} n=${c.n} alpha=${c.alpha}`;
      const r = pairedTPower(c.effect, c.sd, c.n, c.alpha);
      close(r, c.power, label, POWER_REL);
      close(r, c.statsmodels, `${label} (statsmodels)`, POWER_SM_REL);
      if (c.mpmath !== undefined) {
        close(r, c.mpmath, `${label} (mpmath)`, POWER_REL);
        mpmathChecked++;
      }
    }
    expect(mpmathChecked).toBeGreaterThanOrEqual(8);
  });

  it("the critical value we use (@stdlib's t quantile) is the exact one; SciPy 1.10's, in statsmodels, is not", () => {
    let worstOurs = 0;
    let worstSciPy = 0;
    for (const c of fx.power) {
      worstOurs = Math.max(worstOurs, Math.abs(-tQuantile(c.alpha / 2, c.n - 1) - c.critExact) / c.critExact);
      worstSciPy = Math.max(worstSciPy, Math.abs(c.critSciPy - c.critExact) / c.critExact);
    }
    expect(worstOurs).toBeLessThan(1e-14);
    expect(worstSciPy).toBeGreaterThan(1e-10); // why the statsmodels comparison is looser
  });

  it('equals alpha with no effect, is symmetric in the effect, and depends on effect / sd only', () => {
    for (const [n, alpha] of [[2, 0.05], [7, 0.001], [150, 0.2]] as const) close(pairedTPower(0, 1, n, alpha), alpha, `n=${n}`, 1e-12);
    expect(pairedTPower(-0.7, 1, 9, 0.05)).toBe(pairedTPower(0.7, 1, 9, 0.05));
    close(pairedTPower(0.03, 0.06, 11, 0.05), pairedTPower(0.5, 1, 11, 0.05), 'scale', 1e-12);
  });

  it('rises with n and with the effect', () => {
    for (const alpha of [0.001, 0.05, 0.2]) {
      for (const es of [0.05, 0.3, 1, 3]) {
        let prev = 0;
        for (const n of [2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100, 200]) {
          const p = pairedTPower(es, 1, n, alpha);
          expect(p, `alpha=${alpha} es=${es} n=${n}`).toBeGreaterThanOrEqual(prev);
          prev = p;
        }
      }
      for (const n of [2, 5, 30]) {
        let prev = 0;
        for (const es of [0, 0.01, 0.1, 0.3, 0.6, 1, 2, 4, 8]) {
          const p = pairedTPower(es, 1, n, alpha);
          expect(p, `alpha=${alpha} n=${n} es=${es}`).toBeGreaterThanOrEqual(prev);
          expect(p).toBeLessThanOrEqual(1);
          prev = p;
        }
      }
    }
  });

  it('throws on bad arguments, naming them', () => {
    expect(() => pairedTPower(0.5, 1, 1, 0.05)).toThrow(/pairedTPower: n must be an integer >= 2/);
    expect(() => pairedTPower(0.5, 1, 2.5, 0.05)).toThrow(/pairedTPower: n/);
    expect(() => pairedTPower(0.5, 0, 5, 0.05)).toThrow(/pairedTPower: sd must be a positive finite number/);
    expect(() => pairedTPower(NaN, 1, 5, 0.05)).toThrow(/pairedTPower: effect must be finite/);
    expect(() => pairedTPower(0.5, 1, 5, 0)).toThrow(/pairedTPower: alpha must be in \(0, 1\)/);
  });
});

describe('mde and seedsNeeded', () => {
  it.each(fx.mde)('mde(sd=$sd, n=$n, alpha=$alpha, power=$power)', (c) => {
    const r = mde(c.sd, c.n, c.alpha, c.power);
    close(r, c.mde, 'root of the power', MDE_REL);
    if (c.statsmodels !== null) close(r, c.statsmodels, 'statsmodels solve_power', MDE_SM_REL);
    // the definition: the power there reaches the target, just below it does not
    // (to 1e-14: r / sd need not give back the standardized root exactly)
    expect(pairedTPower(r!, c.sd, c.n, c.alpha)).toBeGreaterThanOrEqual(c.power - 1e-14);
    expect(pairedTPower(r! * (1 - 1e-9), c.sd, c.n, c.alpha)).toBeLessThan(c.power);
  });

  it.each(fx.seedsNeeded)('seedsNeeded($effect, $sd, $alpha, $power, $max)', (c) => {
    const r = seedsNeeded(c.effect, c.sd, c.alpha, c.power, c.max);
    expect(r).toBe(c.n);
    if (c.ceilSolvePower !== null && c.ceilSolvePower <= c.max) expect(r).toBe(c.ceilSolvePower);
  });

  it('mde: null without n >= 2 or a usable sd, 0 when power <= alpha, default power 0.8, shrinks with n', () => {
    expect(mde(1, 1, 0.05)).toBeNull();
    expect(mde(0, 10, 0.05)).toBeNull();
    expect(mde(Infinity, 10, 0.05)).toBeNull();
    expect(mde(NaN, 10, 0.05)).toBeNull();
    expect(mde(1, 10, 0.2, 0.1)).toBe(0);
    expect(mde(2, 10, 0.05)).toBe(mde(2, 10, 0.05, 0.8));
    expect(mde(1, 10, 0.05)!).toBeLessThan(mde(1, 9, 0.05)!);
    expect(() => mde(1, 10, 1.5)).toThrow(/mde: alpha/);
    expect(() => mde(1, 10, 0.05, 1)).toThrow(/mde: power must be in \(0, 1\)/);
    expect(() => mde(1, 2.5, 0.05)).toThrow(/mde: n must be an integer/);
  });

  it('seedsNeeded: the search gives what a scan of n = 2..max gives', () => {
    const cases: [number, number, number, number][] = [
      [0.5, 0.05, 0.8, 40], [0.9, 0.05, 0.8, 40], [2.5, 0.05, 0.8, 40], [8, 0.05, 0.8, 40], [30, 0.001, 0.9, 40],
      [0.6, 0.2, 0.3, 40], [1.2, 0.001, 0.99, 40], [0.45, 0.05, 0.8, 40], [-0.7, 0.01, 0.5, 40], [0.3, 0.2, 0.95, 40],
    ];
    for (const [es, alpha, power, max] of cases) {
      let scan: number | null = null;
      for (let n = 2; n <= max && scan === null; n++) if (pairedTPower(es, 1, n, alpha) >= power) scan = n;
      expect(seedsNeeded(es, 1, alpha, power, max), `es=${es} alpha=${alpha} power=${power}`).toBe(scan);
    }
  });

  it('seedsNeeded: consistent with mde, null without an sd or within max, bad arguments throw', () => {
    // the mde at n seeds needs exactly n seeds (up to the bisection's last digits)
    for (const n of [3, 12, 40]) expect(seedsNeeded(mde(1, n, 0.05)! * (1 + 1e-9), 1, 0.05)).toBe(n);
    expect(seedsNeeded(0.5, 0, 0.05)).toBeNull();
    expect(seedsNeeded(0.01, 1, 0.05, 0.8, 50)).toBeNull();
    expect(seedsNeeded(0, 1, 0.05)).toBeNull();
    expect(() => seedsNeeded(0.5, 1, 0.05, 0.8, 1)).toThrow(/seedsNeeded: max must be an integer >= 2/);
    expect(() => seedsNeeded(Infinity, 1, 0.05)).toThrow(/seedsNeeded: effect/);
    expect(() => seedsNeeded(0.5, 1, 0)).toThrow(/seedsNeeded: alpha/);
    expect(() => seedsNeeded(0.5, 1, 0.05, 0)).toThrow(/seedsNeeded: power/);
  });
});

describe('predictiveBetter', () => {
  it.each(fx.predictiveBetter)('predictiveBetter($better, $tied, $n)', (c) => {
    const r = predictiveBetter(c.better, c.tied, c.n)!;
    close(r.estimate, c.estimate, 'estimate', 1e-15);
    close(r.ci[0], c.ci[0], 'lower', DIST_REL);
    close(r.ci[1], c.ci[1], 'upper', DIST_REL);
  });

  it('null for n = 0; the half-tie interval covers both neighbours; bad counts throw', () => {
    expect(predictiveBetter(0, 0, 0)).toBeNull();
    const half = predictiveBetter(3, 1, 10)!; // x = 3.5
    expect(half.estimate).toBe(0.35);
    expect(half.ci).toEqual([clopperPearson(3, 10)[0], clopperPearson(4, 10)[1]]);
    expect(predictiveBetter(4, 0, 10)!.ci).toEqual(clopperPearson(4, 10));
    expect(() => predictiveBetter(6, 5, 10)).toThrow(/predictiveBetter: better \+ tied \(6 \+ 5\) must be at most n \(10\)/);
    expect(() => predictiveBetter(-1, 0, 10)).toThrow(/predictiveBetter: better/);
    expect(() => predictiveBetter(1, 0.5, 10)).toThrow(/predictiveBetter: tied/);
  });
});
