// Short labels of tricks and config differences, generated run names, ad-hoc arm names and
// experiment errors that name the arm: what people read in lists, legends and tables.
import { describe, expect, it } from 'vitest';
import { describeConfig, mustParseRunConfig, TRICK_NAMES, type RunConfig } from '../../src/shared/config';
import { configDifferences, trickDifferences, trickLabelList, trickLabels, tricksText, TRICK_TITLES } from '../../src/shared/labels';
import { formatExperimentErrors, planExperiment, runName } from '../../src/shared/experiments';
import { adhocGroups, givenRunName } from '../../src/main/services/compare';
import type { RunRecord } from '../../src/store/store';
import type { RunSummary } from '../../src/shared/api';
import { countOf, keepEnd, nameParts, runLabel } from '../../src/renderer/src/lib/format';
import { RUN_COLUMNS } from '../../src/renderer/src/lib/runColumns';
import { RunService } from '../../src/main/services/runs';
import { ExperimentService } from '../../src/main/services/experiments';
import { Store } from '../../src/store/store';
import { tmpDataDir } from '../helpers/tmp';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

const cfg = (c: Record<string, unknown> = {}): RunConfig => mustParseRunConfig({ epochs: 30, ...c }, BUILTIN_FACTS);
const only = (tricks: Record<string, unknown>, c: Record<string, unknown> = {}) => trickLabels(cfg({ ...c, tricks }));

describe('trick labels', () => {
  it('every trick of the schema has a title and a label', () => {
    expect(Object.keys(TRICK_TITLES).sort()).toEqual([...TRICK_NAMES].sort());
  });

  it('label smoothing: ε always, the convention only when not the default', () => {
    expect(only({ labelSmoothing: {} })).toEqual(['label smoothing ε=0.1']);
    expect(only({ labelSmoothing: { epsilon: 0.2 } })).toEqual(['label smoothing ε=0.2']);
    expect(only({ labelSmoothing: { epsilon: 0.1, convention: 'paper' } })).toEqual(['label smoothing ε=0.1 (paper convention)']);
    expect(only({ labelSmoothing: { convention: 'uniform' } })).toEqual(['label smoothing ε=0.1']);
  });

  it('mixup: α, and the epochs it is off at the end', () => {
    expect(only({ mixup: {} })).toEqual(['mixup α=0.2']);
    expect(only({ mixup: { alpha: 0.4, offLastEpochs: 2 } })).toEqual(['mixup α=0.4 (off in the last 2 epochs)']);
    expect(only({ mixup: { offLastEpochs: 1 } })).toEqual(['mixup α=0.2 (off in the last 1 epoch)']);
  });

  it('R-Drop: α, and the KL reduction when it is the official one', () => {
    const d = { model: { name: 'cnn3', dropout: 0.3 } };
    expect(only({ rdrop: {} }, d)).toEqual(['R-Drop α=0.3']);
    expect(only({ rdrop: { alpha: 1, reduction: 'batchsum' } }, d)).toEqual(['R-Drop α=1 (KL summed over the batch)']);
  });

  it('RIFLE: no main parameter, each option off its default', () => {
    expect(only({ rifle: {} })).toEqual(['RIFLE']);
    expect(only({ rifle: { everyEpochs: 3, maxReinits: 2, noReinitLastEpochs: 4, initializer: 'glorotUniform', resetOptimizerState: true } })).toEqual([
      'RIFLE (every 3 epochs, at most 2 re-inits, none in the last 4 epochs, glorotUniform, optimizer state reset)',
    ]);
    expect(only({ rifle: { layers: ['conv3', 'head'], initializer: 'initial' } })).toEqual(['RIFLE (conv3, head, back to the initial weights)']);
  });

  it('distillation: the temperature, the teacher, and the weight only in weighted mode', () => {
    expect(only({ distill: { teacherRun: 12 } })).toEqual(['distillation T=20 (teacher #12)']);
    expect(only({ distill: { teacherRun: 3, temperature: 4 } })).toEqual(['distillation T=4 (teacher #3)']);
    expect(only({ distill: { teacherRun: 3, temperature: 4, weight: 0.9 } })).toEqual(['distillation T=4 (teacher #3)']); // paper mode has no weight
    expect(only({ distill: { teacherRun: 3, temperature: 4, mode: 'weighted', weight: 0.3 } })).toEqual(['distillation T=4 (teacher #3, weighted, w=0.3)']);
  });

  it('RePr: the schedule, ratio, cycles, scope and switches that differ', () => {
    expect(only({ repr: {} })).toEqual(['RePr']);
    expect(only({ repr: { s1: 10, s2: 5, pruneRatio: 0.2, cycles: 2, scope: 'layer', excludeFirstConv: false, zeroNextLayer: false } })).toEqual([
      'RePr (S1=10, S2=5, prune 20%, 2 cycles, ranked per layer, first conv pruned too, next layer not zeroed)',
    ]);
    expect(only({ repr: { s2: 4 } })).toEqual(['RePr (S1=20, S2=4)']);
  });

  it('the Bag of Tricks switches outside tricks.*, the model ones left out on request', () => {
    const c = cfg({ model: { name: 'resnet20', variant: 'd', zeroGamma: true }, optimizer: { noBiasDecay: true, linearScaling: true }, schedule: { name: 'cosine', warmupEpochs: 5 } });
    expect(trickLabels(c)).toEqual(['linear LR scaling', 'no bias decay', 'warmup 5 ep', 'cosine LR', 'zero-γ', 'ResNet-D']);
    expect(trickLabels(c, { model: false })).toEqual(['linear LR scaling', 'no bias decay', 'warmup 5 ep', 'cosine LR']);
    expect(trickLabels(cfg({ schedule: { name: 'step', milestones: [10, 20] } }))).toEqual(['step LR ×0.1 at 10, 20']);
    expect(trickLabelList(c).map((t) => t.path)).toEqual(['optimizer.linearScaling', 'optimizer.noBiasDecay', 'schedule.warmupEpochs', 'schedule.name', 'model.zeroGamma', 'model.variant']);
  });

  it('several tricks in one line, none as the empty string; no float noise', () => {
    expect(tricksText(cfg({ tricks: { labelSmoothing: { epsilon: 0.1 }, mixup: { alpha: 0.1 + 0.2 } } }))).toBe('label smoothing ε=0.1 + mixup α=0.3');
    expect(tricksText(cfg())).toBe('');
    expect(trickLabels(cfg())).toEqual([]);
  });
});

