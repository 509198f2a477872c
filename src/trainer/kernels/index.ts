// Kernels that tfjs-backend-wasm 4.22 lacks but training needs. Only Conv2DBackpropFilter is
// missing for our op set (checked by running tf.variableGrads over conv2d/fused conv2d, max/avg
// pooling, fused matMul, logSoftmax, relu, mean/sum and batchNorm with moments on wasm).
import { getKernel, registerKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter';

const WASM_TRAINING_KERNELS: readonly KernelConfig[] = [conv2dBackpropFilterConfig];

/** Registers the missing wasm kernels; safe to call repeatedly. Returns the names it registered. */
export function registerWasmTrainingKernels(): string[] {
  const added: string[] = [];
  for (const config of WASM_TRAINING_KERNELS) {
    // A kernel already there (ours from an earlier call, or a future tfjs release's own) is kept.
    if (getKernel(config.kernelName, config.backendName)) continue;
    registerKernel(config);
    added.push(config.kernelName);
  }
  return added;
}
