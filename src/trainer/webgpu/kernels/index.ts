// Kernels we add to or replace in tfjs-backend-webgpu 4.22 for training.
export function registerWebgpuKernels(): string[] {
  return [];
}
