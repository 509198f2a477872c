// Whole runs on the webgpu backend through executeRun with a real store: events, the adapter
// recorded, checkpoints, evaluation, RePr's and RIFLE's epoch hooks (which read weights back,
// asynchronously on a GPU), and a run checkpointed on webgpu resumed on wasm.
//
// Skipped, with the reason, without a WebGPU adapter; CI sets TRICKBENCH_REQUIRE_WEBGPU=1 so that
// there a missing adapter fails instead.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mustParseRunConfig } from '../../src/shared/config';
import { runDir } from '../../src/store/paths';
import { Store } from '../../src/store/store';
import { readManifest } from '../../src/store/checkpoint';
import { executeRun } from '../../src/trainer/run';
import { webgpuDevice } from '../../src/trainer/webgpu/backend';
import { tmpDataDir } from '../helpers/tmp';
import { tinyConfig } from '../helpers/trainer';
import { webgpuGate } from '../helpers/webgpu';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

const probe = (await webgpuGate('the webgpu runs')).reason;

const tmp = tmpDataDir();
let store: Store;
beforeAll(() => {
  store = new Store(tmp.dir);
});
afterAll(() => {
  store.close();
  tmp.cleanup();
});

// 128 training images / 32 = 4 steps per epoch; the synthetic test set has 2,000 images.
const SPE = 4;
const config = (over: Record<string, unknown> = {}) =>
  mustParseRunConfig({
    ...tinyConfig({ epochs: 2, backend: 'webgpu' }),
    dataset: { name: 'synthetic', trainSubset: 160, valSplit: 0.2 },
    model: { name: 'cnn3', width: 4, batchNorm: true, dropout: 0.2 },
    ...over,
  }, BUILTIN_FACTS);
const series = (id: number, key: string) => (store.history(id)[key] ?? []).map((p) => [p.step, p.value] as [number, number]);

async function train(over: Record<string, unknown> = {}, stopAtStep = Infinity) {
  const run = store.createRun(config(over), 'running');
  let step = 0;
  const outcome = await executeRun({ store, runId: run.id, dataDir: tmp.dir, hooks: { progress: (p) => (step = p.step) }, isCancelled: () => step >= stopAtStep });
  return { id: run.id, outcome };
}

// Another backend sums in another order: per-step losses agree to float32 rounding amplified by
// a few SGD steps. 1e-3 relative is far below what a wrong restore would give (a restart from
// fresh weights or a lost momentum changes the loss by >1e-2).
function expectSeriesClose(actual: [number, number][], expected: [number, number][], what: string): void {
  expect(actual.map(([s]) => s), what).toEqual(expected.map(([s]) => s));
  actual.forEach(([, v], i) => expect(Math.abs(v - expected[i]![1]), `${what} at step ${actual[i]![0]}`).toBeLessThanOrEqual(1e-3 * (1 + Math.abs(expected[i]![1]))));
}

