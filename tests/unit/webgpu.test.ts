// Training on the webgpu backend equals training on tfjs-backend-cpu: every model's forward pass
// (inference and training), loss, every gradient, BatchNorm's running statistics and one SGD or
// Adam step; each trick's step; all on identical weights and inputs.
//
// Needs a WebGPU adapter. Here that is Dawn's OpenGL ES backend on Mesa's llvmpipe (a software
// adapter: Debian's libegl1 libegl-mesa0 libgles2), which runs the same WGSL as a GPU would. The
// file is skipped, with the reason, where there is none; CI sets TRICKBENCH_REQUIRE_WEBGPU=1 so
// that there a missing adapter fails instead.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { mustParseRunConfig, type ModelConfigInput, type OptimizerConfig } from '../../src/shared/config';
import { initBackend } from '../../src/trainer/backend';
import { crossEntropy } from '../../src/trainer/loss/cross-entropy';
import { trainStep, type StepTricks } from '../../src/trainer/tricks/step-tricks';
import type { SequentialModel } from '../../src/trainer/models/model';
import { buildModel } from '../../src/trainer/models/registry';
import { makeOptimizer } from '../../src/trainer/optim/optimizers';
import { registerGradients } from '../../src/trainer/tf/gradients';
import { readAll } from '../../src/trainer/tf/read';
import { drawMixup } from '../../src/trainer/tricks/mixup';
import { expectCloseToScale, webgpuGate } from '../helpers/webgpu';
import { randomData } from './kernel-suite';

registerGradients();
const probe = await webgpuGate('the webgpu model and trick tests');

describe('webgpu backend', () => {
  it.runIf(probe.ok)('is recorded with its API and feature level; a software one is named as such', () => {
    if (!probe.ok) return;
    const b = probe.backend;
    expect(b.name).toBe('webgpu');
    expect(b.adapter).toBeDefined();
    expect(['vulkan', 'metal', 'd3d12', 'opengles']).toContain(b.adapter!.api);
    expect(b.device).toMatch(/^(software )?GPU \(WebGPU, (Vulkan|Metal|D3D12|OpenGL ES): .+; (core|compatibility)\)$/);
    if (b.adapter!.software) expect(b.warnings.join(' ')).toMatch(/software WebGPU adapter .* correctness checks only/);
  });
});

// Tolerance. float32 on both sides, but the GPU sums in another order (tiled matmuls and convs,
// tree reductions for BatchNorm's statistics and the loss) and uses its own exp/log: each result
// differs by a few ulp of its largest partial sum, growing through ~20 layers forward and back.
// Measured here at most ~2e-6 of a tensor's largest value; 1e-4 of it (plus a floor for
// tensors that are all ~0) leaves room for other adapters and still fails on any wrong index,
// padding, statistic or update rule (those are off by 1e-2 or more).
const TOL = 1e-4;
const expectClose = (actual: Float32Array, expected: Float32Array, what: string) => expectCloseToScale(actual, expected, what, TOL);

type Shape = [number, number, number];
const SHAPE: Shape = [8, 8, 3];
const BATCH = 4;
const yData = Int32Array.from([0, 3, 7, 9]);

/** Everything one training step produces, read back, on one backend. */
type Backend = 'cpu' | 'wasm' | 'webgpu';

async function stepOn(
  backend: Backend,
  cfg: ModelConfigInput,
  optimizer: OptimizerConfig,
  steps: number,
  shape: Shape,
  tricks?: (model: SequentialModel) => StepTricks,
): Promise<Map<string, Float32Array>> {
  await tf.setBackend(backend);
  const out = new Map<string, Float32Array>();
  const xData = randomData(BATCH * shape[0] * shape[1] * shape[2], 11);
  const model = buildModel(cfg, shape, 10, 7);
  const opt = makeOptimizer(optimizer);
  const before = tf.memory().numTensors;
  const x = tf.tensor4d(xData, [BATCH, ...shape]);
  const y = tf.tensor1d(yData, 'int32');
  const evalLogits = tf.tidy(() => model.apply(x, { training: false, step: 0 }));
  const { value, grads } = tf.variableGrads(() => crossEntropy(model.apply(x, { training: true, step: 0 }) as tf.Tensor2D, y, 10), model.params.map((p) => p.variable));
  const named = [
    ['eval logits', evalLogits],
    ['loss', value],
    ...model.params.map((p) => [`grad ${p.name}`, grads[p.variable.name]!] as const),
    ...model.buffers.map((b) => [`${b.name} after a training pass`, b.variable] as const),
  ] as const;
  const values = await readAll(named.map(([, t]) => t));
  named.forEach(([n], i) => out.set(n, values[i]!));
  tf.dispose([x, y, evalLogits, value, ...Object.values(grads)]);
  // Optimizer steps through the loop's own step (a second one uses the optimizer's state).
  for (let step = 1; step <= steps; step++) {
    const st = tricks?.(model) ?? {};
    const [l, c] = trainStep(model, opt, { x: xData, y: yData, n: BATCH }, shape, 10, 0.05, step, st);
    const [lv, cv] = await readAll([l, c]);
    out.set(`loss of step ${step}`, lv!);
    out.set(`correct of step ${step}`, cv!);
    tf.dispose([l, c]);
    disposeTricks(st);
  }
  const after = await readAll([...model.params, ...model.buffers].map((p) => p.variable));
  [...model.params, ...model.buffers].forEach((p, i) => out.set(`${p.name} after ${steps} step(s)`, after[i]!));
  // The optimizer's state exists now; nothing else may be left behind.
  const state = tf.memory().numTensors - before;
  model.dispose();
  opt.dispose();
  out.set('tensors left by the steps (optimizer state only)', Float32Array.of(state));
  return out;
}

