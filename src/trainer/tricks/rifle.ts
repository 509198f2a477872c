// RIFLE: "Backpropagation in Depth for Deep Transfer Learning through Re-Initializing the
// Fully-connected LayEr" (Li et al., ICML 2020). During fine-tuning the classifier head is given
// fresh random weights every few epochs, so that the gradients reaching the lower layers stay large.
//
// As ../shared/specs/tricks.md says: at the end of epoch e with (e + 1) % everyEpochs == 0, at most
// maxReinits times, never in the last noReinitLastEpochs; new values are assigned IN PLACE to the
// existing variables (the optimizer keeps tracking them, and keeps its momentum unless
// resetOptimizerState); the LR schedule is not restarted. The new values of a re-initialisation
// depend only on (run seed, epoch, param), so a resumed run re-initialises alike.
import * as tf from '@tensorflow/tfjs-core';
import { rifleEpochs, type TricksConfig } from '../../shared/config';
import type { Param } from '../models/layers';
import type { Optimizer } from '../optim/optimizers';
import { makeRng } from '../../shared/rng';
import { readFloats } from '../tf/read';

export type RifleConfig = NonNullable<TricksConfig['rifle']>;

export interface RifleReinit {
  /** Epochs completed when it happened (1-based: the end of that epoch). */
  epoch: number;
  layers: string[];
  weightNormBefore: Record<string, number>;
  weightNormAfter: Record<string, number>;
  valAccBefore: number | null;
  initializer: RifleConfig['initializer'];
  resetOptimizerState: boolean;
  /** How many re-initialisations this run has done, this one included. */
  count: number;
}

/** L2 norm of all of a layer's parameters together. */
export async function layerNorms(params: readonly Param[], layers: readonly string[]): Promise<Record<string, number>> {
  // Every layer's sum of squares in one tensor: one read back.
  const sums = tf.tidy(() =>
    tf.stack(layers.map((layer) => tf.addN(params.filter((p) => p.layer === layer).map((p) => tf.sum(tf.square(p.variable)))))),
  );
  const v = await readFloats(sums);
  sums.dispose();
  return Object.fromEntries(layers.map((l, i) => [l, Math.sqrt(v[i]!)]));
}

export class Rifle {
  readonly epochs: number[];
  private readonly targets: Param[];

  constructor(
    readonly cfg: RifleConfig,
    totalEpochs: number,
    params: readonly Param[],
    private readonly seed: number,
    /** The targets' values at epoch 0 (for initializer 'initial'), by param name. */
    private readonly initialValues: () => Promise<Map<string, Float32Array>>,
  ) {
    this.epochs = rifleEpochs(cfg, totalEpochs);
    this.targets = params.filter((p) => cfg.layers.includes(p.layer));
    const missing = cfg.layers.filter((l) => !this.targets.some((p) => p.layer === l));
    if (missing.length) throw new Error(`tricks.rifle.layers: the model has no layer ${missing.map((l) => `'${l}'`).join(', ')} with weights`);
  }

  /** Re-initialises after 0-based epoch `epoch` if that is one of its epochs. */
  async maybeReinit(epoch: number, optimizer: Optimizer, valAccBefore: number | null): Promise<RifleReinit | null> {
    const k = this.epochs.indexOf(epoch);
    if (k < 0) return null;
    const layers = this.cfg.layers;
    const weightNormBefore = await layerNorms(this.targets, layers);
    const initial = this.cfg.initializer === 'initial' ? await this.initialValues() : null;
    for (const p of this.targets) {
      const values = initial ? initial.get(p.name) : this.fresh(p, epoch);
      if (!values) throw new Error(`RIFLE: no epoch-0 value for ${p.name}`);
      tf.tidy(() => p.variable.assign(tf.tensor(values, p.variable.shape, 'float32')));
    }
    if (this.cfg.resetOptimizerState) optimizer.resetParams(this.targets.map((p) => p.name));
    return {
      epoch: epoch + 1,
      layers: [...layers],
      weightNormBefore,
      weightNormAfter: await layerNorms(this.targets, layers),
      valAccBefore,
      initializer: this.cfg.initializer,
      resetOptimizerState: this.cfg.resetOptimizerState,
      count: k + 1,
    };
  }

  private fresh(p: Param, epoch: number): Float32Array {
    const rng = makeRng(this.seed, `rifle:${epoch}:${p.name}`);
    const n = p.variable.size;
    const v = new Float32Array(n);
    if (p.role === 'gamma') v.fill(1); // a BatchNorm in the chosen layers starts afresh
    else if (p.role === 'beta') v.fill(0);
    else if (this.cfg.initializer === 'heNormal') {
      // N(0, 2 / fanIn) for kernel and bias alike, as the authors' code.
      const std = Math.sqrt(2 / p.fanIn);
      for (let i = 0; i < n; i++) v[i] = rng.normal() * std;
    } else if (p.role === 'kernel') {
      const limit = Math.sqrt(6 / (p.fanIn + p.fanOut));
      for (let i = 0; i < n; i++) v[i] = rng.uniform(-limit, limit);
    } // glorotUniform: biases (and any other role) start at 0, as Keras does
    return v;
  }
}