describe('generated run names', () => {
  it('say model, dataset, optimizer, LR, the tricks, and the seed last', () => {
    expect(describeConfig(cfg({ seed: 3 }))).toBe('cnn3(32) synthetic sgd lr 0.01 · seed 3');
    expect(describeConfig(cfg({ tricks: { labelSmoothing: { epsilon: 0.1 }, mixup: {} }, seed: 2 }))).toBe('cnn3(32) synthetic sgd lr 0.01 · label smoothing ε=0.1 + mixup α=0.2 · seed 2');
    // the model's own tricks once, in the model
    expect(describeConfig(cfg({ model: { name: 'resnet20', zeroGamma: true }, schedule: { name: 'cosine' } }))).toBe('resnet20 zero-gamma synthetic sgd lr 0.01 · cosine LR · seed 1');
  });
});

describe('differences against a baseline', () => {
  const base = cfg({ tricks: { labelSmoothing: { epsilon: 0.1 } }, schedule: { name: 'step', milestones: [10] }, optimizer: { noBiasDecay: true } });
  it('in tricks: turned on, configured otherwise, turned off', () => {
    const arm = cfg({ tricks: { labelSmoothing: { epsilon: 0.2 }, mixup: {} }, schedule: { name: 'cosine' } });
    expect(trickDifferences(base, arm)).toEqual(['label smoothing ε=0.2', 'mixup α=0.2', 'cosine LR', 'with bias decay']);
    expect(trickDifferences(base, cfg())).toEqual(['no label smoothing', 'with bias decay', 'constant LR']);
    expect(trickDifferences(base, base)).toEqual([]);
  });

  it('in other fields, "lr 0.01" style: the model or optimizer kind as a whole, never "=" or "—"', () => {
    const b = cfg();
    expect(configDifferences(b, cfg({ optimizer: { lr: 0.05 }, batchSize: 128 }))).toEqual(['lr 0.05', 'batch 128']);
    expect(configDifferences(b, cfg({ optimizer: { name: 'adam' } }))).toEqual(['adam lr 0.001']);
    expect(configDifferences(b, cfg({ model: { name: 'mlp', hidden: [64] } }))).toEqual(['mlp(64)']);
    expect(configDifferences(b, cfg({ dataset: { trainSubset: 500 }, model: { name: 'cnn3', width: 64 } }))).toEqual(['train subset 500', 'width 64']);
    expect(configDifferences(cfg({ dataset: { trainSubset: 500 } }), b)).toEqual(['train subset all']);
    expect(configDifferences(b, cfg({ augment: [{ name: 'hflip' }, { name: 'randomCrop' }] }))).toEqual(['augment hflip+randomCrop']);
    expect(configDifferences(b, cfg({ init: { fromRun: 4 } }), new Set(['init.fromRun']))).toEqual(['fine-tuned']);
    // tricks, name and seed are not among them
    expect(configDifferences(b, cfg({ tricks: { mixup: {} }, name: 'x', seed: 9 }))).toEqual([]);
  });
});

