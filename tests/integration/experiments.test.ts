// Experiments: files and presets validate with errors naming arm and field; the app queues the
// runs interleaved by seed, the arms of a seed are a matched pair (same initial weights, same
// batches), seeds and arms can be added later, pre-training runs per seed; the CLI trains one
// from a file and prints the summary with its JSON last line.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pairingProblem, planExperiment, type PairingPayload } from '../../src/shared/experiments';
import { ExperimentService, launchOrder, loadPresets, presetsDir } from '../../src/main/services/experiments';
import { summarize } from '../../src/main/services/compare';
import { Store } from '../../src/store/store';
import { makeService, runCli, tinyConfig, waitFor } from '../helpers/trainer';
import { tmpDataDir } from '../helpers/tmp';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

const pairingOf = (store: Store, runId: number) => store.events(runId).find((e) => e.kind === 'pairing')!.payload as unknown as PairingPayload;

describe('experiment files and presets', () => {
  it('the shipped presets are the five comparisons of the tricks issue, each a valid experiment with seeds', () => {
    const presets = loadPresets();
    expect(presetsDir()).toMatch(/resources[/\\]presets$/);
    expect(presets.map((p) => p.name).sort()).toEqual(['Bag of tricks ablation on ResNet-20', 'R-Drop on a CNN with dropout', 'RIFLE fine-tuning', 'RePr on C^3(32)', 'RiR-18 vs ResNet-18']);
    for (const p of presets) {
      expect(p.plan.arms[0]!.role, p.id).toBe('baseline');
      expect(p.plan.arms.length, p.id).toBeGreaterThanOrEqual(2);
      expect(p.plan.file.seeds.length, p.id).toBeGreaterThanOrEqual(3);
    }
    const rifle = presets.find((p) => p.id === 'rifle-finetune')!.plan;
    expect(rifle.pretrain!.config.dataset.classes).toEqual([0, 1, 2, 3, 4]);
    expect(rifle.arms.map((a) => [a.config.init?.exclude, a.config.dataset.classes, a.config.tricks.rifle !== null])).toEqual([
      [['head'], [5, 6, 7, 8, 9], false],
      [['head'], [5, 6, 7, 8, 9], true],
    ]);
    expect(presets.find((p) => p.id === 'repr-c3')!.plan.arms[1]!.config.tricks.repr).toMatchObject({ s1: 3, s2: 2, cycles: 2 });
    // the cumulative ablation declares its reference: each refinement against the one before it
    expect(presets.find((p) => p.id === 'bag-of-tricks-resnet20')!.plan.file.analysis).toMatchObject({ reference: 'previous', correction: 'holm', test: 't' });
  });

  it('refuses a bad file, naming the arm and field', () => {
    const base = { name: 'x', baseline: tinyConfig(), seeds: [1, 2] };
    const bad = (f: unknown) => {
      const r = planExperiment(f, BUILTIN_FACTS);
      return r.ok ? null : r.errors;
    };
    expect(bad({ ...base, arms: [{ name: 'a', set: { 'tricks.rdrop': {} } }] })).toEqual([{ field: 'arms.0.tricks.rdrop', arm: 'a', message: expect.stringMatching(/R-Drop needs dropout/) }]);
    expect(bad({ ...base, arms: [{ name: 'baseline', set: {} }] })).toEqual([{ field: 'arms.0.name', arm: 'baseline', message: expect.stringMatching(/used twice/) }]);
    expect(bad({ ...base, seeds: [1, 1], arms: [{ name: 'a', set: {} }] })![0]!.field).toBe('seeds');
    expect(bad({ ...base, arms: [] })![0]).toEqual({ field: 'arms', message: expect.stringMatching(/at least one arm/) });
    expect(bad({ ...base, baseline: { ...tinyConfig(), optimizer: { name: 'sgd', lr: -1 } }, arms: [{ name: 'a', set: {} }] })![0]!.field).toBe('baseline.optimizer.lr');
    expect(bad({ ...base, arms: [{ name: 'a', set: {} }], rule: 'median' })![0]!.field).toBe('rule');
  });

  it('launch order interleaves seeds so a stopped experiment stays balanced', () => {
    const arms = [
      { id: 2, name: 'b', role: 'baseline' as const, position: 0, set: {} },
      { id: 3, name: 'x', role: 'arm' as const, position: 1, set: {} },
    ];
    expect(launchOrder(arms, [7, 8]).map((r) => `${r.seed}${r.arm.name}`)).toEqual(['7b', '7x', '8b', '8x']);
  });
});

