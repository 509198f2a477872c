// The training/evaluation loop. The tricks a run turns on hook in by role (src/shared/tricks/types.ts:
// epoch start, before step, targets, batch, outside the tape, forward passes, loss, gradients, after
// step, epoch metrics); the loop composes them and names none.
import * as tf from '@tensorflow/tfjs-core';
import type { MetricPoint, RunEvent } from '../shared/api';
import { baseLearningRate, batchSizeProblem, type RunConfig } from '../shared/config';
import type { RunEventDraft } from '../shared/events';
import { gatherBatch } from './data/index';
import { BatchLoader } from './data/loader';
import type { ImageSet, Normalization, Splits } from './data/types';
import { evaluateTest, type TestResult } from './evaluation';
import { countCorrect, crossEntropy } from './loss/cross-entropy';
import { oneHotTargets, softCrossEntropy } from './loss/tricks';
import type { SequentialModel } from './models/model';
import type { Optimizer } from './optim/optimizers';
import { learningRate, scheduleEpochEvents, scheduleStepEvents } from './optim/schedule';
import { makeRng, permutation } from './rng';
import { registerGradients } from './tf/gradients';
import { isTrickDiagnostic, RunTricks, type StepHooks, type TrickOptions } from './tricks/index';
import { takeDeviceFault } from './webgpu/backend';

export type { StepHooks };

registerGradients();

export { countCorrect, crossEntropy };

export interface LoopSink {
  metrics(points: MetricPoint[]): void;
  event(e: RunEvent): void;
  progress(p: { epoch: number; step: number; stepsPerEpoch: number; phase: 'train' | 'eval' }): void;
  /** Resolves after giving pending I/O (cancel requests, signals) a chance to run; true = stop. */
  shouldStop(): Promise<boolean>;
}

/** Where training stands between epochs: all a resumed run needs besides weights and optimizer
 * state (data order depends only on (seed, epoch), dropout masks on (seed, step)). */
export interface LoopPosition {
  epoch: number; // epochs completed
  step: number; // global steps done
  bestValAcc: number | null;
  bestEpoch: number | null;
}

export interface EpochEnd {
  position: LoopPosition;
  stepsPerEpoch: number;
  val: { loss: number; acc: number } | null;
  /** This epoch's weights are the best so far: val/acc beat every earlier epoch (ties keep the
   * earlier one), or there is no validation split, where the latest weights are the best known. */
  improved: boolean;
}

export interface LoopOptions extends Omit<TrickOptions, 'firstEpoch'> {
  /** The loader's worker threads (default: BatchLoader's). */
  loaderWorkers?: number;
  /** Continue after this (checkpointed) position instead of from scratch. */
  start?: LoopPosition;
  /** Called at every epoch end after its metrics are written, to save checkpoints: metrics first,
   * so a crash in between only makes a resume redo (and rewrite) that epoch. */
  epochEnd?(e: EpochEnd): Promise<void> | void;
}

export class Cancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'Cancelled';
  }
}

const EVAL_BATCH = 256;
const FLUSH_MS = 1000;

/** Loss and accuracy of the model on a set of images, in inference mode. */
export async function evaluate(model: SequentialModel, set: ImageSet, shape: readonly number[], norm: Normalization, indices: Int32Array, numClasses: number) {
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < indices.length; start += EVAL_BATCH) {
    const end = Math.min(start + EVAL_BATCH, indices.length);
    const b = gatherBatch(set, shape, norm, indices, start, end);
    const [l, c] = tf.tidy(() => {
      const x = tf.tensor4d(b.x, [b.n, shape[0]!, shape[1]!, shape[2]!]);
      const y = tf.tensor1d(b.y, 'int32');
      const logits = model.apply(x, { training: false, step: 0 });
      return [tf.mul(crossEntropy(logits, y, numClasses), b.n), countCorrect(logits, y)];
    });
    const [lv, cv] = await Promise.all([l.data(), c.data()]);
    l.dispose();
    c.dispose();
    lossSum += lv[0]!;
    correct += cv[0]!;
  }
  const n = indices.length;
  return { loss: n ? lossSum / n : NaN, acc: n ? correct / n : NaN };
}

