// The 'webgpu' rung: @tensorflow/tfjs-backend-webgpu on a Dawn adapter (adapters.ts), with our
// WGSL training kernels in front of tfjs-webgpu's where those are slow or missing (kernels/).
//
// tfjs-webgpu registers its backend only where `navigator.gpu` exists (browsers); in Node we
// register it ourselves, on the adapter we chose, so that the choice (hardware first, software
// only when asked) and what is recorded about it are ours.
import * as tf from '@tensorflow/tfjs-core';
import { NoHardwareAdapter, NotInstalled, Unavailable } from '../backend-errors';
import { adapterLabel, apisForPlatform, listAdapters, noHardwareHint, type AdapterDescription, type FoundAdapter } from './adapters';
import { registerWebgpuKernels } from './kernels/index';

export interface WebgpuChosen {
  name: 'webgpu';
  device: string;
  warnings: string[];
  adapter: AdapterDescription;
}

let current: { found: FoundAdapter; device: GPUDevice } | null = null;
/** The first device error since the last takeDeviceFault (see initWebgpu). */
let fault: string | null = null;

/** Hardware adapters first, core feature level before compatibility. */
function rank(a: FoundAdapter): number {
  return (a.info.software ? 2 : 0) + (a.info.featureLevel === 'core' ? 0 : 1);
}

async function requestDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const l = adapter.limits;
  // The adapter's own maxima (the defaults are far lower: 128 MiB storage bindings would cap a
  // batch of ResNet-18 activations), as tfjs-webgpu asks for them in a browser.
  const requiredLimits: Record<string, number> = {
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
  };
  const requiredFeatures = (['timestamp-query'] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
  return adapter.requestDevice({ requiredLimits, requiredFeatures });
}

/**
 * Selects the webgpu backend. Without allowSoftware ('auto'), only a hardware adapter will do;
 * with it (an explicit `--backend webgpu`, the tests), a software adapter is taken where no
 * hardware one exists, with a warning. The first adapter chosen serves the whole process.
 */
export async function initWebgpu(o: { allowSoftware: boolean }): Promise<WebgpuChosen> {
  if (!current) {
    let found: FoundAdapter[];
    let problems: string[];
    try {
      ({ adapters: found, problems } = await listAdapters(apisForPlatform({ gles: o.allowSoftware })));
    } catch (err) {
      throw new NotInstalled(err instanceof Error ? err.message : String(err));
    }
    found.sort((a, b) => rank(a) - rank(b));
    const best = found[0];
    if (!best) throw new NoHardwareAdapter(`Dawn found no WebGPU adapter (${problems.join('; ')}); ${noHardwareHint()}`);
    if (best.info.software && !o.allowSoftware) {
      throw new NoHardwareAdapter(`only a software WebGPU adapter (${best.info.device || best.info.description}) is available; ${noHardwareHint()}`);
    }
    let device: GPUDevice;
    try {
      device = await requestDevice(best.adapter);
    } catch (err) {
      throw new Unavailable(`the WebGPU adapter ${adapterLabel(best.info)} refused a device: ${err instanceof Error ? err.message : String(err)}`);
    }
    device.addEventListener('uncapturederror', (e) => {
      // A validation or out-of-memory error inside a dispatch: nothing throws at the call site,
      // and the results after it cannot be trusted. Kept for the loop, which fails the run with it
      // after the step it happened in (takeDeviceFault).
      const message = (e as GPUUncapturedErrorEvent).error.message;
      fault ??= message;
      process.stderr.write(`WebGPU error: ${message}\n`);
    });
    void device.lost.then((info) => {
      // A driver reset or removed GPU: every later read fails; say why.
      fault ??= `the GPU device was lost (${info.reason || 'unknown reason'}): ${info.message}`;
    });
    // Imported before navigator.gpu exists, so that it does not register a backend of its own.
    const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
    // Our kernels replace tfjs-webgpu's for the ops whose kernels are slow or wrong (kernels/).
    registerWebgpuKernels();
    // WebGPUBackend checks for navigator.gpu (Node 20 has no navigator, Node 21+ one without gpu).
    const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: unknown };
    if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: best.gpu, configurable: true });
    // Priority 0: never picked by tfjs on its own; the ladder selects it.
    tf.registerBackend('webgpu', () => new WebGPUBackend(device, best.adapter.info), 0);
    current = { found: best, device };
  } else if (current.found.info.software && !o.allowSoftware) {
    // An explicit request took the software adapter earlier in this process; 'auto' does not.
    throw new NoHardwareAdapter(`only a software WebGPU adapter (${current.found.info.device}) is available; ${noHardwareHint()}`);
  }
  if (!(await tf.setBackend('webgpu'))) throw new Unavailable(`tfjs-backend-webgpu failed to initialise on ${adapterLabel(current.found.info)}`);
  const info = current.found.info;
  const warnings = info.software
    ? [`training on a software WebGPU adapter (${info.device || info.description}): for correctness checks only, far slower than the CPU backends`]
    : [];
  return { name: 'webgpu', device: adapterLabel(info), warnings, adapter: info };
}

/** A WebGPU error since the last call (validation, out of memory, device lost), or null; the
 * next call returns null again: the run that saw it fails, a later one in the process may go on. */
export function takeDeviceFault(): string | null {
  const f = fault;
  fault = null;
  return f;
}

/** The device the webgpu backend runs on (after initWebgpu), for our kernels. */
export function webgpuDevice(): GPUDevice | null {
  return current?.device ?? null;
}