let nextId = 1;
function run(config: Record<string, unknown>, name = ''): RunRecord {
  const c = cfg(config);
  return { id: nextId++, name: name || describeConfig(c), status: 'completed', source: 'trickbench', config: c, params: null, experimentId: null, seed: c.seed, backend: null, device: null, createdAt: 0, startedAt: null, endedAt: null, error: null, pid: null, host: null, resume: false, executor: 'local', jobId: null, executorState: null, sharedDir: null };
}
const names = (runs: RunRecord[]) => adhocGroups(runs).map((g) => `${g.role}: ${g.name} (${g.runs.map((r) => r.seed).join(',')})`);

describe('ad-hoc arms', () => {
  it('of runs without names of their own: baseline, then the trick labels of what each changes', () => {
    const ls = { tricks: { labelSmoothing: { epsilon: 0.1 } } };
    const runs = [run({ seed: 1 }), run({ seed: 2 }), run({ ...ls, seed: 1 }), run({ ...ls, seed: 2 }), run({ tricks: { mixup: {} }, seed: 1 })];
    expect(names(runs)).toEqual(['baseline: baseline (1,2)', 'arm: label smoothing ε=0.1 (1,2)', 'arm: mixup α=0.2 (1)']);
    for (const g of adhocGroups(runs)) expect(g.name).not.toMatch(/=—|tricks\./);
  });

  it('by the runs’ shared name without the seed part (experiment runs, names given with a seed in them)', () => {
    const runs = [1, 2].flatMap((seed) => [
      run({ seed }, runName('ls', 'baseline', seed)),
      run({ seed, tricks: { labelSmoothing: { epsilon: 0.1 } } }, runName('ls', 'smoothed', seed)),
    ]);
    // the experiment's name, which every arm's runs have, is left out
    expect(names(runs)).toEqual(['baseline: baseline (1,2)', 'arm: smoothed (1,2)']);
    expect(names([...runs, run({ seed: 1, tricks: { mixup: {} } }, 'other · mixup · seed 1')])).toEqual(['baseline: ls · baseline (1,2)', 'arm: ls · smoothed (1,2)', 'arm: other · mixup (1)']);
    expect(names([run({ seed: 1, optimizer: { lr: 0.05 } }, 'lr 0.05'), run({ seed: 1 }, 'lr 0.01')])).toEqual(['baseline: lr 0.05 (1)', 'arm: lr 0.01 (1)']);
    expect(givenRunName(run({ seed: 7 }, 'my run seed=7'))).toBe('my run');
    expect(givenRunName(run({ seed: 7 }))).toBeNull(); // generated
    expect(givenRunName(run({ seed: 7 }, 'cnn3(32) synthetic sgd lr=0.01 seed=7'))).toBeNull(); // generated before tricks were in names
  });

  it('by the fields that differ when no trick does, and by what tells them apart when names clash', () => {
    expect(names([run({ seed: 1 }), run({ seed: 1, optimizer: { lr: 0.05 } }), run({ seed: 2, optimizer: { lr: 0.05 } })])).toEqual(['baseline: baseline (1)', 'arm: lr 0.05 (1,2)']);
    // runs named alike but configured otherwise: the name, then what differs
    const same = [run({ seed: 1 }, 'try'), run({ seed: 1, optimizer: { lr: 0.05 } }, 'try'), run({ seed: 1, tricks: { mixup: {} } }, 'try')];
    expect(names(same)).toEqual(['baseline: try (1)', 'arm: try (lr 0.05) (1)', 'arm: try (mixup α=0.2) (1)']);
    // the same tricks but another lr: the lr says which
    const tricked = [run({ seed: 1 }), run({ seed: 1, tricks: { mixup: {} } }), run({ seed: 1, tricks: { mixup: {} }, optimizer: { lr: 0.05 } })];
    expect(names(tricked)).toEqual(['baseline: baseline (1)', 'arm: mixup α=0.2 (1)', 'arm: mixup α=0.2 (lr 0.05) (1)']);
    // runs of one arm named differently: described by their config
    expect(names([run({ seed: 1 }), run({ seed: 1, epochs: 20 }, 'a'), run({ seed: 2, epochs: 20 }, 'b')])).toEqual(['baseline: baseline (1)', 'arm: epochs 20 (1,2)']);
    for (const list of [same, tricked]) expect(new Set(adhocGroups(list).map((g) => g.name)).size).toBe(list.length);
  });

  it('unique even when nothing but a run id tells them apart', () => {
    const a = run({ seed: 1 }, 'same');
    const b = run({ seed: 1, init: { fromRun: 9, exclude: ['head'] } }, 'same');
    const c = run({ seed: 1, init: { fromRun: 9, exclude: ['head', 'conv1'] } }, 'same');
    const g = adhocGroups([a, b, c]);
    expect(new Set(g.map((x) => x.name)).size).toBe(3);
    expect(g[0]!.name).toBe('same');
  });
});

