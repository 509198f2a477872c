// Conv2DBackpropFilter and Conv2DBackpropInput checked against tfjs-backend-cpu on identical inputs,
// for the wasm kernel suite (tests/unit/kernel-suite.ts, run by kernels-wasm.test.ts and
// kernels-native.test.ts) and for our WebGPU kernels (tests/unit/webgpu-kernels.test.ts): through
// autodiff (tf.grad of tf.conv2d) and through runKernel, dilated cases against the equivalent
// zero-stuffed dense filter, NCHW, and a dy of the wrong shape. Each suite brings its own cases and
// its own backend-specific tests (passed in as hooks so they keep their place in the blocks).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

export type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
export type Shape4 = [number, number, number, number];
export type DataFormat = 'NHWC' | 'NCHW';
export type Backend = 'wasm' | 'webgpu';

export interface Case {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outC: number;
  fh: number;
  fw: number;
  strides: number | [number, number];
  pad: Pad;
  dilations?: number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  directOnly?: boolean;
}

// float32 sums of up to batch*outH*outW products (filter gradient) or taps*outC products (input
// gradient) are accumulated in a different order by our kernels (XNNPACK's GEMM/convolution on
// wasm; 16-deep tiles with K-chunks summed by a second pass on WebGPU) than by the cpu kernel's
// nested loops; rounding then differs by a few ulp of the running sum, i.e. ~1e-7 relative per add
// (~1e-5 of the largest value at worst for the K = 8*32*32 = 8192 terms of the WebGPU model cases;
// observed: ~3e-7): 1e-4 of the largest value leaves ample room while still catching any indexing,
// padding or mask mistake (those are off by O(1) relative).
export function expectClose(actual: Float32Array, expected: Float32Array, label: string): void {
  expect(actual.length, label).toBe(expected.length);
  let maxRef = 0;
  let maxDiff = 0;
  for (let i = 0; i < expected.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(expected[i]!));
    maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
  }
  expect(maxDiff, label).toBeLessThanOrEqual(1e-4 * (1 + maxRef));
}