/** The one hook of a role that only one trick may fill (the forward passes, the base loss). */
function single<K extends 'forward' | 'loss'>(hooks: readonly StepHooks[], role: K): StepHooks[K] {
  const found = hooks.filter((h) => h[role]);
  if (found.length > 1) throw new Error(`two tricks of this run both define the step's ${role}: they cannot be combined`);
  return found[0]?.[role];
}

/** One optimisation step on a batch; returns the (kept) loss and correct-count scalars, which the
 * caller reads and disposes. Everything else it allocates is released. Accuracy counts the
 * samples' own labels on the first pass (when a batch hook mixes samples: the unmixed ones'). Without hooks
 * that ask for probability targets the loss is the integer-label cross entropy. */
export function trainStep(
  model: SequentialModel,
  optimizer: Optimizer,
  b: { x: Float32Array; y: Int32Array; n: number },
  shape: readonly number[],
  numClasses: number,
  lr: number,
  step: number,
  hooks: readonly StepHooks[] = [],
): [tf.Scalar, tf.Scalar] {
  return tf.tidy(() => {
    let x: tf.Tensor = tf.tensor4d(b.x, [b.n, shape[0]!, shape[1]!, shape[2]!]);
    const y = tf.tensor1d(b.y, 'int32');
    let targets: tf.Tensor2D | null = hooks.some((h) => h.softTargets || h.targets) ? oneHotTargets(y, numClasses) : null;
    for (const h of hooks) if (h.targets) targets = h.targets(targets!, numClasses);
    for (const h of hooks) if (h.batch) ({ x, targets } = h.batch({ x, targets }));
    for (const h of hooks) h.outsideTape?.(x);
    const forward = single(hooks, 'forward');
    const loss = single(hooks, 'loss');
    let correct: tf.Scalar | null = null;
    const apply = (input: tf.Tensor) => model.apply(input, { training: true, step }) as tf.Tensor2D;
    const { value, grads } = tf.variableGrads(
      () => {
        const passes = forward ? forward(x, apply) : [apply(x)];
        correct = tf.keep(countCorrect(passes[0]!, y));
        let l = loss ? loss(passes, targets!) : targets ? softCrossEntropy(passes[0]!, targets) : crossEntropy(passes[0]!, y, numClasses);
        for (const h of hooks) if (h.wrapLoss) l = h.wrapLoss(l, passes);
        return l;
      },
      model.params.map((p) => p.variable),
    );
    let byName: Record<string, tf.Tensor> = {};
    for (const p of model.params) byName[p.name] = grads[p.variable.name]!;
    for (const h of hooks) if (h.gradients) byName = h.gradients(byName, model.params);
    for (const h of hooks) h.observeGradients?.(byName, model.params);
    optimizer.step(model.params, byName, lr);
    return [value, correct!];
  });
}

export interface TrainResult {
  final: Record<string, number>;
  steps: number;
  position: LoopPosition;
  /** The test set with the last weights. */
  test: TestResult;
}

/** The image order of an epoch: depends only on the run seed and the epoch index (so a resumed
 * run and the arms of a matched pair see the same batches). */
export function epochOrder(seed: number, epoch: number, train: Int32Array): Int32Array {
  return permutation(makeRng(seed, `order:${epoch}`), Int32Array.from(train));
}

