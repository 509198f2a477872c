// The backend ladder on this machine: no tfjs-node(-gpu) installed, so 'auto' lands on wasm.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src/trainer/backend';

describe('initBackend', () => {
  it("'auto' resolves to wasm when no native tfjs package is installed", async () => {
    const b = await initBackend('auto');
    expect(b.name).toBe('wasm');
    expect(b.tfName).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    // In Node tfjs-backend-wasm never picks its threaded binary; SIMD depends on the engine. The
    // native kernels, where built, are named with their threads.
    expect(b.device).toMatch(/^CPU \(wasm, (SIMD|no SIMD), 1 thread(; native kernels: oneDNN [\d.]+, \d+ threads?)?\)$/);
    if (process.env.TRICKBENCH_REQUIRE_NATIVE === '1') expect(b.device).toMatch(/native kernels: oneDNN/);
    expect(b.warnings).toEqual([]); // absent optional packages are not worth a warning
    // Our training kernels come with it.
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });

  it("an explicit 'tensorflow-gpu' fails, naming the backend and the reason", async () => {
    await expect(initBackend('tensorflow-gpu')).rejects.toThrow(
      /^backend 'tensorflow-gpu' is not available: @tensorflow\/tfjs-node-gpu is not installed/,
    );
    expect(tf.getBackend()).toBe('wasm'); // no silent switch
  });

  it("an explicit 'tensorflow' fails when @tensorflow/tfjs-node is absent", async () => {
    await expect(initBackend('tensorflow')).rejects.toThrow(
      /^backend 'tensorflow' is not available: @tensorflow\/tfjs-node is not installed/,
    );
  });

  it("'cpu' works, and switching back to 'wasm' in the same process works", async () => {
    const cpu = await initBackend('cpu');
    expect(cpu).toEqual({ name: 'cpu', tfName: 'cpu', device: 'CPU (JavaScript)', warnings: [] });
    expect(tf.getBackend()).toBe('cpu');
    expect(tf.sum(tf.tensor1d([1, 2, 3])).dataSync()[0]).toBe(6);

    const wasm = await initBackend('wasm');
    expect(wasm.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });
});
