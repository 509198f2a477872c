// WebGPU adapters through Dawn (the `webgpu` npm package: dawn.node for Linux, macOS and Windows
// in its tarball, nothing downloaded at install). Dawn reaches the GPU through Vulkan (Linux,
// Windows), Metal (macOS), D3D12 (Windows) and, for tests, OpenGL ES (EGL; Mesa's llvmpipe is a
// software adapter that runs everywhere).
//
// Which adapter trains: a hardware one where any API offers one; a software adapter (llvmpipe,
// lavapipe, SwiftShader, WARP, Dawn's null backend) only when asked for by name, since it is
// hundreds of times slower than the CPU backends and exists here for correctness tests.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export type DawnApi = 'vulkan' | 'metal' | 'd3d12' | 'opengles';

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** The graphics API Dawn drives it through. */
  api: DawnApi;
  /** 'core' (full WebGPU) or 'compatibility' (the subset OpenGL ES can do). */
  featureLevel: 'core' | 'compatibility';
  software: boolean;
  /** Features of note for our kernels, e.g. 'shader-f16', 'subgroups', 'timestamp-query'. */
  features: string[];
}

export interface FoundAdapter {
  gpu: GPU;
  adapter: GPUAdapter;
  info: AdapterDescription;
}

/** The APIs worth asking on this platform, in order of preference. With `gles`, OpenGL ES last:
 * on Linux it is how the software adapter (Mesa llvmpipe) is reached, and a hardware GL ES adapter
 * has only compatibility mode, so 'auto' does not open it. */
export function apisForPlatform(o: { gles: boolean }, platform: NodeJS.Platform = process.platform): DawnApi[] {
  if (platform === 'darwin') return ['metal'];
  if (platform === 'win32') return ['d3d12', 'vulkan'];
  return o.gles ? ['vulkan', 'opengles'] : ['vulkan'];
}

/** Where the Vulkan loader would be found on Linux, or null. Dawn dlopens libvulkan.so.1 and
 * logs a warning on stderr when it is missing: looking first gives the user the package to install
 * instead, and keeps every CPU-only run's output clean. */
export function findVulkanLoader(env: NodeJS.ProcessEnv = process.env): string | null {
  const dirs = [
    ...(env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d),
    '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu',
    '/usr/lib64', '/usr/lib', '/lib64', '/lib', '/usr/local/lib',
  ];
  for (const d of dirs) {
    const f = path.join(d, 'libvulkan.so.1');
    if (fs.existsSync(f)) return f;
  }
  return null;
}

// Names software rasterisers give themselves in the adapter's device/description/vendor strings.
const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|software|microsoft basic render|\bwarp\b|null backend/i;

export function isSoftware(info: Pick<AdapterDescription, 'vendor' | 'architecture' | 'device' | 'description'>, fallback = false): boolean {
  return fallback || SOFTWARE.test([info.vendor, info.architecture, info.device, info.description].join(' '));
}

const NOTABLE_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'];

interface Dawn {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

let dawn: Dawn | null = null;
let dawnError: string | null = null;
// GPU instances are kept for the life of the process: Dawn tears down adapters with them.
const instances = new Map<DawnApi, GPU>();

const requireHere = createRequire(import.meta.url);

/** Loads dawn.node once and installs the WebGPU globals (GPUBufferUsage, ...) tfjs-webgpu uses. */
export async function loadDawn(): Promise<Dawn> {
  if (dawn) return dawn;
  if (dawnError) throw new Error(dawnError);
  try {
    requireHere.resolve('webgpu');
  } catch {
    dawnError = "the 'webgpu' package (Dawn) is not installed";
    throw new Error(dawnError);
  }
  try {
    const mod = (await import(/* @vite-ignore */ 'webgpu')) as unknown as Dawn;
    Object.assign(globalThis, mod.globals);
    dawn = mod;
    return mod;
  } catch (err) {
    dawnError = `Dawn (the 'webgpu' package) failed to load for ${process.platform}-${process.arch}: ${err instanceof Error ? err.message : String(err)}`;
    throw new Error(dawnError);
  }
}

function instance(d: Dawn, api: DawnApi): GPU {
  let gpu = instances.get(api);
  if (!gpu) {
    // Mesa's EGL needs a platform without a display server; set before Dawn opens EGL.
    if (api === 'opengles' && process.platform === 'linux') process.env.EGL_PLATFORM ??= 'surfaceless';
    gpu = d.create([`backend=${api}`]);
    instances.set(api, gpu);
  }
  return gpu;
}

function describe(adapter: GPUAdapter, api: DawnApi, featureLevel: 'core' | 'compatibility'): AdapterDescription {
  const i = adapter.info;
  const base = { vendor: i.vendor ?? '', architecture: i.architecture ?? '', device: i.device ?? '', description: i.description ?? '' };
  const fallback = (i as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return { ...base, api, featureLevel, software: isSoftware(base, fallback), features: NOTABLE_FEATURES.filter((f) => adapter.features.has(f)) };
}

/**
 * Every adapter Dawn offers here, one per API at most (Dawn returns its preferred adapter of an
 * API; `high-performance` picks the discrete GPU where there are two). Core feature level first,
 * compatibility where core is refused (OpenGL ES). Never throws: an API that fails is skipped and
 * its reason listed.
 */
export async function listAdapters(apis: DawnApi[]): Promise<{ adapters: FoundAdapter[]; problems: string[] }> {
  const d = await loadDawn();
  const adapters: FoundAdapter[] = [];
  const problems: string[] = [];
  for (const api of apis) {
    if (api === 'vulkan' && process.platform === 'linux' && !findVulkanLoader()) {
      problems.push('vulkan: the Vulkan loader libvulkan.so.1 is not installed');
      continue;
    }
    try {
      const gpu = instance(d, api);
      let adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      let level: 'core' | 'compatibility' = 'core';
      if (!adapter) {
        adapter = await gpu.requestAdapter({ powerPreference: 'high-performance', featureLevel: 'compatibility' } as GPURequestAdapterOptions);
        level = 'compatibility';
      }
      if (adapter) adapters.push({ gpu, adapter, info: describe(adapter, api, level) });
      else problems.push(`${api}: no adapter`);
    } catch (err) {
      problems.push(`${api}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { adapters, problems };
}

/** One line for the run page: 'GPU (WebGPU, Vulkan: NVIDIA H200; nvidia hopper; core)'. */
export function adapterLabel(a: AdapterDescription): string {
  const api = { vulkan: 'Vulkan', metal: 'Metal', d3d12: 'D3D12', opengles: 'OpenGL ES' }[a.api];
  const name = a.device || a.description || 'unknown adapter';
  const detail = [a.vendor && a.architecture ? `${a.vendor} ${a.architecture}` : a.vendor || a.architecture, a.description !== name ? a.description : '', a.featureLevel]
    .filter((s) => s)
    .join('; ');
  return `${a.software ? 'software GPU' : 'GPU'} (WebGPU, ${api}: ${name}${detail ? `; ${detail}` : ''})`;
}

/** Why no hardware adapter appeared, in words a user can act on. */
export function noHardwareHint(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'linux') return "no Vulkan driver found: install the Vulkan loader (Debian/Ubuntu: libvulkan1) and your GPU vendor's Vulkan driver (NVIDIA's driver package, mesa-vulkan-drivers for AMD/Intel)";
  if (platform === 'win32') return 'no D3D12 or Vulkan adapter: update the GPU driver';
  return 'no Metal adapter';
}
