// The native kernels (native/, oneDNN) in front of our wasm kernels: the shared kernel suite, then
// the fused ops that exist only with them (conv + bias + ReLU, BatchNorm, max-pooling), and whole
// models' gradients, all against tfjs-backend-cpu on identical inputs.
//
// Skipped where the addon is not built (no libdnnl-dev); CI sets TRICKBENCH_REQUIRE_NATIVE=1 so
// that there a missing addon fails instead.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { loadNative } from '../../src/trainer/kernels/native';
import { crossEntropy } from '../../src/trainer/loss/cross-entropy';
import { batchNorm, type BatchNormFusion } from '../../src/trainer/models/batch-norm';
import { nativeConv } from '../../src/trainer/models/native-conv';
import { buildModel } from '../../src/trainer/models/registry';
import { makeOptimizer } from '../../src/trainer/optim/optimizers';
import { expectClose, kernelSuite, randomData } from './kernel-suite';

const status = loadNative();
const required = process.env.TRICKBENCH_REQUIRE_NATIVE === '1';

describe('native addon', () => {
  it.runIf(required)('is built and loads (TRICKBENCH_REQUIRE_NATIVE=1)', () => {
    expect(status.loaded, status.detail).toBe(true);
  });
});

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

/** Runs f on wasm (native kernels) and on cpu (tfjs' own ops), returning flat results of each. */
async function both(f: (native: boolean) => tf.Tensor[]): Promise<[Float32Array, Float32Array]> {
  const run = async (backend: 'wasm' | 'cpu') => {
    await tf.setBackend(backend);
    return tf.tidy(() => tf.concat(f(backend === 'wasm').map((t) => tf.reshape(t, [-1]))).dataSync() as Float32Array).slice();
  };
  return [await run('wasm'), await run('cpu')];
}

