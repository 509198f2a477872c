// A trick that uses another run's weights declares it in its own file (`sourceRuns`), and the rest
// is generic: the host's checks refuse a run that cannot be used at the trick's field, the trainer
// loads the run's best (else last) checkpoint in inference mode and hands the model to the trick's
// create(), and disposes it at the end. Shown with a trick only this test knows (wasm, real store).
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricPoint } from '../../src/shared/api';
import { mustParseRunConfig, type RunConfig } from '../../src/shared/config';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';
import { sourceRunsOf } from '../../src/shared/tricks/registry';
import { defineTrick, type SourceModel } from '../../src/shared/tricks/types';
import { loadDataset, makeSplits } from '../../src/data/index';
import { Store } from '../../src/store/store';
import { runDir } from '../../src/store/paths';
import { readCheckpoint } from '../../src/store/checkpoint';
import { sourceRunsError } from '../../src/store/init-plan';
import { trainModel } from '../../src/trainer/loop';
import type { TrickSources } from '../../src/trainer/tricks/index';
import { buildModel } from '../../src/trainer/models/registry';
import { makeOptimizer } from '../../src/trainer/optim/optimizers';
import { executeRun, loadSourceRuns } from '../../src/trainer/run';
import { restoreWeights } from '../../src/trainer/train-state';
import { tmpDataDir } from '../helpers/tmp';
import { tinyConfig } from '../helpers/trainer';

/** What the test trick saw of its source run in create(). */
interface Seen {
  source: Omit<SourceModel, 'model'>;
  params: Map<string, Float32Array>;
  /** Its logits on INPUT, asked for in training mode. */
  logits: Float32Array;
}
const seen: Seen[] = [];
const INPUT = () => tf.randomUniform([4, 32, 32, 3], -1, 1, 'float32', 7);

/** A trick only this test knows: it takes a donor run's weights, and records what it got. */
const borrow = defineTrick({
  name: 'borrow',
  title: 'borrow',
  paper: 'none (a test)',
  schema: z.object({ fromRun: z.number().int().min(1) }).strict(),
  toggle: { label: 'Borrow', flag: null, noFlag: 'a test' },
  label: (o) => ({ main: `#${o.fromRun}` }),
  sourceRuns: (o) => [{ field: 'fromRun', runId: o.fromRun, role: 'donor' }],
  events: {},
  metrics: [],
  async create({ sources, env }) {
    const s = sources.fromRun;
    if (!s) throw new Error('no donor');
    const { model, ...source } = s;
    const values = await env.read(model.params.map((p) => p.variable));
    const out = env.tf.tidy(() => model.apply(INPUT(), { training: true, step: 0 }));
    const [logits] = await env.read([out]);
    out.dispose();
    seen.push({ source, params: new Map(model.params.map((p, i) => [p.name, values[i]!])), logits: logits! });
    return {};
  },
});

const tmp = tmpDataDir();
let store: Store;
let donor: number;
beforeAll(async () => {
  store = new Store(tmp.dir);
  // BatchNorm and dropout: its training-mode output differs from its inference-mode one.
  const r = store.createRun(mustParseRunConfig(tinyConfig({ epochs: 1, backend: 'wasm', model: { name: 'cnn3', width: 8, batchNorm: true, dropout: 0.5 } }), BUILTIN_FACTS), 'running');
  donor = r.id;
  expect((await executeRun({ store, runId: r.id, dataDir: tmp.dir, isCancelled: () => false })).status).toBe('completed');
});
afterAll(() => {
  store.close();
  tmp.cleanup();
});

/** A run config with the test trick on (it is not in the app's registry, so not in its schema). */
function withBorrow(fromRun: number | null, over: Record<string, unknown> = {}): RunConfig {
  const parsed = mustParseRunConfig({ dataset: { name: 'synthetic', trainSubset: 128, valSplit: 0.25 }, model: { name: 'cnn3', width: 4 }, epochs: 1, batchSize: 32, ...over }, BUILTIN_FACTS);
  return { ...parsed, tricks: { ...parsed.tricks, borrow: fromRun === null ? null : { fromRun } } } as unknown as RunConfig;
}

/** trainModel with the test trick and the given source models. */
async function train(config: RunConfig, sources: TrickSources | undefined) {
  const splits = makeSplits(await loadDataset(config.dataset, '/nonexistent'), config.dataset);
  const model = buildModel(config.model, splits.dataset.shape, 10, config.seed);
  const opt = makeOptimizer(config.optimizer);
  const points: MetricPoint[] = [];
  try {
    await trainModel(config, splits, model, opt, { metrics: (p) => points.push(...p), event: () => undefined, progress: () => undefined, shouldStop: async () => false }, { registry: [borrow], sources });
  } finally {
    model.dispose();
    opt.dispose();
  }
  return points;
}

