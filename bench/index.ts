// `npm run bench [-- --suite trainer] [--reps N] [--steps N] [--backend B] [--case NAME]`: figures,
// not tests. Trainer suite: training images/s of the real training step (src/trainer/loop.ts
// trainStep) for cnn3 on 28x28x1 (Fashion-MNIST-sized) and 32x32x3 (CIFAR-sized) input, and
// resnet20 and rir18 (default options) on 32x32x3, at batch 64, on the backend in use. Reports
// min/median/max over repetitions: the machine is noisy. A case that fails (rir18 at batch 64 needs
// more than wasm's 4 GiB heap) is reported as such; a wasm abort leaves that backend unusable, so
// such cases come last.
import os from 'node:os';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName, ModelConfigInput } from '../src/shared/config';
import { initBackend } from '../src/trainer/backend';
import { trainStep } from '../src/trainer/loop';
import { buildModel } from '../src/trainer/models/registry';
import { makeOptimizer } from '../src/trainer/optim/optimizers';
import { makeRng } from '../src/trainer/rng';

interface Case {
  name: string;
  model: ModelConfigInput;
  shape: [number, number, number];
  batch: number;
  /** Caps on --steps/--reps/--warmup for a slow case (rir18 takes about a minute a step on wasm). */
  max?: { steps: number; reps: number; warmup: number };
}

const CASES: Case[] = [
  { name: 'cnn3 28x28x1 b64', model: { name: 'cnn3', width: 32 }, shape: [28, 28, 1], batch: 64 },
  { name: 'cnn3 32x32x3 b64', model: { name: 'cnn3', width: 32 }, shape: [32, 32, 3], batch: 64 },
  { name: 'resnet20 32x32x3 b64', model: { name: 'resnet20' }, shape: [32, 32, 3], batch: 64 },
  { name: 'rir18 32x32x3 b64', model: { name: 'rir18' }, shape: [32, 32, 3], batch: 64, max: { steps: 2, reps: 2, warmup: 1 } },
];

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function benchCase(c: Case, steps: number, reps: number, warmup: number) {
  const model = buildModel(c.model, c.shape, 10, 1);
  const opt = makeOptimizer({ name: 'sgd', lr: 0.01, momentum: 0.9, nesterov: false, weightDecay: 0 });
  const rng = makeRng(1, 'bench');
  const per = c.shape[0] * c.shape[1] * c.shape[2];
  const b = { x: Float32Array.from({ length: c.batch * per }, () => rng.next()), y: Int32Array.from({ length: c.batch }, () => rng.int(10)), n: c.batch };
  const step = async () => {
    const [l, k] = trainStep(model, opt, b, c.shape, 10, 0.01, 0);
    await l.data(); // the loop reads the loss every step: include that sync
    l.dispose();
    k.dispose();
  };
  for (let i = 0; i < warmup; i++) await step();
  const rates: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await step();
    rates.push((steps * c.batch) / ((performance.now() - t0) / 1000));
  }
  model.dispose();
  opt.dispose();
  return { min: Math.min(...rates), median: median(rates), max: Math.max(...rates) };
}

/** Our wasm gradient kernels at the shapes of cnn3 and a CIFAR ResNet stage, against the cpu
 * backend's for Conv2DBackpropFilter and against the wasm kernel they replace where there is one. */