describe('experiment errors name the arm', () => {
  const tiny = { dataset: { name: 'synthetic', trainSubset: 200 }, epochs: 2, batchSize: 32 };
  it('by its name, with the field path in parentheses', () => {
    const r = planExperiment({ name: 'x', baseline: tiny, arms: [{ name: 'smoothing', set: {} }, { name: 'mixup', set: { 'tricks.mixup': { alpha: -1 } } }], seeds: [1] }, BUILTIN_FACTS);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual([{ field: 'arms.1.tricks.mixup.alpha', arm: 'mixup', message: expect.stringMatching(/must be > 0/) }]);
    expect(formatExperimentErrors(r.errors)).toMatch(/^arm "mixup" \(arms\.1\.tricks\.mixup\.alpha\): must be > 0/);
  });

  it('for shape errors too, the pre-training, and a baseline with a name of its own', () => {
    const r = planExperiment({ name: 'x', baseline: { ...tiny, epochs: 0 }, baselineName: 'plain', pretrain: { name: 'pre', set: { epochs: -1 } }, arms: [{ name: 'a', set: 3 }], seeds: [1] }, BUILTIN_FACTS);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(formatExperimentErrors(r.errors)).toMatch(/^arm "a" \(arms\.0\.set\): /);
    const planned = planExperiment({ name: 'x', baseline: { ...tiny, epochs: 0 }, baselineName: 'plain', pretrain: { name: 'pre', set: { epochs: -1 } }, arms: [{ name: 'a', set: {} }], seeds: [1] }, BUILTIN_FACTS);
    if (planned.ok) throw new Error('planned');
    expect(planned.errors.map((e) => formatExperimentErrors([e]).replace(/: .*/, ''))).toEqual(['arm "pre" (pretrain.epochs)', 'arm "plain" (baseline.epochs)', 'arm "a" (arms.0.epochs)']);
    // outside arms: the path alone
    const seeds = planExperiment({ name: 'x', baseline: tiny, arms: [{ name: 'a', set: {} }], seeds: [1, 1] }, BUILTIN_FACTS);
    if (seeds.ok) throw new Error('seeds');
    expect(formatExperimentErrors(seeds.errors)).toBe('seeds: seeds must not repeat');
  });
});

