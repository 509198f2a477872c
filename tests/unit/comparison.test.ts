// What the compare view draws and exports, from the store's aligned histories: the mean and band of
// each arm, per-seed differences to the baseline paired by seed, smoothing, and the summary as a
// table (Markdown, LaTeX, CSV rows).
import { describe, expect, it } from 'vitest';
import type { AlignedHistory } from '../../src/shared/api';
import type { ComparisonSummary } from '../../src/shared/experiments';
import { summaryCsvRows, summaryLatex, summaryMarkdown, SUMMARY_CSV_COLUMNS } from '../../src/shared/summary-format';
import { armCurves, diffCurves, smooth, type ArmRuns } from '../../src/renderer/src/lib/compare';

// Two arms x 2 seeds (runs 1, 2: baseline seeds 1, 2; runs 3, 4: arm seeds 2, 1) over 3 epochs;
// run 2 stopped after 2 epochs.
const h: AlignedHistory = {
  key: 'val/acc',
  runIds: [1, 2, 3, 4],
  epoch: [1, 2, 3],
  step: [10, 20, 30],
  values: [
    [0.5, 0.6, 0.7],
    [0.7, 0.8, NaN],
    [0.75, 0.9, 0.95],
    [0.6, 0.65, 0.8],
  ].map((r) => Float32Array.from(r)),
  elapsed: [
    [1, 2, 3],
    [3, 4, NaN],
    [2, 4, 6],
    [1, 2, 3],
  ].map((r) => Float32Array.from(r)),
};
const arms: ArmRuns[] = [
  { name: 'baseline', role: 'baseline', color: '#0072b2', runs: [{ runId: 1, seed: 1 }, { runId: 2, seed: 2 }] },
  { name: 'trick', role: 'arm', color: '#e69f00', runs: [{ runId: 3, seed: 2 }, { runId: 4, seed: 1 }] },
];
const opts = { x: 'epoch' as const, band: 'sd' as const, smoothing: 0, seeds: false };

describe('comparison curves', () => {
  it('mean and SD band per arm; n drops where a seed has no point, and is reported there', () => {
    const [base, trick] = armCurves(h, arms, opts);
    expect(base!.points.map((p) => [p.x, +p.y.toFixed(6)])).toEqual([[1, 0.6], [2, 0.7], [3, 0.7]]);
    expect(base!.n).toEqual([2, 2, 1]);
    expect(base!.nChanges).toEqual([{ x: 1, n: 2 }, { x: 3, n: 1 }]);
    const sd = Math.sqrt(0.02); // SD of 0.5 and 0.7
    expect(base!.band!.hi[0]!.y).toBeCloseTo(0.6 + sd, 6); // values come as float32 (for drawing): 7 digits
    expect(base!.band!.lo[2]!.y).toBeCloseTo(0.7, 6); // one run: no spread
    expect(trick!.points.map((p) => +p.y.toFixed(6))).toEqual([0.675, 0.775, 0.875]);
  });

  it('differences pair runs by seed, not by position', () => {
    const [d] = diffCurves(h, arms, opts);
    // seed 1: run 4 - run 1 = [0.1, 0.05, 0.1]; seed 2: run 3 - run 2 = [0.05, 0.1, —]
    expect(d!.label).toBe('trick − baseline');
    expect(d!.points.map((p) => +p.y.toFixed(6))).toEqual([0.075, 0.075, 0.1]);
    expect(d!.n).toEqual([2, 2, 1]);
  });

  it('differences follow the comparison\'s reference: against another arm, and none for the reference itself', () => {
    const withRef: ArmRuns[] = [
      { ...arms[0]!, reference: 'trick' },
      { ...arms[1]!, reference: null },
    ];
    const lines = diffCurves(h, withRef, opts);
    expect(lines.map((l) => l.label)).toEqual(['baseline − trick']);
    // seed 1: run 1 - run 4 = [-0.1, -0.05, -0.1]; seed 2: run 2 - run 3 = [-0.05, -0.1, —]
    expect(lines[0]!.points.map((p) => +p.y.toFixed(6))).toEqual([-0.075, -0.075, -0.1]);
  });

  it('x by step or by wall time (the mean elapsed seconds of the runs behind each point)', () => {
    expect(armCurves(h, arms, { ...opts, x: 'step' })[0]!.points.map((p) => p.x)).toEqual([10, 20, 30]);
    expect(armCurves(h, arms, { ...opts, x: 'time' })[0]!.points.map((p) => p.x)).toEqual([2, 3, 3]);
    // differences have no common time axis: by epoch
    expect(diffCurves(h, arms, { ...opts, x: 'time' })[0]!.points.map((p) => p.x)).toEqual([1, 2, 3]);
  });

  it('seeds on demand, faint, labelled with their seed', () => {
    const lines = armCurves(h, arms, { ...opts, seeds: true });
    expect(lines.filter((l) => l.seed).map((l) => l.label)).toEqual(['baseline · seed 1', 'baseline · seed 2', 'trick · seed 2', 'trick · seed 1']);
    expect(diffCurves(h, arms, { ...opts, seeds: true }).filter((l) => l.seed)).toHaveLength(2);
  });

  it("smoothing is TensorBoard's debiased EMA and skips gaps", () => {
    expect(smooth([1, 2, 3], 0)).toEqual([1, 2, 3]);
    const s = smooth([1, null, 3], 0.5);
    expect(s[0]).toBeCloseTo(1, 12); // debiased: the first value is itself
    expect(s[1]).toBeNaN();
    expect(s[2]).toBeCloseTo((0.5 * 0.5 * 1 + 0.5 * 3) / (1 - 0.25), 12);
  });
});

