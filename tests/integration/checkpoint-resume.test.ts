// Checkpoints, resume, fine-tuning and the end-of-run evaluation, through executeRun in this
// process (wasm) with a real store: a resumed run must match an uninterrupted one exactly.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mustParseRunConfig } from '../../src/shared/config';
import { runDir } from '../../src/store/paths';
import { Store } from '../../src/store/store';
import { readCheckpoint, readManifest, type Checkpoint } from '../../src/store/checkpoint';
import { sourceRunProblem } from '../../src/store/init-plan';
import { checkpointsOf } from '../../src/store/paths';
import { executeRun } from '../../src/trainer/run';
import { writeFakeFashion } from '../helpers/datasets';
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

// 256 training images / 32 = 8 steps per epoch.
const SPE = 8;
const config = (over: Record<string, unknown> = {}) => mustParseRunConfig({ ...tinyConfig({ epochs: 3, backend: 'wasm' }), ...over }, BUILTIN_FACTS);

async function train(over: Record<string, unknown> = {}, stopAtStep = Infinity) {
  const run = store.createRun(config(over), 'running');
  let step = 0;
  const outcome = await executeRun({
    store,
    runId: run.id,
    dataDir: tmp.dir,
    hooks: { progress: (p) => (step = p.step) },
    isCancelled: () => step >= stopAtStep,
  });
  return { id: run.id, outcome };
}

const series = (id: number, key: string) => (store.history(id)[key] ?? []).map((p) => [p.step, p.value]);

let straight: number;
describe('checkpoints and resume', () => {
  it('writes last every epoch and best on a new best val/acc, in the run folder', async () => {
    const r = await train();
    straight = r.id;
    expect(r.outcome.status).toBe('completed');
    const last = readManifest(runDir(tmp.dir, r.id), 'last')!;
    expect(last.position).toMatchObject({ epoch: 3, step: 3 * SPE, stepsPerEpoch: SPE });
    expect(last.tensors.filter((t) => t.group === 'optimizer').map((t) => t.slot)).toContain('momentum');
    const best = readManifest(runDir(tmp.dir, r.id), 'best')!;
    const vals = series(r.id, 'val/acc').map(([, v]) => v!);
    const bestEpoch = vals.indexOf(Math.max(...vals)) + 1; // the earliest of equal bests
    expect(best.position.epoch).toBe(bestEpoch);
    expect(best.tensors.some((t) => t.group === 'optimizer')).toBe(false);
  });

  it('cancel mid-epoch + resume gives exactly the metrics of an uninterrupted run', async () => {
    const r = await train({}, 2 * SPE + 3);
    expect(r.outcome.status).toBe('cancelled');
    expect(readManifest(runDir(tmp.dir, r.id), 'last')!.position).toMatchObject({ epoch: 2, step: 2 * SPE });
    // The partial third epoch's points were flushed at the cancel...
    expect(series(r.id, 'train/loss_step').at(-1)![0]).toBe(2 * SPE + 3);
    expect(store.reopenForResume(r.id, 'running')).toBe(true);
    const events = store.events(r.id).length;
    const resumed = await executeRun({ store, runId: r.id, dataDir: tmp.dir, isCancelled: () => false, resume: true });
    expect(resumed.status).toBe('completed');
    // ...and rewritten: every step once, the same values as the straight run.
    for (const key of ['train/loss_step', 'lr_step', 'train/loss', 'val/acc', 'val/loss', 'test/acc', 'test/acc_best', 'test/top5']) {
      expect(series(r.id, key), key).toEqual(series(straight, key));
    }
    expect(series(r.id, 'train/loss_step').map(([s]) => s)).toEqual(Array.from({ length: 3 * SPE }, (_, i) => i + 1));
    const ev = store.events(r.id).slice(events);
    expect(ev.map((e) => e.kind)).toEqual(['run.resume', 'run.end']);
    expect(ev[0]!.payload).toMatchObject({ fromEpoch: 2, fromStep: 2 * SPE });
    expect(store.getRun(r.id)).toMatchObject({ status: 'completed', error: null });
  });

  it('with BatchNorm statistics, dropout masks and Adam state too', async () => {
    const over = { model: { name: 'cnn3', width: 8, batchNorm: true, dropout: 0.3 }, optimizer: { name: 'adam', lr: 0.003 } };
    const a = await train(over);
    const b = await train(over, 2 * SPE + 2);
    expect(b.outcome.status).toBe('cancelled');
    const last = readManifest(runDir(tmp.dir, b.id), 'last')!;
    expect(last.tensors.filter((t) => t.group === 'buffer').length).toBeGreaterThan(0);
    expect(last.optimizer).toEqual({ name: 'adam', scalars: { t: 2 * SPE } });
    store.reopenForResume(b.id, 'running');
    expect((await executeRun({ store, runId: b.id, dataDir: tmp.dir, isCancelled: () => false, resume: true })).status).toBe('completed');
    for (const key of ['train/loss_step', 'val/acc', 'val/loss', 'test/acc', 'test/acc_best']) {
      expect(series(b.id, key), key).toEqual(series(a.id, key));
    }
  });

  it('stores the evaluation of the best and last weights and the predictions', () => {
    const ev = store.evaluations.get(straight);
    expect(ev.classNames).toHaveLength(10);
    expect(ev.imageShape).toEqual([32, 32, 3]);
    for (const e of [ev.best!, ev.last!]) {
      expect(e.confusion).toHaveLength(10);
      for (const row of e.confusion) expect(row).toHaveLength(10);
      expect(e.confusion.flat().reduce((a, b) => a + b, 0)).toBe(e.n);
      expect(e.n).toBe(2000);
      const diag = e.confusion.reduce((s, row, k) => s + row[k]!, 0);
      expect(diag / e.n).toBeCloseTo(e.acc, 10);
      expect(e.perClass).toHaveLength(10);
      expect(e.top5!).toBeGreaterThanOrEqual(e.acc);
    }
    const final = store.summaries(straight).final;
    expect(final['test/acc']).toBe(ev.last!.acc);
    expect(final['test/acc_best']).toBe(ev.best!.acc);
    const wrong = store.evaluations.predictions(straight, 'confidentWrong', 1000, 0);
    expect(wrong.total).toBe(2000 - Math.round(ev.best!.acc * 2000));
    expect(wrong.rows.every((p) => p.pred !== p.label)).toBe(true);
    const conf = wrong.rows.map((p) => p.confidence);
    expect(conf).toEqual([...conf].sort((a, b) => b - a));
    expect(wrong.rows.slice(0, 200).every((p) => Buffer.from(p.image!, 'base64').length === 32 * 32 * 3)).toBe(true);
    const least = store.evaluations.predictions(straight, 'leastConfident', 5, 0);
    expect(least.total).toBe(2000);
    const n = store.db.prepare('SELECT COUNT(*) AS n, COUNT(image) AS img FROM prediction WHERE run_id = ?').get(straight) as { n: number; img: number };
    expect(n.n).toBe(2000);
    expect(n.img).toBeLessThanOrEqual(500);
  });
});