function disposeTricks(st: StepTricks): void {
  if (st.gradMasks) tf.dispose([...st.gradMasks.values()]);
}

interface CaseOptions {
  steps?: number;
  reference?: Backend;
  shape?: Shape;
  tricks?: (model: SequentialModel) => StepTricks;
}

async function compare(cfg: ModelConfigInput, optimizer: OptimizerConfig, o: CaseOptions = {}) {
  const cpu = await stepOn(o.reference ?? 'cpu', cfg, optimizer, o.steps ?? 2, o.shape ?? SHAPE, o.tricks);
  const gpu = await stepOn('webgpu', cfg, optimizer, o.steps ?? 2, o.shape ?? SHAPE, o.tricks);
  expect([...gpu.keys()]).toEqual([...cpu.keys()]);
  for (const [k, v] of cpu) {
    if (k.startsWith('tensors left')) expect(gpu.get(k)![0], k).toBe(v[0]);
    else if (k.startsWith('correct')) expect(Array.from(gpu.get(k)!), k).toEqual(Array.from(v));
    else expectClose(gpu.get(k)!, v, `${JSON.stringify(cfg)}: ${k}`);
  }
}

const SGD: OptimizerConfig = mustParseRunConfig({ optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4, noBiasDecay: true } }).optimizer;
const SGD_MOMENTUM: OptimizerConfig = mustParseRunConfig({ optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9, nesterov: false, weightDecay: 5e-4 } }).optimizer;
const SGD_PLAIN: OptimizerConfig = mustParseRunConfig({ optimizer: { name: 'sgd', lr: 0.05, momentum: 0, weightDecay: 0 } }).optimizer;
const ADAM: OptimizerConfig = mustParseRunConfig({ optimizer: { name: 'adam', lr: 0.01, weightDecay: 1e-4 } }).optimizer;

describe.skipIf(!probe.ok)('every model trains on webgpu as on the reference backend', () => {
  // Two steps (the second uses the optimizer's state) on the small models. On the deep ones a
  // second step starts from parameters that already differ by rounding and, through ~20-60
  // BatchNorms over batches of 4 images, amplifies that difference past any float32 tolerance:
  // that is sensitivity, not error, so they take one step. Adam's first step moves every weight
  // by about lr whatever its gradient's size, so Adam is checked where gradients are not near 0.
  // The reference is tfjs-backend-cpu; for the deeper and ImageNet-width models it is wasm (its
  // kernels are checked against cpu in kernels-*.test.ts and the models against PyTorch in
  // models.test.ts), because the JavaScript cpu backend needs minutes for their backward passes.
  // The ImageNet ResNets take 16x16 images: at 8x8 their last stage is 1x1, and BatchNorm over 4
  // values per channel is so ill-conditioned that rounding alone moves gradients by percents.
  const cases: [ModelConfigInput, OptimizerConfig, CaseOptions][] = [
    [{ name: 'cnn3', width: 4, batchNorm: true, dropout: 0.2 }, SGD, {}],
    [{ name: 'cnn3', width: 4 }, ADAM, {}],
    [{ name: 'cnn3', width: 4, batchNorm: true }, SGD_MOMENTUM, {}],
    [{ name: 'cnn3', width: 4 }, SGD_PLAIN, {}],
    [{ name: 'mlp', hidden: [16, 8], dropout: 0.1 }, ADAM, {}],
    [{ name: 'resnet20', variant: 'a' }, SGD, {}],
    [{ name: 'resnet20', variant: 'b' }, SGD, { steps: 1, reference: 'wasm' }],
    [{ name: 'resnet20', variant: 'c', zeroGamma: true }, SGD, { steps: 1, reference: 'wasm' }],
    [{ name: 'resnet20', variant: 'd', dropout: 0.2 }, SGD, { steps: 1, reference: 'wasm' }],
    [{ name: 'resnet32' }, SGD, { steps: 1, reference: 'wasm' }],
    [{ name: 'resnet56' }, SGD, { steps: 1, reference: 'wasm' }],
    [{ name: 'resnet18', variant: 'd', zeroGamma: true }, SGD, { steps: 1, reference: 'wasm', shape: [16, 16, 3] }],
    [{ name: 'resnet34', variant: 'b' }, SGD, { steps: 1, reference: 'wasm', shape: [16, 16, 3] }],
    [{ name: 'rir18', channels: [4, 6, 8], blocks: [1, 1, 1], dropout: 0.2 }, SGD, {}],
    [{ name: 'rir18', channels: [4, 6, 8], blocks: [1, 2, 1], shortcut: 'parameterFree' }, ADAM, {}],
  ];
  beforeAll(async () => {
    await initBackend('wasm'); // registers our wasm kernels (and the native ones where built)
  });
  it.each(cases.map(([m, opt, o]) => [`${JSON.stringify(m)} with ${JSON.stringify(opt)} against ${o.reference ?? 'cpu'}`, m, opt, o] as const))('%s', async (_n, m, opt, o) => {
    await compare(m, opt, o);
  });
});