let straight = 0;
describe.skipIf(probe !== null)('runs on webgpu', () => {
  it('a 2-epoch run: adapter recorded, per-step and per-epoch metrics, checkpoints, evaluation', async () => {
    const r = await train();
    straight = r.id;
    expect(r.outcome).toMatchObject({ status: 'completed', backend: 'webgpu', error: null });
    expect(r.outcome.device).toMatch(/GPU \(WebGPU, /);
    const run = store.getRun(r.id)!;
    expect(run).toMatchObject({ backend: 'webgpu', device: r.outcome.device });
    const start = store.events(r.id).find((e) => e.kind === 'run.start')!;
    expect(start.payload.adapter).toMatchObject({ api: expect.any(String), featureLevel: expect.stringMatching(/^(core|compatibility)$/) });
    expect(store.events(r.id).map((e) => e.kind)).toEqual(expect.arrayContaining(['run.start', 'pairing', 'run.end']));
    expect(series(r.id, 'train/loss_step').map(([s]) => s)).toEqual(Array.from({ length: 2 * SPE }, (_, i) => i + 1));
    for (const key of ['train/loss', 'train/acc', 'val/acc', 'val/loss']) expect(series(r.id, key).length, key).toBe(2);
    const final = store.summaries(r.id).final;
    expect(final['test/acc']).toBeGreaterThan(0);
    expect(final['test/acc_best']).toBeGreaterThan(0);
    expect(readManifest(runDir(tmp.dir, r.id), 'last')!.position).toMatchObject({ epoch: 2, step: 2 * SPE });
    expect(store.evaluations.get(r.id).last!.n).toBe(2000);
  });

  it('cancelled on webgpu, resumed on wasm: continues from the checkpoint and matches the straight run', async () => {
    const r = await train({}, SPE + 1);
    expect(r.outcome.status).toBe('cancelled');
    expect(readManifest(runDir(tmp.dir, r.id), 'last')!.position).toMatchObject({ epoch: 1, step: SPE });
    expect(store.reopenForResume(r.id, 'running')).toBe(true);
    const resumed = await executeRun({ store, runId: r.id, dataDir: tmp.dir, isCancelled: () => false, resume: true, backend: 'wasm' });
    expect(resumed).toMatchObject({ status: 'completed', backend: 'wasm' });
    const ev = store.events(r.id).find((e) => e.kind === 'run.resume')!;
    expect(ev.payload).toMatchObject({ fromEpoch: 1, fromStep: SPE, backend: 'wasm' });
    for (const key of ['train/loss_step', 'train/loss', 'val/loss']) expectSeriesClose(series(r.id, key), series(straight, key), key);
  });

  it("RePr's prune and re-initialisation and RIFLE's re-initialisation run their epoch hooks on webgpu", async () => {
    // Four classes: a quarter of the test set to evaluate, the hooks alike.
    const dataset = { name: 'synthetic', trainSubset: 160, valSplit: 0.2, classes: [0, 1, 2, 3] };
    const repr = await train({ dataset, epochs: 4, tricks: { repr: { s1: 1, s2: 2, cycles: 1, pruneRatio: 0.3 } } });
    expect(repr.outcome.status).toBe('completed');
    expect(store.events(repr.id).filter((e) => e.kind.startsWith('repr.')).map((e) => [e.kind, e.epoch])).toEqual([['repr.prune', 1], ['repr.reinit', 3]]);
    expect(series(repr.id, 'orthogonality/conv2').length).toBe(4);
    const rifle = await train({ dataset, epochs: 3, tricks: { rifle: { everyEpochs: 1, maxReinits: 1, noReinitLastEpochs: 1, initializer: 'initial' } } });
    expect(rifle.outcome.status).toBe('completed');
    const re = store.events(rifle.id).filter((e) => e.kind === 'rifle.reinit');
    expect(re.length).toBe(1);
    expect(series(rifle.id, 'grad_norm/head').every(([, v]) => v > 0)).toBe(true);
  });
});

describe.skipIf(probe !== null)('a WebGPU error fails the run', () => {
  it('a validation error during training ends the run failed with the message; the next run is unaffected', async () => {
    const run = store.createRun(config(), 'running');
    const outcome = await executeRun({
      store,
      runId: run.id,
      dataDir: tmp.dir,
      // An invalid call on the run's device after step 2, as a faulty kernel would make: WebGPU
      // throws nothing at the call site, it reports the error to the device.
      hooks: { progress: (p) => void (p.step === 2 && p.phase === 'train' && webgpuDevice()!.createBuffer({ size: 4, usage: 0 })) },
      isCancelled: () => false,
    });
    expect(outcome.status).toBe('failed');
    // Dawn reports it by the next time it processes events: the step that reads after it (step 3
    // here), at the latest the epoch's validation.
    expect(outcome.error).toMatch(/^WebGPU error at (epoch 1, step \d+|the validation of epoch 1): .*usage.* \(results after it cannot be trusted\)/is);
    expect(store.getRun(run.id)).toMatchObject({ status: 'failed' });
    const next = await train({ epochs: 1 });
    expect(next.outcome.status).toBe('completed');
  });
});