const noCost = { wall: null, cpu: null, loadWarnings: [] };
const summary: ComparisonSummary = {
  title: 'LS & mixup_test',
  metric: 'test/acc',
  rule: 'best-val',
  higherIsBetter: true,
  baseline: 'baseline',
  pairing: [],
  analysis: { test: 't', alpha: 0.05, correction: 'holm', reference: 'baseline', family: ['label smoothing'], margin: null, effect: null, maxSeeds: null, sequential: false, declared: true, exploratory: [], fixedNInvalid: null },
  methods: 'We compared 1 arm with baseline.',
  stopping: null,
  arms: [
    { name: 'baseline', role: 'baseline', runs: [], n: 5, mean: 0.9012, std: 0.0031, completion: { completed: 5, total: 5, text: '5 of 5 completed' }, failsWhereReferenceDoesNot: [], paired: null, confirmatory: false, verdict: null, cost: noCost, costRatio: null, meanWallS: 100 },
    {
      name: 'label smoothing',
      role: 'arm',
      runs: [],
      n: 5,
      mean: 0.9101,
      std: 0.0025,
      completion: { completed: 5, total: 6, text: '5 of 6 completed: seed 6 diverged at epoch 2' },
      failsWhereReferenceDoesNot: [6],
      paired: {
        n: 5, delta: 0.0089, sdDelta: 0.002, ci95: [0.0064, 0.0114], pTTest: 0.0004, pWilcoxon: null, tTestNote: null, wilcoxonNote: 'n=5: cannot reach p<0.05 (min 0.0625)',
        betterIn: 5, worseIn: 0, tiedIn: 0, reference: 'baseline', exact: true, identical: false, pAdjusted: 0.0004, cs: [0.002, Infinity], bootstrap: { ci: [0.0071, 0.0104], method: 'bca', resamples: 'exact' },
        tost: null, signP: 0.0625, pBetter: { estimate: 1, ci: [0.478, 1] }, mcnemar: null, testSample: { se: 0.0011, ci95: [0.0058, 0.012] }, mde80: 0.0041,
      },
      confirmatory: true,
      verdict: { kind: 'better', text: 'better', seedsNeeded: null },
      cost: { wall: { ratio: 1.02, min: 0.98, max: 1.07, n: 5 }, cpu: null, loadWarnings: ['seed 2: label smoothing ran beside 1 other run, baseline beside 0'] },
      costRatio: 1.02,
      meanWallS: 102,
    },
  ],
};

