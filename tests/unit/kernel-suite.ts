// The wasm kernels we add for training, checked against tfjs-backend-cpu on identical inputs. The
// suite runs twice (kernels-wasm.test.ts, kernels-native.test.ts): on wasm with our JavaScript/wasm
// kernels alone, and with the native (oneDNN) kernels in front of them, NCHW falling back to ours.
// The Conv2DBackprop* checks it shares with the WebGPU suite are in tests/helpers/conv-grad-checks.ts.
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/trainer/backend';
import { conv2dBackpropInputConfig, conv2dBackpropInputWasm } from '../../src/trainer/kernels/conv2d-backprop-input';
import { registerWasmTrainingKernels } from '../../src/trainer/kernels/index';
import { loadNative } from '../../src/trainer/kernels/native';
import { registerGradients } from '../../src/trainer/tf/gradients';
import {
  type Case,
  type Shape4,
  caseName,
  conv2dBackpropFilter,
  conv2dBackpropInput,
  convGradChecks,
  denseFilter,
  expectClose,
  makeOn,
  outShape,
  randomData,
} from '../helpers/conv-grad-checks';

export { expectClose, randomData };

export const CASES: Case[] = [
  { batch: 1, inH: 5, inW: 5, inC: 1, outC: 2, fh: 1, fw: 1, strides: 1, pad: 'valid' },
  { batch: 3, inH: 7, inW: 7, inC: 5, outC: 3, fh: 1, fw: 1, strides: 2, pad: 'valid' },
  { batch: 2, inH: 7, inW: 7, inC: 3, outC: 4, fh: 3, fw: 3, strides: 1, pad: 'same' },
  { batch: 3, inH: 9, inW: 8, inC: 5, outC: 3, fh: 3, fw: 3, strides: 2, pad: 'same' },
  { batch: 2, inH: 8, inW: 8, inC: 3, outC: 6, fh: 5, fw: 5, strides: 1, pad: 'valid' },
  { batch: 3, inH: 11, inW: 11, inC: 1, outC: 3, fh: 5, fw: 5, strides: 2, pad: 'valid' },
  { batch: 1, inH: 6, inW: 7, inC: 5, outC: 2, fh: 2, fw: 3, strides: [2, 1], pad: 'same' },
  { batch: 1, inH: 6, inW: 6, inC: 3, outC: 4, fh: 2, fw: 3, strides: 2, pad: 'same' },
  { batch: 2, inH: 7, inW: 9, inC: 3, outC: 4, fh: 3, fw: 3, strides: 2, pad: 1 },
  { batch: 2, inH: 8, inW: 7, inC: 5, outC: 4, fh: 3, fw: 3, strides: [2, 1], pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  // tfjs-core 4.22 sizes the output of a *numeric* pad from filterHeight/strideHeight in both
  // dimensions, so with unequal strides (or a non-square filter) wasm's forward Conv2D writes
  // past its output buffer and corrupts the heap. Our kernel follows computeConv2DInfo exactly
  // as cpu does; only the direct kernel call is compared for such a case.
  { batch: 2, inH: 8, inW: 7, inC: 5, outC: 4, fh: 3, fw: 3, strides: [2, 1], pad: 1, directOnly: true },
  { batch: 2, inH: 13, inW: 12, inC: 3, outC: 2, fh: 5, fw: 5, strides: 1, pad: 1 },
  { batch: 2, inH: 7, inW: 6, inC: 3, outC: 2, fh: 3, fw: 3, strides: 1, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  // Dilations: tfjs-core's conv2d gradient rejects dilation > 1, so these reach the kernel only
  // through runKernel; the reference is the cpu kernel on the equivalent zero-stuffed filter.
  { batch: 2, inH: 9, inW: 9, inC: 3, outC: 3, fh: 3, fw: 3, strides: 1, pad: 'same', dilations: 2 },
  { batch: 1, inH: 10, inW: 9, inC: 5, outC: 2, fh: 2, fw: 3, strides: 1, pad: 'valid', dilations: 2 },
  { batch: 3, inH: 11, inW: 10, inC: 1, outC: 4, fh: 3, fw: 3, strides: [2, 1], pad: [[0, 0], [2, 1], [1, 2], [0, 0]], dilations: 2 },
];

// Input-gradient cases of both this suite and the WebGPU one: taps that reach only some input
// positions (2x2 stride 3: the rest must be 0), paddings larger than the filter (the
// sub-convolutions would need negative padding), dimRoundingMode, and strides combined with
// dilations (taps of one residue class then sit dilation/gcd apart).
export const INPUT_EDGE_CASES: Case[] = [
  { batch: 2, inH: 9, inW: 10, inC: 3, outC: 2, fh: 2, fw: 2, strides: 3, pad: 'valid' },
  { batch: 2, inH: 5, inW: 6, inC: 3, outC: 4, fh: 3, fw: 3, strides: 1, pad: [[0, 0], [3, 0], [0, 4], [0, 0]] },
  { batch: 2, inH: 7, inW: 6, inC: 5, outC: 3, fh: 3, fw: 3, strides: 2, pad: [[0, 0], [4, 1], [2, 3], [0, 0]] },
  { batch: 1, inH: 10, inW: 10, inC: 3, outC: 2, fh: 3, fw: 3, strides: 2, pad: 1, dimRoundingMode: 'floor' },
  // With 'ceil'/'round' the last output row reads past the padded input; wasm's forward Conv2D
  // (XNNPACK) sizes its output without the rounding mode, so only the kernel call is compared.
  { batch: 2, inH: 8, inW: 8, inC: 3, outC: 2, fh: 3, fw: 3, strides: 2, pad: 0, dimRoundingMode: 'ceil', directOnly: true },
  { batch: 1, inH: 9, inW: 9, inC: 3, outC: 2, fh: 2, fw: 2, strides: 2, pad: 1, dimRoundingMode: 'round', directOnly: true },
  { batch: 2, inH: 13, inW: 11, inC: 3, outC: 2, fh: 5, fw: 3, strides: 3, pad: 'same', dilations: 2 },
  { batch: 1, inH: 12, inW: 12, inC: 2, outC: 3, fh: 3, fw: 3, strides: 2, pad: 'valid', dilations: 3 },
];

// Input-gradient cases on top of CASES (which all apply to it as well): the shapes our models use
// (32 channels, stride-2 'same' on even and odd inputs, 1x1 stride-2 shortcuts), 5x5 filters, then
// INPUT_EDGE_CASES.
const INPUT_CASES: Case[] = [
  ...CASES,
  { batch: 3, inH: 8, inW: 8, inC: 32, outC: 32, fh: 3, fw: 3, strides: 1, pad: 'same' },
  { batch: 1, inH: 9, inW: 9, inC: 32, outC: 16, fh: 3, fw: 3, strides: 2, pad: 'same' },
  { batch: 3, inH: 10, inW: 10, inC: 5, outC: 32, fh: 3, fw: 3, strides: 2, pad: 'same' },
  { batch: 2, inH: 8, inW: 8, inC: 32, outC: 16, fh: 1, fw: 1, strides: 2, pad: 'same' },
  { batch: 3, inH: 7, inW: 9, inC: 3, outC: 5, fh: 1, fw: 1, strides: 2, pad: 'same' },
  { batch: 1, inH: 9, inW: 11, inC: 3, outC: 5, fh: 5, fw: 5, strides: 1, pad: 'same' },
  { batch: 3, inH: 12, inW: 11, inC: 1, outC: 3, fh: 5, fw: 5, strides: 2, pad: 'same' },
  ...INPUT_EDGE_CASES,
];

const findCase = (strides: Case['strides'], fh: number, inC: number): Case =>
  INPUT_CASES.find((c) => JSON.stringify(c.strides) === JSON.stringify(strides) && c.fh === fh && c.inC === inC && !c.dilations)!;
const INPUT_NCHW_CASES = [findCase(1, 3, 32), findCase(2, 3, 5), findCase(2, 1, 3), CASES[9]!, CASES[12]!];

const on = makeOn('wasm');

function wasmHeapBytes(): number {
  // The emscripten module typings are not shipped with the package; HEAPU8 is there at run time.
  return ((tf.findBackend('wasm') as BackendWasm).wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.length;
}

/** Defines every test of this file; `native` says which kernels must be in place. */
export function kernelSuite(native: boolean): void {
beforeAll(async () => {
  registerGradients();
  const resolved = await initBackend('wasm');
  expect(resolved.name).toBe('wasm');
  expect(loadNative().loaded, loadNative().detail).toBe(native);
});

describe('wasm kernel registration', () => {
  it('registers Conv2DBackpropFilter and replaces Conv2DBackpropInput for wasm, once', () => {
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    const current = tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc;
    // With native kernels, theirs is in front (and ours is its fallback).
    if (native) expect(current).not.toBe(conv2dBackpropInputConfig.kernelFunc);
    else expect(current).toBe(conv2dBackpropInputConfig.kernelFunc);
    expect(registerWasmTrainingKernels()).toEqual([]); // already there: a second call is a no-op
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc).toBe(current);
  });

  it('leaves only kernels outside our op set missing on wasm (vs cpu)', () => {
    const wasm = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
    const missing = tf.getKernelsForBackend('cpu').map((k) => k.kernelName).filter((k) => !wasm.has(k));
    // Pinned to tfjs 4.22: if an upgrade changes this list, re-check what training needs.
    // Note UnsortedSegmentSum is tf.gather's gradient, and the depthwise backprops are
    // depthwiseConv2d's: a model using those ops cannot train on wasm yet.
    expect(missing.sort()).toEqual([
      'Complex', 'ComplexAbs', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput',
      'Draw', 'Einsum', 'FFT', 'IFFT', 'Imag', 'RaggedGather', 'RaggedRange', 'RaggedTensorToTensor', 'Real',
      'StaticRegexReplace', 'UnsortedSegmentSum',
    ]);
  });
});

convGradChecks({
  backend: 'wasm',
  filterCases: CASES,
  filterNchwCases: [CASES[3]!, CASES[9]!, CASES[11]!],
  inputCases: INPUT_CASES,
  inputNchwCases: INPUT_NCHW_CASES,
  filterAfterNchw: () => {
    it('accumulates across im2col chunks (batch larger than one 32 MiB chunk)', async () => {
      // K = 5*5*32 = 800 rows, 64*64 = 4096 columns per image: 2 images per chunk, so 3 images take
      // two GEMMs whose results are summed. The filter gradient is a sum over images, so the
      // reference is the sum of single-image calls (one chunk each, and those are checked against
      // cpu above); the cpu kernel itself would take ~40 s here.
      const xShape: Shape4 = [3, 64, 64, 32];
      const filterShape: Shape4 = [5, 5, 32, 8];
      const dyShape: Shape4 = [3, 64, 64, 8];
      const x = tf.tensor4d(randomData(tf.util.sizeFromShape(xShape), 21), xShape);
      const dy = tf.tensor4d(randomData(tf.util.sizeFromShape(dyShape), 22), dyShape);
      const chunked = await on('wasm', () => conv2dBackpropFilter(x, dy, filterShape, 1, 'same'));
      const perImage = await on('wasm', () =>
        tf.addN([0, 1, 2].map((n) => conv2dBackpropFilter(tf.slice(x, n, 1), tf.slice(dy, n, 1), filterShape, 1, 'same'))),
      );
      expectClose(chunked, perImage, 'chunked');
      tf.dispose([x, dy]);
    });
  },
  inputAfterNchw: () => {
    // Batch chunking only starts at ~32 MiB of intermediates; a lowered limit exercises it here.
    // Limit 1 gives one image per chunk; 10_000 gives two for the first case (~4.7k floats per image:
    // dy copy, sub-convolution output, indirection), so chunks of 2 and 1.
    const CHUNK_CASES: [Case, 'NHWC' | 'NCHW', number][] = [
      [findCase(1, 3, 32), 'NHWC', 1],
      [findCase(1, 3, 32), 'NHWC', 10_000],
      [findCase(2, 3, 5), 'NHWC', 1],
      [findCase(2, 3, 5), 'NCHW', 1],
      [CASES[15]!, 'NHWC', 1],
    ];
    for (const [c, dataFormat, limit] of CHUNK_CASES) {
      it(`chunked (limit ${limit}) ${dataFormat} ${caseName(c)}`, async () => {
        const xShape: Shape4 = dataFormat === 'NHWC' ? [c.batch, c.inH, c.inW, c.inC] : [c.batch, c.inC, c.inH, c.inW];
        const filterShape: Shape4 = [c.fh, c.fw, c.inC, c.outC];
        const dyShape = outShape(c, dataFormat);
        const wData = randomData(tf.util.sizeFromShape(filterShape), 15);
        const dyData = randomData(tf.util.sizeFromShape(dyShape), 16);
        const dilations = c.dilations ?? 1;
        const attrs = { inputShape: xShape, strides: c.strides, pad: c.pad, dataFormat, dimRoundingMode: c.dimRoundingMode, dilations };
        const actual = await on('wasm', () => {
          const inputs = { dy: tf.tensor4d(dyData, dyShape), filter: tf.tensor4d(wData, filterShape) };
          const out = conv2dBackpropInputWasm({ inputs, backend: tf.backend(), attrs: attrs as unknown as tf.NamedAttrMap }, limit);
          return tf.engine().makeTensorFromTensorInfo(out);
        });
        const ref = denseFilter(wData, c, dilations);
        const expected = await on('cpu', () =>
          conv2dBackpropInput(tf.tensor4d(dyData, dyShape), tf.tensor4d(ref.data, ref.shape), xShape, c, dataFormat),
        );
        expectClose(actual, expected, 'chunked');
      });
    }
  },
});

describe('training step on wasm matches cpu', () => {
  // Every op the trainer's models use, so a kernel missing (or wrong) on wasm shows up here.
  const xData = randomData(4 * 12 * 12 * 3, 31);
  const labels = [0, 3, 1, 2];
  const weights = {
    w1: randomData(3 * 3 * 3 * 8, 32),
    b1: randomData(8, 33),
    w2: randomData(3 * 3 * 8 * 8, 34),
    b2: randomData(8, 35),
    wd: randomData(2 * 2 * 8 * 5, 36),
    bd: randomData(5, 37),
  };

  function step(): tf.Tensor {
    const v = {
      w1: tf.variable(tf.tensor4d(weights.w1, [3, 3, 3, 8])),
      b1: tf.variable(tf.tensor1d(weights.b1)),
      w2: tf.variable(tf.tensor4d(weights.w2, [3, 3, 8, 8])),
      b2: tf.variable(tf.tensor1d(weights.b2)),
      gamma: tf.variable(tf.ones([8])),
      beta: tf.variable(tf.zeros([8])),
      wd: tf.variable(tf.tensor2d(weights.wd, [32, 5])),
      bd: tf.variable(tf.tensor1d(weights.bd)),
    };
    const x = tf.tensor4d(xData, [4, 12, 12, 3]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 5);
    const { value, grads } = tf.variableGrads(() => {
      let h: tf.Tensor4D = tf.fused.conv2d({ x, filter: v.w1, bias: v.b1, activation: 'relu', strides: 1, pad: 'same' });
      h = tf.maxPool(h, 2, 2, 'valid');
      h = tf.fused.conv2d({ x: h, filter: v.w2, bias: v.b2, activation: 'relu', strides: 2, pad: 1 });
      const { mean, variance } = tf.moments(h, [0, 1, 2]);
      h = tf.batchNorm(h, mean, variance, v.beta, v.gamma, 1e-3) as tf.Tensor4D;
      h = tf.relu(tf.avgPool(h, 3, 1, 'same'));
      h = tf.maxPool(h, 3, 2, 'same'); // [4, 2, 2, 8]
      const logits = tf.fused.matMul({ a: tf.reshape(h, [4, 32]), b: v.wd, bias: v.bd, activation: 'relu' });
      return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits)), -1))) as tf.Scalar;
    }, Object.values(v));
    // Variable names differ between the two runs: order the gradients by our variables instead.
    const flat = Object.values(v).map((variable) => tf.reshape(grads[variable.name]!, [-1]));
    tf.dispose(Object.values(v));
    return tf.concat([tf.reshape(value, [1]), ...flat]);
  }

  it('loss and all gradients agree', async () => {
    expectClose(await on('wasm', step), await on('cpu', step), 'training step');
  });
});

