// The tricks of one run as hooks of the training loop (../shared/ARCHITECTURE.md: "Tricks are
// hooks"): what happens at an epoch's start (RIFLE and RePr act, mixup turns off, step decay), before
// a step (the end of warmup), what each step's loss and update use (StepTricks), and what is logged
// at an epoch's end (gradient and weight norms, filter orthogonality). The loop calls these and
// knows no trick by name.
import * as tf from '@tensorflow/tfjs-core';
import type { RunEvent } from '../../shared/api';
import { baseLearningRate, type RunConfig } from '../../shared/config';
import type { SequentialModel } from '../models/model';
import type { Optimizer } from '../optim/optimizers';
import { learningRate } from '../optim/schedule';
import { drawMixup, mixupActive, type MixupDraw } from './mixup';
import { Repr, type TrickStateStore } from './repr';
import { readAll, readFloats } from '../tf/read';
import { layerNorms, Rifle } from './rifle';

/** The loss-level tricks of one step (null/absent = off). */
export interface StepTricks {
  labelSmoothing?: RunConfig['tricks']['labelSmoothing'];
  rdrop?: RunConfig['tricks']['rdrop'];
  /** This step's mixup draw, when mixup is on in this epoch. */
  mixup?: MixupDraw | null;
  /** Adds each layer's gradient L2 norm (in `layers` order) into `acc` (RIFLE's "deeper
   * backpropagation" curves), on the device: no read per step. */
  gradNorms?: { layers: readonly string[]; acc: tf.Variable };
  /** 0/1 masks multiplied into these params' gradients (RePr's pruned filters during S2). */
  gradMasks?: Map<string, tf.Tensor> | null;
  /** Knowledge distillation: the teacher (inference mode, on the same, possibly mixed, input). */
  distill?: { teacher: SequentialModel; temperature: number; mode: 'paper' | 'weighted'; weight: number } | null;
}

export interface TrickOptions {
  /** The epoch the loop starts at (> 0 after a resume). */
  firstEpoch: number;
  /** val/acc of the epoch before firstEpoch, for events of tricks acting between epochs. */
  startValAcc?: number | null;
  /** Values of the given params at epoch 0 (RIFLE's 'initial'); by default a snapshot taken now,
   * right only for a run that starts at epoch 0. */
  initialValues?: (names: readonly string[]) => Promise<Map<string, Float32Array>>;
  /** Where tricks keep state a resume needs (RePr's pruned filters); by default in memory. */
  trickState?: TrickStateStore;
  /** The distillation teacher, loaded by the caller from its checkpoint. */
  teacher?: SequentialModel;
}

type Event = Omit<RunEvent, 'time'>;

export class RunTricks {
  private readonly rifle: Rifle | null;
  private readonly repr: Repr | null;
  private readonly normLayers: string[];
  private readonly gradAcc: tf.Variable | null;
  private readonly distill: StepTricks['distill'];
  private lastValAcc: number | null;
  private mixing = false;
  readonly lr0: number;

  /** The tricks of a run, before its first step (RIFLE's 'initial' snapshots the weights here). */
  static async create(config: RunConfig, model: SequentialModel, optimizer: Optimizer, o: TrickOptions): Promise<RunTricks> {
    const t = config.tricks;
    let snapshot: Map<string, Float32Array> | null = null;
    if (t.rifle?.initializer === 'initial' && !o.initialValues) {
      if (o.firstEpoch > 0) throw new Error('RIFLE with initializer "initial" needs the epoch-0 values to continue a run');
      const targets = model.params.filter((p) => t.rifle!.layers.includes(p.layer));
      const values = await readAll(targets.map((p) => p.variable));
      snapshot = new Map(targets.map((p, i) => [p.name, values[i]!]));
    }
    return new RunTricks(config, model, optimizer, o, snapshot);
  }

  private constructor(
    private readonly config: RunConfig,
    private readonly model: SequentialModel,
    private readonly optimizer: Optimizer,
    private readonly o: TrickOptions,
    snapshot: Map<string, Float32Array> | null,
  ) {
    const t = config.tricks;
    this.lr0 = baseLearningRate(config);
    this.lastValAcc = o.startValAcc ?? null;
    const targets = (layers: readonly string[]) => model.params.filter((p) => layers.includes(p.layer));
    this.rifle = t.rifle
      ? new Rifle(t.rifle, config.epochs, model.params, config.seed, async () => snapshot ?? o.initialValues!(targets(t.rifle!.layers).map((p) => p.name)))
      : null;
    // With RIFLE, every layer's mean gradient norm per epoch, and the re-initialised layers' weight norms.
    this.normLayers = this.rifle ? [...new Set(model.params.map((p) => p.layer))] : [];
    this.gradAcc = this.rifle ? tf.variable(tf.zeros([this.normLayers.length]), false) : null;
    const memory = new Map<string, unknown>();
    const store: TrickStateStore = o.trickState ?? { load: (k) => memory.get(k) ?? null, save: (k, v) => memory.set(k, structuredClone(v)) };
    this.repr = t.repr ? new Repr(t.repr, config.epochs, model.params, config.seed, store) : null;
    if (t.distill && !o.teacher) throw new Error(`tricks.distill: the teacher (run ${t.distill.teacherRun}) was not loaded`);
    this.distill = t.distill ? { teacher: o.teacher!, temperature: t.distill.temperature, mode: t.distill.mode, weight: t.distill.weight } : null;
  }

