// Kernels we add to or replace in tfjs-backend-webgpu 4.22 for training:
// - Conv2DBackpropFilter: tfjs-webgpu's loops over the whole batch per weight (serial); ours is a
//   split-K tiled GEMM (conv2d-backprop-filter.ts).
// - Conv2DBackpropInput: tfjs-webgpu's default is a naive transposed convolution; ours is a tiled
//   GEMM per stride residue class (conv2d-backprop-input.ts).
// Each keeps the kernel it replaced as the fallback for what it does not handle (NCHW, dtypes).
// Called after tfjs-backend-webgpu's module has registered its kernels (webgpu/backend.ts).
import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input';

const FACTORIES: (() => KernelConfig)[] = [conv2dBackpropFilterConfig, conv2dBackpropInputConfig];

/** The kernelFuncs we registered, by kernel name: a second call leaves them (and their fallbacks) alone. */
const ours = new Map<string, KernelFunc>();

/** Registers our kernels for 'webgpu'; returns the names registered by this call (none the second time). */
export function registerWebgpuKernels(): string[] {
  const added: string[] = [];
  for (const make of FACTORIES) {
    const config = make(); // looks up the current kernel, the fallback, before replacing it
    const existing = getKernel(config.kernelName, 'webgpu');
    if (existing && ours.get(config.kernelName) === existing.kernelFunc) continue;
    // Unregistered first: registerKernel would otherwise warn about a duplicate.
    if (existing) unregisterKernel(config.kernelName, 'webgpu');
    registerKernel(config);
    ours.set(config.kernelName, config.kernelFunc);
    added.push(config.kernelName);
  }
  return added;
}

/** Whether the 'webgpu' kernel of `name` is ours. */
export function isOurWebgpuKernel(name: string): boolean {
  const k = getKernel(name, 'webgpu');
  return k !== undefined && ours.get(name) === k.kernelFunc;
}
