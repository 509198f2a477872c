// Optimizers with PyTorch's semantics (torch.optim.SGD and Adam, weight decay as L2 added to the
// gradient), written over tf ops so their state is ours to save, inspect and mask.
import * as tf from '@tensorflow/tfjs-core';
import { optimizerSchema, type OptimizerConfig } from '../../shared/config';
import { NATIVE_SGD, nativeSgdActive, type NativeSgdAttrs } from '../kernels/native';
import type { Param } from '../models/layers';
import { adamUpdate, sgdUpdate } from '../webgpu/optimizer-step';

/** An optimizer's state, keyed by param name: slot -> param name -> tensor, plus scalars (Adam's
 * step count). What a checkpoint saves so that a resumed run continues exactly. */
export interface OptimizerState {
  name: OptimizerConfig['name'];
  scalars: Record<string, number>;
  slots: Record<string, Record<string, tf.Tensor>>;
}

export interface Optimizer {
  /** Apply one update with learning rate `lr`; grads keyed by Param.name. */
  step(params: readonly Param[], grads: Record<string, tf.Tensor>, lr: number): void;
  /** The live state (the optimizer's own tensors: read them, do not dispose them). */
  getState(): OptimizerState;
  /** Replace the state with copies of the given tensors (the caller keeps ownership of them). */
  setState(state: OptimizerState): void;
  /** Forget the state of these params (as if they were new: RIFLE's resetOptimizerState). */
  resetParams(names: readonly string[]): void;
  /** Multiply a param's state (momentum, Adam moments) by a 0/1 mask broadcast to its shape
   * (RePr: pruned filters get no momentum to move them during S2). */
  maskState(name: string, mask: tf.Tensor): void;
  dispose(): void;
}

function slotsOf(maps: Record<string, Map<string, tf.Variable>>): OptimizerState['slots'] {
  const out: OptimizerState['slots'] = {};
  for (const [slot, map] of Object.entries(maps)) out[slot] = Object.fromEntries(map);
  return out;
}

/** Fill `maps` with copies of `state`'s slots, checking it belongs to this kind of optimizer. */
function loadSlots(name: string, state: OptimizerState, maps: Record<string, Map<string, tf.Variable>>): void {
  if (state.name !== name) throw new Error(`optimizer state is for ${state.name}, not ${name}`);
  for (const slot of Object.keys(state.slots)) {
    if (!(slot in maps)) throw new Error(`optimizer ${name} has no state slot '${slot}'`);
  }
  for (const [slot, map] of Object.entries(maps)) {
    for (const v of map.values()) v.dispose();
    map.clear();
    for (const [param, t] of Object.entries(state.slots[slot] ?? {})) map.set(param, tf.variable(t, false)); // shares the (immutable) data until the next assign
  }
}

