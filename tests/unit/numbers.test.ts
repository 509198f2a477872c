// Honest numbers: units and fixed decimals per column in the comparison table and its exports, a
// LaTeX table that fits \textwidth with real minus signs, a y axis with a minimum range (float32
// noise of a constant is not a zigzag), and smoothing of per-step curves only.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AlignedHistory } from '../../src/shared/api';
import type { ArmSummary, ComparisonSummary } from '../../src/shared/experiments';
import { columnDecimals, formatMetric, metricUnits, summaryCsvRows, summaryLatex, summaryMarkdown, SUMMARY_CSV_COLUMNS, tableDecimals } from '../../src/shared/summary-format';
import { tickLabel, tickValues, yRangeMin } from '../../src/renderer/src/lib/axis';
import { armCurves, diffCurves, isPerStep, type ArmRuns } from '../../src/renderer/src/lib/compare';

const noCost = { wall: null, cpu: null, loadWarnings: [] };
function arm(name: string, mean: number, std: number, paired: Partial<NonNullable<ArmSummary['paired']>> | null, over: Partial<ArmSummary> = {}): ArmSummary {
  return {
    name,
    role: paired ? 'arm' : 'baseline',
    runs: [],
    n: 3,
    mean,
    std,
    completion: { completed: 3, total: 3, text: '3 of 3 completed' },
    failsWhereReferenceDoesNot: [],
    paired: paired
      ? {
          n: 3, delta: 0, sdDelta: 0.001, ci95: [0, 0], pTTest: 0.2, pWilcoxon: null, tTestNote: null, wilcoxonNote: null, betterIn: 2, worseIn: 1, tiedIn: 0, reference: 'baseline', exact: false, identical: false,
          pAdjusted: 0.2, cs: [-Infinity, Infinity], bootstrap: null, tost: null, signP: 1, pBetter: null, mcnemar: null, testSample: null, mde80: null, ...paired,
        }
      : null,
    confirmatory: !!paired,
    verdict: paired ? { kind: 'undecided', text: 'not decided: ~12 seeds for 0.0050 (the margin)', seedsNeeded: 12 } : null,
    cost: { wall: { ratio: 1.1, min: 1, max: 1.2, n: 3 }, cpu: null, loadWarnings: [] },
    costRatio: 1.1,
    meanWallS: 10,
    ...over,
  };
}
function summaryOf(metric: string, arms: ArmSummary[]): ComparisonSummary {
  return {
    title: 'Ablation',
    metric,
    rule: 'best-val',
    higherIsBetter: !metric.includes('loss'),
    baseline: 'baseline',
    pairing: [],
    analysis: { test: 't', alpha: 0.05, correction: 'holm', reference: 'baseline', family: arms.slice(1).map((a) => a.name), margin: null, effect: null, maxSeeds: null, sequential: false, declared: true, exploratory: [], fixedNInvalid: null },
    methods: 'We compared the arms with baseline.',
    stopping: null,
    arms,
  };
}

// A loss comparison: magnitudes from 0.01 to 2, negative differences, a long arm name and verdict.
const loss = summaryOf('test/loss', [
  arm('baseline', 2.3456, 0.0123, null),
  arm('mixup alpha 0.2 + label smoothing 0.1 + cosine schedule', 0.3456, 0.1, { delta: -2.0001, ci95: [-2.1, -1.9], sdDelta: 0.05 }),
  arm('cutout', 0.0345, 0.0021, { delta: -0.0123, ci95: [-0.0234, -0.0012] }),
]);
const acc = summaryOf('test/acc', [arm('baseline', 0.9012, 0.0031, null), arm('label smoothing', 0.9185, 0.004, { delta: 0.0173, ci95: [0.0101, 0.0245] }), arm('mixup', 0.8954, 0.0052, { delta: -0.0058, ci95: [-0.011, -0.0006] })]);

