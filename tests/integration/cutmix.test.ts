// CutMix in a run, through executeRun with a real store (wasm): it trains, turns off where it says
// with one `cutmix.off` event, and a run cancelled while it is cutting and resumed matches the
// straight run exactly (the boxes, lambdas and permutations come from (seed, step) alone).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';
import { mustParseRunConfig } from '../../src/shared/config';
import { Store } from '../../src/store/store';
import { initBackend } from '../../src/trainer/backend';
import { executeRun } from '../../src/trainer/run';
import { tmpDataDir } from '../helpers/tmp';
import { tinyConfig } from '../helpers/trainer';

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
const config = (cutmix: Record<string, unknown> | null) => mustParseRunConfig({ ...tinyConfig({ epochs: 3, backend: 'wasm' }), tricks: { cutmix } }, BUILTIN_FACTS);
const series = (id: number, key: string) => (store.history(id)[key] ?? []).map((p) => [p.step, p.value]);
const offEvents = (id: number) => store.events(id).filter((e) => e.kind === 'cutmix.off').map((e) => [e.epoch, e.step, e.payload]);

async function run(cutmix: Record<string, unknown> | null, stopAtStep = Infinity) {
  const r = store.createRun(config(cutmix), 'running');
  let step = 0;
  const outcome = await executeRun({ store, runId: r.id, dataDir: tmp.dir, hooks: { progress: (p) => (step = p.step) }, isCancelled: () => step >= stopAtStep });
  return { id: r.id, status: outcome.status };
}

describe('CutMix in a run', () => {
  let straight: number;
  it('trains (finite losses, other than without it) and logs cutmix.off once, at the start of the last epoch', async () => {
    const r = await run({ alpha: 1, offLastEpochs: 1 });
    straight = r.id;
    expect(r.status).toBe('completed');
    const loss = series(r.id, 'train/loss_step').map(([, v]) => v!);
    expect(loss).toHaveLength(3 * SPE);
    expect(loss.every(Number.isFinite)).toBe(true);
    expect(offEvents(r.id)).toEqual([[2, 2 * SPE, { epoch: 2, offLastEpochs: 1 }]]);
    // The same run without CutMix: the first step already sees other images and targets.
    const plain = await run(null);
    expect(series(plain.id, 'train/loss_step')[0]).not.toEqual(series(r.id, 'train/loss_step')[0]);
  });

  it('cancelled while cutting + resumed = the straight run, cutmix.off logged once', async () => {
    const r = await run({ alpha: 1, offLastEpochs: 1 }, SPE + 3);
    expect(r.status).toBe('cancelled');
    expect(store.reopenForResume(r.id, 'running')).toBe(true);
    expect((await executeRun({ store, runId: r.id, dataDir: tmp.dir, isCancelled: () => false, resume: true })).status).toBe('completed');
    for (const key of ['train/loss_step', 'train/loss', 'val/acc', 'val/loss', 'test/acc']) expect(series(r.id, key), key).toEqual(series(straight, key));
    expect(offEvents(r.id)).toEqual(offEvents(straight));
  });
});
