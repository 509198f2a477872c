// Presets: every shipped file is a valid set of runs; a bad one is named with its field; starting a
// preset through the run service queues its runs, and its fine-tuning arms after the pre-training.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expandPreset } from '../../src/shared/presets';
import { loadPresets, presetsDir, startPreset } from '../../src/main/services/presets';
import { makeService, tinyConfig, waitFor } from '../helpers/trainer';
import { tmpDataDir } from '../helpers/tmp';

describe('shipped presets', () => {
  it('are the five comparisons of the tricks issue, each valid, each with a question', () => {
    const presets = loadPresets();
    expect(presets.map((p) => p.name).sort()).toEqual(['Bag of tricks ablation on ResNet-20', 'R-Drop on a CNN with dropout', 'RIFLE fine-tuning', 'RePr on C^3(32)', 'RiR-18 vs ResNet-18']);
    for (const p of presets) {
      expect(p.arms.length, p.id).toBeGreaterThanOrEqual(2);
      expect(new Set(p.arms.map((a) => a.name)).size, p.id).toBe(p.arms.length);
    }
    const rifle = presets.find((p) => p.id === 'rifle-finetune')!;
    expect(rifle.pretrain!.config.dataset.classes).toEqual([0, 1, 2, 3, 4]);
    expect(rifle.arms.map((a) => [a.fromPretrain, a.config.dataset.classes, a.config.tricks.rifle !== null])).toEqual([
      [true, [5, 6, 7, 8, 9], false],
      [true, [5, 6, 7, 8, 9], true],
    ]);
    expect(presets.find((p) => p.id === 'repr-c3')!.arms[1]!.config.tricks.repr).toMatchObject({ s1: 3, s2: 2, cycles: 2 });
  });

  it('a preset whose arm does not validate is refused, naming the arm and field', () => {
    const r = expandPreset('bad', { name: 'x', description: 'd', question: 'q', baseline: {}, arms: [{ name: 'a', set: {} }, { name: 'b', set: { 'tricks.rdrop': {} } }] });
    expect(!r.ok && r.errors).toEqual([{ field: 'arms.1.tricks.rdrop', message: expect.stringMatching(/R-Drop needs dropout/) }]);
    expect(presetsDir()).toMatch(/resources[/\\]presets$/);
  });
});

describe('starting a preset', () => {
  let tmp: ReturnType<typeof tmpDataDir>;
  let ctx: ReturnType<typeof makeService>;
  beforeEach(() => {
    tmp = tmpDataDir();
    ctx = makeService(tmp.dir, { cancelGraceMs: 20_000 });
  });
  afterEach(async () => {
    await ctx.service.close();
    ctx.store.close();
    tmp.cleanup();
  });

  it('queues the pre-training, then the fine-tuning arms from its weights once it completes', async () => {
    const file = { name: 'tiny', description: 'd', question: 'q', baseline: tinyConfig({ epochs: 1, dataset: { name: 'synthetic', trainSubset: 160, valSplit: 0.2, classes: [5, 6, 7, 8, 9] } }), pretrain: { name: 'pre', set: { 'dataset.classes': [0, 1, 2, 3, 4] } }, arms: [{ name: 'ft', fromPretrain: true, set: {} }, { name: 'scratch', set: {} }] };
    const r = expandPreset('tiny', file);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const s = startPreset(ctx.service, [r.preset], 'tiny');
    expect(s.started).toHaveLength(2); // pre-training and the arm that needs nothing
    expect(s.pending).toEqual(['ft']);
    const [pre] = s.started;
    await waitFor(() => ctx.store.listRuns().length === 3 && ctx.store.listRuns().every((x) => x.status === 'completed'), 'all three runs to complete', 120_000);
    const ft = ctx.store.listRuns().find((x) => x.config.init?.fromRun === pre)!;
    expect(ft.config.dataset.classes).toEqual([5, 6, 7, 8, 9]);
    expect(ctx.store.events(ft.id).find((e) => e.kind === 'init.loaded')!.payload).toMatchObject({ fromRun: pre, skipped: ['head/kernel', 'head/bias'] });
    expect(() => startPreset(ctx.service, [r.preset], 'nope')).toThrow(/no preset 'nope' \(have: tiny\)/);
  });
});
