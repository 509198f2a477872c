// The model registry against PyTorch (tests/reference/models_reference.py wrote the fixture;
// regenerate it with Debian's python3-torch), and the model contract the loop and tricks rely on:
// BatchNorm statistics, zero-gamma, stateless dropout, no tensor leaks. Runs on the wasm backend.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { MODELS, mustParseRunConfig, parseRunConfig, type ModelConfigInput } from '../../src/shared/config';
import { DATASET_INFO, modelSummary } from '../../src/shared/models/index';
import { summaryRows } from '../../src/shared/models/summary-table';
import { initBackend } from '../../src/trainer/backend';
import { loadDataset } from '../../src/data/index';
import type { Model } from '../../src/trainer/models/model';
import { buildModel } from '../../src/trainer/models/registry';
import { registerGradients } from '../../src/trainer/tf/gradients';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

interface Recipe {
  shape: number[];
  offset: number;
  scale: number;
  salt: number;
}
interface GradSummary {
  first: number[];
  norm: number;
  probe: number;
}
interface ForwardCase {
  config: ModelConfigInput;
  inputShape: [number, number, number];
  classes: number;
  x: number[];
  labels: number[];
  weights: Record<string, Recipe>;
  eval: { logits: number[] };
  train: { logits: number[]; loss: number; grads: Record<string, GradSummary>; buffers: Record<string, number[]> };
}
interface Fixture {
  counts: { config: ModelConfigInput; inputShape: [number, number, number]; classes: number; params: number; flops: number }[];
  forward: ForwardCase[];
}
const fx = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/models_reference.json'), 'utf8')) as Fixture;

// Tolerance: float32 against a float64 reference, relative to the largest reference value. Each
// conv sums at most ~600 products (rounding ~6e-8 relative each, growing like sqrt(terms)), BatchNorm
// divides by batch standard deviations, and errors compound over ~20 layers and back again for the
// gradients: float32 PyTorch itself strays ~1e-6 from float64 here, and ours at most 7e-6. 5e-5
// leaves margin for another backend's summation order; a wrong padding, stride alignment, statistic
// or layout is off by 1e-2 or more.
const TOL = 5e-5;

function expectClose(actual: ArrayLike<number>, expected: number[], what: string, scale = Math.max(1e-3, ...expected.map(Math.abs))) {
  expect(actual.length, what).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst / scale, `${what}: max abs error ${worst} at scale ${scale}`).toBeLessThan(TOL);
}

const label = (c: ModelConfigInput) => JSON.stringify(c);
/** The reference's hash_unit: element i of stream `salt`, in [-1, 1), from 32-bit integer ops. */
function hashUnit(i: number, salt: number): number {
  let h = (i + Math.imul(salt, 0x9e3779b9)) >>> 0;
  for (let k = 0; k < 2; k++) {
    h ^= h >>> 16;
    h = Math.imul(h, 0x45d9f3b);
  }
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 31 - 1;
}
const det = (r: Recipe) => Float32Array.from({ length: r.shape.reduce((a, b) => a * b, 1) }, (_, i) => r.offset + r.scale * hashUnit(i, r.salt));

/** Our model with the fixture's weights and running statistics, loaded by name. */
function modelFromFixture(c: ForwardCase): Model {
  const model = buildModel(c.config, c.inputShape, c.classes, 0);
  const vars = [...model.params, ...model.buffers];
  expect(vars.map((v) => v.name).sort()).toEqual(Object.keys(c.weights).sort());
  for (const v of vars) {
    const r = c.weights[v.name]!;
    expect(v.variable.shape, v.name).toEqual(r.shape);
    v.variable.assign(tf.tensor(det(r), r.shape, 'float32'));
  }
  return model;
}

beforeAll(async () => {
  await initBackend('wasm');
  registerGradients();
});

