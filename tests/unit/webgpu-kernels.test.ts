// Our WebGPU training kernels (src/trainer/webgpu/kernels/) checked against tfjs-backend-cpu on
// identical inputs: Conv2DBackpropFilter (split-K tiled GEMM) and Conv2DBackpropInput (tiled GEMM
// per stride residue class), through autodiff and through the kernels directly, on the shared
// kernel cases, model-sized shapes and the fallbacks (NCHW); BatchNorm at model size (its own
// kernels, webgpu/kernels/batch-norm.ts); registration and leaks.
//
// Where no WebGPU adapter is available (initBackend('webgpu') rejects: no Dawn, no adapter at all)
// the file skips with the reason; CI sets TRICKBENCH_REQUIRE_WEBGPU=1 so that there it fails. On a
// machine without a GPU the adapter is Mesa's llvmpipe (OpenGL ES, compatibility feature level):
// the same WGSL a GPU runs, slowly, so shapes here stay at batch <= 16.
//
// Reads use `await t.data()`: tfjs-webgpu's dataSync needs OffscreenCanvas, absent in Node.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { crossEntropy } from '../../src/trainer/loss/cross-entropy';
import { batchNorm } from '../../src/trainer/models/batch-norm';
import { buildModel } from '../../src/trainer/models/registry';
import { registerGradients } from '../../src/trainer/tf/gradients';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { conv2dBackpropFilterWebgpu, planFilterGrad } from '../../src/trainer/webgpu/kernels/conv2d-backprop-filter';
import { isOurWebgpuKernel, registerWebgpuKernels } from '../../src/trainer/webgpu/kernels/index';
import {
  type Case,
  type Shape4,
  conv2dBackpropInput,
  convGradChecks,
  expectClose,
  filterGradFor,
  makeOn,
  outShape,
  randomData,
} from '../helpers/conv-grad-checks';
import { webgpuGate } from '../helpers/webgpu';
import { CASES, INPUT_EDGE_CASES } from './kernel-suite';

registerGradients();
const unavailable = (await webgpuGate('the webgpu kernel tests')).reason;

const on = makeOn('webgpu');
// The Conv2DBackpropFilter kernel call with the case's dimRoundingMode and dilations (1 unless given).
const conv2dBackpropFilter = filterGradFor('webgpu');