describe('initialising from a completed run', () => {
  it('loads every matching layer but the excluded head, and records what it did', async () => {
    const r = await train({ epochs: 1, init: { fromRun: straight } });
    expect(r.outcome.status).toBe('completed');
    const ev = store.events(r.id).find((e) => e.kind === 'init.loaded')!;
    expect(ev.payload).toMatchObject({
      fromRun: straight,
      checkpoint: 'best',
      loaded: ['conv1/kernel', 'conv1/bias', 'conv2/kernel', 'conv2/bias', 'conv3/kernel', 'conv3/bias'],
      skipped: ['head/kernel', 'head/bias'],
    });
    // Fine-tuned from trained weights: the first steps already do better than from scratch.
    expect(series(r.id, 'train/loss_step')[0]![1]).toBeLessThan(series(straight, 'train/loss_step')[0]![1]!);
  });

  it('names the first layer whose shape does not fit (another width)', async () => {
    const r = await train({ epochs: 1, model: { name: 'cnn3', width: 4 }, init: { fromRun: straight, exclude: [] } });
    expect(r.outcome).toMatchObject({ status: 'failed', error: `init.fromRun: layer conv1/kernel has shape [3,3,3,8] in run ${straight} but [3,3,3,4] here` });
  });

  it('across datasets: grey Fashion-MNIST vs RGB synthetic differ at conv1; excluding it loads the rest', async () => {
    writeFakeFashion(path.join(tmp.dir, 'datasets', 'fashion-mnist'), 400, 100);
    const fashion = { dataset: { name: 'fashion-mnist', trainSubset: 320, valSplit: 0.2 }, epochs: 1 };
    const bad = await train({ ...fashion, init: { fromRun: straight } });
    expect(bad.outcome.error).toBe(`init.fromRun: layer conv1/kernel has shape [3,3,3,8] in run ${straight} but [3,3,1,8] here`);
    const ok = await train({ ...fashion, init: { fromRun: straight, exclude: ['conv1', 'head'] } });
    expect(ok.outcome.status).toBe('completed');
    const ev = store.events(ok.id).find((e) => e.kind === 'init.loaded')!;
    expect(ev.payload.loaded).toEqual(['conv2/kernel', 'conv2/bias', 'conv3/kernel', 'conv3/bias']);
    expect(fs.existsSync(path.join(runDir(tmp.dir, ok.id), 'best.safetensors'))).toBe(true);
  });
});

/** Turn a run's `kind` checkpoint into the format-1 layout the writer used before safetensors
 * (`<kind>.json` naming `<kind>-eNNNN-<hex>.bin`; see tests/fixtures/checkpoint-v1), as a run
 * checkpointed by an older Trickbench has it. */
