// The backend ladder on this machine: no tfjs-node(-gpu) installed and no hardware WebGPU adapter
// (the software one is never taken by 'auto'), so 'auto' lands on wasm.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src/trainer/backend';
import { adapterLabel, apisForPlatform, findVulkanLoader, isSoftware } from '../../src/trainer/webgpu/adapters';

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

describe('WebGPU adapters', () => {
  it('software rasterisers are recognised by name, hardware GPUs are not', () => {
    const a = (device: string, description = '', vendor = '', architecture = '') => ({ vendor, architecture, device, description });
    expect(isSoftware(a('llvmpipe-llvm-15-0-6-256-bits-', 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6'))).toBe(true);
    expect(isSoftware(a('llvmpipe (LLVM 15.0.6, 256 bits)', 'Mesa 22.3.6 (lavapipe)'))).toBe(true);
    expect(isSoftware(a('SwiftShader Device (Subzero)', '', 'google'))).toBe(true);
    expect(isSoftware(a('Microsoft Basic Render Driver'))).toBe(true);
    expect(isSoftware(a('NVIDIA H200', 'NVIDIA: 570.124.06', 'nvidia', 'hopper'))).toBe(false);
    expect(isSoftware(a('AMD Radeon RX 7900 XTX (RADV NAVI31)', 'radv Mesa 24.2', 'amd', 'rdna-3'))).toBe(false);
    expect(isSoftware(a('Apple M3 Pro', '', 'apple', 'metal-3'))).toBe(false);
    expect(isSoftware(a('Some GPU'), true)).toBe(true); // the adapter says it is a fallback
  });

  it('the run page label names the API, device, vendor/architecture and feature level', () => {
    expect(
      adapterLabel({ vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H200', description: 'NVIDIA: 570.124.06', api: 'vulkan', featureLevel: 'core', software: false, features: [] }),
    ).toBe('GPU (WebGPU, Vulkan: NVIDIA H200; nvidia hopper; NVIDIA: 570.124.06; core)');
    expect(apisForPlatform({ gles: false }, 'linux')).toEqual(['vulkan']);
    expect(apisForPlatform({ gles: true }, 'linux')).toEqual(['vulkan', 'opengles']);
    expect(apisForPlatform({ gles: false }, 'darwin')).toEqual(['metal']);
    expect(apisForPlatform({ gles: false }, 'win32')).toEqual(['d3d12', 'vulkan']);
  });

  it.runIf(process.platform === 'linux' && findVulkanLoader() === null)(
    "'auto' with a GPU nvidia-smi sees but no Vulkan loader: trains on the CPU and says why, naming the package",
    async () => {
      const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-nvsmi-'));
      fs.writeFileSync(path.join(bin, 'nvidia-smi'), '#!/bin/sh\necho "GPU 0: NVIDIA H200 (UUID: GPU-0)"\n', { mode: 0o755 });
      const oldPath = process.env.PATH;
      process.env.PATH = `${bin}:${oldPath}`;
      try {
        const b = await initBackend('auto');
        expect(b.name).toBe('wasm');
        expect(b.warnings.join('\n')).toMatch(/nvidia-smi reports NVIDIA H200 but training runs on the CPU: WebGPU found no hardware adapter .*libvulkan1.*Vulkan driver/);
      } finally {
        process.env.PATH = oldPath;
        fs.rmSync(bin, { recursive: true, force: true });
      }
    },
  );
});