class Sgd implements Optimizer {
  private readonly buf = new Map<string, tf.Variable>();
  constructor(private readonly o: Extract<OptimizerConfig, { name: 'sgd' }>) {}
  step(params: readonly Param[], grads: Record<string, tf.Tensor>, lr: number): void {
    if (nativeSgdActive(tf.getBackend())) {
      this.nativeStep(params, grads, lr);
      return;
    }
    const { momentum, nesterov } = this.o;
    if (tf.getBackend() === 'webgpu') {
      // Two dispatches per parameter (webgpu/optimizer-step.ts), the same arithmetic.
      tf.tidy(() => {
        for (const p of params) {
          const g = grads[p.name];
          if (!g) continue;
          const b = momentum > 0 ? this.buf.get(p.name) : undefined;
          const [next, nextBuf] = sgdUpdate(p.variable, g, b, { lr, momentum, nesterov, weightDecay: decayOf(this.o, p) });
          p.variable.assign(next);
          if (nextBuf && b) b.assign(nextBuf);
          else if (nextBuf) this.buf.set(p.name, tf.variable(nextBuf, false));
        }
      });
      return;
    }
    tf.tidy(() => {
      for (const p of params) {
        let g = grads[p.name];
        if (!g) continue;
        const weightDecay = decayOf(this.o, p);
        if (weightDecay > 0) g = tf.add(g, tf.mul(p.variable, weightDecay));
        if (momentum > 0) {
          let b = this.buf.get(p.name);
          if (!b) {
            // PyTorch starts the buffer at the first gradient: the same as 0 * momentum + g.
            b = tf.variable(g, false);
            this.buf.set(p.name, b);
          } else {
            b.assign(tf.add(tf.mul(b, momentum), g));
          }
          g = nesterov ? tf.add(g, tf.mul(b, momentum)) : b;
        }
        p.variable.assign(tf.sub(p.variable, tf.mul(g, lr)));
      }
    });
  }
  /** The same update for every parameter in one native call (wasm with the addon): one kernel
   * instead of four or five per parameter. */
  private nativeStep(params: readonly Param[], grads: Record<string, tf.Tensor>, lr: number): void {
    const { momentum, nesterov } = this.o;
    const live = params.filter((p) => grads[p.name]);
    const inputs: Record<string, tf.Tensor> = {};
    const attrs: NativeSgdAttrs = { count: live.length, lr, momentum, nesterov, weightDecay: [], hasBuffer: [] };
    live.forEach((p, i) => {
      inputs[`p${i}`] = p.variable;
      inputs[`g${i}`] = grads[p.name]!;
      const b = momentum > 0 ? this.buf.get(p.name) : undefined;
      if (b) inputs[`b${i}`] = b;
      attrs.hasBuffer.push(b !== undefined);
      attrs.weightDecay.push(decayOf(this.o, p));
    });
    tf.tidy(() => {
      const outs = tf.engine().runKernel(NATIVE_SGD, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      let k = 0;
      for (const p of live) {
        p.variable.assign(outs[k++]!);
        if (momentum > 0) {
          const b = this.buf.get(p.name);
          if (b) b.assign(outs[k++]!);
          else this.buf.set(p.name, tf.variable(outs[k++]!, false));
        }
      }
    });
  }
  getState(): OptimizerState {
    return { name: 'sgd', scalars: {}, slots: slotsOf({ momentum: this.buf }) };
  }
  setState(state: OptimizerState): void {
    loadSlots('sgd', state, { momentum: this.buf });
  }
  resetParams(names: readonly string[]): void {
    for (const n of names) {
      this.buf.get(n)?.dispose();
      this.buf.delete(n);
    }
  }
  maskState(name: string, mask: tf.Tensor): void {
    const b = this.buf.get(name);
    if (b) tf.tidy(() => b.assign(tf.mul(b, mask)));
  }
  dispose(): void {
    for (const b of this.buf.values()) b.dispose();
    this.buf.clear();
  }
}

class Adam implements Optimizer {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;
  constructor(private readonly o: Extract<OptimizerConfig, { name: 'adam' }>) {}
  step(params: readonly Param[], grads: Record<string, tf.Tensor>, lr: number): void {
    const { beta1, beta2, epsilon } = this.o;
    this.t++;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    if (tf.getBackend() === 'webgpu') {
      // Three dispatches per parameter (webgpu/optimizer-step.ts), the same arithmetic.
      tf.tidy(() => {
        for (const p of params) {
          const g = grads[p.name];
          if (!g) continue;
          const m = this.m.get(p.name);
          const v = this.v.get(p.name);
          const h = { stepSize: lr / bc1, beta1, beta2, epsilon, sqrtBc2: Math.sqrt(bc2), weightDecay: decayOf(this.o, p) };
          const [next, mNew, vNew] = adamUpdate(p.variable, g, m, v, h);
          p.variable.assign(next);
          if (m && v) {
            m.assign(mNew);
            v.assign(vNew);
          } else {
            this.m.set(p.name, tf.variable(mNew, false));
            this.v.set(p.name, tf.variable(vNew, false));
          }
        }
      });
      return;
    }
    tf.tidy(() => {
      for (const p of params) {
        let g = grads[p.name];
        if (!g) continue;
        const weightDecay = decayOf(this.o, p);
        if (weightDecay > 0) g = tf.add(g, tf.mul(p.variable, weightDecay));
        let m = this.m.get(p.name);
        let v = this.v.get(p.name);
        if (!m || !v) {
          m = tf.variable(tf.zerosLike(p.variable), false);
          v = tf.variable(tf.zerosLike(p.variable), false);
          this.m.set(p.name, m);
          this.v.set(p.name, v);
        }
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), epsilon);
        p.variable.assign(tf.sub(p.variable, tf.mul(tf.div(m, denom), lr / bc1)));
      }
    });
  }
  getState(): OptimizerState {
    return { name: 'adam', scalars: { t: this.t }, slots: slotsOf({ m: this.m, v: this.v }) };
  }
  setState(state: OptimizerState): void {
    loadSlots('adam', state, { m: this.m, v: this.v });
    this.t = state.scalars.t ?? 0;
  }
  /** Adam's step count is shared by all params: a reset param restarts its moments at zero but
   * keeps the global bias correction, as re-creating its slots in PyTorch's Adam would not.
   * (PyTorch keeps a step per param; ours is global, so the difference shows only here.) */
  resetParams(names: readonly string[]): void {
    for (const n of names) {
      for (const map of [this.m, this.v]) {
        map.get(n)?.dispose();
        map.delete(n);
      }
    }
  }
  maskState(name: string, mask: tf.Tensor): void {
    for (const map of [this.m, this.v]) {
      const t = map.get(name);
      if (t) tf.tidy(() => t.assign(tf.mul(t, mask)));
    }
  }
  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** An optimizer from its config section (defaults filled in for options not given). */
export function makeOptimizer(input: Parameters<typeof optimizerSchema.parse>[0] | OptimizerConfig): Optimizer {
  const cfg = optimizerSchema.parse(input);
  return cfg.name === 'sgd' ? new Sgd(cfg) : new Adam(cfg);
}

/** The weight decay of one parameter: none for biases and BatchNorm gamma/beta with noBiasDecay
 * (Bag of Tricks: decay only the conv and dense kernels). */
export function decayOf(o: Pick<OptimizerConfig, 'weightDecay' | 'noBiasDecay'>, p: Param): number {
  return o.noBiasDecay && p.role !== 'kernel' ? 0 : o.weightDecay;
}
