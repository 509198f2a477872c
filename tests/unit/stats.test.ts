// src/shared/stats.ts against SciPy 1.17 (tests/reference/stats_reference.py wrote
// tests/fixtures/stats_reference.json), and its behaviour at the edges: small n, no variance,
// missing values, counts, mean curves.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { band, describe as describeValues, meanCurve, pairedComparison, tQuantile975 } from '../../src/shared/stats';

interface PairedCase {
  name: string;
  arm: number[];
  base: number[];
  n: number;
  delta: number | null;
  sdDelta: number | null;
  ttestStatistic: number | null; // null: SciPy's nan or inf
  ttestP: number | null;
  ttestDf: number;
  ttestCI: [number | null, number | null];
  hasTies: boolean;
  hasZeros: boolean;
  nNonzero: number;
  wilcoxonMethod: 'exact' | 'permutation' | 'asymptotic' | null;
  wilcoxonP: number | null;
  wilcoxonAsymptoticCorrected?: number;
}

const fx = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/stats_reference.json'), 'utf8')) as {
  scipy: string;
  paired: PairedCase[];
  bands: { name: string; values: number[]; n: number; mean: number; std: number | null; se: number | null; t975: number | null; ci95HalfWidth: number | null }[];
  tQuantiles: { df: number; q: number }[];
  curve: { series: (number | null)[][]; n: number[]; mean: (number | null)[]; sd: (number | null)[]; se: (number | null)[]; ci95: (number | null)[] };
};

// Same formulas in float64 on both sides (the t CDF / quantile, the exact signed-rank CDF, means
// and SDs), so they agree to rounding: 1e-9 relative fails on any wrong df, tail or formula.
const close = (actual: number | null | undefined, expected: number, label: string, rel = 1e-9, abs = 0) => {
  expect(actual, label).toBeTypeOf('number');
  expect(Math.abs(actual! - expected), `${label}: ${actual} vs ${expected}`).toBeLessThanOrEqual(rel * Math.abs(expected) + abs);
};
// Wilcoxon's normal approximation: @stdlib computes the two-sided p as 2 * (1 - Phi(|z|)), which
// carries an absolute error of a few 1e-16 that is large relative to a tiny p (SciPy takes the
// tail directly): 1e-9 relative plus 1e-15 absolute. z itself is the same formula as SciPy's.
const closeApprox = (actual: number | null, expected: number, label: string) => close(actual, expected, label, 1e-9, 1e-15);

// The accuracy cases again as exact counts (k / 10000): SciPy on the integer differences
// (tests/reference/exact_counts_reference.py), where ties that float noise hid from SciPy 1.17
// above are real ties. Where the two disagree, the counts are right and what we must match.
interface CountCase {
  name: string;
  armCorrect: number[];
  baseCorrect: number[];
  total: number;
  n: number;
  delta: number;
  identical: boolean;
  ttestP: number | null;
  ci95: [number, number] | null;
  wilcoxonP: number | null;
  wilcoxonMethod: 'exact' | 'permutation' | 'asymptotic' | null;
  betterIn: number;
  worseIn: number;
  tiedIn: number;
}
const counts = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/exact_counts_reference.json'), 'utf8')) as { scipy: string; cases: CountCase[] };
const countCase = new Map(counts.cases.map((c) => [c.name, c]));