  /** Before the first step of 0-based epoch `epoch` (= after epoch - 1 and its checkpoints). */
  async epochStart(epoch: number, step: number, stepsPerEpoch: number): Promise<Event[]> {
    const out: Event[] = [];
    const at = (kind: string, payload: Record<string, unknown>) => out.push({ kind, epoch, step, payload });
    if (this.rifle && epoch > 0) {
      // "At the end of epoch e": here, so the best checkpoint keeps the weights that earned its
      // val/acc and a resume redoes it exactly once.
      const r = await this.rifle.maybeReinit(epoch - 1, this.optimizer, this.lastValAcc);
      if (r) at('rifle.reinit', { ...r });
    }
    const pr = await this.repr?.startEpoch(epoch, this.optimizer, epoch === this.o.firstEpoch && this.o.firstEpoch > 0);
    if (pr) at(pr.kind, pr.payload);
    const { mixup } = this.config.tricks;
    this.mixing = mixupActive(this.config, epoch);
    if (mixup && !this.mixing && epoch === this.config.epochs - mixup.offLastEpochs) at('mixup.off', { epoch, offLastEpochs: mixup.offLastEpochs });
    const sched = this.config.schedule;
    if (sched.name === 'step' && sched.milestones.includes(epoch)) {
      at('lr.phase', { phase: 'step decay', milestone: epoch, lr: learningRate(this.config, this.lr0, step, stepsPerEpoch) });
    }
    return out;
  }

  /** Before global step `step` (0-based): the end of warmup. */
  beforeStep(epoch: number, step: number, stepsPerEpoch: number): Event[] {
    const sched = this.config.schedule;
    const warmupSteps = Math.round(sched.warmupEpochs * stepsPerEpoch);
    if (warmupSteps === 0 || step !== warmupSteps) return [];
    return [{ kind: 'lr.phase', epoch, step, payload: { phase: 'warmup end', next: sched.name, lr: learningRate(this.config, this.lr0, step, stepsPerEpoch) } }];
  }

  /** What step `step` (0-based) on a batch of n images uses. */
  forStep(step: number, n: number): StepTricks {
    const t = this.config.tricks;
    return {
      labelSmoothing: t.labelSmoothing,
      rdrop: t.rdrop,
      mixup: this.mixing ? drawMixup(this.config.seed, step, n, t.mixup!.alpha) : null,
      ...(this.gradAcc ? { gradNorms: { layers: this.normLayers, acc: this.gradAcc } } : {}),
      gradMasks: this.repr?.gradMasks() ?? null,
      distill: this.distill,
    };
  }

  /** Per-epoch trick metrics ([key, value]), read after the epoch's steps; remembers val/acc. */
  async epochEnd(stepsPerEpoch: number, valAcc: number | null): Promise<[string, number][]> {
    const out: [string, number][] = [];
    if (this.rifle && this.gradAcc) {
      const sums = await readFloats(this.gradAcc);
      this.normLayers.forEach((l, i) => out.push([`grad_norm/${l}`, sums[i]! / stepsPerEpoch]));
      tf.tidy(() => this.gradAcc!.assign(tf.zerosLike(this.gradAcc!)));
      for (const [l, v] of Object.entries(await layerNorms(this.model.params, this.rifle.cfg.layers))) out.push([`weight_norm/${l}`, v]);
    }
    if (this.repr) for (const [l, v] of Object.entries(await this.repr.orthogonality())) out.push([`orthogonality/${l}`, v]);
    this.lastValAcc = valAcc;
    return out;
  }

  dispose(): void {
    this.gradAcc?.dispose();
    this.repr?.dispose();
  }
}

/** Keys of the per-layer diagnostics above: curves, not a run's final figures. */
export const isTrickDiagnostic = (key: string) => /^(grad_norm|weight_norm|orthogonality)\//.test(key);
