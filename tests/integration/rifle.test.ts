// RIFLE through executeRun with a real store (wasm): when it re-initialises, that it does so in
// place (the optimizer keeps updating the new head: the paddle module's bug would fail here), what
// it logs, its initializers, and that a resumed run re-initialises exactly like a straight one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mustParseRunConfig, parseRunConfig, rifleEpochs } from '../../src/shared/config';
import { Store } from '../../src/store/store';
import { initBackend } from '../../src/trainer/backend';
import { loadDataset, makeSplits } from '../../src/data/index';
import { trainModel } from '../../src/trainer/loop';
import { buildModel } from '../../src/trainer/models/registry';
import { makeOptimizer } from '../../src/trainer/optim/optimizers';
import { executeRun } from '../../src/trainer/run';
import { tmpDataDir } from '../helpers/tmp';
import { tinyConfig } from '../helpers/trainer';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

const tmp = tmpDataDir();
let store: Store;
beforeAll(async () => {
  store = new Store(tmp.dir);
  await initBackend('wasm');
});
afterAll(() => {
  store.close();
  tmp.cleanup();
});

const SPE = 8; // 256 training images / 32
const rifle = (o: Record<string, unknown> = {}) => ({ everyEpochs: 1, maxReinits: 2, noReinitLastEpochs: 1, ...o });
const config = (o: Record<string, unknown> = {}, epochs = 4) => mustParseRunConfig({ ...tinyConfig({ epochs, backend: 'wasm' }), tricks: { rifle: rifle(o) } }, BUILTIN_FACTS);

describe('when RIFLE re-initialises', () => {
  it('at the end of every everyEpochs-th epoch, at most maxReinits, never in the last noReinitLastEpochs nor after the last', () => {
    const r = (o: Record<string, unknown>) => mustParseRunConfig({ epochs: 40, tricks: { rifle: o } }, BUILTIN_FACTS).tricks.rifle!;
    expect(rifleEpochs(r({}), 40)).toEqual([4, 9, 14]); // defaults: every 5, 3 times, not in the last 5
    expect(rifleEpochs(r({ maxReinits: 10 }), 40)).toEqual([4, 9, 14, 19, 24, 29, 34]); // 39 is in the last 5
    expect(rifleEpochs(r({ maxReinits: 10 }), 12)).toEqual([4]); // 9 is in the last 5 of 12
    expect(rifleEpochs(r({ everyEpochs: 2, noReinitLastEpochs: 0, maxReinits: 10 }), 6)).toEqual([1, 3]); // never after the last epoch (5)
  });

  it('refuses a layer that does not exist and a schedule that never fires, naming the field', () => {
    const bad = parseRunConfig({ tricks: { rifle: { layers: ['head', 'fc9'] } } }, BUILTIN_FACTS);
    expect(!bad.ok && bad.errors).toEqual([{ field: 'tricks.rifle.layers.1', message: expect.stringMatching(/RIFLE: the model has no layer 'fc9' with weights \(its layers: conv1, conv2, conv3, head\)/) }]);
    const never = parseRunConfig({ epochs: 6, tricks: { rifle: {} } }, BUILTIN_FACTS);
    expect(!never.ok && never.errors[0]!.field).toBe('tricks.rifle.everyEpochs');
    expect(parseRunConfig({ model: { name: 'resnet20' }, tricks: { rifle: { layers: ['stage3.block2.conv2'] } }, epochs: 20 }, BUILTIN_FACTS).ok).toBe(true);
  });
});