describe.runIf(status.loaded)('with native kernels', () => {
  kernelSuite(true);

  describe('fused conv op (relu?(conv(x, w) + b)) matches tf.fused.conv2d on cpu', () => {
    const cases: { name: string; x: number[]; f: number[]; stride: number; pad: 'valid' | Pad4; relu: boolean; bias: boolean }[] = [
      { name: '3x3 s1 pad 1, bias + relu', x: [3, 9, 8, 5], f: [3, 3, 5, 6], stride: 1, pad: [[0, 0], [1, 1], [1, 1], [0, 0]], relu: true, bias: true },
      { name: '3x3 s2 pad 1 (PyTorch padding), no bias, no relu', x: [2, 9, 10, 4], f: [3, 3, 4, 8], stride: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]], relu: false, bias: false },
      { name: '1x1 s2 valid (projection shortcut), odd input', x: [2, 7, 7, 4], f: [1, 1, 4, 8], stride: 2, pad: 'valid', relu: false, bias: false },
      { name: '5x5 s1 pad 2, bias, no relu', x: [2, 6, 6, 1], f: [5, 5, 1, 3], stride: 1, pad: [[0, 0], [2, 2], [2, 2], [0, 0]], relu: false, bias: true },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
        const [xd, fd, bd] = [randomData(size(c.x), 1), randomData(size(c.f), 2), randomData(c.f[3]!, 3)];
        const [actual, expected] = await both((native) => {
          const x = tf.tensor4d(xd, c.x as [number, number, number, number]);
          const w = tf.tensor4d(fd, c.f as [number, number, number, number]);
          const b = tf.tensor1d(bd);
          const conv = (xi: tf.Tensor4D, wi: tf.Tensor4D, bi?: tf.Tensor) =>
            native
              ? nativeConv(xi, wi, bi, c.stride, c.pad, c.relu)
              : tf.fused.conv2d({ x: xi, filter: wi, bias: bi, strides: c.stride, pad: c.pad, activation: c.relu ? 'relu' : 'linear' });
          const y = conv(x, w, c.bias ? b : undefined);
          const r = tf.tensor(randomData(y.size, 4), y.shape);
          const loss = (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(conv(xi as tf.Tensor4D, wi as tf.Tensor4D, c.bias ? bi : undefined), r));
          const grads = c.bias ? tf.grads(loss)([x, w, b]) : tf.grads((xi: tf.Tensor, wi: tf.Tensor) => loss(xi, wi, b))([x, w]);
          return [y, ...grads];
        });
        expectClose(actual, expected, c.name);
      });
    }

    it("with inputGradient false the input's gradient is zeros and the rest unchanged", async () => {
      await tf.setBackend('wasm');
      tf.tidy(() => {
        const x = tf.tensor4d(randomData(2 * 6 * 6 * 3, 5), [2, 6, 6, 3]);
        const w = tf.tensor4d(randomData(3 * 3 * 3 * 4, 6), [3, 3, 3, 4]);
        const pad: Pad4 = [[0, 0], [1, 1], [1, 1], [0, 0]];
        const g = (inputGradient: boolean) =>
          tf.grads((xi: tf.Tensor, wi: tf.Tensor) => tf.sum(tf.square(nativeConv(xi as tf.Tensor4D, wi as tf.Tensor4D, undefined, 1, pad, true, inputGradient))))([x, w]);
        const [dxOn, dwOn] = g(true);
        const [dxOff, dwOff] = g(false);
        expect(tf.max(tf.abs(dxOn!)).dataSync()[0]).toBeGreaterThan(0);
        expect(Array.from(dxOff!.dataSync()).every((v) => v === 0)).toBe(true);
        expect(Array.from(dwOff!.dataSync())).toEqual(Array.from(dwOn!.dataSync()));
      });
    });
  });

  describe('BatchNorm training op matches the tfjs-ops version on cpu', () => {
    const variants: [string, (t: () => tf.Tensor) => BatchNormFusion][] = [
      ['plain', () => ({})],
      ['relu', () => ({ relu: true })],
      ['plus (RiR)', (t) => ({ plus: t() })],
      ['residual + relu (end of a residual block)', (t) => ({ residual: t(), relu: true })],
    ];
    for (const [name, fusion] of variants) {
      it(name, async () => {
        const shape = [4, 5, 6, 8];
        const n = 4 * 5 * 6 * 8;
        const [actual, expected] = await both(() => {
          const x = tf.tensor(randomData(n, 11), shape);
          let k = 12;
          const o = fusion(() => tf.tensor(randomData(n, k++), shape));
          const v = {
            gamma: tf.variable(tf.add(tf.tensor1d(randomData(8, 20)), 1.5)),
            beta: tf.variable(tf.tensor1d(randomData(8, 21))),
            movingMean: tf.variable(tf.zeros([8])),
            movingVar: tf.variable(tf.ones([8])),
          };
          const r = tf.tensor(randomData(n, 22), shape);
          const extra = [o.plus, o.residual].filter((t): t is tf.Tensor => t !== undefined);
          const f = (...ins: tf.Tensor[]) => {
            const [xi, ...rest] = ins;
            const fo: BatchNormFusion = { relu: o.relu };
            if (o.plus) fo.plus = rest.shift();
            if (o.residual) fo.residual = rest.shift();
            return tf.sum(tf.mul(batchNorm(xi!, v, true, fo), r));
          };
          const { value, grads } = tf.variableGrads(() => f(x, ...extra) as tf.Scalar, [v.gamma, v.beta]);
          const inputGrads = tf.grads(f)([x, ...extra]);
          // The training op updates the moving statistics in place (value and grads ran it twice).
          return [value, grads[v.gamma.name]!, grads[v.beta.name]!, ...inputGrads, v.movingMean, v.movingVar];
        });
        expectClose(actual, expected, name);
      });
    }
  });

  describe('max-pooling matches cpu', () => {
    const cases: { name: string; shape: [number, number, number, number]; size: number; stride: number; pad: 'valid' | 'same'; ties?: boolean }[] = [
      { name: '2x2 s2 valid, odd input (last row and column unread)', shape: [3, 7, 9, 5], size: 2, stride: 2, pad: 'valid' },
      { name: '3x3 s2 same (overlapping windows, padding)', shape: [2, 9, 8, 6], size: 3, stride: 2, pad: 'same' },
      { name: '2x2 s2 valid with ties: the gradient goes to the first maximum', shape: [2, 8, 8, 4], size: 2, stride: 2, pad: 'valid', ties: true },
      { name: '3x3 s1 same with ties', shape: [2, 6, 6, 3], size: 3, stride: 1, pad: 'same', ties: true },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const n = c.shape.reduce((a, b) => a * b, 1);
        // Ties: values on a coarse grid (ReLU outputs are often exactly 0).
        const data = Float32Array.from(randomData(n, 31), (v) => (c.ties ? Math.max(0, Math.round(v * 2)) : v));
        const [actual, expected] = await both(() => {
          const x = tf.tensor4d(data, c.shape);
          const y = tf.maxPool(x, c.size, c.stride, c.pad);
          const r = tf.tensor(randomData(y.size, 32), y.shape);
          const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(xi as tf.Tensor4D, c.size, c.stride, c.pad), r)))(x);
          return [y, dx];
        });
        expectClose(actual, expected, c.name);
      });
    }
  });

  describe('matrix products (BatchMatMul, _FusedMatMul) match cpu', () => {
    const cases: { name: string; a: number[]; b: number[]; ta: boolean; tb: boolean; bias?: boolean; relu?: boolean; noGrad?: boolean }[] = [
      { name: '2-D', a: [7, 5], b: [5, 3], ta: false, tb: false },
      { name: 'transposed a (the weight gradient of a dense layer)', a: [9, 6], b: [9, 4], ta: true, tb: false },
      { name: 'transposed b (its input gradient)', a: [9, 4], b: [6, 4], ta: false, tb: true },
      { name: 'both transposed, batch of 3', a: [3, 5, 7], b: [3, 4, 5], ta: true, tb: true },
      // Forward only: tfjs' BatchMatMul gradient does not reduce broadcast batch dims on any backend.
      { name: 'batch broadcast (b has batch 1), forward', a: [2, 3, 4, 5], b: [1, 5, 6], ta: false, tb: false, noGrad: true },
      { name: 'bias + ReLU (a dense layer with activation)', a: [8, 12], b: [12, 5], ta: false, tb: false, bias: true, relu: true },
      { name: 'bias, no activation', a: [4, 3], b: [2, 3], ta: false, tb: true, bias: true },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
        const n = c.tb ? c.b[c.b.length - 2]! : c.b[c.b.length - 1]!;
        const [ad, bd, biasd] = [randomData(size(c.a), 51), randomData(size(c.b), 52), randomData(n, 53)];
        const [actual, expected] = await both(() => {
          const a = tf.tensor(ad, c.a);
          const b = tf.tensor(bd, c.b);
          const f = (ai: tf.Tensor, bi: tf.Tensor) =>
            c.bias || c.relu
              ? tf.fused.matMul({ a: ai, b: bi, transposeA: c.ta, transposeB: c.tb, bias: c.bias ? tf.tensor1d(biasd) : undefined, activation: c.relu ? 'relu' : 'linear' })
              : tf.matMul(ai, bi, c.ta, c.tb);
          const y = f(a, b);
          const r = tf.tensor(randomData(y.size, 54), y.shape);
          if (c.noGrad) return [y];
          return [y, ...tf.grads((ai: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(f(ai, bi), r)))([a, b])];
        });
        expectClose(actual, expected, c.name);
      });
    }
  });

  describe('SGD in one native call matches the same update in tf ops on cpu', () => {
    const configs = [
      { name: 'sgd', lr: 0.1, momentum: 0.9, nesterov: false, weightDecay: 0 },
      { name: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
      { name: 'sgd', lr: 0.1, momentum: 0, nesterov: false, weightDecay: 1e-3 },
    ] as const;
    for (const cfg of configs) {
      it(`momentum ${cfg.momentum}, nesterov ${cfg.nesterov}, weight decay ${cfg.weightDecay}: params and buffers after 3 steps`, async () => {
        const [actual, expected] = await both(() => {
          const model = buildModel({ name: 'cnn3', width: 4 }, [8, 8, 1], 10, 3);
          const opt = makeOptimizer(cfg);
          for (let s = 0; s < 3; s++) {
            const grads = Object.fromEntries(model.params.map((p, i) => [p.name, tf.tensor(randomData(p.variable.size, 60 + 10 * s + i), p.variable.shape)]));
            opt.step(model.params, grads, cfg.lr * (1 - 0.2 * s)); // lr changes per step, as with a schedule
            tf.dispose(Object.values(grads));
          }
          const state = opt.getState();
          const out = [...model.params.map((p) => p.variable), ...Object.values(state.slots.momentum ?? {})].map((t) => tf.keep(t.clone()));
          if (cfg.momentum > 0) expect(Object.keys(state.slots.momentum ?? {}).length).toBe(model.params.length);
          opt.dispose();
          model.dispose();
          return out;
        });
        expectClose(actual, expected, JSON.stringify(cfg));
      });
    }
  });

  describe('whole models: loss and every gradient match cpu', () => {
    const models: [string, Parameters<typeof buildModel>[0], [number, number, number]][] = [
      ['cnn3', { name: 'cnn3', width: 8 }, [12, 12, 1]],
      ['cnn3 + BatchNorm', { name: 'cnn3', width: 8, batchNorm: true }, [12, 12, 3]],
      ['resnet20', { name: 'resnet20' }, [8, 8, 3]],
      ['resnet20 variant d', { name: 'resnet20', variant: 'd' }, [8, 8, 3]],
      ['rir18 (small)', { name: 'rir18', channels: [8, 16, 16], blocks: [1, 1, 1] }, [8, 8, 3]],
    ];
    for (const [name, cfg, shape] of models) {
      it(name, async () => {
        const batch = 4;
        const xd = randomData(batch * shape[0] * shape[1] * shape[2], 41);
        const [actual, expected] = await both(() => {
          const model = buildModel(cfg, shape, 10, 7);
          const x = tf.tensor4d(xd, [batch, ...shape]);
          const y = tf.tensor1d([1, 5, 9, 0], 'int32');
          const { value, grads } = tf.variableGrads(
            () => crossEntropy(model.apply(x, { training: true, step: 0 }), y, 10),
            model.params.map((p) => p.variable),
          );
          const out = [value, ...model.params.map((p) => grads[p.variable.name]!)];
          const kept = out.map((t) => tf.keep(t.clone()));
          tf.dispose([value, ...Object.values(grads)]);
          model.dispose();
          return kept;
        });
        // Whole networks chain a dozen or more float32 reductions summed in another order
        // (oneDNN's blocked GEMMs vs cpu's loops): relative differences grow to ~1e-5 per layer;
        // 1e-3 of the largest gradient still fails on any wrong index, mask or missing term.
        expect(actual.length).toBe(expected.length);
        let maxRef = 0;
        let maxDiff = 0;
        for (let i = 0; i < expected.length; i++) {
          maxRef = Math.max(maxRef, Math.abs(expected[i]!));
          maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
        }
        expect(maxDiff, name).toBeLessThanOrEqual(1e-3 * (1 + maxRef));
      });
    }
  });
});
