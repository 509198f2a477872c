// The comparison service on a store of finished runs (no training): exact counts, the family and
// its correction, any arm as the reference, failed runs counted, paired cost, the analysis plan
// and what is off it, equivalence, the methods paragraph. The numbers themselves are checked
// against SciPy/statsmodels in stats/inference/sequential/bootstrap tests; here we check that the
// comparison uses them as the plan says.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { summarize } from '../../src/main/services/compare';
import { ApiFailure } from '../../src/shared/api';
import { defaultRunConfig } from '../../src/shared/config';
import { planExperiment, type ExperimentFile } from '../../src/shared/experiments';
import { adjustP } from '../../src/shared/inference';
import { tConfidenceSequence } from '../../src/shared/sequential';
import { stars, summaryMarkdown } from '../../src/shared/summary-format';
import { pairedComparison } from '../../src/shared/stats';
import { Store } from '../../src/store/store';
import { tmpDataDir } from '../helpers/tmp';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

let tmp: ReturnType<typeof tmpDataDir>;
let store: Store;
beforeEach(() => {
  tmp = tmpDataDir();
  store = new Store(tmp.dir);
});
afterEach(() => {
  store.close();
  tmp.cleanup();
});

const N_TEST = 10000;
const baseline = { ...defaultRunConfig(), name: 'x' } as unknown as Record<string, unknown>;
delete baseline.seed;

interface Outcome {
  /** Correct test images of 10,000; or a failure message. */
  correct?: number;
  /** Per test image: right or not (then the test set is these images, predictions stored). */
  right?: boolean[];
  error?: string;
  wallS?: number;
  cpuS?: number;
  /** [start, end] in ms. */
  at?: [number, number];
}

/** An experiment with finished runs: outcomes[arm][i] for seeds[i]. */
function experiment(arms: string[], seeds: number[], outcomes: Record<string, Outcome[]>, extra: Partial<ExperimentFile> = {}): number {
  const r = planExperiment({ name: 'e', baseline, arms: arms.map((name, i) => ({ name, set: { 'optimizer.lr': 0.01 * (i + 2) } })), seeds, ...extra }, BUILTIN_FACTS);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const info = store.experiments.create(r.plan);
  let t = 1_000_000;
  for (const [i, seed] of seeds.entries()) {
    for (const arm of info.arms) {
      const o = outcomes[arm.name]?.[i];
      if (!o) continue;
      const run = store.createRun({ ...defaultRunConfig(), seed }, 'running', `${arm.name} ${seed}`);
      store.experiments.link(run.id, info.id, arm.id);
      const [start, end] = o.at ?? [t, t + 1000];
      t = end + 10;
      store.db.prepare('UPDATE run SET started_at = ? WHERE id = ?').run(start, run.id);
      if (o.error) {
        store.finishRun(run.id, 'failed', o.error);
      } else {
        store.addMetrics(run.id, [
          { key: 'time/epoch_s', step: 1, epoch: 1, value: o.wallS ?? 10, time: 0 },
          { key: 'time/cpu_s', step: 1, epoch: 1, value: o.cpuS ?? 20, time: 0 },
        ]);
        const total = o.right?.length ?? N_TEST;
        const c = o.right ? o.right.filter(Boolean).length : o.correct!;
        store.evaluations.save(run.id, {
          evaluations: (['best', 'last'] as const).map((checkpoint) => ({ checkpoint, epoch: 1, step: 1, n: total, loss: 1, acc: c / total, top5: null, confusion: [[c, total - c], [0, 0]], perClass: [1, 0] })),
          classNames: ['a', 'b'],
          imageShape: [1, 1, 1],
          predictions: (o.right ?? []).map((r, index) => ({ index, label: 0, pred: r ? 0 : 1, confidence: 0.9, image: null })),
        });
        store.finishRun(run.id, 'completed');
      }
      store.db.prepare('UPDATE run SET ended_at = ? WHERE id = ?').run(end, run.id);
    }
  }
  return info.id;
}

const ok = (...correct: number[]) => correct.map((c) => ({ correct: c }));