async function benchKernels(reps: number) {
  const rng = makeRng(1, 'bench-kernels');
  const rand = (shape: number[]) => tf.tensor(Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => rng.uniform(-1, 1)), shape);
  const cases: [string, number[], number[], number[], number][] = [
    ['3x3 s1 x[64,16,16,32]', [64, 16, 16, 32], [3, 3, 32, 32], [64, 16, 16, 32], 1],
    ['3x3 s1 x[64,32,32,3] (first layer)', [64, 32, 32, 3], [3, 3, 3, 32], [64, 32, 32, 32], 1],
    ['3x3 s2 x[128,32,32,32]', [128, 32, 32, 32], [3, 3, 32, 64], [128, 16, 16, 64], 2],
  ];
  const time = (f: () => tf.Tensor) => {
    const t0 = performance.now();
    const out = f();
    out.dataSync();
    out.dispose();
    return performance.now() - t0;
  };
  for (const [label, xShape, wShape, dyShape, s] of cases) {
    const [x, w, dy] = [rand(xShape), rand(wShape), rand(dyShape)];
    const filter = () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: s, pad: 'same', dataFormat: 'NHWC', filterShape: wShape }) as tf.Tensor;
    const input = () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { strides: s, pad: 'same', dataFormat: 'NHWC', inputShape: xShape }) as tf.Tensor;
    const forward = () => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, 'same');
    const row: string[] = [];
    for (const [name, f] of [['forward', forward], ['dW', filter], ['dX', input]] as const) {
      time(f);
      const t = Array.from({ length: reps }, () => time(f));
      row.push(`${name} ${median(t).toFixed(1)} ms`);
    }
    console.log(`${label.padEnd(36)} ${row.join('  ')}`);
    tf.dispose([x, w, dy]);
  }
}

async function main() {
  const o = new Command('bench')
    .option('--suite <name>', 'trainer | kernels | all', 'all')
    .option('--backend <name>', 'auto | tensorflow-gpu | tensorflow | wasm | cpu', 'auto')
    .option('--steps <n>', 'timed steps per repetition', '10')
    .option('--reps <n>', 'repetitions', '5')
    .option('--warmup <n>', 'untimed steps first', '3')
    .option('--case <text>', 'trainer cases whose name contains this text only')
    .parse()
    .opts<{ suite: string; backend: string; steps: string; reps: string; warmup: string; case?: string }>();
  if (!['trainer', 'kernels', 'all'].includes(o.suite)) throw new Error(`--suite: unknown suite "${o.suite}" (known: trainer, kernels, all)`);
  const be = await initBackend(o.backend as BackendName);
  console.log(`backend ${be.name} on ${be.device}; ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), tfjs ${tf.version_core}`);
  if (o.suite === 'kernels' || o.suite === 'all') {
    console.log('\nconvolution kernels (median of reps):');
    await benchKernels(Number(o.reps));
    if (o.suite === 'kernels') return;
    console.log('');
  }
  console.log(`training step = forward + backward + SGD-momentum update + loss read; ${o.reps} reps x ${o.steps} steps after ${o.warmup} warm-up steps`);
  const results: Record<string, { imgPerSec: number; min: number; max: number } | { error: string }> = {};
  for (const c of CASES.filter((k) => !o.case || k.name.includes(o.case))) {
    const cap = (v: string, key: 'steps' | 'reps' | 'warmup') => Math.min(Number(v), c.max?.[key] ?? Infinity);
    let r: Awaited<ReturnType<typeof benchCase>>;
    try {
      r = await benchCase(c, cap(o.steps, 'steps'), cap(o.reps, 'reps'), cap(o.warmup, 'warmup'));
    } catch (e) {
      // A wasm abort ("Aborted()", "memory access out of bounds") is the 4 GiB heap running out.
      const msg = (e as Error).message + (/Aborted|out of bounds/.test((e as Error).message) ? ' (out of wasm memory?)' : '');
      results[c.name] = { error: msg };
      console.log(`${c.name.padEnd(20)} failed: ${msg}`);
      continue;
    }
    results[c.name] = { imgPerSec: Math.round(r.median), min: Math.round(r.min), max: Math.round(r.max) };
    const capped = c.max ? ` [${cap(o.reps, 'reps')} reps x ${cap(o.steps, 'steps')} steps]` : '';
    console.log(`${c.name.padEnd(20)} ${r.median.toFixed(0).padStart(7)} img/s median  (min ${r.min.toFixed(0)}, max ${r.max.toFixed(0)})${capped}`);
  }
  console.log(JSON.stringify({ backend: be.name, device: be.device, trainer: results }));
}

main().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exit(1);
});
