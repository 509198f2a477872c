// RePr through executeRun with a real store (wasm): a run cancelled inside S2 and resumed
// re-initialises exactly as an uninterrupted one (the pruned filters' old weights come back from
// the run folder), each RePr event logged once.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mustParseRunConfig } from '../../src/shared/config';
import { runDir } from '../../src/store/paths';
import { Store } from '../../src/store/store';
import { executeRun } from '../../src/trainer/run';
import { tmpDataDir } from '../helpers/tmp';
import { tinyConfig } from '../helpers/trainer';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

const tmp = tmpDataDir();
let store: Store;
beforeAll(() => {
  store = new Store(tmp.dir);
});
afterAll(() => {
  store.close();
  tmp.cleanup();
});

const SPE = 8; // 256 training images / 32
const config = () => mustParseRunConfig({ ...tinyConfig({ epochs: 5, backend: 'wasm' }), tricks: { repr: { s1: 1, s2: 2, cycles: 2, pruneRatio: 0.3 } } }, BUILTIN_FACTS);
const series = (id: number, key: string) => (store.history(id)[key] ?? []).map((p) => [p.step, p.value]);
const reprEvents = (id: number) => store.events(id).filter((e) => e.kind.startsWith('repr.')).map((e) => [e.kind, e.epoch, e.step, e.payload]);

describe('RePr across a resume', () => {
  it('cancel inside S2 + resume = the straight run', async () => {
    const a = store.createRun(config(), 'running');
    expect((await executeRun({ store, runId: a.id, dataDir: tmp.dir, isCancelled: () => false })).status).toBe('completed');
    // 5 epochs: prune at 1, re-init at 3, prune again at 4 (its re-init would fall after the end).
    expect(reprEvents(a.id).map(([k, e]) => [k, e])).toEqual([['repr.prune', 1], ['repr.reinit', 3], ['repr.prune', 4]]);
    expect(fs.existsSync(path.join(runDir(tmp.dir, a.id), 'trick-repr.json'))).toBe(true);

    const b = store.createRun(config(), 'running');
    let step = 0;
    const cut = await executeRun({ store, runId: b.id, dataDir: tmp.dir, hooks: { progress: (p) => (step = p.step) }, isCancelled: () => step >= 2 * SPE + 3 });
    expect(cut.status).toBe('cancelled'); // in epoch 2: inside S2, last checkpoint at the end of epoch 2
    store.reopenForResume(b.id, 'running');
    expect((await executeRun({ store, runId: b.id, dataDir: tmp.dir, isCancelled: () => false, resume: true })).status).toBe('completed');
    for (const key of ['train/loss_step', 'val/acc', 'test/acc', 'orthogonality/conv2', 'orthogonality/conv3']) expect(series(b.id, key), key).toEqual(series(a.id, key));
    expect(reprEvents(b.id)).toEqual(reprEvents(a.id));
  });

  it('a resume inside S2 without the saved pruned filters fails with the reason, not silently', async () => {
    const c = store.createRun(config(), 'running');
    let step = 0;
    await executeRun({ store, runId: c.id, dataDir: tmp.dir, hooks: { progress: (p) => (step = p.step) }, isCancelled: () => step >= 2 * SPE + 3 });
    fs.rmSync(path.join(runDir(tmp.dir, c.id), 'trick-repr.json'));
    store.reopenForResume(c.id, 'running');
    const r = await executeRun({ store, runId: c.id, dataDir: tmp.dir, isCancelled: () => false, resume: true });
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/RePr: the pruned filters of cycle 1 were not saved with the run/);
    expect(store.getRun(c.id)!.status).toBe('failed');
  });
});
