// Gradient registration (src/trainer/tf/gradients.ts): every gradient tfjs-core defines is in the
// registry, under our tfjs-core instance, without the @tensorflow/tfjs umbrella package.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerGradients } from '../../src/trainer/tf/gradients';

const root = path.join(__dirname, '../..');
const coreDist = path.join(path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/package.json')), 'dist');

/** The kernel names of the gradient configs tfjs-core's dist/register_all_gradients.js registers. */
function tfjsCoreGradientKernels(): string[] {
  const read = (f: string) => fs.readFileSync(path.join(coreDist, f), 'utf8');
  const names = new Map([...read('kernel_names.js').matchAll(/export const (\w+) = '(\w+)';/g)].map((m) => [m[1]!, m[2]!]));
  const modules = [...read('register_all_gradients.js').matchAll(/from '\.\/gradients\/(\w+)'/g)].map((m) => m[1]!);
  return modules.flatMap((mod) =>
    [...read(`gradients/${mod}.js`).matchAll(/kernelName: (\w+)/g)].map((m) => {
      const name = names.get(m[1]!);
      if (!name) throw new Error(`gradients/${mod}.js: kernel name constant ${m[1]} is not in kernel_names.js`);
      return name;
    }),
  );
}

beforeAll(async () => {
  registerGradients();
  await tf.setBackend('cpu');
});

describe('gradient registry', () => {
  it("holds every gradient tfjs-core's register_all_gradients defines", () => {
    const expected = [...new Set(tfjsCoreGradientKernels())].sort();
    expect(expected.length).toBeGreaterThan(100); // tfjs-core 4.22 defines 101
    expect(expected.filter((k) => tf.getGradient(k) === undefined)).toEqual([]);
  });

  it('has the gradients the models, tricks and losses train through (by their tfjs kernel names)', () => {
    const used = ['Conv2D', 'DepthwiseConv2dNative', 'BatchMatMul', 'Relu', 'Add', 'AddN', 'Sub', 'Multiply', 'RealDiv', 'Neg', 'Sum', 'Mean', 'Max'];
    used.push('Reshape', 'Transpose', 'PadV2', 'MaxPool', 'AvgPool', 'FusedBatchNorm', 'Square', 'Sqrt', 'Rsqrt', 'Exp', 'Log', 'LogSoftmax', 'Softmax');
    used.push('Cast', 'Slice', 'Concat', 'Tile', 'GatherV2', 'Sigmoid');
    expect(used.filter((k) => tf.getGradient(k) === undefined)).toEqual([]);
  });

  it('computes with our tfjs-core: conv2d + sigmoid + log-softmax against central differences', () => {
    const x = tf.tensor4d(Array.from({ length: 2 * 4 * 4 * 2 }, (_, i) => Math.sin(i * 0.7)), [2, 4, 4, 2]);
    const w = tf.tensor4d(Array.from({ length: 3 * 3 * 2 * 3 }, (_, i) => Math.cos(i * 1.3) * 0.5), [3, 3, 2, 3]);
    const f = (filter: tf.Tensor4D) => tf.tidy(() => tf.neg(tf.sum(tf.slice(tf.logSoftmax(tf.reshape(tf.sigmoid(tf.conv2d(x, filter, 1, 'same')), [2, -1])), [0, 0], [2, 1]))));
    const analytic = tf.grad((filter) => f(filter as tf.Tensor4D))(w).dataSync();
    const base = w.dataSync();
    const eps = 5e-2;
    let worst = 0;
    for (let i = 0; i < base.length; i++) {
      const at = (d: number) => {
        const v = base.slice();
        v[i]! += d;
        const t = tf.tensor4d(v, w.shape);
        const r = f(t).dataSync()[0]!;
        t.dispose();
        return r;
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      worst = Math.max(worst, Math.abs(numeric - analytic[i]!));
    }
    const scale = Math.max(...Array.from(analytic, Math.abs));
    expect(scale).toBeGreaterThan(1e-4); // not all zero
    // float32 central differences: a wrong or missing gradient is off by the gradient's own size
    expect(worst / scale).toBeLessThan(1e-2);
  });
});

describe('no @tensorflow/tfjs umbrella', () => {
  it('package.json does not depend on it and no source file loads it', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    expect(Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })).not.toContain('@tensorflow/tfjs');
    const files = (dir: string): string[] =>
      fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : /\.(ts|vue|mjs|cjs|js)$/.test(e.name) ? [path.join(dir, e.name)] : []));
    const offenders = ['src', 'bench', 'scripts'].flatMap(files).filter((f) => /['"]@tensorflow\/tfjs['"]/.test(fs.readFileSync(path.join(root, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
