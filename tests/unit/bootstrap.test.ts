// src/shared/bootstrap.ts (paired bootstrap CI of the mean difference) against
// tests/reference/sequential_reference.py (SciPy 1.10; wrote tests/fixtures/sequential_reference.json):
// the exact bootstrap by brute force over all n^n resamples (n <= 6) or Python's own multiset
// enumeration (n = 7..9), and scipy.stats.bootstrap's Monte Carlo for n = 15 and 25.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bcaParameters, bootstrapMeanCI, EXACT_BOOTSTRAP_MAX_N, exactBootstrapDistribution } from '../../src/shared/bootstrap';

interface ExactCase {
  name: string;
  d: number[];
  level: number;
  enumeration: 'product' | 'multisets';
  percentile: [number, number];
  bca: [number, number];
  z0: number;
  a: number;
}
interface McEnds {
  mean: [number, number];
  sd: [number, number];
}
interface McCase {
  name: string;
  d: number[];
  level: number;
  nResamples: number;
  repeats: number;
  lattice: number;
  bca: McEnds;
  percentile: McEnds;
}

const fx = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/sequential_reference.json'), 'utf8')) as {
  scipy: string;
  bootstrap: { tieRel: number; exact: ExactCase[]; monteCarlo: McCase[] };
};

const maxAbs = (d: readonly number[]) => Math.max(...d.map(Math.abs));

describe('exact bootstrap against brute force (Python)', () => {
  it('the fixture comes from SciPy 1.10 and covers n = 2..9 both ways', () => {
    expect(fx.scipy.startsWith('1.10.')).toBe(true);
    expect(fx.bootstrap.tieRel).toBe(1e-9);
    const ns = fx.bootstrap.exact.map((c) => c.d.length);
    expect(Math.min(...ns)).toBe(2);
    expect(Math.max(...ns)).toBe(9);
    expect(fx.bootstrap.exact.some((c) => c.enumeration === 'product')).toBe(true);
    expect(fx.bootstrap.exact.some((c) => c.enumeration === 'multisets')).toBe(true);
    expect(EXACT_BOOTSTRAP_MAX_N).toBe(9);
  });

  // Both sides pick the same resample mean (the same quantile rule, the same z0 / a up to
  // rounding), so the endpoints agree to the rounding of a sum of n terms: 1e-12 of max|d|.
  // A different quantile rule (interpolation, or > instead of >=), ties counted as "below", or a
  // wrong a moves them by whole atoms of the distribution.
  it.each(fx.bootstrap.exact)('$name (level $level)', (c) => {
    const tol = 1e-12 * maxAbs(c.d);
    for (const method of ['percentile', 'bca'] as const) {
      const r = bootstrapMeanCI(c.d, { level: c.level, method })!;
      expect(r.method).toBe(method);
      expect(r.resamples).toBe('exact');
      for (let k = 0; k < 2; k++) expect(Math.abs(r.ci[k]! - c[method][k]!), `${method}[${k}]: ${r.ci[k]} vs ${c[method][k]}`).toBeLessThanOrEqual(tol);
    }
    const p = bcaParameters(c.d, exactBootstrapDistribution(c.d));
    expect(Math.abs(p.z0 - c.z0)).toBeLessThanOrEqual(1e-12);
    expect(Math.abs(p.a - c.a)).toBeLessThanOrEqual(1e-12);
  });

  it('the default method is BCa', () => {
    const c = fx.bootstrap.exact.find((x) => x.name.startsWith('n=5 skewed'))!;
    expect(c.bca).not.toEqual(c.percentile);
    expect(bootstrapMeanCI(c.d)!.ci).toEqual(bootstrapMeanCI(c.d, { method: 'bca' })!.ci);
  });
});

describe('exact bootstrap distribution', () => {
  it.each([2, 3, 5, 9])('n=%i: C(2n-1, n) multisets, counts summing to n^n, mean and variance of the bootstrap', (n) => {
    const d = Array.from({ length: n }, (_, i) => Math.sin(1.7 * i) + 0.1 * i * i);
    const dist = exactBootstrapDistribution(d);
    const binom = [0, 1, 3, 10, 35, 126, 462, 1716, 6435, 24310][n]!;
    expect(dist.means.length).toBe(binom);
    expect(dist.total).toBe(n ** n);
    expect(dist.counts.reduce((a, b) => a + b, 0)).toBe(n ** n);
    let unsorted = 0;
    for (let i = 1; i < dist.means.length; i++) if (dist.means[i]! < dist.means[i - 1]!) unsorted++;
    expect(unsorted).toBe(0);
    // E*[mean*] = mean, Var*[mean*] = (1/n) * (1/n) sum (d - mean)^2
    const mean = d.reduce((a, b) => a + b, 0) / n;
    const s2b = d.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    let m1 = 0;
    let m2 = 0;
    for (let i = 0; i < dist.means.length; i++) {
      m1 += (dist.counts[i]! * dist.means[i]!) / dist.total;
      m2 += (dist.counts[i]! * (dist.means[i]! - mean) ** 2) / dist.total;
    }
    expect(m1).toBeCloseTo(mean, 12);
    expect(m2).toBeCloseTo(s2b / n, 12);
  });
});