describe('RIFLE in a run', () => {
  let straight: number;
  it('re-initialises the head in place at the end of epochs 1 and 2, logs it, and keeps training it', async () => {
    const run = store.createRun(config(), 'running');
    straight = run.id;
    expect((await executeRun({ store, runId: run.id, dataDir: tmp.dir, isCancelled: () => false })).status).toBe('completed');
    const ev = store.events(run.id).filter((e) => e.kind === 'rifle.reinit');
    expect(ev.map((e) => [e.epoch, e.step])).toEqual([[1, SPE], [2, 2 * SPE]]);
    const val = store.history(run.id)['val/acc']!.map((p) => p.value);
    for (const [k, e] of ev.entries()) {
      expect(e.payload).toMatchObject({ epoch: k + 1, layers: ['head'], initializer: 'heNormal', resetOptimizerState: false, count: k + 1, valAccBefore: val[k] });
      const p = e.payload as { weightNormBefore: { head: number }; weightNormAfter: { head: number } };
      // heNormal over the head's 8*4*4*8 + 1 inputs... fanIn = 128: kernel 1280 + bias 10 values
      // of variance 2/128, norm ~ sqrt(1290 * 2 / 128) = 4.49; 10% covers the sampling spread.
      expect(p.weightNormAfter.head).toBeGreaterThan(4.49 * 0.9);
      expect(p.weightNormAfter.head).toBeLessThan(4.49 * 1.1);
      expect(p.weightNormAfter.head).not.toBeCloseTo(p.weightNormBefore.head, 3);
    }
    // Per-layer gradient norms and the head's weight norm, every epoch.
    const h = store.history(run.id);
    for (const l of ['conv1', 'conv2', 'conv3', 'head']) expect(h[`grad_norm/${l}`]?.length, l).toBe(4);
    expect(h['weight_norm/head']!.map((p) => p.epoch)).toEqual([1, 2, 3, 4]);
  });

  it('the optimizer goes on updating the re-initialised variables (same objects, momentum kept)', async () => {
    const cfg = config({}, 3);
    const splits = makeSplits(await loadDataset(cfg.dataset, tmp.dir), cfg.dataset);
    const model = buildModel(cfg.model, splits.dataset.shape, 10, cfg.seed);
    const opt = makeOptimizer(cfg.optimizer);
    const head = model.params.find((p) => p.name === 'head/kernel')!;
    const variable = head.variable;
    let afterReinit: Float32Array | null = null;
    await trainModel(cfg, splits, model, opt, {
      metrics: () => undefined,
      event: (e) => {
        if (e.kind === 'rifle.reinit' && !afterReinit) afterReinit = head.variable.dataSync().slice() as Float32Array;
      },
      progress: () => undefined,
      shouldStop: async () => false,
    });
    expect(head.variable).toBe(variable);
    expect(model.params.find((p) => p.name === 'head/kernel')!.variable).toBe(variable);
    const now = head.variable.dataSync();
    let moved = 0;
    for (let i = 0; i < now.length; i++) moved = Math.max(moved, Math.abs(now[i]! - afterReinit![i]!));
    expect(moved).toBeGreaterThan(1e-3); // trained after the re-initialisation
    expect(Object.keys(opt.getState().slots.momentum ?? {})).toContain('head/kernel');
    model.dispose();
    opt.dispose();
  });

  it('initializer "initial" restores epoch-0 values; resetOptimizerState drops the head momentum', async () => {
    const cfg = config({ initializer: 'initial', resetOptimizerState: true, maxReinits: 1 }, 3);
    const splits = makeSplits(await loadDataset(cfg.dataset, tmp.dir), cfg.dataset);
    const model = buildModel(cfg.model, splits.dataset.shape, 10, cfg.seed);
    const opt = makeOptimizer(cfg.optimizer);
    const head = model.params.find((p) => p.name === 'head/kernel')!;
    const epoch0 = head.variable.dataSync().slice();
    let atReinit: { values: Float32Array; momentum: boolean } | null = null;
    await trainModel(cfg, splits, model, opt, {
      metrics: () => undefined,
      event: (e) => {
        if (e.kind === 'rifle.reinit') atReinit = { values: head.variable.dataSync().slice() as Float32Array, momentum: 'head/kernel' in (opt.getState().slots.momentum ?? {}) };
      },
      progress: () => undefined,
      shouldStop: async () => false,
    });
    expect(Array.from(atReinit!.values)).toEqual(Array.from(epoch0));
    expect(atReinit!.momentum).toBe(false);
    expect('conv1/kernel' in (opt.getState().slots.momentum ?? {})).toBe(true);
    model.dispose();
    opt.dispose();
  });

  it('cancel after a re-initialisation + resume = the straight run, each re-initialisation logged once', async () => {
    const run = store.createRun(config(), 'running');
    let step = 0;
    const cut = await executeRun({ store, runId: run.id, dataDir: tmp.dir, hooks: { progress: (p) => (step = p.step) }, isCancelled: () => step >= 2 * SPE + 3 });
    expect(cut.status).toBe('cancelled');
    store.reopenForResume(run.id, 'running');
    expect((await executeRun({ store, runId: run.id, dataDir: tmp.dir, isCancelled: () => false, resume: true })).status).toBe('completed');
    const series = (id: number, key: string) => (store.history(id)[key] ?? []).map((p) => [p.step, p.value]);
    for (const key of ['train/loss_step', 'val/acc', 'test/acc', 'grad_norm/conv1', 'weight_norm/head']) expect(series(run.id, key), key).toEqual(series(straight, key));
    const reinits = (id: number) => store.events(id).filter((e) => e.kind === 'rifle.reinit').map((e) => [e.step, e.payload]);
    expect(reinits(run.id)).toEqual(reinits(straight));
  });
});