export function randomData(size: number, seed: number): Float32Array {
  // mulberry32: deterministic, so both backends see the same inputs and failures reproduce.
  let s = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

export type On<B extends Backend> = (backend: B | 'cpu', f: () => tf.Tensor) => Promise<Float32Array>;

/**
 * f's result on a backend, intermediates disposed, read as the suite for `suite` reads it: the
 * wasm suite with dataSync inside the tidy (on wasm and on cpu), the WebGPU one with `await
 * t.data()` (on webgpu and on cpu): tfjs-webgpu's dataSync needs OffscreenCanvas, absent in Node.
 */
export function makeOn<B extends Backend>(suite: B): On<B> {
  if (suite === 'wasm') {
    return async (backend, f) => {
      await tf.setBackend(backend);
      return tf.tidy(() => f().dataSync() as Float32Array).slice();
    };
  }
  return async (backend, f) => {
    await tf.setBackend(backend);
    const t = tf.tidy(f);
    const data = (await t.data()) as Float32Array;
    t.dispose();
    return data;
  };
}

/**
 * tfjs-core's conv2DBackpropFilter op is not exported: call its kernel as the op would.
 * `dilations` and `dimRoundingMode` are attributes only where given.
 */
export function conv2dBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: Shape4,
  strides: number | [number, number],
  pad: Pad,
  dataFormat: DataFormat = 'NHWC',
  dilations?: number,
  dimRoundingMode?: Case['dimRoundingMode'],
): tf.Tensor4D {
  const attrs = {
    strides,
    pad,
    dataFormat,
    filterShape,
    ...(dimRoundingMode === undefined ? {} : { dimRoundingMode }),
    ...(dilations === undefined ? {} : { dilations }),
  };
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** tfjs-core's conv2DBackpropInput op is not exported: call its kernel as the op would. */
export function conv2dBackpropInput(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: Shape4,
  c: Case,
  dataFormat: DataFormat = 'NHWC',
  dilations = 1,
): tf.Tensor4D {
  const attrs = { inputShape, strides: c.strides, pad: c.pad, dataFormat, dimRoundingMode: c.dimRoundingMode, dilations };
  return tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

export function caseName(c: Case): string {
  return `x[${c.batch},${c.inH},${c.inW},${c.inC}] f${c.fh}x${c.fw}x${c.outC} s${JSON.stringify(c.strides)} pad ${JSON.stringify(c.pad)} d${c.dilations ?? 1}${c.dimRoundingMode ? ` ${c.dimRoundingMode}` : ''}`;
}

export function outShape(c: Case, dataFormat: DataFormat = 'NHWC'): Shape4 {
  const xShape: Shape4 = dataFormat === 'NHWC' ? [c.batch, c.inH, c.inW, c.inC] : [c.batch, c.inC, c.inH, c.inW];
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    [c.fh, c.fw, c.inC, c.outC],
    c.strides,
    c.dilations ?? 1,
    c.pad,
    c.dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(dataFormat),
  );
  return info.outShape;
}

/** A filter dilated by d as the dense filter of size (f-1)*d+1 that is zero off the d-grid. */
export function denseFilter(data: Float32Array, c: Case, d: number): { data: Float32Array; shape: Shape4 } {
  const shape: Shape4 = [(c.fh - 1) * d + 1, (c.fw - 1) * d + 1, c.inC, c.outC];
  const dense = new Float32Array(tf.util.sizeFromShape(shape));
  const tap = c.inC * c.outC;
  for (let ky = 0; ky < c.fh; ky++) {
    for (let kx = 0; kx < c.fw; kx++) {
      dense.set(data.subarray((ky * c.fw + kx) * tap, (ky * c.fw + kx + 1) * tap), (ky * d * shape[1] + kx * d) * tap);
    }
  }
  return { data: dense, shape };
}

export interface Shapes {
  xShape: Shape4;
  filterShape: Shape4;
  dyShape: Shape4;
}

export function shapesOf(c: Case, dataFormat: DataFormat = 'NHWC'): Shapes {
  const xShape: Shape4 = dataFormat === 'NHWC' ? [c.batch, c.inH, c.inW, c.inC] : [c.batch, c.inC, c.inH, c.inW];
  return { xShape, filterShape: [c.fh, c.fw, c.inC, c.outC], dyShape: outShape(c, dataFormat) };
}

/** NHWC shapes and random x, filter and dy for case c, from seeds seed, seed + 1000 and seed + 2000. */
function caseData(c: Case, seed: number): Shapes & { xData: Float32Array; wData: Float32Array; dyData: Float32Array } {
  const s = shapesOf(c);
  const xData = randomData(tf.util.sizeFromShape(s.xShape), seed);
  const wData = randomData(tf.util.sizeFromShape(s.filterShape), seed + 1000);
  const dyData = randomData(tf.util.sizeFromShape(s.dyShape), seed + 2000);
  return { ...s, xData, wData, dyData };
}

// What the two suites do differently, all of it here. The WebGPU suite gives tf.conv2d (in the
// filter gradient's autodiff check) the case's dimRoundingMode (with 'NHWC' and dilations 1), and
// the Conv2DBackpropFilter kernel the case's dimRoundingMode and dilations (1 unless dilated); the
// wasm suite passes neither (dilations only for a dilated case). Titles and labels as each had them.
const SUITE = {
  wasm: {
    title: (kernel: string) => `${kernel} on wasm matches cpu`,
    nchwName: (c: Case) => `NCHW ${caseName(c)}`,
    filterDirectLabel: 'tf.conv2DBackpropFilter',
    explicitConvArgs: false,
  },
  webgpu: {
    title: (kernel: string) => `${kernel} matches cpu`,
    nchwName: (c: Case) => `NCHW falls back to tfjs-webgpu's kernel: ${caseName(c)}`,
    filterDirectLabel: 'runKernel',
    explicitConvArgs: true,
  },
} as const;

export type FilterGrad = (x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: Shape4, c: Case, dataFormat?: DataFormat, dilations?: number) => tf.Tensor4D;

/** The Conv2DBackpropFilter kernel call for case `c` as `suite`'s checks make it (see SUITE). */
export function filterGradFor(suite: Backend): FilterGrad {
  return SUITE[suite].explicitConvArgs
    ? (x, dy, filterShape, c, dataFormat = 'NHWC', dilations = 1) =>
        conv2dBackpropFilter(x, dy, filterShape, c.strides, c.pad, dataFormat, dilations, c.dimRoundingMode)
    : (x, dy, filterShape, c, dataFormat = 'NHWC', dilations) => conv2dBackpropFilter(x, dy, filterShape, c.strides, c.pad, dataFormat, dilations);
}

export interface ConvGradChecks {
  backend: Backend;
  /** Cases checked through tf.grad (unless dilated or directOnly) and runKernel; seeds from their index. */
  filterCases: Case[];
  inputCases: Case[];
  /** Cases checked in NCHW through runKernel. */
  filterNchwCases: Case[];
  inputNchwCases: Case[];
  /** The suite's own tests, defined at these places in the two describe blocks. */
  filterAfterCases?: () => void;
  filterAfterNchw?: () => void;
  inputAfterNchw?: () => void;
}

/** Defines the 'Conv2DBackpropFilter ... matches cpu' and 'Conv2DBackpropInput ... matches cpu' blocks. */
export function convGradChecks(o: ConvGradChecks): void {
  const { backend } = o;
  const suite = SUITE[backend];
  const on = makeOn(backend);
  const filterGrad = filterGradFor(backend);
  const conv2d = (x: tf.Tensor4D, w: tf.Tensor4D, c: Case) =>
    suite.explicitConvArgs ? tf.conv2d(x, w, c.strides, c.pad, 'NHWC', 1, c.dimRoundingMode) : tf.conv2d(x, w, c.strides, c.pad);

  // NCHW through the kernel only: `first` (x for the filter gradient, the filter for the input
  // gradient) from seed `seed`, dy from seed + 1.
  const nchwChecks = (
    cases: Case[],
    first: 'x' | 'filter',
    seed: number,
    kernel: (c: Case, s: Shapes, firstData: Float32Array, dyData: Float32Array) => tf.Tensor,
  ) => {
    for (const c of cases) {
      it(suite.nchwName(c), async () => {
        const s = shapesOf(c, 'NCHW');
        const firstData = randomData(tf.util.sizeFromShape(first === 'x' ? s.xShape : s.filterShape), seed);
        const dyData = randomData(tf.util.sizeFromShape(s.dyShape), seed + 1);
        const direct = () => kernel(c, s, firstData, dyData);
        expectClose(await on(backend, direct), await on('cpu', direct), 'NCHW');
      });
    }
  };

  // A dy of [1,5,5,3] where the convolution's output is [1,6,6,3] ('same', stride 1): the kernel throws.
  const rejectsWrongDy = (kernel: string, inputs: () => Record<string, tf.Tensor>, attrs: object) =>
    it('rejects a dy whose shape does not match the convolution', async () => {
      await tf.setBackend(backend);
      const ins = inputs();
      expect(() => tf.engine().runKernel(kernel, ins, attrs as unknown as tf.NamedAttrMap)).toThrow(/dy has shape \[1,5,5,3\]/);
      tf.dispose(Object.values(ins));
    });

  describe(suite.title('Conv2DBackpropFilter'), () => {
    for (const [i, c] of o.filterCases.entries()) {
      it(caseName(c), async () => {
        const { xShape, filterShape, dyShape, xData, wData, dyData } = caseData(c, 1000 + i);
        const d = c.dilations ?? 1;

        if (d === 1) {
          // Through autodiff, as training reaches it...
          if (!c.directOnly) {
            const viaGrad = () => {
              const x = tf.tensor4d(xData, xShape);
              const dy = tf.tensor4d(dyData, dyShape);
              return tf.grad((w: tf.Tensor) => tf.sum(tf.mul(conv2d(x, w as tf.Tensor4D, c), dy)))(tf.tensor4d(wData, filterShape));
            };
            expectClose(await on(backend, viaGrad), await on('cpu', viaGrad), 'tf.grad');
          }
          // ...and through the kernel directly.
          const direct = () => filterGrad(tf.tensor4d(xData, xShape), tf.tensor4d(dyData, dyShape), filterShape, c);
          expectClose(await on(backend, direct), await on('cpu', direct), suite.filterDirectLabel);
          return;
        }

        // Dilated (tf.conv2d's gradient rejects dilations > 1; cpu's kernel ignores them): a filter
        // dilated by d is a dense filter of size (f-1)*d+1 that is zero off the d-grid, so its
        // gradient is the dense filter's gradient sampled on that grid.
        const actual = await on(backend, () =>
          filterGrad(tf.tensor4d(xData, xShape), tf.tensor4d(dyData, dyShape), filterShape, c, 'NHWC', d),
        );
        const dense: Shape4 = [(c.fh - 1) * d + 1, (c.fw - 1) * d + 1, c.inC, c.outC];
        const expected = await on('cpu', () => {
          const full = filterGrad(tf.tensor4d(xData, xShape), tf.tensor4d(dyData, dyShape), dense, c);
          return tf.stridedSlice(full, [0, 0, 0, 0], dense, [d, d, 1, 1]);
        });
        expectClose(actual, expected, 'dilated runKernel');
      });
    }

    o.filterAfterCases?.();

    nchwChecks(o.filterNchwCases, 'x', 11, (c, s, x, dy) =>
      filterGrad(tf.tensor4d(x, s.xShape), tf.tensor4d(dy, s.dyShape), s.filterShape, c, 'NCHW'),
    );

    o.filterAfterNchw?.();

    rejectsWrongDy('Conv2DBackpropFilter', () => ({ x: tf.zeros([1, 6, 6, 2]), dy: tf.zeros([1, 5, 5, 3]) }), {
      strides: 1,
      pad: 'same',
      dataFormat: 'NHWC',
      filterShape: [3, 3, 2, 3],
    });
  });

  describe(suite.title('Conv2DBackpropInput'), () => {
    for (const [i, c] of o.inputCases.entries()) {
      it(caseName(c), async () => {
        const { xShape, filterShape, dyShape, xData, wData, dyData } = caseData(c, 4000 + i);
        const d = c.dilations ?? 1;

        // Through autodiff, as training reaches it (tf.conv2d rejects dilations > 1 with a gradient)...
        if (d === 1 && !c.directOnly) {
          const viaGrad = () => {
            const w = tf.tensor4d(wData, filterShape);
            const dy = tf.tensor4d(dyData, dyShape);
            const g = tf.grad((x: tf.Tensor) =>
              tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, w, c.strides, c.pad, 'NHWC', 1, c.dimRoundingMode), dy)),
            );
            return g(tf.tensor4d(xData, xShape));
          };
          expectClose(await on(backend, viaGrad), await on('cpu', viaGrad), 'tf.grad');
        }
        // ...and through the kernel directly. The cpu kernel ignores dilations, so for those the
        // reference is the cpu kernel on the equivalent zero-stuffed dense filter.
        const actual = await on(backend, () =>
          conv2dBackpropInput(tf.tensor4d(dyData, dyShape), tf.tensor4d(wData, filterShape), xShape, c, 'NHWC', d),
        );
        const ref = denseFilter(wData, c, d);
        const expected = await on('cpu', () =>
          conv2dBackpropInput(tf.tensor4d(dyData, dyShape), tf.tensor4d(ref.data, ref.shape), xShape, c),
        );
        expectClose(actual, expected, 'runKernel');
      });
    }

    nchwChecks(o.inputNchwCases, 'filter', 13, (c, s, w, dy) =>
      conv2dBackpropInput(tf.tensor4d(dy, s.dyShape), tf.tensor4d(w, s.filterShape), s.xShape, c, 'NCHW'),
    );

    o.inputAfterNchw?.();

    rejectsWrongDy('Conv2DBackpropInput', () => ({ dy: tf.zeros([1, 5, 5, 3]), filter: tf.zeros([3, 3, 2, 3]) }), {
      inputShape: [1, 6, 6, 2],
      strides: 1,
      pad: 'same',
      dataFormat: 'NHWC',
    });
  });
}