describe('a trick that declares a source run', () => {
  it('is listed at its field only while it is on', () => {
    expect(sourceRunsOf(withBorrow(5), [borrow])).toEqual([{ trick: 'borrow', field: 'fromRun', path: 'tricks.borrow.fromRun', runId: 5, role: 'donor' }]);
    expect(sourceRunsOf(withBorrow(null), [borrow])).toEqual([]);
  });

  it("gets that run's best checkpoint as a model in inference mode through the generic loader, disposed after", async () => {
    const before = tf.memory().numTensors;
    const loaded = loadSourceRuns({ store, dataDir: tmp.dir }, withBorrow(donor), [borrow]);
    seen.length = 0;
    const points = await train(withBorrow(donor), loaded.byTrick);
    expect(points.some((p) => p.key === 'train/loss')).toBe(true);
    expect(seen).toHaveLength(1);
    const got = seen[0]!;

    // The donor's best checkpoint, read and built here independently.
    const ckpt = readCheckpoint(runDir(tmp.dir, donor), 'best')!;
    const m = ckpt.manifest.model;
    const ref = buildModel(m.config, m.inputShape, m.numClasses, 0);
    restoreWeights({ params: ref.params, buffers: ref.buffers, numClasses: m.numClasses }, ckpt, 'reference');
    expect(got.source).toEqual({ runId: donor, checkpoint: 'best', modelName: 'cnn3', params: ref.paramCount });
    expect([...got.params.keys()]).toEqual(ref.params.map((p) => p.name));
    for (const p of ref.params) expect(Array.from(got.params.get(p.name)!), p.name).toEqual(Array.from(p.variable.dataSync()));
    // Asked for training mode, it answered in inference mode (BatchNorm's moving statistics, no dropout).
    const [inference, training] = [false, true].map((t) => tf.tidy(() => ref.apply(INPUT(), { training: t, step: 0 })));
    expect(Array.from(got.logits)).toEqual(Array.from(inference!.dataSync()));
    expect(Array.from(training!.dataSync())).not.toEqual(Array.from(inference!.dataSync()));
    tf.dispose([inference!, training!]);
    ref.dispose();

    loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is refused at its field when the run cannot be used: missing, unfinished, other data', () => {
    const check = (config: RunConfig) => sourceRunsError(store, config, BUILTIN_FACTS, [borrow]);
    expect(check(withBorrow(donor))).toBeNull();
    expect(check(withBorrow(null))).toBeNull();
    expect(check(withBorrow(999))).toEqual({ field: 'tricks.borrow.fromRun', message: 'donor run 999 does not exist' });
    const running = store.createRun(mustParseRunConfig(tinyConfig(), BUILTIN_FACTS), 'running');
    expect(check(withBorrow(running.id))).toEqual({ field: 'tricks.borrow.fromRun', message: `donor run ${running.id} is running; only a completed run's weights can be loaded` });
    store.finishRun(running.id, 'cancelled');
    expect(check(withBorrow(donor, { dataset: { name: 'fashion-mnist' } }))).toEqual({
      field: 'tricks.borrow.fromRun',
      message: `donor run ${donor} takes 32x32x3 input with 10 classes; this run's data (fashion-mnist) is 28x28x1 with 10`,
    });
  });

  it('the trainer says which field when the run has no checkpoint, or its model was not loaded', async () => {
    const empty = store.createRun(mustParseRunConfig(tinyConfig(), BUILTIN_FACTS), 'running');
    expect(() => loadSourceRuns({ store, dataDir: tmp.dir }, withBorrow(empty.id), [borrow])).toThrow(`tricks.borrow.fromRun: run ${empty.id} has no checkpoint to load the donor from`);
    store.finishRun(empty.id, 'cancelled');
    await expect(train(withBorrow(donor), undefined)).rejects.toThrow(`tricks.borrow.fromRun: the donor (run ${donor}) was not loaded`);
  });

  it('the code that checks and loads source runs names neither distillation nor its teacher', () => {
    const files = ['src/trainer/run.ts', 'src/store/init-plan.ts', 'src/trainer/train-input.ts', 'src/trainer/tricks/index.ts', 'src/main/services/run-input.ts'];
    for (const f of files) {
      const src = fs.readFileSync(path.join(__dirname, '../..', f), 'utf8').toLowerCase();
      for (const w of ['distill', 'teacher']) expect(src.includes(w), `${f}: ${w}`).toBe(false);
    }
  });
});
