// A built model: variables created from the shared architecture's trace (names, shapes, initial
// values), and a forward pass that runs the same architecture on tensors.
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../../shared/config';
import { architecture, traceModel, type Architecture, type GroupSummary } from '../../shared/models/index';
import { makeRng } from '../../shared/rng';
import { initialValue, type ApplyContext, type Buffer, type LayerSummary, type Param, type Shape } from './layers';
import { TfOps, type ModelState } from './tf-ops';

let nextScope = 0;

export class Model {
  readonly params: Param[];
  readonly buffers: Buffer[];
  /** The layer table (leaves in execution order): what the form and `npm run summary` show. */
  readonly summary: LayerSummary[];
  readonly groups: GroupSummary[];
  readonly outputShape: Shape;
  readonly paramCount: number;
  /** Multiply-adds of one example's forward pass. */
  readonly flops: number;
  private readonly arch: Architecture;
  private readonly state: ModelState;

  constructor(
    readonly config: ModelConfig,
    readonly inputShape: Shape,
    readonly numClasses: number,
    seed: number,
  ) {
    const trace = traceModel(config, inputShape, numClasses);
    this.arch = architecture(config, numClasses);
    this.summary = trace.layers;
    this.groups = trace.groups;
    this.outputShape = trace.outputShape;
    this.flops = trace.flops;
    // tfjs keeps one global registry of variable names: a scope per model keeps them unique.
    const scope = `m${nextScope++}`;
    const variables = new Map<string, tf.Variable>();
    const make = (name: string, value: tf.Tensor, trainable: boolean) => {
      const v = tf.variable(value, trainable, `${scope}/${name}`);
      value.dispose();
      variables.set(name, v);
      return v;
    };
    // Each parameter draws from its own stream of the run seed ('init' + its name): arms that share
    // a seed share every layer they have in common (resnet20-a vs -c share all their blocks), and
    // the data order or another layer can change without changing them.
    this.params = trace.paramSpecs.map((p) => ({
      name: p.name,
      layer: p.layer,
      role: p.role,
      fanIn: p.fanIn,
      fanOut: p.fanOut,
      variable: make(p.name, initialValue(p, makeRng(seed, `init:${p.name}`)), true),
    }));
    this.buffers = trace.bufferSpecs.map((b) => ({
      name: b.name,
      layer: b.layer,
      role: b.role,
      variable: make(b.name, initialValue({ ...b, fanIn: 1, fanOut: 1 }, makeRng(seed, `init:${b.name}`)), false),
    }));
    this.paramCount = this.params.reduce((a, p) => a + p.variable.size, 0);
    this.state = { variables, layerIndex: new Map(trace.layers.map((l, i) => [l.name, i])), seed };
  }

  get name(): string {
    return this.config.name;
  }

  /** Logits [batch, numClasses] for a batch [batch, h, w, c]. Call inside tf.tidy (or a gradient
   * function): in training mode it also updates BatchNorm's moving statistics. */
  apply(x: tf.Tensor, ctx: ApplyContext): tf.Tensor2D {
    return this.arch(new TfOps(this.state, ctx, x), x) as tf.Tensor2D;
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
    for (const b of this.buffers) b.variable.dispose();
  }
}

/** @deprecated the old name, kept while src/trainer/loop.ts still imports it; use Model. */
export type SequentialModel = Model;