describe('names in the UI', () => {
  const summary = (config: Record<string, unknown>, name: string, extra: Partial<RunSummary> = {}): RunSummary => {
    const c = cfg(config);
    return { id: 7, name, status: 'completed', source: 'trickbench', config: c, params: null, experimentId: null, experimentName: null, armName: null, seed: c.seed, backend: null, device: null, createdAt: 0, startedAt: null, endedAt: null, error: null, final: {}, best: {}, progress: null, checkpoints: [], executor: 'local', jobId: null, executorState: null, ...extra };
  };

  it('a label cut for a legend keeps the arm and the seed', () => {
    const long = runName('Bag of tricks ablation on ResNet-20', '+ zero-gamma, no bias decay', 3);
    expect(keepEnd(long, 50)).toBe('Bag of tri… · + zero-gamma, no bias decay · seed 3');
    expect(keepEnd('x · a very very very long arm name that goes on and on and on · seed 12', 50)).toBe('… · a very very very long arm name that… · seed 12');
    expect(keepEnd('short · arm · seed 1', 50)).toBe('short · arm · seed 1');
    expect(keepEnd('a plain but very long run name without separators at all', 30)).toBe('a plain but very long run nam…');
    for (let seed = 1; seed <= 3; seed++) {
      const l = runLabel(summary({ seed }, runName('A long experiment name that legends would clip', 'baseline', seed)), 48);
      expect(l.length).toBeLessThanOrEqual(48);
      expect(l).toMatch(new RegExp(`^#7 .*… · baseline · seed ${seed}$`));
    }
    expect(nameParts('exp · arm · seed 2')).toEqual({ head: 'exp', middle: 'arm', end: 'seed 2' });
    expect(nameParts('lr 0.05')).toEqual({ head: 'lr 0.05', middle: '', end: '' });
  });

  it('runs without a name are called by their config, tricks included', () => {
    expect(runLabel(summary({ tricks: { mixup: {} }, seed: 2 }, ''))).toBe('#7 cnn3(32) synthetic sgd lr 0.01 · mixup α=0.2 · seed 2');
  });

  it('the runs list has experiment, arm and tricks columns, and counts what the filter shows', () => {
    const col = (key: string) => RUN_COLUMNS.find((c) => c.key === key)!;
    const r = summary({ tricks: { labelSmoothing: {} } }, 'e · smoothing · seed 1', { experimentId: 1, experimentName: 'e', armName: 'smoothing' });
    expect(['experiment', 'arm', 'tricks'].map((k) => col(k).text!(r, 0))).toEqual(['e', 'smoothing', 'label smoothing ε=0.1']);
    const loose = summary({}, 'x');
    expect(['experiment', 'arm', 'tricks'].map((k) => col(k).text!(loose, 0))).toEqual(['', '', '–']);
    expect(col('tricks').sort(loose, 0)).toBeNull(); // runs without tricks sort last
    expect(countOf(3, 13)).toBe('3 of 13 runs');
    expect(countOf(13, 13)).toBe('13 runs');
    expect(countOf(1, 1)).toBe('1 run');
  });
});

describe('runs:list and runs:changed name the experiment and the arm', () => {
  it('from the first announcement of a queued experiment run on', async () => {
    const tmp = tmpDataDir();
    const store = new Store(tmp.dir);
    const changed: RunSummary[] = [];
    // concurrency 0: runs stay queued, nothing trains
    const runs = new RunService({ store, dataDir: tmp.dir, trainerEntry: 'unused', concurrency: 0, emit: (e, p) => e === 'runs:changed' && changed.push(p as RunSummary) });
    const exps = new ExperimentService(runs);
    try {
      const e = exps.create({ name: 'ls', baseline: { dataset: { name: 'synthetic', trainSubset: 200 }, epochs: 2, batchSize: 32 }, arms: [{ name: 'smoothed', set: { 'tricks.labelSmoothing': {} } }], seeds: [1, 2] });
      expect(changed.map((r) => [r.experimentId, r.experimentName, r.armName, r.seed])).toEqual([
        [e.id, 'ls', 'baseline', 1],
        [e.id, 'ls', 'smoothed', 1],
        [e.id, 'ls', 'baseline', 2],
        [e.id, 'ls', 'smoothed', 2],
      ]);
      runs.start({ dataset: { name: 'synthetic', trainSubset: 200 }, epochs: 2, batchSize: 32 });
      expect(runs.list().map((r) => [r.experimentName, r.armName, r.name])).toEqual([
        ['ls', 'baseline', 'ls · baseline · seed 1'],
        ['ls', 'smoothed', 'ls · smoothed · seed 1'],
        ['ls', 'baseline', 'ls · baseline · seed 2'],
        ['ls', 'smoothed', 'ls · smoothed · seed 2'],
        [null, null, 'cnn3(32) synthetic sgd lr 0.01 · seed 1'],
      ]);
    } finally {
      exps.close();
      await runs.close();
      store.close();
      tmp.cleanup();
    }
  });
});

describe('stored configs from before a section existed', () => {
  it('still get their labels (no section, no trick), not an exception', () => {
    const old = { ...cfg({ tricks: { mixup: {} } }) } as Partial<RunConfig>;
    delete old.schedule;
    expect(trickLabels(old as RunConfig)).toEqual(['mixup α=0.2']);
    delete old.tricks;
    expect(trickLabels(old as RunConfig)).toEqual([]);
  });
});