describe('experiments in the app', () => {
  let tmp: ReturnType<typeof tmpDataDir>;
  let ctx: ReturnType<typeof makeService>;
  let exps: ExperimentService;
  beforeEach(() => {
    tmp = tmpDataDir();
    ctx = makeService(tmp.dir, { cancelGraceMs: 20_000 });
    exps = new ExperimentService(ctx.service);
  });
  afterEach(async () => {
    await ctx.service.close();
    ctx.store.close();
    tmp.cleanup();
  });

  it('queues arms x seeds interleaved; the arms of a seed start from the same weights and see the same batches; seeds and arms can be added', async () => {
    const file = { name: 'ls', baseline: tinyConfig({ epochs: 1 }), arms: [{ name: 'smoothed', set: { 'tricks.labelSmoothing': { epsilon: 0.1 } } }], seeds: [1, 2] };
    const info = exps.create(file);
    const runs = () => ctx.store.experiments.get(info.id)!.runs;
    const armName = (armId: number) => info.arms.find((a) => a.id === armId)!.name;
    expect(runs().map((r) => `${r.seed}:${armName(r.armId)}`)).toEqual(['1:baseline', '1:smoothed', '2:baseline', '2:smoothed']);
    expect(ctx.store.getRun(runs()[1]!.runId)!.config).toMatchObject({ seed: 1, name: 'ls · smoothed · seed 1', tricks: { labelSmoothing: { epsilon: 0.1 } } });
    await waitFor(() => runs().every((r) => ctx.store.getRun(r.runId)!.status === 'completed'), 'four runs', 120_000);

    const [b1, s1, b2] = runs().map((r) => pairingOf(ctx.store, r.runId));
    expect(Object.keys(b1!.weights).length).toBeGreaterThan(4);
    expect(s1).toEqual(b1); // same seed: identical initial weights (every layer) and data order
    expect(pairingProblem(b1!, s1!)).toBeNull();
    expect(pairingProblem(b1!, b2!)).toMatch(/different data split or order/); // another seed is not a pair
    expect(pairingProblem({ ...b1!, data: b2!.data }, b2!)).toMatch(/different initial weights: .*conv/);
    // The first step's loss of the two arms differs only by the smoothing: same batch, same weights.
    const loss0 = (id: number) => ctx.store.history(id, ['train/loss_step'])['train/loss_step']![0]!.value;
    expect(loss0(runs()[1]!.runId)).not.toBe(loss0(runs()[0]!.runId));

    let s = summarize(ctx.store, { experimentId: info.id });
    expect(s.metric).toBe('test/acc');
    expect(s.arms.map((a) => [a.name, a.role, a.n])).toEqual([['baseline', 'baseline', 2], ['smoothed', 'arm', 2]]);
    expect(s.arms[1]!.paired!.n).toBe(2);
    expect(s.pairing).toEqual([]);
    const testAccBest = ctx.store.evaluations.get(runs()[0]!.runId).best!.acc;
    expect(s.arms[0]!.runs[0]!.value).toBe(testAccBest);
    s = summarize(ctx.store, { experimentId: info.id, metric: 'val/acc', rule: 'last' });
    expect(s.arms[0]!.runs[0]).toMatchObject({ epoch: 1, value: ctx.store.summaries(runs()[0]!.runId).final['val/acc'] });

    exps.addSeeds(info.id, [3]);
    exps.addArm(info.id, 'mixup', { 'tricks.mixup': { alpha: 0.2 } });
    expect(() => exps.addArm(info.id, 'mixup', {})).toThrow(/used twice/);
    expect(() => exps.addArm(info.id, 'bad', { 'optimizer.lr': -1 })).toThrow(/optimizer\.lr/);
    expect(() => exps.addSeeds(info.id, [3])).toThrow(/already has seed 3/);
    expect(ctx.store.experiments.get(info.id)!.seeds).toEqual([1, 2, 3]);
    expect(runs().slice(4).map((r) => `${r.seed}:${ctx.store.experiments.get(info.id)!.arms.find((a) => a.id === r.armId)!.name}`)).toEqual(['3:baseline', '3:smoothed', '1:mixup', '2:mixup', '3:mixup']);
    await waitFor(() => runs().every((r) => ctx.store.getRun(r.runId)!.status === 'completed'), 'nine runs', 240_000);
    s = summarize(ctx.store, { experimentId: info.id });
    expect(s.arms.map((a) => [a.name, a.n, a.paired?.n ?? null])).toEqual([['baseline', 3, null], ['smoothed', 3, 3], ['mixup', 3, 3]]);
    expect(pairingOf(ctx.store, runs()[6]!.runId)).toEqual(pairingOf(ctx.store, runs()[0]!.runId)); // mixup arm, seed 1
  }, 300_000);

  it('with pre-training: each seed pre-trains, then that seed\'s arms fine-tune from its weights', async () => {
    const file = {
      name: 'ft',
      baseline: tinyConfig({ epochs: 1, dataset: { name: 'synthetic', trainSubset: 160, valSplit: 0.2, classes: [5, 6, 7, 8, 9] } }),
      pretrain: { name: 'pre', set: { 'dataset.classes': [0, 1, 2, 3, 4] } },
      arms: [{ name: 'rifle', set: { epochs: 2, 'tricks.rifle': { everyEpochs: 1, noReinitLastEpochs: 0 } } }],
      seeds: [4, 5],
    };
    const info = exps.create(file);
    const runs = () => ctx.store.experiments.get(info.id)!.runs;
    expect(runs()).toHaveLength(2); // the two pre-training runs; arms follow
    await waitFor(() => runs().length === 6 && runs().every((r) => ctx.store.getRun(r.runId)!.status === 'completed'), 'six runs', 180_000);
    const pre = info.arms.find((a) => a.role === 'pretrain')!;
    for (const seed of [4, 5]) {
      const preRun = runs().find((r) => r.armId === pre.id && r.seed === seed)!.runId;
      const arms = runs().filter((r) => r.armId !== pre.id && r.seed === seed);
      expect(arms).toHaveLength(2);
      for (const a of arms) expect(ctx.store.getRun(a.runId)!.config!.init).toEqual({ fromRun: preRun, exclude: ['head'] });
    }
    const s = summarize(ctx.store, { experimentId: info.id });
    expect(s.arms.map((a) => a.name)).toEqual(['baseline', 'rifle']); // the pre-training is not compared
    expect(s.pairing).toEqual([]);

    // An app that stopped between a pre-training and its fine-tuning arms queues them at start-up.
    const lost = runs().find((r) => r.seed === 5 && r.armId !== pre.id)!;
    ctx.store.deleteRun(lost.runId);
    new ExperimentService(ctx.service).recover();
    const again = runs().find((r) => r.seed === 5 && r.armId === lost.armId)!;
    expect(again.runId).toBeGreaterThan(lost.runId);
    expect(ctx.store.getRun(again.runId)!.config!.init!.fromRun).toBe(runs().find((r) => r.armId === pre.id && r.seed === 5)!.runId);
  }, 200_000);
});