describe('paired comparison against SciPy', () => {
  it('the fixture comes from SciPy >= 1.17 (its wilcoxon defaults are what we follow)', () => {
    const [major, minor] = fx.scipy.split('.').map(Number);
    expect(major! * 1000 + minor!).toBeGreaterThanOrEqual(1017);
    expect(fx.paired.length).toBeGreaterThanOrEqual(12);
  });

  it.each(fx.paired)('$name', (c) => {
    const r = pairedComparison(c.arm, c.base, true);
    expect(r.n).toBe(c.n);
    if (c.delta === null) expect(r.delta).toBeNull();
    else close(r.delta, c.delta, 'delta', 1e-9, 1e-15);
    if (c.sdDelta === null) expect(r.sdDelta).toBeNull();
    else close(r.sdDelta, c.sdDelta, 'sdDelta', 1e-9, 1e-15);

    // t-test
    const allEqual = c.n >= 2 && c.sdDelta === 0;
    if (c.n < 2) {
      // SciPy: statistic, p and interval all nan
      expect([c.ttestP, r.pTTest, r.ci95]).toEqual([null, null, null]);
      expect(r.tTestNote).toMatch(c.n === 1 ? /^n=1: needs at least 2 seeds$/ : /no paired seeds/);
    } else if (allEqual) {
      // Deliberate difference: SciPy returns t = inf, p = 0 (or nan, nan when all are zero); a
      // constant improvement over seeds is not a t-test result, so we give null and a note.
      expect(c.ttestP === 0 || c.ttestP === null).toBe(true);
      expect(r.pTTest).toBeNull();
      expect(r.tTestNote).toMatch(c.delta === 0 ? /^all differences zero$/ : /^all differences equal: no variance$/);
      expect(r.ci95).toEqual([r.delta, r.delta]);
      close(r.ci95![0], c.ttestCI[0]!, 'ci lo', 1e-9, 1e-15);
      close(r.ci95![1], c.ttestCI[1]!, 'ci hi', 1e-9, 1e-15);
    } else {
      expect(r.tTestNote).toBeNull();
      close(r.pTTest, c.ttestP!, 'ttest p');
      close(r.ci95![0], c.ttestCI[0]!, 'ci lo');
      close(r.ci95![1], c.ttestCI[1]!, 'ci hi');
      // the statistic is not returned; check it through the interval: t = delta / ((hi - lo) / (2 t975))
      const t = r.delta! / ((r.ci95![1] - r.ci95![0]) / (2 * tQuantile975(c.ttestDf)));
      close(t, c.ttestStatistic!, 'ttest statistic', 1e-8);
    }

    // Wilcoxon: on floats, differences equal up to rounding are ties (snapDifferences); for the
    // accuracy cases the reference is then SciPy on the counts, whose ties are real
    const exact = countCase.get(c.name);
    if (allEqual) {
      // identical differences: the signed-rank test only counts signs here; the sign test says that
      expect(r.pWilcoxon).toBeNull();
    } else if (exact) {
      if (exact.wilcoxonP === null) expect(r.pWilcoxon).toBeNull();
      else if (exact.wilcoxonMethod === 'asymptotic') closeApprox(r.pWilcoxon, exact.wilcoxonP, 'wilcoxon p (counts, normal approximation)');
      else close(r.pWilcoxon, exact.wilcoxonP, `wilcoxon p (counts, ${exact.wilcoxonMethod})`);
    } else if (c.wilcoxonP === null) {
      expect(r.pWilcoxon).toBeNull();
      expect(r.wilcoxonNote).toBe('all differences zero');
    } else if (c.wilcoxonMethod === 'exact' || c.wilcoxonMethod === 'permutation') {
      // exact signed-rank distribution; permutation (N <= 13 with zeros or ties): every sign flip
      close(r.pWilcoxon, c.wilcoxonP, `wilcoxon p (${c.wilcoxonMethod})`);
    } else {
      closeApprox(r.pWilcoxon, c.wilcoxonP, 'wilcoxon p (normal approximation)');
    }
    if (c.nNonzero >= 1 && c.nNonzero <= 5 && !allEqual) expect(r.wilcoxonNote).toMatch(/cannot reach p<0\.05 \(min /);
    if (c.nNonzero > 5 && !allEqual) expect(r.wilcoxonNote).toBeNull();
  });
});

describe('paired comparison of exact counts against SciPy on the integers', () => {
  it('the float fixture hid real ties: the counts change the signed-rank p of several cases', () => {
    const changed = fx.paired.filter((c) => {
      const e = countCase.get(c.name);
      return e && e.wilcoxonP !== null && c.wilcoxonP !== null && Math.abs(e.wilcoxonP - c.wilcoxonP) > 1e-6;
    });
    expect(changed.length).toBeGreaterThanOrEqual(4);
  });

  it.each(counts.cases)('$name', (c) => {
    const r = pairedComparison(c.armCorrect, c.baseCorrect, true, { divisor: c.total });
    expect(r.exact).toBe(true);
    expect(r.identical).toBe(c.identical);
    expect([r.n, r.betterIn, r.worseIn, r.tiedIn]).toEqual([c.n, c.betterIn, c.worseIn, c.tiedIn]);
    close(r.delta, c.delta, 'delta', 1e-12, 1e-16); // integer sum / n / total: rounding only
    if (c.ttestP === null) expect(r.pTTest).toBeNull();
    else close(r.pTTest, c.ttestP, 'ttest p');
    if (c.ci95 === null) expect(r.ci95).toBeNull();
    else {
      // SciPy 1.10's t.ppf and @stdlib's t quantile agree to ~2e-9 relative (1.17's to 1e-9 above)
      close(r.ci95![0], c.ci95[0], 'ci lo', 1e-8, 1e-15);
      close(r.ci95![1], c.ci95[1], 'ci hi', 1e-8, 1e-15);
    }
    if (c.wilcoxonP === null) expect(r.pWilcoxon).toBeNull();
    else if (c.wilcoxonMethod === 'asymptotic') closeApprox(r.pWilcoxon, c.wilcoxonP, 'wilcoxon p (normal approximation)');
    else close(r.pWilcoxon, c.wilcoxonP, `wilcoxon p (${c.wilcoxonMethod})`);
  });

  it("float noise: +3 images in each of 3 seeds is an identical gain, not p = 1.5e-26", () => {
    const arm = [9103, 9110, 9097].map((k) => k / 10000);
    const base = [9100, 9107, 9094].map((k) => k / 10000);
    const d = arm.map((a, i) => a - base[i]!);
    expect(new Set(d).size).toBeGreaterThan(1); // the float differences really differ
    for (const r of [pairedComparison(arm, base, true), pairedComparison([9103, 9110, 9097], [9100, 9107, 9094], true, { divisor: 10000 })]) {
      expect(r.identical).toBe(true);
      expect([r.pTTest, r.pWilcoxon]).toEqual([null, null]);
      expect(r.sdDelta).toBe(0);
      expect(r.delta).toBeCloseTo(3e-4, 15);
    }
  });

  it('counts must be integers and the divisor a positive integer', () => {
    expect(() => pairedComparison([1.5, 2], [1, 2], true, { divisor: 10 })).toThrow(/counts must be integers/);
    expect(() => pairedComparison([1, 2], [1, 2], true, { divisor: 0 })).toThrow(/divisor must be a positive integer/);
  });
});

describe('bands and t quantiles against SciPy', () => {
  it.each(fx.tQuantiles)('t(0.975, $df)', ({ df, q }) => {
    close(tQuantile975(df), q, `df ${df}`);
    close(tQuantile975(df), q, `df ${df} (cached)`);
  });

  it.each(fx.bands)('$name', (b) => {
    const d = describeValues(b.values);
    expect(d.n).toBe(b.n);
    close(d.mean, b.mean, 'mean');
    if (b.std === null) expect([d.std, d.se]).toEqual([null, null]);
    else {
      close(d.std, b.std, 'std', 1e-9, 1e-15);
      close(d.se, b.se!, 'se', 1e-9, 1e-15);
    }
    const half = { sd: b.std ?? 0, se: b.se ?? 0, ci95: b.ci95HalfWidth ?? 0 };
    for (const kind of ['sd', 'se', 'ci95'] as const) {
      const r = band(b.values, kind)!;
      expect(r.n).toBe(b.n);
      close(r.mean, b.mean, `${kind} mean`);
      close(r.lo, b.mean - half[kind], `${kind} lo`);
      close(r.hi, b.mean + half[kind], `${kind} hi`);
    }
  });

  it('mean curve: finite values per index, n changing along the curve', () => {
    const cv = fx.curve;
    const series = cv.series.map((s) => s.map((v) => v ?? NaN));
    for (const kind of ['sd', 'se', 'ci95'] as const) {
      const r = meanCurve(series, kind);
      expect(r.n).toEqual(cv.n);
      for (let k = 0; k < cv.n.length; k++) {
        const m = cv.mean[k]!;
        const h = cv[kind][k]!;
        if (m === null) {
          expect([r.mean[k], r.lo[k], r.hi[k]], `index ${k}`).toEqual([NaN, NaN, NaN]);
          continue;
        }
        close(r.mean[k], m, `${kind} mean[${k}]`);
        close(r.lo[k], m - h, `${kind} lo[${k}]`);
        close(r.hi[k], m + h, `${kind} hi[${k}]`);
      }
    }
  });
});

describe('describe and band', () => {
  it('ignores NaN and infinities; n counts the finite values', () => {
    expect(describeValues([])).toEqual({ n: 0, mean: null, std: null, se: null });
    expect(describeValues([NaN, Infinity])).toEqual({ n: 0, mean: null, std: null, se: null });
    expect(describeValues([0.5, NaN])).toEqual({ n: 1, mean: 0.5, std: null, se: null });
    const d = describeValues([1, NaN, 3, -Infinity]);
    expect(d.n).toBe(2);
    expect(d.mean).toBe(2);
    close(d.std, Math.SQRT2, 'std');
    close(d.se, 1, 'se');
  });

  it('band: null without values, zero width with one', () => {
    expect(band([], 'ci95')).toBeNull();
    expect(band([NaN], 'sd')).toBeNull();
    for (const kind of ['sd', 'se', 'ci95'] as const) expect(band([0.9, NaN], kind)).toEqual({ n: 1, mean: 0.9, lo: 0.9, hi: 0.9 });
    const r = band([1, 3], 'ci95')!;
    close(r.hi - r.mean, 12.706204736174698, 'ci95 half-width, df 1'); // t(0.975, 1) * 1
  });
});

describe('pairedComparison behaviour', () => {
  it('throws when the arms have different lengths', () => {
    expect(() => pairedComparison([1, 2], [1], true)).toThrow(/2 arm values but 1 base values/);
  });

  it('no pairs: everything null, with notes', () => {
    const r = pairedComparison([], [], true);
    expect(r).toMatchObject({ n: 0, delta: null, sdDelta: null, ci95: null, pTTest: null, pWilcoxon: null, betterIn: 0, worseIn: 0, tiedIn: 0 });
    expect(r.tTestNote).toBe('no paired seeds');
    expect(r.wilcoxonNote).toBe('no paired seeds');
  });

  it('n=1: delta only; the t-test needs 2 seeds, Wilcoxon is p=1 and says it can never be significant', () => {
    const r = pairedComparison([0.92], [0.9], true);
    expect(r.n).toBe(1);
    close(r.delta, 0.02, 'delta', 1e-9, 1e-15);
    expect([r.sdDelta, r.ci95, r.pTTest]).toEqual([null, null, null]);
    expect(r.tTestNote).toBe('n=1: needs at least 2 seeds');
    expect(r.pWilcoxon).toBe(1);
    expect(r.wilcoxonNote).toBe('n=1: cannot reach p<0.05 (min 1)');
  });

  it('small n: exact Wilcoxon p with the note on the smallest reachable p', () => {
    const r3 = pairedComparison([0.92, 0.93, 0.915], [0.9, 0.905, 0.91], true);
    close(r3.pWilcoxon, 0.25, 'p'); // all three positive: 2 / 2^3 (@stdlib's 2^-n is exp(-n ln 2), off in the last bit)
    expect(r3.wilcoxonNote).toBe('n=3: cannot reach p<0.05 (min 0.25)');
    expect(r3.tTestNote).toBeNull();
    const r5 = pairedComparison([5, 6, 7, 8, 9.5], [4, 4, 4, 4, 4], true);
    close(r5.pWilcoxon, 0.0625, 'p');
    expect(r5.wilcoxonNote).toBe('n=5: cannot reach p<0.05 (min 0.0625)');
    const r6 = pairedComparison([5, 6, 7, 8, 9.5, 10.25], [4, 4, 4, 4, 4, 4], true);
    close(r6.pWilcoxon, 0.03125, 'p');
    expect(r6.wilcoxonNote).toBeNull();
  });

  it('zero differences are dropped from Wilcoxon and named in the note', () => {
    const r = pairedComparison([5, 6, 7, 4], [4, 4, 4, 4], true);
    close(r.pWilcoxon, 0.25, 'p');
    expect(r.wilcoxonNote).toBe('3 non-zero of 4: cannot reach p<0.05 (min 0.25)');
    expect([r.betterIn, r.worseIn, r.tiedIn]).toEqual([3, 0, 1]);
  });

  it('all differences zero: no test, ci95 [0, 0]', () => {
    const r = pairedComparison([0.9, 0.8, 0.7], [0.9, 0.8, 0.7], true);
    expect(r).toMatchObject({ n: 3, delta: 0, sdDelta: 0, ci95: [0, 0], pTTest: null, pWilcoxon: null, tiedIn: 3 });
    expect(r.tTestNote).toBe('all differences zero');
    expect(r.wilcoxonNote).toBe('all differences zero');
  });

  it('all differences equal: no t-test, ci95 collapses to delta', () => {
    const r = pairedComparison([2, 3, 4, 5], [1, 2, 3, 4], true);
    expect(r).toMatchObject({ n: 4, delta: 1, sdDelta: 0, ci95: [1, 1], pTTest: null, betterIn: 4 });
    expect(r.tTestNote).toBe('all differences equal: no variance');
    expect(r.identical).toBe(true);
    expect(r.pWilcoxon).toBeNull(); // the signs alone are the sign test's: 4 of 4, p = 0.125
    expect(r.wilcoxonNote).toBe('all differences equal: no variance');
  });

  it('drops pairs with a non-finite value on either side', () => {
    const withGaps = pairedComparison([0.92, NaN, 0.93, 0.915, 0.94, Infinity], [0.9, 0.91, NaN, 0.91, 0.92, 0.9], true);
    const clean = pairedComparison([0.92, 0.915, 0.94], [0.9, 0.91, 0.92], true);
    expect(withGaps).toEqual(clean);
    expect(withGaps.n).toBe(3);
  });

  it('betterIn / worseIn / tiedIn follow higherIsBetter; delta keeps its sign', () => {
    const arm = [0.5, 0.4, 0.3, 0.3, 0.2];
    const base = [0.4, 0.45, 0.3, 0.35, 0.3];
    const acc = pairedComparison(arm, base, true);
    expect([acc.betterIn, acc.worseIn, acc.tiedIn]).toEqual([1, 3, 1]);
    const loss = pairedComparison(arm, base, false);
    expect([loss.betterIn, loss.worseIn, loss.tiedIn]).toEqual([3, 1, 1]);
    expect(loss.delta).toBe(acc.delta);
    const lower = pairedComparison([0.3, 0.2, 0.25], [0.4, 0.3, 0.3], false);
    expect([lower.betterIn, lower.worseIn, lower.tiedIn]).toEqual([3, 0, 0]);
    expect(lower.delta!).toBeLessThan(0);
    expect(lower.pTTest).toBe(pairedComparison([0.3, 0.2, 0.25], [0.4, 0.3, 0.3], true).pTTest);
  });
});

describe('meanCurve', () => {
  it('missing points and shorter series: n changes along the curve; NaN where nothing, zero width where one', () => {
    const r = meanCurve([[1, 2, NaN, 4], [3, NaN, NaN], [5]], 'sd');
    expect(r.n).toEqual([3, 1, 0, 1]);
    expect(r.mean).toEqual([3, 2, NaN, 4]);
    expect(r.lo[0]).toBe(1);
    expect(r.hi[0]).toBe(5);
    expect([r.lo[1], r.hi[1], r.lo[3], r.hi[3]]).toEqual([2, 2, 4, 4]);
    expect([r.lo[2], r.hi[2]]).toEqual([NaN, NaN]);
    const se = meanCurve([[1, 2], [3, 4]], 'se');
    close(se.hi[0]! - se.mean[0]!, 1, 'se half-width');
    expect(meanCurve([], 'ci95')).toEqual({ n: [], mean: [], lo: [], hi: [] });
  });

  it('agrees with band() at every index', () => {
    const series = Array.from({ length: 7 }, (_, j) => Array.from({ length: 40 }, (_, k) => ((j * 7 + k * 3) % 11 === 0 ? NaN : Math.sin(j + 0.3 * k))));
    for (const kind of ['sd', 'se', 'ci95'] as const) {
      const r = meanCurve(series, kind);
      for (let k = 0; k < 40; k++) {
        const b = band(series.map((s) => s[k]!), kind)!;
        expect(r.n[k]).toBe(b.n);
        close(r.mean[k], b.mean, `mean[${k}]`, 1e-12, 1e-15);
        close(r.lo[k], b.lo, `lo[${k}]`, 1e-12, 1e-15);
        close(r.hi[k], b.hi, `hi[${k}]`, 1e-12, 1e-15);
      }
    }
  });

  it('50 series x 5000 points well under 50 ms', () => {
    const series = Array.from({ length: 50 }, (_, j) => Float64Array.from({ length: 5000 }, (_, k) => (k > 4000 + 20 * j ? NaN : 0.9 + 0.01 * Math.sin(j * 13 + k))));
    const plain = series.map((s) => Array.from(s));
    meanCurve(plain, 'ci95'); // warm up the JIT
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const r = meanCurve(plain, 'ci95');
      times.push(performance.now() - t0);
      expect(r.n[4999]).toBe(0);
      expect(r.n[0]).toBe(50);
    }
    expect(Math.min(...times)).toBeLessThan(25);
  });
});

describe('too few seeds for the signed-rank test', () => {
  it('flags the exact test that cannot reach p<0.05, and only it', () => {
    const three = pairedComparison([0.91, 0.92, 0.93], [0.9, 0.9, 0.9], true);
    expect(three.wilcoxonTooFew).toBe(true); // smallest p 2/2^3 = 0.25
    const six = pairedComparison([1, 2, 3, 4, 5, 6].map((x) => x + 0.5), [0, 0, 0, 0, 0, 0], true);
    expect(six.wilcoxonTooFew).toBe(false); // 2/2^6 = 0.031
    // N = 15 with 10 zero differences: SciPy's normal approximation, whose p has no floor
    const arm = [...Array(10).fill(0.9), 0.91, 0.92, 0.93, 0.94, 0.95];
    const approx = pairedComparison(arm, Array(15).fill(0.9), true);
    expect(approx.wilcoxonTooFew).toBe(false);
    expect(approx.wilcoxonNote).toBeNull();
    expect(approx.pWilcoxon).toBeLessThan(0.05);
  });
});
