// Between tfjs tensors and checkpoint arrays: capture a model's params and buffers and an
// optimizer's state by name, and put them back (resume, best-checkpoint evaluation, fine-tuning).
import * as tf from '@tensorflow/tfjs-core';
import type { InitConfig } from '../shared/config';
import { indexTensors, tensorKey, type Checkpoint, type NamedArray } from '../store/checkpoint';
import { planInit, type InitReport, type InitTarget } from '../store/init-plan';
import type { Optimizer, OptimizerState } from './optim/optimizers';

/** The parts of a built model this file needs: named params and buffers (the model interface). */
export interface ModelWeights {
  params: readonly { name: string; variable: tf.Variable }[];
  buffers: readonly { name: string; variable: tf.Variable }[];
  numClasses: number;
}

async function read(t: tf.Tensor): Promise<Float32Array | Int32Array> {
  const d = await t.data();
  // A copy, so a later assign cannot change what we are writing.
  return t.dtype === 'int32' ? Int32Array.from(d as Int32Array) : Float32Array.from(d as Float32Array);
}

/** Params, buffers and (when given) optimizer state as named arrays, in model order. */
export async function captureState(model: ModelWeights, optimizer?: Optimizer): Promise<{ arrays: NamedArray[]; optimizer: { name: string; scalars: Record<string, number> } | null }> {
  const arrays: NamedArray[] = [];
  for (const p of model.params) arrays.push({ group: 'param', name: p.name, shape: p.variable.shape.slice(), data: await read(p.variable) });
  for (const b of model.buffers) arrays.push({ group: 'buffer', name: b.name, shape: b.variable.shape.slice(), data: await read(b.variable) });
  if (!optimizer) return { arrays, optimizer: null };
  const state = optimizer.getState();
  for (const [slot, byParam] of Object.entries(state.slots)) {
    for (const [name, t] of Object.entries(byParam)) arrays.push({ group: 'optimizer', slot, name, shape: t.shape.slice(), data: await read(t) });
  }
  return { arrays, optimizer: { name: state.name, scalars: state.scalars } };
}

const shapeText = (s: readonly number[]) => `[${s.join(',')}]`;
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

function assign(v: tf.Variable, a: NamedArray): void {
  tf.tidy(() => v.assign(tf.tensor(a.data, a.shape, v.dtype)));
}

/** Load every param and buffer of the model from the checkpoint (resume, best weights): all must
 * be there with the same shape, or the checkpoint is not this model's. */
export function restoreWeights(model: ModelWeights, ckpt: Checkpoint, what: string): void {
  const index = indexTensors(ckpt);
  const entries: [tf.Variable, NamedArray][] = [];
  for (const [group, items] of [['param', model.params], ['buffer', model.buffers]] as const) {
    for (const item of items) {
      const a = index.get(tensorKey(group, item.name));
      if (!a) throw new Error(`${what}: has no ${group} ${item.name}; it was written for another model`);
      if (!sameShape(a.shape, item.variable.shape)) {
        throw new Error(`${what}: ${item.name} has shape ${shapeText(a.shape)} there but ${shapeText(item.variable.shape)} in this model`);
      }
      entries.push([item.variable, a]);
    }
  }
  for (const [v, a] of entries) assign(v, a);
}

/** Put the checkpoint's optimizer state (slots keyed by param name, scalars) into the optimizer. */
export function restoreOptimizer(optimizer: Optimizer, ckpt: Checkpoint): void {
  const meta = ckpt.manifest.optimizer;
  if (!meta) throw new Error(`checkpoint of run ${ckpt.manifest.runId} holds no optimizer state`);
  const state: OptimizerState = { name: meta.name as OptimizerState['name'], scalars: meta.scalars, slots: {} };
  const made: tf.Tensor[] = [];
  for (const a of ckpt.tensors) {
    if (a.group !== 'optimizer' || !a.slot) continue;
    const t = tf.tensor(a.data, a.shape);
    made.push(t);
    (state.slots[a.slot] ??= {})[a.name] = t;
  }
  try {
    optimizer.setState(state);
  } finally {
    for (const t of made) t.dispose();
  }
}

/** Fine-tuning: load the params and buffers of another run's checkpoint that the rules of
 * init-plan.ts select. A shape that does not fit is an error, before anything is loaded. */
export function applyInit(model: ModelWeights, ckpt: Checkpoint, init: InitConfig): InitReport {
  const targets: InitTarget[] = [
    ...model.params.map((p) => ({ group: 'param' as const, name: p.name, shape: p.variable.shape })),
    ...model.buffers.map((b) => ({ group: 'buffer' as const, name: b.name, shape: b.variable.shape })),
  ];
  const report = planInit(targets, model.numClasses, { kind: ckpt.manifest.kind, numClasses: ckpt.manifest.model.numClasses, tensors: ckpt.tensors }, init);
  const index = indexTensors(ckpt);
  const variables = new Map([...model.params, ...model.buffers].map((v) => [v.name, v.variable]));
  for (const t of targets) {
    if (report.loaded.includes(t.name)) assign(variables.get(t.name)!, index.get(tensorKey(t.group, t.name))!);
  }
  return report;
}
