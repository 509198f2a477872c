// Gradient registration. tfjs-core ships its gradient definitions only as ESM with directory
// imports, which Node's ESM loader refuses; the @tensorflow/tfjs package's Node bundle registers
// the same definitions into tfjs' global gradient registry, shared with our tfjs-core instance.
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';

let done = false;

export function registerGradients(): void {
  if (done) return;
  createRequire(import.meta.url)('@tensorflow/tfjs');
  if (!tf.getGradient('Neg')) throw new Error('TensorFlow.js gradients did not register (is @tensorflow/tfjs 4.22 installed?)');
  done = true;
}
