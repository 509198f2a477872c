// The backend ladder: 'auto' takes the fastest backend that works here (tfjs-node-gpu on a GPU, a
// hardware WebGPU adapter, tfjs-node, wasm, cpu); an explicit request gets exactly that backend or
// an error saying why not.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from './kernels/index';
import { registerNativeKernels } from './kernels/native';
import { NoHardwareAdapter, NotInstalled, Unavailable } from './backend-errors';
import type { AdapterDescription } from './webgpu/adapters';
import { initWebgpu } from './webgpu/backend';

export type BackendRequest = 'auto' | 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface ResolvedBackend {
  name: 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu';
  /** tf.getBackend() after selection. */
  tfName: string;
  /** Human readable, e.g. 'CPU (wasm, SIMD, 1 thread)'. */
  device: string;
  warnings: string[];
  /** The WebGPU adapter trained on (webgpu only). */
  adapter?: AdapterDescription;
}

// The native packages are optional and may be absent: they are imported by a name held in a
// variable so that bundlers leave them alone, and resolved first to tell "not installed" apart
// from "installed but broken".
const TFJS_NODE_GPU = '@tensorflow/tfjs-node-gpu';
const TFJS_NODE = '@tensorflow/tfjs-node';
// What libtensorflow 2.9.1 (bundled by tfjs-node-gpu 4.x) was built against.
const CUDA_HINT = 'tfjs-node-gpu 4.x needs CUDA 11.2 and cuDNN 8.1 on the library path';

const requireHere = createRequire(import.meta.url);


type Chosen = Omit<ResolvedBackend, 'tfName'>;

export async function initBackend(req: BackendRequest): Promise<ResolvedBackend> {
  if (req !== 'auto') {
    try {
      return await finish(await initExplicit(req));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`backend '${req}' is not available: ${reason}`, { cause: err });
    }
  }
  const warnings: string[] = [];
  let gpuPackageMissing = false;
  let webgpuMissing: string | null = null;
  // Order: tfjs-node-gpu when it really reaches a GPU first, then a hardware WebGPU adapter. Why
  // this way round: tfjs-node-gpu is only there when the user installed CUDA 11.2 and cuDNN 8.1
  // for it (an NVIDIA GPU up to Ampere), and there its cuDNN convolutions are vendor-tuned, where
  // tfjs-webgpu's are generic WGSL; no GPU that both serve has been benchmarked by us yet (our
  // machines have none, the lent H200 is Hopper, which libtensorflow 2.9 cannot serve natively),
  // so the dedicated vendor library keeps the first place until `npm run bench` on such a GPU says
  // otherwise. tfjs-node-gpu without a GPU (libtensorflow on the CPU) ranks after WebGPU.
  let tfCpuFromGpuPackage: Chosen | null = null;
  const rungs: (() => Promise<Chosen>)[] = [
    async () => {
      const c = await initTensorflowGpu(true);
      if (c.name === 'tensorflow-gpu') return c;
      tfCpuFromGpuPackage = c;
      throw new NotInstalled('tensorflow-gpu without a GPU: tried after webgpu');
    },
    () => initWebgpu({ allowSoftware: false }),
    async () => {
      // tfjs-node-gpu without a usable GPU still runs on libtensorflow's CPU kernels, so it also
      // stands in for tfjs-node; importing tfjs-node after it would register 'tensorflow' twice.
      if (tfCpuFromGpuPackage) {
        if (!(await tf.setBackend('tensorflow'))) throw new Unavailable(`${TFJS_NODE_GPU}: backend 'tensorflow' failed to initialise`);
        return tfCpuFromGpuPackage;
      }
      return initTensorflowCpu();
    },
    () => initWasm(),
    () => initCpu(),
  ];
  for (const [i, rung] of rungs.entries()) {
    try {
      const chosen = await rung();
      if (chosen.name !== 'tensorflow-gpu' && chosen.name !== 'webgpu') {
        // A GPU the user may expect to be used, and nothing that would use it works.
        const gpus = nvidiaGpus();
        if (gpus.length > 0 && webgpuMissing) {
          warnings.push(
            `nvidia-smi reports ${gpus.join(', ')} but training runs on the CPU: WebGPU found no hardware adapter (${webgpuMissing})` +
              (gpuPackageMissing ? ` and ${TFJS_NODE_GPU} is not installed` : '') +
              ' (README: Backends)',
          );
        }
      }
      return await finish({ ...chosen, warnings: [...warnings, ...chosen.warnings] });
    } catch (err) {
      if (i === 0 && err instanceof NotInstalled && !tfCpuFromGpuPackage) gpuPackageMissing = true;
      if (i === 1 && err instanceof Unavailable) webgpuMissing = err.message;
      if (!(err instanceof NotInstalled) && !(err instanceof NoHardwareAdapter)) warnings.push(err instanceof Error ? err.message : String(err));
    }
  }
  throw new Error(`no tfjs backend could be initialised: ${warnings.join('; ')}`);
}

