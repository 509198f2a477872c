// Gradient registration. tfjs-core's CommonJS entry (the one Node loads) has no gradient
// definitions; they ship only as ESM files for bundlers (dist/register_all_gradients.js and
// dist/gradients/), which register them into tfjs' global gradient registry, shared with our
// tfjs-core instance. '#tfjs-gradients' (package.json "imports") loads those files: bundled into
// out/ by electron-vite and into the GPU bundle by esbuild, transformed by vitest (an alias in
// vitest.config.ts), and through tsx's require hook when source runs under tsx
// (register-gradients.cjs). They bring their own copy of the tfjs-core modules they import (ops,
// engine, tensor), which reach the one engine and registry through tfjs' globals, as the
// @tensorflow/tfjs package's bundle (which we no longer need) did.
import * as tf from '@tensorflow/tfjs-core';
import '#tfjs-gradients';

let done = false;

export function registerGradients(): void {
  if (done) return;
  if (!tf.getGradient('Neg')) {
    throw new Error(`TensorFlow.js gradients did not register ('#tfjs-gradients' in package.json "imports" should load @tensorflow/tfjs-core ${tf.version_core}'s dist/register_all_gradients.js)`);
  }
  done = true;
}
