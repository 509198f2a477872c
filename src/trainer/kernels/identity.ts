// Identity for the wasm backend without a copy. tfjs clones every tensor it saves for a gradient
// (and tf.clone, tf.keep'd results, ...) through Identity, and wasm's own Identity copies the data:
// 37 copies per cnn3 training step, up to 6.4 MB each. Tensors are immutable in tfjs, so the clone
// can share the data, with a reference count, as wasm's own Reshape and the cpu backend's Identity do.
import { Identity, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

function identity(args: Parameters<KernelFunc>[0]): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: TensorInfo };
  if (x.dtype === 'string') throw new Error('Identity (wasm): string tensors are not supported');
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

export const identityConfig: KernelConfig = {
  kernelName: Identity,
  backendName: 'wasm',
  kernelFunc: identity as KernelFunc,
};