describe('the comparison of an experiment', () => {
  it('+3 images in every seed is an identical gain from exact counts: no p, no star, its own verdict', () => {
    const id = experiment(['trick'], [1, 2, 3], { baseline: ok(9100, 9107, 9094), trick: ok(9103, 9110, 9097) });
    const s = summarize(store, { experimentId: id });
    const t = s.arms[1]!;
    expect(t.paired).toMatchObject({ exact: true, identical: true, pTTest: null, pWilcoxon: null, pAdjusted: null, sdDelta: 0, betterIn: 3 });
    expect(t.paired!.delta).toBeCloseTo(3e-4, 15);
    expect(t.verdict).toMatchObject({ kind: 'identical', text: 'identical gain in every seed (n = 3)' });
    expect(t.paired!.signP).toBe(0.25); // "3 of 3 better" under the null: 2 x 1/8
  });

  it('arms against one baseline are a family: Holm-adjusted p decides the verdict; Bonferroni is selectable and exploratory', () => {
    const base = [9000, 9010, 9020, 9030, 9040];
    const gains: Record<string, number[]> = { a: [30, 35, 22, 41, 28], b: [6, 1, 9, 2, 4], c: [-2, 4, -6, 3, 1] };
    const id = experiment(['a', 'b', 'c'], [1, 2, 3, 4, 5], {
      baseline: ok(...base),
      ...Object.fromEntries(Object.entries(gains).map(([k, g]) => [k, ok(...base.map((b, i) => b + g[i]!))])),
    });
    const s = summarize(store, { experimentId: id });
    const raw = ['a', 'b', 'c'].map((k) => pairedComparison(gains[k]!, [0, 0, 0, 0, 0], true).pTTest);
    const holm = adjustP(raw, 'holm');
    expect(s.arms.slice(1).map((a) => a.paired!.pAdjusted)).toEqual(holm);
    expect(s.analysis).toMatchObject({ correction: 'holm', family: ['a', 'b', 'c'], test: 't', exploratory: [], declared: false });
    expect(s.arms[1]!.verdict!.kind).toBe('better');
    // b's raw p is below 0.05 but not after Holm: not decided
    expect(raw[1]!).toBeLessThan(0.05);
    expect(holm[1]!).toBeGreaterThan(0.05);
    expect(s.arms[2]!.verdict!.kind).toBe('undecided');
    expect(s.arms[2]!.verdict!.text).toMatch(/^not decided: ~\d+ seeds for 0\.\d\d pp \(the effect seen so far\)$/);
    const bonf = summarize(store, { experimentId: id, correction: 'bonferroni' });
    expect(bonf.arms.slice(1).map((a) => a.paired!.pAdjusted)).toEqual(adjustP(raw, 'bonferroni'));
    expect(bonf.analysis.exploratory).toEqual(['correction bonferroni (planned: holm)']);
    expect(s.methods).toMatch(/Holm's step-down method/);
    expect(s.methods).toMatch(/n = 5 seeds/);
  });

  it('the signed-rank test decides only the way it points: one collapsed seed does not turn 11 wins into "worse"', () => {
    const base = Array.from({ length: 12 }, (_, i) => 9000 + i);
    const gain = [20, 22, 25, 21, 30, 24, 26, 23, 28, 27, 29, -6000];
    const id = experiment(['trick'], base.map((_, i) => i + 1), { baseline: ok(...base), trick: ok(...base.map((b, i) => b + gain[i]!)) }, {
      analysis: { test: 'wilcoxon', alpha: 0.05, correction: 'holm', reference: 'baseline', sequential: false },
    });
    const t = summarize(store, { experimentId: id }).arms[1]!;
    expect(t.paired!.pWilcoxon!).toBeLessThan(0.05); // 11 of 12 up: significant ...
    expect(t.paired!.delta!).toBeLessThan(0); // ... while the mean is down
    expect(t.verdict).toMatchObject({ kind: 'undecided', text: 'not decided: the signed-rank test and the mean difference point in opposite directions' });
  });

  it('confirmatory arms get the confidence sequence at alpha / k (the family of 3), exploratory ones at alpha', () => {
    const base = [9000, 9010, 9020, 9030, 9040];
    const g = [5, 9, 2, 7, 4];
    const id = experiment(['a', 'b', 'c'], [1, 2, 3, 4, 5], { baseline: ok(...base), a: ok(...base.map((b, i) => b + g[i]!)), b: ok(...base), c: ok(...base.map((b, i) => b - g[i]!)) }, {
      analysis: { test: 't', alpha: 0.05, correction: 'holm', reference: 'baseline', family: ['a', 'c'], sequential: false },
    });
    const s = summarize(store, { experimentId: id });
    const d = g.map((x) => x / N_TEST);
    expect(s.arms[1]!.paired!.cs).toEqual(tConfidenceSequence(d, 0.05 / 2, { targetN: 10 }));
    expect(s.arms[3]!.paired!.cs).toEqual(tConfidenceSequence(d.map((x) => -x), 0.05 / 2, { targetN: 10 }));
    expect(s.arms[2]!.confirmatory).toBe(false);
    expect(summaryMarkdown(s)).toContain('97.5% (1 − α/2) anytime-valid confidence sequence');
  });

  it('the first completed run of a seed counts, and a seed completed twice is said', () => {
    const id = experiment(['trick'], [1, 2], { baseline: ok(9000, 9010), trick: ok(9005, 9012) });
    const info = store.experiments.get(id)!;
    const again = store.createRun({ ...defaultRunConfig(), seed: 1 }, 'running', 'again');
    store.experiments.link(again.id, id, info.arms.find((a) => a.name === 'trick')!.id);
    store.evaluations.save(again.id, {
      evaluations: (['best', 'last'] as const).map((checkpoint) => ({ checkpoint, epoch: 1, step: 1, n: N_TEST, loss: 1, acc: 0.95, top5: null, confusion: [[9500, 500], [0, 0]], perClass: [1, 0] })),
      classNames: ['a', 'b'],
      imageShape: [1, 1, 1],
      predictions: [],
    });
    store.finishRun(again.id, 'completed');
    const t = summarize(store, { experimentId: id }).arms[1]!;
    expect(t.runs.find((r) => r.seed === 1)!.value).toBe(0.9005);
    expect(t.completion.text).toBe('2 of 2 completed: seed 1 completed more than once: the first run counts');
  });

  it("another metric than the plan's drops the plan's margin (its units are the planned metric's)", () => {
    const id = experiment(['trick'], [1, 2, 3], { baseline: ok(9000, 9010, 9020), trick: ok(9001, 9012, 9020) }, {
      analysis: { test: 't', alpha: 0.05, correction: 'holm', reference: 'baseline', sequential: false, margin: 0.5 },
    });
    expect(summarize(store, { experimentId: id }).analysis.margin).toBeCloseTo(0.005, 15);
    const loss = summarize(store, { experimentId: id, metric: 'test/loss' });
    expect(loss.analysis.margin).toBeNull();
    expect(summarize(store, { experimentId: id, metric: 'test/loss', margin: 0.1 }).analysis.margin).toBe(0.1);
  });

  it('the plan names real arms: a misspelt family member or reference is refused when the file is read', () => {
    const r = planExperiment({ name: 'e', baseline, arms: [{ name: 'A', set: {} }, { name: 'B', set: {} }], seeds: [1, 2], analysis: { family: ['A', 'Bb'], reference: 'Baseline' } }, BUILTIN_FACTS);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.map((e) => e.field)).toEqual(['analysis.reference', 'analysis.family.1']);
      expect(r.errors[1]!.message).toBe('"Bb" is not an arm of this experiment (baseline, A, B)');
    }
  });

  it('stars follow the analysis alpha', () => {
    expect([stars(0.03), stars(0.03, 0.01), stars(0.07, 0.1), stars(0.0009, 0.05), stars(0.0009, 0.01)]).toEqual(['*', '', '*', '***', '**']);
  });

  it('any arm as the reference; cumulative ablations compare each arm with the previous one', () => {
    const id = experiment(['+A', '+A+B'], [1, 2, 3], { baseline: ok(9000, 9010, 9020), '+A': ok(9030, 9041, 9049), '+A+B': ok(9032, 9040, 9055) });
    const prev = summarize(store, { experimentId: id, reference: 'previous' });
    expect(prev.arms.map((a) => a.paired?.reference ?? null)).toEqual([null, 'baseline', '+A']);
    expect(prev.arms[2]!.paired!.delta).toBeCloseTo((2 - 1 + 6) / 3 / N_TEST, 15);
    const named = summarize(store, { experimentId: id, reference: '+A' });
    expect(named.arms.map((a) => a.paired?.reference ?? null)).toEqual(['+A', null, '+A']);
    expect(named.arms[0]!.paired!.delta).toBeCloseTo(-30 / N_TEST, 15);
    expect(() => summarize(store, { experimentId: id, reference: 'nope' })).toThrow(ApiFailure);
    try {
      summarize(store, { experimentId: id, reference: 'nope' });
    } catch (e) {
      expect((e as ApiFailure).error.field).toBe('reference');
    }
  });

  it('the plan in the experiment file is the analysis; a preset declaring reference "previous" gets it by default', () => {
    const id = experiment(['+A', '+A+B'], [1, 2, 3], { baseline: ok(9000, 9010, 9020), '+A': ok(9030, 9041, 9049), '+A+B': ok(9032, 9040, 9055) }, {
      analysis: { test: 'wilcoxon', alpha: 0.05, correction: 'hochberg', reference: 'previous', sequential: false },
    });
    const s = summarize(store, { experimentId: id });
    expect(s.analysis).toMatchObject({ test: 'wilcoxon', correction: 'hochberg', reference: 'previous', declared: true, exploratory: [] });
    expect(s.methods).toMatch(/follows the plan declared before the experiment started/);
    const off = summarize(store, { experimentId: id, reference: 'baseline', metric: 'test/loss' });
    expect(off.analysis.exploratory).toEqual(['metric test/loss (planned: test/acc)', 'reference baseline (planned: previous)']);
    expect(off.methods).toMatch(/Exploratory \(off the analysis plan/);
  });

  it('failed and missing runs are counted, and a trick failing where the baseline did not is flagged', () => {
    const id = experiment(['trick'], [1, 2, 3, 4], {
      baseline: ok(9000, 9010, 9020, 9030),
      trick: [{ correct: 9030 }, { correct: 9041 }, { error: 'training diverged: train/loss is NaN at epoch 2, step 30 (try a lower optimizer.lr)' }],
    });
    const t = summarize(store, { experimentId: id }).arms[1]!;
    expect(t.completion).toEqual({ completed: 2, total: 4, text: '2 of 4 completed: seed 3 diverged at epoch 2; seed 4 not started' });
    expect(t.failsWhereReferenceDoesNot).toEqual([3]);
    expect(t.paired!.n).toBe(2);
    expect(t.runs.find((r) => r.seed === 3)!.problem).toBe('diverged at epoch 2');
  });

  it('cost is paired by seed: the geometric mean of per-seed ratios with their range, wall and CPU; unequal load is flagged', () => {
    const id = experiment(['trick'], [1, 2], {
      baseline: [{ correct: 9000, wallS: 10, cpuS: 20, at: [0, 1000] }, { correct: 9000, wallS: 100, cpuS: 40, at: [2000, 3000] }],
      trick: [{ correct: 9001, wallS: 20, cpuS: 40, at: [1100, 1900] }, { correct: 9002, wallS: 50, cpuS: 40, at: [3100, 3900] }],
    });
    // another run (not in the experiment) beside seed 2's trick run
    const other = store.createRun(defaultRunConfig(), 'running');
    store.db.prepare('UPDATE run SET started_at = 3200, ended_at = 3500 WHERE id = ?').run(other.id);
    const t = summarize(store, { experimentId: id }).arms[1]!;
    expect(t.cost.wall).toEqual({ ratio: 1, min: 0.5, max: 2, n: 2 }); // sqrt(2 x 0.5); a mean of wall times would say 70/55
    expect(t.cost.cpu!.ratio).toBeCloseTo(Math.sqrt(2), 12);
    expect(t.cost.loadWarnings).toEqual(['seed 2: trick ran beside 1 other run, baseline beside 0']);
  });

  it('McNemar per seed and the test sample\'s part of the error, from the stored predictions', () => {
    const R = (s: string) => [...s].map((ch) => ch === '1');
    // 3 seeds x 8 images
    const base = ['11001100', '10101010', '11110000'];
    const arm = ['11101110', '11101011', '11110001'];
    const id = experiment(['trick'], [1, 2, 3], { baseline: base.map((s) => ({ right: R(s) })), trick: arm.map((s) => ({ right: R(s) })) });
    const p = summarize(store, { experimentId: id }).arms[1]!.paired!;
    // seed 1: arm alone right on images 2 and 6; seed 2: images 1, 7; seed 3: image 7
    expect(p.mcnemar!.map((m) => [m.seed, m.armOnly, m.refOnly])).toEqual([[1, 2, 0], [2, 2, 0], [3, 1, 0]]);
    expect(p.mcnemar![0]!.p).toBe(0.5); // exact: 2 discordant, both one way: 2 x (1/2)^2
    // c_i = mean over seeds of (arm right - base right) per image: [0, 1/3, 1/3, 0, 0, 1/3, 0, 2/3]
    const c = [0, 1, 1, 0, 0, 1, 0, 2].map((x) => x / 3);
    const mean = c.reduce((s, x) => s + x, 0) / 8;
    const se = Math.sqrt(c.reduce((s, x) => s + (x - mean) ** 2, 0) / 7 / 8);
    expect(p.testSample!.se).toBeCloseTo(se, 14);
    expect(p.delta).toBeCloseTo(mean, 14); // the per-image shares add up to the mean difference
    const t975df2 = 4.302652729911275; // scipy.stats.t.ppf(0.975, 2)
    const half = t975df2 * Math.sqrt(p.sdDelta! ** 2 / 3 + se ** 2);
    // @stdlib's t quantile and SciPy's agree to ~1e-10 relative (stats.test.ts): 1e-9 here
    expect(p.testSample!.ci95[0]).toBeCloseTo(mean - half, 9);
    expect(p.testSample!.ci95[1]).toBeCloseTo(mean + half, 9);
    expect(p.testSample!.ci95[1] - p.testSample!.ci95[0]).toBeGreaterThan(p.ci95![1] - p.ci95![0]);
  });

  it('an equivalence margin gives "equivalent within ±m" by TOST (in points for accuracy)', () => {
    const base = [9000, 9010, 9020, 9030, 9040, 9050];
    const id = experiment(['same'], [1, 2, 3, 4, 5, 6], { baseline: ok(...base), same: ok(...base.map((b, i) => b + [1, -2, 0, 2, -1, 1][i]!)) });
    const s = summarize(store, { experimentId: id, margin: 0.1 }); // ±0.1 points = ±10 images
    expect(s.analysis.margin).toBeCloseTo(0.001, 15);
    expect(s.arms[1]!.paired!.tost!.p).toBeLessThan(0.05);
    expect(s.arms[1]!.verdict).toMatchObject({ kind: 'equivalent', text: 'equivalent within ±0.10 pp' });
    // a margin chosen after the results is the classic way to make anything "equivalent": off the plan
    expect(s.analysis.exploratory).toEqual(['margin ±0.1 (planned: none)']);
    expect(() => summarize(store, { experimentId: id, margin: -1 })).toThrow(/margin must be a positive number/);
  });

  it('a declared margin is the plan; margin null drops it, and that is off the plan', () => {
    const base = [9000, 9010, 9020, 9030, 9040, 9050];
    const id = experiment(['same'], [1, 2, 3, 4, 5, 6], { baseline: ok(...base), same: ok(...base.map((b, i) => b + [1, -2, 0, 2, -1, 1][i]!)) }, { analysis: { test: 't', alpha: 0.05, correction: 'holm', reference: 'baseline', sequential: false, margin: 0.1 } });
    const planned = summarize(store, { experimentId: id });
    expect(planned.arms[1]!.verdict!.kind).toBe('equivalent');
    expect(planned.analysis.exploratory).toEqual([]);
    const none = summarize(store, { experimentId: id, margin: null });
    expect(none.analysis.margin).toBeNull();
    expect(none.arms[1]!.paired!.tost).toBeNull();
    expect(none.arms[1]!.verdict!.kind).toBe('undecided');
    expect(none.analysis.exploratory).toEqual(['no margin (planned: ±0.1)']);
  });
});
