// Reading tensors back to the CPU. Always asynchronous: on the webgpu backend a synchronous read
// (dataSync) is impossible in Node (tfjs-webgpu's readSync needs OffscreenCanvas) and would stall
// the GPU queue anyway; on the CPU backends the await costs nothing.
import type * as tf from '@tensorflow/tfjs-core';

/** A copy of a float32 tensor's values, safe to modify. */
export async function readFloats(t: tf.Tensor): Promise<Float32Array> {
  return Float32Array.from((await t.data()) as Float32Array);
}

/** The values of several tensors, read in parallel (one GPU round trip). */
export async function readAll(ts: readonly tf.Tensor[]): Promise<Float32Array[]> {
  return Promise.all(ts.map(readFloats));
}