describe('no leaks on wasm', () => {
  it('keeps tensor count, data ids and wasm heap flat across repeated calls', async () => {
    await tf.setBackend('wasm');
    const backend = tf.findBackend('wasm') as BackendWasm;
    const x = tf.tensor4d(randomData(3 * 64 * 64 * 32, 41), [3, 64, 64, 32]);
    const dy = tf.tensor4d(randomData(3 * 64 * 64 * 8, 42), [3, 64, 64, 8]);
    const w = tf.variable(tf.tensor4d(randomData(5 * 5 * 32 * 8, 43), [5, 5, 32, 8]));
    const dy2 = tf.slice(dy, 0, [3, 32, 32, 8]); // dy of a stride-2 conv of x
    const dy2Nchw = tf.transpose(dy2, [0, 3, 1, 2]);
    const backpropInput = (dyIn: tf.Tensor4D, inputShape: Shape4, strides: number, dataFormat: 'NHWC' | 'NCHW', limit?: number) => {
      const attrs = { inputShape, strides, pad: 'same', dataFormat } as unknown as tf.NamedAttrMap;
      const out = conv2dBackpropInputWasm({ inputs: { dy: dyIn, filter: w }, backend, attrs }, limit);
      tf.dispose(tf.engine().makeTensorFromTensorInfo(out));
    };
    const once = () => {
      tf.dispose(conv2dBackpropFilter(x, dy, [5, 5, 32, 8], 1, 'same')); // chunked path
      tf.dispose(conv2dBackpropFilter(tf.slice(x, 0, 1), tf.slice(dy, 0, [1, 32, 32, 8]), [5, 5, 32, 8], 2, 'same')); // one chunk
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.conv2d(x, w, 1, 'same'), dy)), [w]);
      tf.dispose([value, ...Object.values(grads)]);
      // Conv2DBackpropInput: stride 1 (the sub-convolution's output is dx), stride 2 (four phases
      // copied into dx), NCHW, chunked, and through autodiff.
      backpropInput(dy, [3, 64, 64, 32], 1, 'NHWC');
      backpropInput(dy2, [3, 64, 64, 32], 2, 'NHWC');
      backpropInput(dy2Nchw, [3, 32, 64, 64], 2, 'NCHW');
      backpropInput(dy, [3, 64, 64, 32], 1, 'NHWC', 1);
      backpropInput(dy2, [3, 64, 64, 32], 2, 'NHWC', 1);
      tf.dispose(tf.grad((xIn: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xIn as tf.Tensor4D, w, 2, 'same'), dy2)))(x));
    };
    // Warm up: the first calls grow the heap to its working size.
    for (let i = 0; i < 3; i++) tf.tidy(once);
    const before = { tensors: tf.memory().numTensors, ids: backend.numDataIds(), heap: wasmHeapBytes() };
    for (let i = 0; i < 10; i++) tf.tidy(once);
    const after = { tensors: tf.memory().numTensors, ids: backend.numDataIds(), heap: wasmHeapBytes() };
    expect(after).toEqual(before);
    tf.dispose([x, dy, w, dy2, dy2Nchw]);
  });
});
}