describe('Monte Carlo bootstrap against scipy.stats.bootstrap', () => {
  // SciPy ran `repeats` (20) times with 100,000 resamples; its endpoints' SD over the repeats is the
  // Monte Carlo SD of one such run. Ours is one run of 100,000 (same SD), the reference the mean of
  // the repeats (SD / sqrt(20)): we allow 4 SDs of the difference, sqrt(sd^2 + sd^2 / 20), plus one
  // lattice step for quantized data, where SciPy's linear interpolation and our inverse ECDF can
  // pick neighbouring atoms. For the skewed cases BCa and the percentile interval differ by several
  // times that tolerance, so swapping the methods (or dropping z0 or a) fails.
  const tolOf = (c: McCase, sd: number) => 4 * Math.sqrt(sd * sd * (1 + 1 / c.repeats)) + c.lattice;

  it.each(fx.bootstrap.monteCarlo)('$name (level $level)', (c) => {
    expect(c.d.length).toBeGreaterThan(EXACT_BOOTSTRAP_MAX_N);
    for (const method of ['bca', 'percentile'] as const) {
      const r = bootstrapMeanCI(c.d, { level: c.level, method, resamples: c.nResamples, seed: 3 })!;
      expect(r.resamples).toBe(c.nResamples);
      for (let k = 0; k < 2; k++) {
        const tol = tolOf(c, c[method].sd[k]!);
        expect(Math.abs(r.ci[k]! - c[method].mean[k]!), `${method}[${k}]: ${r.ci[k]} vs ${c[method].mean[k]} (tol ${tol})`).toBeLessThanOrEqual(tol);
      }
    }
    if (c.name.includes('skewed')) {
      for (let k = 0; k < 2; k++) expect(Math.abs(c.bca.mean[k]! - c.percentile.mean[k]!)).toBeGreaterThan(3 * tolOf(c, Math.max(c.bca.sd[k]!, c.percentile.sd[k]!)));
    }
  });

  it('defaults: 10,000 resamples, seed 0, reproducible; another seed moves it by Monte Carlo error only', () => {
    const c = fx.bootstrap.monteCarlo.find((x) => x.name === 'n=25 skewed')!;
    const r0 = bootstrapMeanCI(c.d, { level: c.level })!;
    expect(r0).toEqual(bootstrapMeanCI(c.d, { level: c.level, seed: 0, resamples: 10_000, method: 'bca' }));
    expect(r0.resamples).toBe(10_000);
    const r1 = bootstrapMeanCI(c.d, { level: c.level, seed: 1 })!;
    expect(r1.ci).not.toEqual(r0.ci);
    // 10,000 resamples: the SD is sqrt(10) times that of 100,000
    for (let k = 0; k < 2; k++) {
      const sd = c.bca.sd[k]! * Math.sqrt(10);
      expect(Math.abs(r0.ci[k]! - c.bca.mean[k]!)).toBeLessThanOrEqual(4 * sd);
      expect(Math.abs(r1.ci[k]! - c.bca.mean[k]!)).toBeLessThanOrEqual(4 * sd);
    }
  });
});

describe('bootstrap edges', () => {
  it('exact up to n = 9, Monte Carlo from n = 10', () => {
    const d = (n: number) => Array.from({ length: n }, (_, i) => (i * 7919) % 13);
    expect(bootstrapMeanCI(d(9))!.resamples).toBe('exact');
    expect(bootstrapMeanCI(d(10))!.resamples).toBe(10_000);
    // exact: the seed does not matter
    expect(bootstrapMeanCI(d(9), { seed: 5 })).toEqual(bootstrapMeanCI(d(9), { seed: 6 }));
  });

  it('null for n < 2; identical differences give [d0, d0] for either method', () => {
    expect(bootstrapMeanCI([])).toBeNull();
    expect(bootstrapMeanCI([0.3])).toBeNull();
    expect(bootstrapMeanCI([0.002, 0.002, 0.002])).toEqual({ ci: [0.002, 0.002], method: 'bca', resamples: 'exact' });
    expect(bootstrapMeanCI(Array(12).fill(-1), { method: 'percentile' })).toEqual({ ci: [-1, -1], method: 'percentile', resamples: 10_000 });
  });

  it('n = 2: the two differences (each resample mean is d0, the midpoint or d1)', () => {
    expect(bootstrapMeanCI([0.5, -0.25])!.ci).toEqual([-0.25, 0.5]);
    expect(bootstrapMeanCI([0.5, -0.25], { method: 'percentile', level: 0.4 })!.ci).toEqual([0.125, 0.125]);
    // level 0.5: p N = 0.25 * 4 = 1 is exactly the count at -0.25, so q(0.25) = -0.25 (ECDF >= p),
    // and q(0.75) = 0.125 (0.75 * 4 = 3 = the count up to 0.125)
    expect(bootstrapMeanCI([0.5, -0.25], { method: 'percentile', level: 0.5 })!.ci).toEqual([-0.25, 0.125]);
  });

  it('rejects bad input', () => {
    expect(() => bootstrapMeanCI([1, NaN])).toThrow(/non-finite/);
    expect(() => bootstrapMeanCI([1, 2], { level: 1 })).toThrow(/level/);
    expect(() => bootstrapMeanCI([1, 2], { seed: -1 })).toThrow(/seed/);
    expect(() => bootstrapMeanCI([1, 2], { resamples: 0 })).toThrow(/resamples/);
    expect(() => bootstrapMeanCI([1, 2], { method: 'basic' as 'bca' })).toThrow(/method/);
  });
});