describe('summary tables', () => {
  it('Markdown: the verdict first, mean ± SD in percent, Δ with stars from the adjusted p, t/bootstrap intervals and the sequence, k of n with the sign test, completion, paired cost; notes and methods', () => {
    const md = summaryMarkdown(summary);
    expect(md).toContain('| Arm | Verdict | test/acc (%) | Δ vs baseline (pp) | 95% CI (t, pp) | bootstrap (BCa, pp) | CS (pp) | p | better | completed | cost |');
    expect(md).toContain('| baseline | reference | 90.12 ± 0.31 |  |  |  |  |  |  | 5/5 | — |');
    expect(md).toContain('| label smoothing | better | 91.01 ± 0.25 | +0.89*** | [+0.64, +1.14] | [+0.71, +1.04] | (unbounded) | <0.001 | 5/5 (p=0.063) | 5/6 | 1.02x (0.98–1.07) |');
    expect(md).toContain('- label smoothing: 5 of 6 completed: seed 6 diverged at epoch 2');
    expect(md).toContain('- label smoothing: fails where baseline does not: seed 6');
    expect(md).toContain('- label smoothing: Wilcoxon: n=5: cannot reach p<0.05 (min 0.0625)');
    expect(md).toContain('- label smoothing: cost: seed 2: label smoothing ran beside 1 other run, baseline beside 0');
    expect(md).toContain('holm-adjusted over 1 comparison');
    expect(md).toContain('*Methods.* We compared 1 arm with baseline.');
  });

  it('no stars when fixed-n p-values are not valid (seeds added after looking)', () => {
    const s = { ...summary, analysis: { ...summary.analysis, fixedNInvalid: 'seed 7 was added after results were seen' } };
    const md = summaryMarkdown(s);
    expect(md).toContain('| label smoothing | better | 91.01 ± 0.25 | +0.89 |');
    expect(md).toContain('no stars: fixed-n p-values are not valid here');
  });

  it('LaTeX: booktabs, escaped names, math for ±, Δ and stars, the methods paragraph', () => {
    const tex = summaryLatex(summary);
    expect(tex).toContain('\\begin{tabularx}{\\textwidth}{@{}>{\\raggedright\\arraybackslash}Xlrrrrr@{}}');
    expect(tex).toContain('label smoothing & better & 91.01 $\\pm$ 0.25 & \\begin{tabular}[t]{@{}r@{}}+0.89$^{***}$\\\\ {\\footnotesize [+0.64, +1.14]}\\end{tabular} & $<$0.001 & 5/6 & 1.02$\\times$ \\\\');
    expect(tex).toContain('\\caption{LS \\& mixup\\_test: ');
    expect(tex).toContain('\\paragraph{Methods.} We compared 1 arm with baseline.');
    expect(tex).not.toMatch(/[±Δα–]/); // pdflatex has none of them
  });

  it('CSV rows: raw numbers, empty where undefined, an unbounded sequence empty, the methods in the first row', () => {
    const rows = summaryCsvRows(summary);
    const col = (r: number, c: (typeof SUMMARY_CSV_COLUMNS)[number]) => rows[r]![SUMMARY_CSV_COLUMNS.indexOf(c)];
    expect(rows[0]).toHaveLength(SUMMARY_CSV_COLUMNS.length);
    expect([col(0, 'arm'), col(0, 'verdict'), col(0, 'n'), col(0, 'mean'), col(0, 'delta'), col(0, 'methods')]).toEqual(['baseline', 'reference', 5, 0.9012, '', 'We compared 1 arm with baseline.']);
    expect([col(1, 'delta'), col(1, 'ci95_lo'), col(1, 'cs_lo'), col(1, 'cs_hi'), col(1, 'p_adjusted'), col(1, 'completed'), col(1, 'planned'), col(1, 'cost_ratio_max')]).toEqual([0.0089, 0.0064, 0.002, '', 0.0004, 5, 6, 1.07]);
    expect(col(1, 'methods')).toBe('');
    expect([col(1, 'test_sample_se'), col(1, 'ci95_with_test_lo'), col(1, 'ci95_with_test_hi')]).toEqual([0.0011, 0.0058, 0.012]);
  });
});
