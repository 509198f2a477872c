// Kernels we add to or replace in tfjs-backend-wasm 4.22 for training.
// - Conv2DBackpropFilter is missing, and the only one missing for our op set (checked by running
//   tf.variableGrads over conv2d/fused conv2d, max/avg pooling, fused matMul, logSoftmax, relu,
//   mean/sum and batchNorm with moments on wasm).
// - Conv2DBackpropInput exists but is a scalar loop ~10x slower than the forward conv; ours
//   replaces it.
// - Identity copies; ours shares the data (see identity.ts).
import '@tensorflow/tfjs-backend-wasm'; // registers wasm's own kernels first, so ours replace them
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input';
import { identityConfig } from './identity';
import { isNativeKernel } from './native';

interface Entry {
  config: KernelConfig;
  /** Replace a kernel already registered (wasm's own); otherwise an existing one is kept. */
  replace: boolean;
}

const WASM_TRAINING_KERNELS: readonly Entry[] = [
  { config: conv2dBackpropFilterConfig, replace: false },
  { config: conv2dBackpropInputConfig, replace: true },
  { config: identityConfig, replace: true },
];

/** Registers our wasm kernels; safe to call repeatedly. Returns the names it (re)registered. */
export function registerWasmTrainingKernels(): string[] {
  const added: string[] = [];
  for (const { config, replace } of WASM_TRAINING_KERNELS) {
    const existing = getKernel(config.kernelName, config.backendName);
    if (existing?.kernelFunc === config.kernelFunc) continue; // ours, from an earlier call
    if (existing && isNativeKernel(existing.kernelFunc)) continue; // native, with ours behind it
    // A missing kernel that a future tfjs release ships itself is kept.
    if (existing && !replace) continue;
    // Unregistered first: registerKernel would otherwise warn about a duplicate.
    if (existing) unregisterKernel(config.kernelName, config.backendName);
    registerKernel(config);
    added.push(config.kernelName);
  }
  return added;
}
