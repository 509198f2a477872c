import * as tf from '@tensorflow/tfjs-core';
import { makeRng } from '../rng';
import type { ApplyContext, Buffer, Layer, LayerSummary, Param, Shape } from './layers';

let nextScope = 0;

/** A built model: its layers in order, their parameters, and a forward pass to logits. */
export class SequentialModel {
  readonly params: Param[];
  readonly buffers: Buffer[];
  readonly summary: LayerSummary[];
  readonly outputShape: Shape;

  constructor(
    readonly name: string,
    readonly inputShape: Shape,
    readonly numClasses: number,
    private readonly layers: Layer[],
    seed: number,
  ) {
    // Initial weights come from their own stream of the run seed, so arms that share a seed share
    // their initial weights, and the data order can change without changing them.
    const ctx = { rng: makeRng(seed, 'init'), scope: `m${nextScope++}` };
    let shape = inputShape;
    this.summary = [];
    for (const layer of layers) {
      shape = layer.build(shape, ctx);
      this.summary.push({
        name: layer.name,
        type: layer.type,
        outputShape: shape,
        params: layer.params.reduce((a, p) => a + p.variable.size, 0),
        flops: layer.flops,
      });
    }
    this.outputShape = shape;
    this.params = layers.flatMap((l) => l.params);
    this.buffers = layers.flatMap((l) => l.buffers ?? []);
  }

  /** Logits for a batch. Call inside tf.tidy (or a gradient function). */
  apply(x: tf.Tensor, ctx: ApplyContext): tf.Tensor2D {
    let h = x;
    for (const layer of this.layers) h = layer.apply(h, ctx);
    return h as tf.Tensor2D;
  }

  get paramCount(): number {
    return this.summary.reduce((a, l) => a + l.params, 0);
  }
  get flops(): number {
    return this.summary.reduce((a, l) => a + l.flops, 0);
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
    for (const b of this.buffers) b.variable.dispose();
  }
}