describe('units and fixed decimals per column', () => {
  it('accuracies: 2 decimals in percent; Δ in percentage points; losses have no unit', () => {
    expect(metricUnits('test/acc')).toEqual({ value: '%', delta: 'pp' });
    expect(metricUnits('val/loss')).toEqual({ value: '', delta: '' });
    expect(columnDecimals('test/acc', [0.9, 0.0001])).toBe(2);
    expect(formatMetric('test/acc', 0.0173, true, 2)).toBe('+1.73');
    // a difference that rounds to zero has no sign
    expect(formatMetric('test/acc', -0.00001, true, 2)).toBe('0.00');
    expect(formatMetric('test/acc', 0.00001, true, 2)).toBe('0.00');
  });

  it('a loss column has one number of decimals: 3 significant digits of the largest, 2 of the smallest non-zero', () => {
    expect(columnDecimals('test/loss', [2.3456, 0.3456, 0.0345])).toBe(3); // 2.35, 0.035
    expect(columnDecimals('test/loss', [2.3456, 0.0123, 0.0021])).toBe(4); // 2.3456, 0.0021
    expect(columnDecimals('test/loss', [2.3456, 0.00021])).toBe(5);
    expect(columnDecimals('test/loss', [1e-12, 2])).toBe(6); // at most 6
    expect(columnDecimals('test/loss', [null, undefined, NaN, 0])).toBe(2);
    const d = tableDecimals(loss);
    expect(d).toEqual({ value: 4, delta: 4 });
  });

  it('Markdown: every cell of a column with the same decimals, units in the headers', () => {
    const md = summaryMarkdown(loss);
    const rows = md.split('\n').filter((l) => /^\| (baseline|mixup|cutout)/.test(l));
    expect(rows).toHaveLength(3);
    const col = (i: number) => rows.map((r) => r.split(' | ')[i]!.replace(/\*+$/, ''));
    // mean ± SD: 4 decimals everywhere (the SD 0.0021 needs them), though the values span 0.002 to 2.3
    expect(col(2)).toEqual(['2.3456 ± 0.0123', '0.3456 ± 0.1000', '0.0345 ± 0.0021']);
    // Δ: 4 decimals everywhere (the smallest CI end, 0.0012, needs them)
    expect(col(3)).toEqual(['', '-2.0001', '-0.0123']);
    expect(col(4)).toEqual(['', '[-2.1000, -1.9000]', '[-0.0234, -0.0012]']);
    const amd = summaryMarkdown(acc);
    expect(amd).toContain('| Arm | Verdict | test/acc (%) | Δ vs baseline (pp) | 95% CI (t, pp) |');
    expect(amd).toContain('| label smoothing | not decided: ~12 seeds for 0.0050 (the margin) | 91.85 ± 0.40 | +1.73 | [+1.01, +2.45] |');
    expect(amd).toContain('Δ: paired difference to baseline, in percentage points (pp),');
    expect(md).toContain('| Arm | Verdict | test/loss | Δ vs baseline | 95% CI (t) |'); // a loss has no unit
  });

  it('CSV: raw numbers with their unit in a column', () => {
    const col = (s: ComparisonSummary, r: number, c: (typeof SUMMARY_CSV_COLUMNS)[number]) => summaryCsvRows(s)[r]![SUMMARY_CSV_COLUMNS.indexOf(c)];
    expect([col(acc, 1, 'unit'), col(acc, 1, 'mean'), col(acc, 1, 'delta')]).toEqual(['fraction', 0.9185, 0.0173]);
    expect(col(loss, 0, 'unit')).toBe('');
  });
});

/** The tabular rows of a LaTeX table (between \midrule and \bottomrule). */
const texRows = (tex: string) => tex.slice(tex.indexOf('\\midrule'), tex.indexOf('\\bottomrule'));