// The shapes our models train with: ResNet-20's 32x32x16 -> 16 3x3 blocks, its stride-2 stage
// transitions and 1x1 stride-2 projections (even and odd inputs), the 3-channel first layer, the
// deeper 16x16x32 and 8x8x64 stages, channel counts that leave partial vec4s and partial tiles
// (N = 24 and 72 with TN = 32 and 64, M = 9*24 = 216 over four 64-row tiles), and batch 16.
const MODEL_CASES: Case[] = [
  { batch: 8, inH: 32, inW: 32, inC: 16, outC: 16, fh: 3, fw: 3, strides: 1, pad: 'same' },
  { batch: 8, inH: 32, inW: 32, inC: 16, outC: 16, fh: 3, fw: 3, strides: 1, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { batch: 8, inH: 32, inW: 32, inC: 16, outC: 32, fh: 3, fw: 3, strides: 2, pad: 'same' },
  { batch: 8, inH: 32, inW: 32, inC: 16, outC: 32, fh: 3, fw: 3, strides: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { batch: 8, inH: 32, inW: 32, inC: 16, outC: 32, fh: 1, fw: 1, strides: 2, pad: 'same' },
  { batch: 8, inH: 16, inW: 16, inC: 32, outC: 64, fh: 1, fw: 1, strides: 2, pad: 'valid' },
  { batch: 9, inH: 15, inW: 15, inC: 16, outC: 32, fh: 1, fw: 1, strides: 2, pad: 'valid' },
  { batch: 8, inH: 32, inW: 32, inC: 3, outC: 16, fh: 3, fw: 3, strides: 1, pad: 'same' },
  { batch: 8, inH: 16, inW: 16, inC: 32, outC: 32, fh: 3, fw: 3, strides: 1, pad: 'same' },
  { batch: 16, inH: 8, inW: 8, inC: 64, outC: 64, fh: 3, fw: 3, strides: 1, pad: 'same' },
  { batch: 4, inH: 11, inW: 13, inC: 24, outC: 72, fh: 3, fw: 3, strides: 1, pad: 'same' },
  { batch: 3, inH: 12, inW: 10, inC: 72, outC: 24, fh: 3, fw: 3, strides: 2, pad: 'valid' },
];

// Input-gradient cases on top of CASES: the wasm suite's INPUT_EDGE_CASES (taps reaching only some
// pixels, paddings larger than the filter, rounding modes, strides combined with dilations), and a
// 1x1 input.
const INPUT_EXTRA: Case[] = [
  ...INPUT_EDGE_CASES,
  { batch: 1, inH: 1, inW: 1, inC: 4, outC: 4, fh: 1, fw: 1, strides: 2, pad: 'valid' },
];

// Tolerance: expectClose allows 1e-4 of the largest reference value. Both sides are float32 sums
// of the same products in a different order (cpu: nested loops; ours: 16-deep tiles, K-chunks
// summed by a second pass), so they differ by rounding: ~1e-7 relative per add, ~1e-5 of the
// largest value at worst for the K = 8*32*32 = 8192 terms here (observed: ~3e-7). Any indexing,
// padding or mask mistake is off by O(1) of the values.
describe.skipIf(unavailable !== null)('webgpu kernels', () => {
  describe('registration', () => {
    it('puts our Conv2DBackpropFilter and Conv2DBackpropInput in front, once', async () => {
      expect(isOurWebgpuKernel('Conv2DBackpropFilter')).toBe(true);
      expect(isOurWebgpuKernel('Conv2DBackpropInput')).toBe(true);
      const before = tf.getKernel('Conv2DBackpropFilter', 'webgpu')?.kernelFunc;
      expect(registerWebgpuKernels()).toEqual([]); // already there: a second call is a no-op
      expect(tf.getKernel('Conv2DBackpropFilter', 'webgpu')?.kernelFunc).toBe(before);
      // And they run: their pipelines appear in tfjs-webgpu's cache.
      await on('webgpu', () => {
        const x = tf.ones([1, 4, 4, 2]) as tf.Tensor4D;
        const w = tf.ones([3, 3, 2, 2]) as tf.Tensor4D;
        return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')))([x, w])[1]!;
      });
      const keys = Object.keys((tf.backend() as unknown as { pipelineCache: Record<string, unknown> }).pipelineCache);
      expect(keys.some((k) => k.startsWith('trickbench_conv2dBackpropFilter'))).toBe(true);
      expect(keys.some((k) => k.startsWith('trickbench_conv2dBackpropInput'))).toBe(true);
    });
  });

  convGradChecks({
    backend: 'webgpu',
    filterCases: [...CASES, ...MODEL_CASES],
    filterNchwCases: [CASES[3]!, CASES[9]!, MODEL_CASES[2]!],
    inputCases: [...CASES, ...INPUT_EXTRA, ...MODEL_CASES],
    inputNchwCases: [CASES[3]!, CASES[9]!, MODEL_CASES[4]!],
    filterAfterCases: () => {
      it('gives the same result for any number of K-chunks (1: no reduce pass; 7: ragged last chunk)', async () => {
        const c = MODEL_CASES[2]!;
        const xShape: Shape4 = [c.batch, c.inH, c.inW, c.inC];
        const filterShape: Shape4 = [c.fh, c.fw, c.inC, c.outC];
        const dyShape = outShape(c);
        const xData = randomData(tf.util.sizeFromShape(xShape), 7);
        const dyData = randomData(tf.util.sizeFromShape(dyShape), 8);
        const expected = await on('cpu', () => conv2dBackpropFilter(tf.tensor4d(xData, xShape), tf.tensor4d(dyData, dyShape), filterShape, c));
        const K = c.batch * dyShape[1] * dyShape[2];
        expect(planFilterGrad(3 * 3 * 16, 32, K).splits).toBeGreaterThan(1); // the default path reduces
        for (const splits of [1, 7, 64]) {
          const actual = await on('webgpu', () => {
            const args = { inputs: { x: tf.tensor4d(xData, xShape), dy: tf.tensor4d(dyData, dyShape) }, backend: tf.backend() as WebGPUBackend, attrs: { strides: c.strides, pad: c.pad, filterShape } };
            return tf.engine().makeTensorFromTensorInfo(conv2dBackpropFilterWebgpu(args as unknown as Parameters<typeof conv2dBackpropFilterWebgpu>[0], splits)!);
          });
          expectClose(actual, expected, `${splits} splits`);
        }
      });
    },
  });

  describe('BatchNorm at model size (webgpu/kernels/batch-norm.ts) matches cpu', () => {
    it('BatchNorm (training, + residual + ReLU) at model size: output and gradients', async () => {
      const shape: Shape4 = [8, 32, 32, 16]; // m = 8192 rows per channel sum
      const n = tf.util.sizeFromShape(shape);
      const [xd, rd, resd] = [randomData(n, 91), randomData(n, 92), randomData(n, 93)];
      const run = () => {
        const v = {
          gamma: tf.variable(tf.add(tf.tensor1d(randomData(16, 94)), 1.5)),
          beta: tf.variable(tf.tensor1d(randomData(16, 95))),
          movingMean: tf.variable(tf.zeros([16])),
          movingVar: tf.variable(tf.ones([16])),
        };
        const x = tf.tensor4d(xd, shape);
        const residual = tf.tensor4d(resd, shape);
        const r = tf.tensor4d(rd, shape);
        const f = (xi: tf.Tensor) => tf.sum(tf.mul(batchNorm(xi, v, true, { residual, relu: true }), r)) as tf.Scalar;
        const { value, grads } = tf.variableGrads(() => f(x), [v.gamma, v.beta]);
        const dx = tf.grad(f)(x);
        const out = tf.concat([value, grads[v.gamma.name]!, grads[v.beta.name]!, dx, v.movingMean, v.movingVar].map((t) => tf.reshape(t, [-1])));
        tf.dispose([v.gamma, v.beta, v.movingMean, v.movingVar]);
        return out;
      };
      expectClose(await on('webgpu', run), await on('cpu', run), 'batchNorm');
    });
  });

  it('a ResNet-20 training step: loss and every gradient match cpu', async () => {
    const shape: [number, number, number] = [8, 8, 3];
    const xd = randomData(4 * 8 * 8 * 3, 41);
    const step = () => {
      const model = buildModel({ name: 'resnet20' }, shape, 10, 7);
      const x = tf.tensor4d(xd, [4, ...shape]);
      const y = tf.tensor1d([1, 5, 9, 0], 'int32');
      const { value, grads } = tf.variableGrads(() => crossEntropy(model.apply(x, { training: true, step: 0 }), y, 10), model.params.map((p) => p.variable));
      const flat = tf.concat([value, ...model.params.map((p) => grads[p.variable.name]!)].map((t) => tf.reshape(t, [-1])));
      tf.dispose([value, ...Object.values(grads)]);
      model.dispose();
      return flat;
    };
    const actual = await on('webgpu', step);
    const expected = await on('cpu', step);
    // A whole network chains a dozen float32 reductions summed in another order: ~1e-5 relative
    // per layer; 1e-3 of the largest gradient still fails on any wrong index or missing term.
    expect(actual.length).toBe(expected.length);
    let maxRef = 0;
    let maxDiff = 0;
    for (let i = 0; i < expected.length; i++) {
      maxRef = Math.max(maxRef, Math.abs(expected[i]!));
      maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
    }
    expect(maxDiff).toBeLessThanOrEqual(1e-3 * (1 + maxRef));
  });

  it('leaks no tensors and no GPU buffers (partial sums included) across repeated calls', async () => {
    await tf.setBackend('webgpu');
    const backend = tf.backend() as WebGPUBackend;
    const c = MODEL_CASES[2]!; // split-K with a reduce pass, and four residue classes for dx
    const ones = tf.ones([1, c.batch * c.inH * c.inW]);
    const x2 = tf.tensor2d(randomData(c.batch * c.inH * c.inW * c.inC, 4), [c.batch * c.inH * c.inW, c.inC]);
    const x = tf.tensor4d(randomData(c.batch * c.inH * c.inW * c.inC, 1), [c.batch, c.inH, c.inW, c.inC]);
    const dy = tf.tensor4d(randomData(tf.util.sizeFromShape(outShape(c)), 2), outShape(c));
    const w = tf.tensor4d(randomData(c.fh * c.fw * c.inC * c.outC, 3), [c.fh, c.fw, c.inC, c.outC]);
    const once = async () => {
      const outs = tf.tidy(() => [
        conv2dBackpropFilter(x, dy, [c.fh, c.fw, c.inC, c.outC], c),
        conv2dBackpropInput(dy, w, [c.batch, c.inH, c.inW, c.inC], c),
        tf.matMul(ones, x2),
      ]);
      await Promise.all(outs.map((t) => t.data()));
      tf.dispose(outs);
    };
    for (let i = 0; i < 2; i++) await once();
    // Buffers freed while a submitted command still uses them are released at the next submit.
    const before = { tensors: tf.memory().numTensors, ids: backend.numDataIds() };
    for (let i = 0; i < 5; i++) await once();
    const after = { tensors: tf.memory().numTensors, ids: backend.numDataIds() };
    expect(after).toEqual(before);
    tf.dispose([x, dy, w, ones, x2]);
  });
});