describe.skipIf(!probe.ok)("each trick's step on webgpu equals cpu's", () => {
  const model: ModelConfigInput = { name: 'cnn3', width: 4, batchNorm: true, dropout: 0.3 };
  const tricks = mustParseRunConfig({
    model,
    tricks: { labelSmoothing: { epsilon: 0.1 }, rdrop: { alpha: 0.5 }, mixup: { alpha: 0.4 } },
  }).tricks;
  // A teacher per backend, built on the backend in use when its student is.
  const teachers = new Map<string, SequentialModel>();
  const teacher = () => {
    const b = tf.getBackend();
    if (!teachers.has(b)) teachers.set(b, buildModel({ name: 'cnn3', width: 6 }, SHAPE, 10, 3));
    return teachers.get(b)!;
  };
  const acc = new Map<string, tf.Variable>();
  const cases: [string, (m: SequentialModel) => StepTricks][] = [
    ['label smoothing', () => ({ labelSmoothing: tricks.labelSmoothing })],
    ['mixup', () => ({ mixup: drawMixup(5, 1, BATCH, 0.4) })],
    ['R-Drop (two dropout passes in one forward)', () => ({ rdrop: tricks.rdrop })],
    ['distillation (weighted) with R-Drop and label smoothing', () => ({ rdrop: tricks.rdrop, labelSmoothing: tricks.labelSmoothing, distill: { teacher: teacher(), temperature: 4, mode: 'weighted', weight: 0.7 } })],
    ['distillation (paper) under mixup', () => ({ mixup: drawMixup(5, 2, BATCH, 0.4), distill: { teacher: teacher(), temperature: 2, mode: 'paper', weight: 0.5 } })],
    [
      "RePr's gradient masks (pruned filters)",
      (m) => {
        const masks = new Map<string, tf.Tensor>();
        for (const p of m.params.filter((q) => q.role === 'kernel' && q.variable.rank === 4)) {
          const c = p.variable.shape[3]!;
          masks.set(p.name, tf.tensor(Float32Array.from({ length: c }, (_, i) => (i % 3 === 1 ? 0 : 1)), [1, 1, 1, c]));
        }
        return { gradMasks: masks };
      },
    ],
    [
      "RIFLE's per-layer gradient norms",
      (m) => {
        const layers = [...new Set(m.params.map((p) => p.layer))];
        const b = tf.getBackend();
        if (!acc.has(b)) acc.set(b, tf.variable(tf.zeros([layers.length]), false));
        return { gradNorms: { layers, acc: acc.get(b)! } };
      },
    ],
  ];
  it.each(cases)('%s', async (_n, f) => {
    await compare(model, SGD, { tricks: f });
  });

  it("RIFLE's accumulated norms agree", async () => {
    const [cpu, gpu] = [acc.get('cpu'), acc.get('webgpu')];
    expect(cpu && gpu).toBeTruthy();
    await tf.setBackend('cpu');
    const c = (await readAll([cpu!]))[0]!;
    await tf.setBackend('webgpu');
    const g = (await readAll([gpu!]))[0]!;
    expect(c.every((v) => v > 0)).toBe(true);
    expectClose(g, c, 'grad norm sums');
  });
});