export async function trainModel(
  config: RunConfig,
  splits: Splits,
  model: SequentialModel,
  optimizer: Optimizer,
  sink: LoopSink,
  opts: LoopOptions = {},
): Promise<TrainResult> {
  const { dataset } = splits;
  const shape = splits.inputShape;
  const K = dataset.numClasses;
  const B = config.batchSize;
  const nTrain = splits.train.length;
  // The schema refuses this where the dataset's size is known before the run; here it is exact.
  const tooBig = batchSizeProblem(B, nTrain);
  if (tooBig) throw new Error(`batchSize: ${tooBig}`);
  const stepsPerEpoch = Math.ceil(nTrain / B);
  const final: Record<string, number> = {};
  const pos: LoopPosition = { ...(opts.start ?? { epoch: 0, step: 0, bestValAcc: null, bestEpoch: null }) };
  if (pos.step !== pos.epoch * stepsPerEpoch) {
    throw new Error(`cannot continue: step ${pos.step} after ${pos.epoch} epochs does not fit ${stepsPerEpoch} steps per epoch`);
  }
  const point = (key: string, value: number, epoch: number, step = pos.step): MetricPoint => ({ key, step, epoch, value, time: Date.now() });

  // A WebGPU error (validation, out of memory, device lost) throws nowhere by itself: the run
  // fails with it after the step or evaluation it happened in.
  const onGpu = tf.getBackend() === 'webgpu';
  const deviceCheck = (where: string) => {
    const fault = onGpu ? takeDeviceFault() : null;
    if (fault) throw new Error(`WebGPU error at ${where}: ${fault} (results after it cannot be trusted)`);
  };
  const lr0 = baseLearningRate(config);
  const tricks = await RunTricks.create(config, model, optimizer, { ...opts, firstEpoch: pos.epoch });
  let loader: BatchLoader;
  try {
    loader = new BatchLoader({
      images: dataset.train.images,
      labels: dataset.train.labels,
      inShape: dataset.shape,
      augment: config.augment,
      norm: splits.norm,
      fillMean: splits.pixelMean,
      seed: config.seed,
      workers: opts.loaderWorkers,
    });
  } catch (e) {
    tricks.dispose();
    throw e;
  }
  if (loader.outShape.join('x') !== shape.join('x')) {
    tricks.dispose();
    await loader.close();
    throw new Error(`the augmentation pipeline makes ${loader.outShape.join('x')} images, the model takes ${shape.join('x')}`);
  }
  const emit = (events: readonly RunEventDraft[]) => {
    for (const e of events) sink.event({ ...e, time: Date.now() } as RunEvent);
  };

  try {
    for (let epoch = pos.epoch; epoch < config.epochs; epoch++) {
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      emit(await tricks.epochStart(epoch, pos.step, stepsPerEpoch));
      emit(scheduleEpochEvents(config, lr0, epoch, pos.step, stepsPerEpoch));
      // The data order of an epoch depends only on the run seed and the epoch index.
      const order = epochOrder(config.seed, epoch, splits.train);
      const batches = loader.epoch(epoch, order, B);
      loader.waitMs = 0;
      let lossSum = 0;
      let correct = 0;
      const stepPoints: MetricPoint[] = [];
      let lastFlush = performance.now();
      let lr = lr0;
      // On a GPU, one step in flight: step i's loss is read while step i + 1 runs. The read waits
      // for the queue, so reading right after submitting would leave the GPU idle while the host
      // prepares the next batch and records its dispatches. On the CPU backends the step has run by
      // the time trainStep returns: it is read at once, and a cancel stops after the step it saw.
      type InFlight = { loss: tf.Scalar; correct: tf.Scalar; n: number; lr: number; step: number; fe: number };
      let pending: InFlight | null = null;
      const settle = async (p: InFlight | null) => {
        if (!p) return;
        let lv: tf.TypedArray;
        let cv: tf.TypedArray;
        try {
          [lv, cv] = await Promise.all([p.loss.data(), p.correct.data()]);
        } finally {
          tf.dispose([p.loss, p.correct]);
        }
        const loss = lv[0]!;
        deviceCheck(`epoch ${epoch + 1}, step ${p.step}`);
        if (!Number.isFinite(loss)) {
          // the steps before the divergence reach the store: the run page draws the curve up to it
          if (stepPoints.length) sink.metrics(stepPoints.splice(0));
          throw new Error(`training diverged: train/loss is ${loss} at epoch ${epoch + 1}, step ${p.step} (try a lower optimizer.lr)`);
        }
        lossSum += loss * p.n;
        correct += cv[0]!;
        stepPoints.push(point('train/loss_step', loss, p.fe, p.step), point('lr_step', p.lr, p.fe, p.step));
        // Per-step points reach the store and live charts about once a second, in one transaction.
        if (performance.now() - lastFlush > FLUSH_MS) {
          sink.metrics(stepPoints.splice(0));
          lastFlush = performance.now();
        }
        sink.progress({ epoch, step: p.step, stepsPerEpoch, phase: 'train' });
      };
      try {
        for (let i = 0; i < stepsPerEpoch; i++) {
          emit(tricks.beforeStep(epoch, pos.step, stepsPerEpoch));
          emit(scheduleStepEvents(config, lr0, epoch, pos.step, stepsPerEpoch));
          if (await sink.shouldStop()) {
            const p = pending;
            pending = null;
            await settle(p);
            if (stepPoints.length) sink.metrics(stepPoints.splice(0)); // the curve shows where it stopped; a resume rewrites it
            throw new Cancelled();
          }
          const next = await batches.next();
          if (next.done) throw new Error(`the loader ended epoch ${epoch + 1} after ${i} of ${stepsPerEpoch} batches`);
          const b = next.value;
          lr = learningRate(config, lr0, pos.step, stepsPerEpoch);
          const [lossT, correctT] = trainStep(model, optimizer, b, shape, K, lr, pos.step, tricks.forStep(pos.step, b.n));
          tricks.afterStep(epoch, pos.step);
          pos.step++;
          const previous = pending;
          pending = { loss: lossT, correct: correctT, n: b.n, lr, step: pos.step, fe: epoch + (i + 1) / stepsPerEpoch };
          await settle(previous);
          if (!onGpu) {
            const now = pending;
            pending = null;
            await settle(now);
          }
        }
        const last = pending;
        pending = null;
        await settle(last);
      } finally {
        // A step whose loss was never read (an error above): its scalars are released.
        const p = pending as InFlight | null;
        if (p) tf.dispose([p.loss, p.correct]);
      }
      const trainTime = (performance.now() - t0) / 1000;
      const dataWait = loader.waitMs / 1000;
      sink.metrics(stepPoints.splice(0));
      sink.progress({ epoch, step: pos.step, stepsPerEpoch, phase: 'eval' });
      const val = splits.val.length ? await evaluate(model, splits.eval.val.set, shape, splits.norm, splits.eval.val.indices, K) : null;
      deviceCheck(`the validation of epoch ${epoch + 1}`);
      const epochTime = (performance.now() - t0) / 1000;
      // The trainer process's CPU time (user + system, every thread of the process: the loader's
      // workers, the wasm/tfjs-node thread pools) over the span of epochTime. The comparison sums
      // it as a run's CPU cost. On WebGPU (or CUDA) the device's own time is not in it: there it
      // measures only the host side (batch preparation, dispatch, reads).
      const cpu = process.cpuUsage(cpu0);
      const cpuTime = (cpu.user + cpu.system) / 1e6;
      const e = epoch + 1;
      const pts = [
        point('train/loss', lossSum / nTrain, e),
        point('train/acc', correct / nTrain, e),
        point('lr', lr, e),
        point('time/epoch_s', epochTime, e),
        point('time/cpu_s', cpuTime, e),
        point('throughput/img_s', nTrain / trainTime, e),
        // the training thread's wait for batches: near 0 when the loader keeps up
        point('time/data_wait_s', dataWait, e),
      ];
      if (val) pts.push(point('val/loss', val.loss, e), point('val/acc', val.acc, e));
      for (const [key, v] of await tricks.epochEnd(stepsPerEpoch, val ? val.acc : null)) pts.push(point(key, v, e));
      for (const p of pts) if (!isTrickDiagnostic(p.key)) final[p.key] = p.value;
      sink.metrics(pts);
      const improved = !val || pos.bestValAcc === null || val.acc > pos.bestValAcc;
      if (val && improved) {
        pos.bestValAcc = val.acc;
        pos.bestEpoch = e;
      }
      pos.epoch = e;
      await opts.epochEnd?.({ position: { ...pos }, stepsPerEpoch, val, improved });
    }
  } finally {
    tricks.dispose();
    await loader.close();
  }

  sink.progress({ epoch: config.epochs - 1, step: pos.step, stepsPerEpoch, phase: 'eval' });
  const test = await evaluateTest(model, splits.eval.test.set, shape, splits.norm, splits.eval.test.indices, K);
  deviceCheck('the test evaluation');
  const testPts = [point('test/loss', test.loss, config.epochs), point('test/acc', test.acc, config.epochs)];
  if (test.top5 !== null) testPts.push(point('test/top5', test.top5, config.epochs));
  for (const p of testPts) final[p.key] = p.value;
  sink.metrics(testPts);
  return { final, steps: pos.step, position: pos, test };
}