function initExplicit(req: Exclude<BackendRequest, 'auto'>): Promise<Chosen> {
  switch (req) {
    case 'tensorflow-gpu':
      return initTensorflowGpu(false);
    case 'webgpu':
      return initWebgpu({ allowSoftware: true });
    case 'tensorflow':
      return initTensorflowCpu();
    case 'wasm':
      return initWasm();
    case 'cpu':
      return initCpu();
  }
}

async function finish(chosen: Chosen): Promise<ResolvedBackend> {
  await tf.ready();
  return { ...chosen, tfName: tf.getBackend() };
}

async function importOptional(name: string): Promise<void> {
  try {
    requireHere.resolve(name);
  } catch {
    throw new NotInstalled(`${name} is not installed`);
  }
  try {
    await import(/* @vite-ignore */ name);
  } catch (err) {
    throw new Unavailable(`${name} is installed but failed to load (${err instanceof Error ? err.message : String(err)})`);
  }
}

/**
 * tfjs-node-gpu registers and selects backend 'tensorflow' on import; whether TensorFlow found a
 * GPU is only known afterwards. With allowCpu ('auto') a GPU-less load is accepted as native CPU.
 */
async function initTensorflowGpu(allowCpu: boolean): Promise<Chosen> {
  await importOptional(TFJS_NODE_GPU);
  if (!(await tf.setBackend('tensorflow'))) throw new Unavailable(`${TFJS_NODE_GPU} loaded but backend 'tensorflow' failed to initialise`);
  const usingGpu = (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
  const gpus = nvidiaGpus();
  if (usingGpu) {
    return { name: 'tensorflow-gpu', device: gpus.length > 0 ? `NVIDIA GPU (CUDA, ${gpus[0]})` : 'NVIDIA GPU (CUDA)', warnings: [] };
  }
  const why =
    gpus.length > 0
      ? `TensorFlow found no usable GPU although nvidia-smi reports ${gpus.join(', ')} (CUDA/cuDNN version mismatch? ${CUDA_HINT})`
      : 'TensorFlow found no usable GPU';
  if (!allowCpu) throw new Unavailable(`${TFJS_NODE_GPU} loaded, but ${why}`);
  return { name: 'tensorflow', device: 'CPU (libtensorflow)', warnings: gpus.length > 0 ? [`${why}; training on CPU (libtensorflow)`] : [] };
}

async function initTensorflowCpu(): Promise<Chosen> {
  await importOptional(TFJS_NODE);
  if (!(await tf.setBackend('tensorflow'))) throw new Unavailable(`${TFJS_NODE} loaded but backend 'tensorflow' failed to initialise`);
  return { name: 'tensorflow', device: 'CPU (libtensorflow)', warnings: [] };
}

async function initWasm(): Promise<Chosen> {
  // The .wasm binaries sit next to the package's Node entry point (dist/). Resolving them from
  // this module works from source (tsx, vitest) and from the Vite bundle alike.
  const distDir = path.dirname(requireHere.resolve('@tensorflow/tfjs-backend-wasm'));
  try {
    setWasmPaths(`${distDir}/`);
  } catch (err) {
    throw new Unavailable(err instanceof Error ? err.message : String(err)); // an earlier init failed
  }
  registerWasmTrainingKernels();
  const native = registerNativeKernels();
  if (!(await tf.setBackend('wasm'))) throw new Unavailable(`the wasm module in ${distDir} failed to initialise`);
  // tfjs-backend-wasm loads the SIMD binary where WebAssembly SIMD validates, and the threaded
  // one never in Node (it hard-codes WASM_HAS_MULTITHREAD_SUPPORT=false there).
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const threads = getThreadsCount();
  const wasm = `wasm, ${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'}`;
  // Without the native kernels the same models train several times slower: say so, unless the
  // user turned them off.
  const slow = !native.loaded && process.env.TRICKBENCH_NATIVE !== '0' && process.platform === 'linux' && process.arch === 'x64';
  return {
    name: 'wasm',
    device: native.loaded ? `CPU (${wasm}; native kernels: ${native.detail})` : `CPU (${wasm})`,
    warnings: slow ? [`${native.detail}; training on wasm alone is about 10x slower (README: Backends)`] : [],
  };
}

async function initCpu(): Promise<Chosen> {
  if (!(await tf.setBackend('cpu'))) throw new Unavailable('the JavaScript cpu backend failed to initialise');
  return { name: 'cpu', device: 'CPU (JavaScript)', warnings: [] };
}

/** GPU names from `nvidia-smi -L`; empty when it is absent or fails. */
export function nvidiaGpus(): string[] {
  const res = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 10_000 });
  if (res.error || res.status !== 0 || typeof res.stdout !== 'string') return [];
  return res.stdout
    .split('\n')
    .map((line) => /^GPU \d+: (.+?)(?: \(UUID:.*)?$/.exec(line.trim())?.[1])
    .filter((name): name is string => name !== undefined);
}