describe('parameter counts and multiply-adds against PyTorch', () => {
  it.each(fx.counts.map((c) => [`${label(c.config)} on ${c.inputShape.join('x')}`, c] as const))('%s', (_n, c) => {
    const s = modelSummary(parseModel(c.config), c.inputShape, c.classes);
    expect(s.params).toBe(c.params);
    expect(s.flops).toBe(c.flops);
    expect(s.layers.reduce((a, l) => a + l.params, 0)).toBe(c.params);
  });

  it('every model is covered, and the trainer builds what the summary describes', () => {
    expect(new Set(fx.counts.map((c) => c.config.name))).toEqual(new Set(MODELS));
    // One build per model (variant d has every ResNet layer kind), on the odd-sized 28x28x1.
    const configs: ModelConfigInput[] = MODELS.map((name) => (name.startsWith('resnet') ? { name, variant: 'd' } : { name }) as ModelConfigInput);
    for (const cfg of [...configs, { name: 'cnn3', batchNorm: true, dropout: 0.2 }, { name: 'rir18', shortcut: 'parameterFree' }] as ModelConfigInput[]) {
      const ref = fx.counts.find((c) => label(c.config) === label({ ...cfg, dropout: undefined }) && c.inputShape[2] === 1);
      const m = buildModel(cfg, [28, 28, 1], 10, 1);
      const s = modelSummary(parseModel(cfg), [28, 28, 1], 10);
      const sizes = m.params.reduce((a, p) => a + p.variable.size, 0);
      expect(m.paramCount, label(cfg)).toBe(sizes);
      expect(m.paramCount, label(cfg)).toBe(s.params);
      if (ref) expect(m.paramCount, label(cfg)).toBe(ref.params);
      expect(m.flops).toBe(s.flops);
      expect(m.summary).toEqual(s.layers);
      expect(m.params.filter((p) => p.layer === 'head').length, `${label(cfg)} has a head`).toBeGreaterThan(0);
      m.dispose();
    }
  });
});

function parseModel(cfg: ModelConfigInput) {
  const r = parseRunConfig({ model: cfg }, BUILTIN_FACTS);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config.model;
}

describe('forward passes against PyTorch', () => {
  it.each(fx.forward.map((c) => [label(c.config), c] as const))('%s: eval logits, training logits/loss/grads, BN running stats', (_n, c) => {
    const model = modelFromFixture(c);
    const x = tf.tensor4d(c.x, [c.labels.length, ...c.inputShape]);
    const y = tf.tensor1d(c.labels, 'int32');
    const evalLogits = tf.tidy(() => model.apply(x, { training: false, step: 0 }));
    expectClose(evalLogits.dataSync(), c.eval.logits, 'eval logits');
    // Inference leaves the running statistics alone.
    for (const b of model.buffers) expectClose(b.variable.dataSync(), Array.from(det(c.weights[b.name]!)), `${b.name} after eval`);

    let logits: tf.Tensor | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const l = model.apply(x, { training: true, step: 0 });
      logits = tf.keep(l);
      return tf.losses.softmaxCrossEntropy(tf.oneHot(y, c.classes), l) as tf.Scalar;
    }, model.params.map((p) => p.variable));
    expectClose(logits!.dataSync(), c.train.logits, 'training logits');
    expectClose([value.dataSync()[0]!], [c.train.loss], 'loss');
    for (const p of model.params) {
      const g = Array.from(grads[p.variable.name]!.dataSync());
      const ref = c.train.grads[p.name]!;
      const scale = Math.max(1e-6, ref.norm);
      const probe = g.reduce((a, v, i) => a + v * Math.sin(0.3 * i + 1), 0);
      const norm = Math.sqrt(g.reduce((a, v) => a + v * v, 0));
      expectClose([...g.slice(0, ref.first.length), norm, probe], [...ref.first, ref.norm, ref.probe], `grad ${p.name}`, scale);
    }
    for (const b of model.buffers) expectClose(b.variable.dataSync(), c.train.buffers[b.name]!, `${b.name} after one training pass`);
    tf.dispose([x, y, evalLogits, logits!, value, ...Object.values(grads)]);
    model.dispose();
  });
});