describe('npm run experiment', () => {
  it('trains 2 arms x 3 seeds from a file and prints the summary, then the JSON line', async () => {
    const tmp = tmpDataDir();
    try {
      const file = path.join(tmp.dir, 'exp.json');
      fs.writeFileSync(file, JSON.stringify({ name: 'cli', baseline: tinyConfig({ epochs: 1, dataset: { name: 'synthetic', trainSubset: 160, valSplit: 0.2 } }), arms: [{ name: 'smoothed', set: { 'tricks.labelSmoothing': { epsilon: 0.2 } } }], seeds: [1, 2, 3] }));
      const r = await runCli('src/main/experiment-cli.ts', ['--file', file, '--data-dir', tmp.dir]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/cli: test\/acc at the best val\/acc epoch/);
      expect(r.stdout).toMatch(/^arm +verdict +done +test\/acc \(%\) +Δ vs baseline \(pp\) +95% CI \(t, pp\)/m); // the verdict comes first; units in the header
      expect(r.stdout).toMatch(/^smoothed +(better|worse|not decided|identical|no difference)/m);
      expect(r.stdout).toMatch(/^Methods\. We compared 1 arm with baseline on test\/acc/m);
      const j = r.last as { experimentId: number; metric: string; analysis: { correction: string; fixedNInvalid: string | null }; arms: Record<string, unknown>[] };
      expect(j).toMatchObject({ experimentId: 1, metric: 'test/acc', analysis: { correction: 'holm', fixedNInvalid: null } });
      const keys = ['name', 'verdict', 'n', 'completed', 'mean', 'std', 'reference', 'delta', 'ci95', 'cs', 'bootstrap', 'pTTest', 'pWilcoxon', 'pAdjusted', 'pTost', 'betterIn', 'signP', 'mde80', 'seedsNeeded', 'costRatio'];
      expect(j.arms.map((a) => Object.keys(a).sort())).toEqual([0, 1].map(() => [...keys].sort()));
      expect(j.arms[0]).toMatchObject({ name: 'baseline', verdict: null, n: 3, completed: '3 of 3 completed', delta: null, ci95: null, pTTest: null, pWilcoxon: null, betterIn: null });
      expect(j.arms[1]).toMatchObject({ name: 'smoothed', n: 3, reference: 'baseline' });
      expect(j.arms[1]!.pWilcoxon).toBeNull(); // 3 seeds: too few for the signed-rank test (the table says why)
      // The numbers are those of the store: the CLI's table is the app's table.
      const store = new Store(tmp.dir);
      try {
        const s = summarize(store, { experimentId: 1 });
        expect(j.arms[1]!.delta).toBe(s.arms[1]!.paired!.delta);
        expect(store.listRuns().map((x) => x.seed)).toEqual([1, 1, 2, 2, 3, 3]);
      } finally {
        store.close();
      }

      // A seed added later: both arms train it, the summary has n=4.
      const more = await runCli('src/main/experiment-cli.ts', ['--experiment', '1', '--seeds', '4', '--data-dir', tmp.dir]);
      expect(more.code, more.stderr).toBe(0);
      expect((more.last as { arms: { n: number }[] }).arms.map((a) => a.n)).toEqual([4, 4]);
      // ... after results were seen: the fixed-n p-values are no longer valid, and the table says so
      expect((more.last as { analysis: { fixedNInvalid: string } }).analysis.fixedNInvalid).toMatch(/^seed 4 was added after results were seen/);
      expect(more.stdout).toMatch(/note: seed 4 was added after results were seen/);
      expect(more.stderr).not.toMatch(/seed [123]\b/); // what was done is not trained again

      const bad = await runCli('src/main/experiment-cli.ts', ['--file', path.join(tmp.dir, 'nope.json'), '--data-dir', tmp.dir]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/nope\.json: no such file/);
      fs.writeFileSync(file, JSON.stringify({ name: 'x', baseline: {}, arms: [{ name: 'a', set: { 'model.dropout': 2 } }], seeds: [1] }));
      const invalid = await runCli('src/main/experiment-cli.ts', ['--file', file, '--data-dir', tmp.dir]);
      expect(invalid.code).toBe(1);
      expect(invalid.stderr).toMatch(/exp\.json: arm "a" \(arms\.0\.model\.dropout\): /);
    } finally {
      tmp.cleanup();
    }
  }, 180_000);

  it('a sequential plan trains seed by seed until decided or its maximum, logged as such', async () => {
    const tmp = tmpDataDir();
    try {
      const file = path.join(tmp.dir, 'seq.json');
      const analysis = { sequential: true, maxSeeds: 3 };
      fs.writeFileSync(file, JSON.stringify({ name: 'seq', baseline: tinyConfig({ epochs: 1, dataset: { name: 'synthetic', trainSubset: 160, valSplit: 0.2 } }), arms: [{ name: 'lr', set: { 'optimizer.lr': 0.2 } }], seeds: [5, 6, 7, 8], analysis }));
      const r = await runCli('src/main/experiment-cli.ts', ['--file', file, '--data-dir', tmp.dir]);
      expect(r.code, r.stderr).toBe(0);
      const j = r.last as { analysis: { sequential: boolean; fixedNInvalid: string }; stopping: { done: boolean; reason: string } };
      expect(j.analysis.sequential).toBe(true);
      expect(j.analysis.fixedNInvalid).toMatch(/run until decided/);
      expect(j.stopping.done).toBe(true);
      const store = new Store(tmp.dir);
      try {
        const info = store.experiments.get(1)!;
        const seeds = [...new Set(store.listRuns().map((x) => x.seed))];
        // 2 seeds first (a sequence needs two), then one at a time from the file's list, at most 3
        expect(seeds).toEqual(info.seeds);
        expect(seeds.length === 2 ? j.stopping.reason : seeds).toEqual(seeds.length === 2 ? expect.stringMatching(/decided/) : [5, 6, 7]);
        expect(info.seedLog.map((e) => [e.by, e.seeds])).toEqual([['create', [5, 6]], ...(seeds.length === 3 ? [['sequential', [7]]] : [])]);
        expect(info.sequentialStop?.reason).toBeTruthy();
      } finally {
        store.close();
      }
    } finally {
      tmp.cleanup();
    }
  }, 180_000);
});