function toFormat1(runId: number, kind: 'best' | 'last'): void {
  const dir = runDir(tmp.dir, runId);
  const ckpt: Checkpoint = readCheckpoint(dir, kind)!;
  const { format, createdAt, runId: id, model, optimizer, position, val } = ckpt.manifest;
  let offset = 0;
  const tensors = ckpt.tensors.map(({ data, ...rest }) => {
    const e = { ...rest, dtype: data instanceof Int32Array ? 'int32' : 'float32', offset, byteLength: data.byteLength };
    offset += data.byteLength;
    return e;
  });
  const bin = Buffer.concat(ckpt.tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)));
  const weightsFile = `${kind}-e${String(position.epoch).padStart(4, '0')}-0123abcd.bin`;
  fs.writeFileSync(path.join(dir, weightsFile), bin);
  const manifest = { format, version: 1, createdAt, runId: id, kind, model, optimizer, position, val, weightsFile, byteLength: bin.length, sha256: crypto.createHash('sha256').update(bin).digest('hex'), tensors };
  fs.writeFileSync(path.join(dir, `${kind}.json`), JSON.stringify(manifest, null, 1));
  fs.rmSync(path.join(dir, `${kind}.safetensors`));
  expect(readManifest(dir, kind)!.version).toBe(1);
}

describe('checkpoints of format 1 (JSON + .bin)', () => {
  let resumedOld: number;
  it('a run checkpointed in the old format resumes exactly, and then writes safetensors', async () => {
    const r = await train({}, 2 * SPE + 3);
    expect(r.outcome.status).toBe('cancelled');
    toFormat1(r.id, 'last');
    toFormat1(r.id, 'best');
    expect(checkpointsOf(tmp.dir, r.id)).toEqual(['last', 'best']);
    store.reopenForResume(r.id, 'running');
    expect((await executeRun({ store, runId: r.id, dataDir: tmp.dir, isCancelled: () => false, resume: true })).status).toBe('completed');
    for (const key of ['train/loss_step', 'val/acc', 'val/loss', 'test/acc', 'test/acc_best']) {
      expect(series(r.id, key), key).toEqual(series(straight, key));
    }
    const files = fs.readdirSync(runDir(tmp.dir, r.id));
    expect(files).toContain('last.safetensors');
    expect(files).not.toContain('last.json');
    expect(files.filter((f) => f.startsWith('last-'))).toEqual([]);
    resumedOld = r.id;
  });

  it('fine-tuning and a source run take an old-format best', async () => {
    if (fs.existsSync(path.join(runDir(tmp.dir, resumedOld), 'best.safetensors'))) toFormat1(resumedOld, 'best');
    const r = await train({ epochs: 1, init: { fromRun: resumedOld } });
    expect(r.outcome.status).toBe('completed');
    expect(store.events(r.id).find((e) => e.kind === 'init.loaded')!.payload).toMatchObject({ fromRun: resumedOld, checkpoint: 'best', skipped: ['head/kernel', 'head/bias'] });
    expect(sourceRunProblem(store, config(), BUILTIN_FACTS, resumedOld, 'teacher')).toBeNull();
  });
});

describe('a corrupt checkpoint', () => {
  it('fails the resume with a message naming the file; the host-side checks say so too', async () => {
    const r = await train({ epochs: 2 }, SPE + 2);
    expect(r.outcome.status).toBe('cancelled');
    const file = path.join(runDir(tmp.dir, r.id), 'last.safetensors');
    const whole = fs.readFileSync(file);
    fs.writeFileSync(file, whole.subarray(0, whole.length - 100));
    store.reopenForResume(r.id, 'running');
    const resumed = await executeRun({ store, runId: r.id, dataDir: tmp.dir, isCancelled: () => false, resume: true });
    expect(resumed.status).toBe('failed');
    expect(resumed.error).toContain(`${file}: tensor "`);
    expect(resumed.error).toContain('run past the end of the data');
    expect(store.getRun(r.id)).toMatchObject({ status: 'failed', error: resumed.error });

    // The same file as another run's weights: a problem the host reports, not an exception.
    store.db.prepare("UPDATE run SET status = 'completed' WHERE id = ?").run(r.id);
    fs.rmSync(path.join(runDir(tmp.dir, r.id), 'best.safetensors'), { force: true });
    expect(sourceRunProblem(store, config(), BUILTIN_FACTS, r.id, 'teacher')).toMatch(
      new RegExp(`^teacher run ${r.id}: its last checkpoint is unreadable: ${file}: tensor ".*run past the end of the data`),
    );
    const fine = await train({ epochs: 1, init: { fromRun: r.id } });
    expect(fine.outcome.status).toBe('failed');
    expect(fine.outcome.error).toContain(file);
  });
});