describe('model contract', () => {
  it('zeroGamma zeroes exactly the last BatchNorm of every residual block', () => {
    for (const [cfg, blocks] of [
      [{ name: 'resnet20', zeroGamma: true }, 9],
      [{ name: 'resnet18', zeroGamma: true, variant: 'd' }, 8],
    ] as const) {
      const m = buildModel(cfg, [8, 8, 3], 10, 1);
      const gammas = m.params.filter((p) => p.role === 'gamma');
      const zero = gammas.filter((p) => Math.max(...Array.from(p.variable.dataSync()).map(Math.abs)) === 0).map((p) => p.name);
      expect(zero.length, cfg.name).toBe(blocks);
      for (const n of zero) expect(n).toMatch(/^stage\d+\.block\d+\.bn2\/gamma$/);
      for (const p of gammas.filter((g) => !zero.includes(g.name))) expect(Array.from(new Set(p.variable.dataSync())), p.name).toEqual([1]);
      m.dispose();
    }
    const plain = buildModel({ name: 'resnet20' }, [8, 8, 3], 10, 1);
    expect(plain.params.filter((p) => p.role === 'gamma').every((p) => p.variable.dataSync().every((v) => v === 1))).toBe(true);
    plain.dispose();
  });

  it('dropout: the same (seed, step, pass) draws the same mask, another step or pass another; off in inference', () => {
    const cfg: ModelConfigInput = { name: 'mlp', hidden: [64], dropout: 0.5 };
    const m = buildModel(cfg, [4, 4, 2], 10, 3);
    const twin = buildModel(cfg, [4, 4, 2], 10, 3);
    const noDrop = buildModel({ ...cfg, dropout: 0 }, [4, 4, 2], 10, 3);
    const otherSeed = buildModel(cfg, [4, 4, 2], 10, 4);
    for (const p of otherSeed.params) p.variable.assign(m.params.find((q) => q.name === p.name)!.variable);
    const x = tf.randomUniform([8, 4, 4, 2], -1, 1, 'float32', 'x');
    const out = (model: Model, training: boolean, step: number, pass = 0) =>
      Array.from(tf.tidy(() => model.apply(x, { training, step, pass })).dataSync());
    const a = out(m, true, 5);
    expect(out(m, true, 5)).toEqual(a);
    expect(out(twin, true, 5)).toEqual(a); // stateless: nothing drawn before matters
    expect(out(m, true, 6)).not.toEqual(a);
    expect(out(m, true, 5, 1)).not.toEqual(a);
    expect(out(otherSeed, true, 5)).not.toEqual(a); // same weights, another run seed
    // Inference: no dropout, identical to the same model without it (dropout draws no weights).
    expect(out(m, false, 5)).toEqual(out(noDrop, false, 0));
    expect(out(noDrop, true, 5)).toEqual(out(noDrop, false, 5));
    x.dispose();
    for (const model of [m, twin, noDrop, otherSeed]) model.dispose();
  });

  it.each([
    [{ name: 'resnet20', dropout: 0.2 }],
    [{ name: 'rir18', channels: [4, 6, 8], blocks: [1, 1, 1], dropout: 0.2 }],
    [{ name: 'rir18', channels: [4, 6, 8], blocks: [1, 1, 1], shortcut: 'parameterFree' }],
    [{ name: 'cnn3', width: 4, batchNorm: true }],
  ] as [ModelConfigInput][])('%j: training steps keep the tensor count flat and move the BN statistics', (cfg) => {
    const m = buildModel(cfg, [8, 8, 3], 10, 1);
    const x = tf.randomUniform([4, 8, 8, 3], -1, 1, 'float32', 'x');
    const y = tf.tensor1d([0, 1, 2, 3], 'int32');
    const before = m.buffers.map((b) => Array.from(b.variable.dataSync()));
    const counts: number[] = [];
    for (let step = 0; step < 4; step++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), m.apply(x, { training: true, step })) as tf.Scalar,
          m.params.map((p) => p.variable),
        );
        for (const p of m.params) p.variable.assign(tf.sub(p.variable, tf.mul(grads[p.variable.name]!, 0.01)));
      });
      counts.push(tf.memory().numTensors);
    }
    expect(new Set(counts).size, `tensors after each step: ${counts.join(', ')}`).toBe(1);
    m.buffers.forEach((b, i) => expect(Array.from(b.variable.dataSync()), b.name).not.toEqual(before[i]));
    tf.dispose([x, y]);
    m.dispose();
  });

  it.each(MODELS.map((name) => [name]))('%s fits the odd-sized 28x28x1 input (Fashion-MNIST) in training and inference', (name) => {
    const small: Record<string, ModelConfigInput> = {
      cnn3: { name: 'cnn3', width: 4 },
      mlp: { name: 'mlp', hidden: [8] },
      rir18: { name: 'rir18', channels: [4, 6, 8], blocks: [1, 1, 1] },
    };
    const cfg = small[name] ?? ({ name, variant: 'd' } as ModelConfigInput);
    const m = buildModel(cfg, [28, 28, 1], 10, 1);
    for (const training of [true, false]) {
      const out = tf.tidy(() => m.apply(tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 1), { training, step: 0 }));
      expect(out.shape).toEqual([2, 10]);
      expect(out.dataSync().every(Number.isFinite)).toBe(true);
      out.dispose();
    }
    m.dispose();
  });
});