describe('LaTeX table', () => {
  it('is as wide as \\textwidth (tabularx, \\small) and needs only booktabs and tabularx', () => {
    for (const s of [acc, loss]) {
      const tex = summaryLatex(s);
      expect(tex).toContain('\\begin{tabularx}{\\textwidth}{@{}>{\\raggedright\\arraybackslash}X');
      expect(tex).toContain('\\small');
      expect(tex).toContain('Needs \\usepackage{booktabs} and \\usepackage{tabularx}');
      expect(tex).not.toMatch(/\\begin\{tabular\}\{l/); // no fixed-width tabular of every column
    }
  });

  it('numbers carry a real minus sign, never a hyphen; units in the header', () => {
    const tex = summaryLatex(loss);
    const rows = texRows(tex);
    expect(rows).toContain('$-$2.0001');
    expect(rows).toContain('[$-$0.0234, $-$0.0012]');
    expect(rows).not.toMatch(/(^|[^$\w])-\d/m);
    expect(summaryLatex(acc)).toContain('test/acc (\\%) & \\begin{tabular}[t]{@{}r@{}}$\\Delta$ (pp)\\\\ {\\footnotesize 95\\% CI}\\end{tabular}');
    // the verdict is one word in its column; its full text is in the caption
    expect(rows).toContain('& undecided & ');
    expect(tex).toMatch(/Verdicts: .*; cutout: not decided: \$\\approx\$12 seeds for 0\.0050 \(the margin\)\./);
    expect(tex).not.toContain('done: runs completed'); // no done column, nothing to explain
  });

  it('"done" only when a run is missing', () => {
    expect(summaryLatex(acc)).not.toContain('& done &');
    const s = summaryOf('test/acc', [acc.arms[0]!, { ...acc.arms[1]!, completion: { completed: 2, total: 3, text: '2 of 3 completed: seed 3 failed' } }]);
    expect(summaryLatex(s)).toContain('& $p$ & done & cost');
    expect(summaryLatex(s)).toContain(' & 2/3 & ');
  });

  const pdflatex = spawnSync('which', ['pdflatex']).status === 0 && spawnSync('kpsewhich', ['booktabs.sty']).stdout.toString().trim() !== '';
  it.skipIf(!pdflatex)('compiles in a plain article without an overfull box (pdflatex)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-latex-'));
    try {
      const many = summaryOf('test/loss', [...loss.arms, ...['cutmix', 'random erasing', 'stochastic depth', 'SWA + EMA of weights'].map((n, i) => arm(n, 0.3 + i / 10, 0.01, { delta: -0.1234 * i, ci95: [-0.2, 0.0011] }))]);
      for (const [name, s] of Object.entries({ acc, loss, many })) {
        fs.writeFileSync(path.join(dir, `${name}.tex`), `\\documentclass{article}\n\\usepackage{booktabs}\n\\usepackage{tabularx}\n\\begin{document}\n${summaryLatex(s)}\n\\end{document}\n`);
        execFileSync('pdflatex', ['-interaction=nonstopmode', '-halt-on-error', `${name}.tex`], { cwd: dir, stdio: 'ignore', timeout: 60_000 });
        const log = fs.readFileSync(path.join(dir, `${name}.log`), 'latin1');
        expect(log, name).not.toMatch(/Overfull \\hbox|X Columns too narrow/);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('y axis with a minimum range', () => {
  const ticks = (values: number[], f: 'num' | 'pct' | 'loss' = 'num') => {
    const r = yRangeMin(values, f);
    return { r, out: tickValues(r).map((v) => tickLabel(v, r, f)) };
  };

  it('a constant float32 learning rate with float noise is flat, with short round ticks', () => {
    const lr = Math.fround(0.01); // 9.9999997764825856e-3
    const noisy = [lr, lr * (1 + 1e-8), lr * (1 - 2e-8), (lr + lr + lr) / 3];
    const { r, out } = ticks(noisy);
    expect(r.min!).toBeLessThan(lr);
    expect(r.max!).toBeGreaterThan(lr);
    expect(r.max! - r.min!).toBeGreaterThanOrEqual(0.002); // ±10%, as the run page pads a constant
    for (const t of out) expect(t.length, t).toBeLessThanOrEqual(7);
    expect(out).toContain('0.0100');
    expect(out.length).toBeGreaterThanOrEqual(3);
  });

  it('tick labels of tiny steps stay short (exponent with the digits the step needs)', () => {
    const r = yRangeMin([1e-6, 1.5e-6], 'num');
    for (const t of tickValues(r).map((v) => tickLabel(v, r, 'num'))) expect(t.length, t).toBeLessThanOrEqual(8);
  });

  it('a nearly flat curve gets at least 1% of its magnitude; a varying one keeps its range', () => {
    const { r } = ticks([0.3, 0.3001, 0.3002], 'loss');
    expect(r.max! - r.min!).toBeGreaterThanOrEqual(0.003);
    expect(yRangeMin([2.3, 0.2, 1], 'loss')).toEqual({ min: 0, max: 2.5, step: 0.5 }); // the data's own range, rounded out
    expect(yRangeMin([0.5, 0.98], 'pct')).toEqual({ min: 0.5, max: 1, step: 0.1 }); // accuracies stay <= 100%
    expect(yRangeMin([0.0001, 0.00010001], 'num').min!).toBeGreaterThanOrEqual(0); // padding stays >= 0
    expect(yRangeMin([], 'num')).toEqual({});
  });
});

describe('smoothing of per-step curves only', () => {
  const arms: ArmRuns[] = [
    { name: 'baseline', role: 'baseline', color: '#0072b2', runs: [{ runId: 1, seed: 1 }] },
    { name: 'trick', role: 'arm', color: '#e69f00', runs: [{ runId: 2, seed: 1 }] },
  ];
  const perEpoch: AlignedHistory = { key: 'val/acc', runIds: [1, 2], epoch: [1, 2, 3], step: [10, 20, 30], values: [[0.3, 0.9, 0.95], [0.35, 0.9, 0.96]].map((r) => Float32Array.from(r)), elapsed: null };
  const steps = Array.from({ length: 20 }, (_, i) => i + 1);
  const perStep: AlignedHistory = {
    key: 'train/loss',
    runIds: [1, 2],
    epoch: steps.map((s) => s / 10),
    step: steps,
    values: [steps.map((s) => 2 / s + (s % 2 ? 0.3 : -0.3)), steps.map((s) => 1.8 / s + (s % 2 ? 0.3 : -0.3))].map((r) => Float32Array.from(r)),
    elapsed: null,
  };
  const o = { x: 'epoch' as const, band: 'sd' as const, smoothing: 0.8, seeds: false };

  it('tells per-step series from per-epoch ones by their x', () => {
    expect(isPerStep(perEpoch)).toBe(false);
    expect(isPerStep(perStep)).toBe(true);
  });

  it('a per-epoch curve is drawn as measured at 0.8: it ends at its real value, no raw line', () => {
    const lines = armCurves(perEpoch, arms, o);
    expect(lines.map((l) => l.label)).toEqual(['baseline', 'trick']);
    expect(lines[0]!.points.at(-1)!.y).toBeCloseTo(0.95, 6);
    expect(diffCurves(perEpoch, arms, o)[0]!.points.at(-1)!.y).toBeCloseTo(0.01, 6);
  });

  it('a per-step curve is smoothed, with its raw mean faint behind it', () => {
    const lines = armCurves(perStep, arms, o);
    expect(lines.map((l) => [l.label, !!l.raw])).toEqual([['baseline', false], ['trick', false], ['baseline (raw)', true], ['trick (raw)', true]]);
    const [smoothed, , raw] = lines;
    expect(raw!.points.map((p) => p.y)).toEqual(Array.from(perStep.values[0]!));
    // the zigzag of ±0.3 is damped
    const swing = (ys: number[]) => Math.max(...ys.slice(10).map((y, i, a) => (i ? Math.abs(y - a[i - 1]!) : 0)));
    expect(swing(smoothed!.points.map((p) => p.y))).toBeLessThan(swing(raw!.points.map((p) => p.y)) / 3);
    expect(diffCurves(perStep, arms, o).map((l) => l.label)).toEqual(['trick − baseline', 'trick − baseline (raw)']);
    expect(armCurves(perStep, arms, { ...o, smoothing: 0 }).some((l) => l.raw)).toBe(false);
  });
});