describe('summary and schema', () => {
  it('DATASET_INFO matches what the loaders produce', async () => {
    const d = await loadDataset(mustParseRunConfig({ dataset: { name: 'synthetic', trainSubset: 10 }, batchSize: 8 }, BUILTIN_FACTS).dataset, '/nonexistent');
    expect(DATASET_INFO.synthetic).toEqual({ shape: d.shape, classes: d.numClasses });
  });

  it('layer table rows: containers before their layers, totals per container', () => {
    const s = modelSummary(parseModel({ name: 'resnet20' }), [32, 32, 3], 10);
    const rows = summaryRows(s);
    const block = rows.find((r) => r.name === 'stage2.block0')!;
    expect(block).toMatchObject({ container: true, depth: 1, label: 'block0', type: 'BasicBlock', outputShape: [16, 16, 32] });
    expect(block.params).toBe(s.layers.filter((l) => l.name.startsWith('stage2.block0.')).reduce((a, l) => a + l.params, 0));
    const i = rows.indexOf(block);
    expect(rows[i + 1]).toMatchObject({ name: 'stage2.block0.conv1', label: 'conv1', depth: 2 });
    expect(rows.filter((r) => !r.container).length).toBe(s.layers.length);
  });

  it('refuses unknown or inconsistent model options, naming the field', () => {
    const errorsOf = (model: unknown) => {
      const r = parseRunConfig({ model }, BUILTIN_FACTS);
      return r.ok ? [] : r.errors;
    };
    expect(errorsOf({ name: 'resnet20', width: 8 })[0]).toMatchObject({ field: 'model', message: "unknown option 'width'" });
    expect(errorsOf({ name: 'resnet20', variant: 'e' })[0]!.field).toBe('model.variant');
    expect(errorsOf({ name: 'rir18', channels: [8, 16], blocks: [1, 1, 1] })[0]!.field).toBe('model.blocks');
    expect(errorsOf({ name: 'rir18', channels: [16, 8], shortcut: 'parameterFree', blocks: [1, 1] })[0]!.field).toBe('model.channels');
    expect(errorsOf({ name: 'cnn3', dropout: 1 })[0]!.field).toBe('model.dropout');
    expect(errorsOf({ name: 'vgg' })[0]!.message).toMatch(/expected one of cnn3, mlp, resnet20, .*rir18/);
  });

  it('npm run summary prints the table and, last, the totals as JSON', async () => {
    const root = path.join(__dirname, '../..');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/trainer/summary-cli.ts', '--model', 'resnet20', '--input', '32x32x3', '--classes', '10', '--set', 'model.variant=d'],
      { cwd: root },
    );
    const lines = stdout.trim().split('\n');
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ params: 274018, flops: 42361472, input: [32, 32, 3], classes: 10 });
    expect(stdout).toMatch(/shortcut \(Shortcut\)/);
  });
});
