// What a trick is (../ARCHITECTURE.md: "Tricks are hooks, one file each"). A trick is one file in
// this folder that declares, as data the whole app reads:
// - `schema`: its options (zod, each with `field()` metadata: form label and hint, CLI flag), and
//   `toggle`: the metadata of its on/off switch (`tricks.<name>`, null when off);
// - `validate`: its checks against the model trace and the dataset (given explicitly, never looked up);
// - `events`: the typed events it records, each with its payload schema and how it is drawn as a
//   chart marker; `metrics`: its per-layer diagnostics (MetricSpec);
// - `title` and `label`: what run names and arm names call it;
// - `create`: its run-time hooks (epoch start, before step, targets, batch, forward passes, loss,
//   gradients, after step, epoch metrics, dispose), which the training loop composes by role
//   without knowing which trick is which (timm's mixup_fn(input, target) / loss_fn(output, target)).
//
// Why tfjs comes through the hook context: the renderer imports these files (labels, form, event
// markers) and must not bundle TensorFlow.js. So a trick file imports tfjs only as a type
// (`import type * as TF`) and uses `env.tf`, the trainer's tfjs, handed to `create`; likewise the
// seeded random streams, a Beta sampler and tensor reads. Heavy pure math stays in helper modules (repr-math.ts,
// loss-ops.ts, which takes tf as an argument).
import type * as TF from '@tensorflow/tfjs-core';
import type { z } from 'zod';
import type { CheckpointKind } from '../api';
import type { MetricSpec } from '../metrics';
import type { FieldMeta } from '../schema-meta';
import type { ParamRole, ParamSpec } from '../models/ops';

// What the tricks see of the trainer's model and optimizer (src/trainer/models, optim/optimizers.ts
// implement them): declared here so that these files import nothing of the trainer.

/** A trainable parameter: `layer/role` named, e.g. `stage2.block0.conv1/kernel`, `head/bias`. */
export interface Param {
  name: string;
  layer: string;
  role: ParamRole;
  variable: TF.Variable;
  fanIn: number;
  fanOut: number;
}

export interface TrickModel {
  readonly params: readonly Param[];
  apply(x: TF.Tensor, ctx: { training: boolean; step: number }): TF.Tensor2D;
}

export interface TrickOptimizer {
  /** Drop these params' optimizer state (momentum, Adam moments). */
  resetParams(names: readonly string[]): void;
  /** Multiply a param's optimizer state by a 0/1 mask. */
  maskState(name: string, mask: TF.Tensor): void;
}

/** A seeded random stream (the trainer's rng.ts). */
export interface Rng {
  next(): number;
  int(n: number): number;
  uniform(lo: number, hi: number): number;
  normal(): number;
}

/** What the trainer lends a trick at run time (see the header: tfjs stays out of these imports). */
export interface TrickEnv {
  tf: typeof TF;
  /** The run's random stream `stream` (makeRng(config.seed, stream)): draws depend only on (seed, stream). */
  rng(stream: string): Rng;
  /** Fisher–Yates shuffle of 0..n-1 with `rng`. */
  permutation(rng: Rng, n: number): Int32Array;
  /** One draw from Beta(a, b) using `rng` (@stdlib's sampler; kept out of these files because it is
   * large for the renderer's bundle). */
  beta(rng: Rng, a: number, b: number): number;
  /** Copies of float32 tensors' values, read in parallel (safe to modify). */
  read(ts: readonly TF.Tensor[]): Promise<Float32Array[]>;
}

/** Where tricks keep state a resume needs (RePr's pruned filters); the run folder in a real run. */
export interface TrickStateStore {
  load(key: string): unknown;
  save(key: string, value: unknown): void;
}

/** How an event kind is drawn on the curves: a vertical line with a short label; details on hover. */
export interface MarkerSpec<P> {
  label: string;
  color: string;
  /** Lines shown while the pointer is on the line; `f` formats numbers as the app does. */
  detail(p: P, f: MarkerFormat): string[];
}
export interface MarkerFormat {
  num(v: number, digits?: number): string;
  pct(v: number): string;
}

/** One event kind: its payload's schema, and its marker (none: listed, not drawn). */
export interface EventSpec<P = unknown> {
  payload: z.ZodType<P>;
  marker?: MarkerSpec<P>;
}
export type EventSpecs = Record<string, EventSpec<any>>;
export type PayloadOf<E extends EventSpec<any>> = z.output<E['payload']>;

/** Declares an event kind: its payload's schema and (optionally) its marker, typed by the schema. */
export function defineEvent<S extends z.ZodType>(payload: S, marker?: MarkerSpec<z.output<S>>): EventSpec<z.output<S>> & { payload: S } {
  return (marker ? { payload, marker } : { payload }) as EventSpec<z.output<S>> & { payload: S };
}

/** An event as a trick returns it: the loop adds epoch, step and time. */
export type TrickEventOf<Ev extends EventSpecs> = { [K in keyof Ev & string]: { kind: K; payload: PayloadOf<Ev[K]> } }[keyof Ev & string];

/** What validation knows of the run: the config, the model's input and a trace of its params. */
export interface ValidateContext {
  /** The parts of the run config the checks read (the trick's own options come separately). */
  config: { model: { name: string; dropout: number }; epochs: number; tricks: { readonly [name: string]: unknown } };
  /** The model's input shape (after augmentation) and class count; null when the dataset is unknown. */
  input: { shape: readonly [number, number, number]; classes: number } | null;
  /** The model's parameters as traced for that input; null when the input is unknown or the tracer refuses the model (which has its own error). */
  trace(): readonly ParamSpec[] | null;
  /** Report a problem at `path` below `tricks.<name>` ([] = the trick itself). */
  issue(path: readonly (string | number)[], message: string): void;
}

/** What a trick's run-time hooks are built from. */
export interface TrickSetup<O> {
  options: O;
  /** The run config's parts the tricks read (their own options come as `options`). */
  config: { seed: number; epochs: number };
  model: TrickModel;
  optimizer: TrickOptimizer;
  env: TrickEnv;
  /** The epoch the loop starts at (> 0 after a resume). */
  firstEpoch: number;
  /** Values of the given params at epoch 0; undefined: only a run that starts at epoch 0 can take a snapshot. */
  initialValues?: (names: readonly string[]) => Promise<Map<string, Float32Array>>;
  trickState: TrickStateStore;
  /** The models of the other runs the trick declares (`sourceRuns`), by field: each loaded by the
   * trainer from that run's best (else last) checkpoint, in inference mode, disposed after the run. */
  sources: Readonly<Record<string, SourceModel>>;
}

/** Another run whose weights a trick uses, as the trick declares it from its options. */
export interface SourceRun {
  /** The option that names the run, relative to the trick's options (`teacherRun`): errors are
   * reported at `tricks.<name>.<field>`, and the model comes to `create` as `sources[field]`. */
  field: string;
  runId: number;
  /** What the run is to this one, for messages ("teacher run 3 does not exist"). */
  role: string;
}

/** A source run's model as the trainer loaded it for a trick. */
export interface SourceModel {
  /** Its model with the checkpoint's weights; `apply` always runs in inference mode. */
  model: TrickModel;
  runId: number;
  /** The checkpoint loaded: the run's best, else its last. */
  checkpoint: CheckpointKind;
  /** Its model's architecture name (`resnet20`) and parameter count. */
  modelName: string;
  params: number;
}

export interface EpochStartContext {
  /** 0-based: the epoch about to start (= after epoch - 1 and its checkpoints). */
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  /** val/acc of the epoch before (null: none, or no validation split). */
  valAccBefore: number | null;
  /** This is the first epoch of a resumed run. */
  resumed: boolean;
}

/** One step's batch inside the step's tidy: inputs and targets (probabilities [B, K]; null on the
 * plain path, where the loss is the integer-label cross entropy). */
export interface StepBatch {
  x: TF.Tensor;
  targets: TF.Tensor2D | null;
}

/**
 * The hooks of one training step, by role, in the order the loop calls them (every one optional):
 * targets (one-hot -> e.g. smoothed), batch (inputs and targets together, e.g. mixed), outsideTape
 * (work on the final inputs without gradients, e.g. a teacher's logits), forward (the passes the
 * loss sees), loss (replaces the cross entropy of the first pass), wrapLoss (adds to a loss),
 * gradients (transform them, e.g. masks), observeGradients (read the final ones, e.g. norms). Tricks
 * of the same role run in registry order; `forward` and `loss` may each come from one trick only.
 */
export interface StepHooks {
  /** The loss is computed against probability targets (one-hot if no trick changes them). */
  softTargets?: boolean;
  targets?(t: TF.Tensor2D, numClasses: number): TF.Tensor2D;
  batch?(b: StepBatch): StepBatch;
  outsideTape?(x: TF.Tensor): void;
  forward?(x: TF.Tensor, apply: (x: TF.Tensor) => TF.Tensor2D): TF.Tensor2D[];
  loss?(passes: readonly TF.Tensor2D[], targets: TF.Tensor2D): TF.Scalar;
  wrapLoss?(loss: TF.Scalar, passes: readonly TF.Tensor2D[]): TF.Scalar;
  gradients?(grads: Record<string, TF.Tensor>, params: readonly Param[]): Record<string, TF.Tensor>;
  observeGradients?(grads: Readonly<Record<string, TF.Tensor>>, params: readonly Param[]): void;
}

/** A trick's run-time part for one run. Events returned are stamped with epoch, step and time. */
export interface TrickRun<Ev extends EventSpecs = EventSpecs> {
  epochStart?(e: EpochStartContext): Promise<TrickEventOf<Ev>[]> | TrickEventOf<Ev>[];
  beforeStep?(e: { epoch: number; step: number; stepsPerEpoch: number }): TrickEventOf<Ev>[];
  /** Hooks for global step `step` (0-based) on a batch of n images; null: none this step. */
  step?(step: number, n: number): StepHooks | null;
  afterStep?(e: { epoch: number; step: number }): void;
  /** Per-epoch metrics ([key, value]), read after the epoch's steps. */
  epochMetrics?(e: { stepsPerEpoch: number }): Promise<[string, number][]>;
  dispose?(): void;
}

/** How a trick's label reads: "<title> <main> (<extras>)". `differs(k)`: option k is not its default. */
export interface LabelParts {
  main?: string;
  extras?: string[];
}

export interface Trick<N extends string = string, S extends z.ZodType = z.ZodType, Ev extends EventSpecs = EventSpecs> {
  /** The key under `tricks.` in the config (part of the file format and the CLI: never rename). */
  name: N;
  /** What the user calls it ("label smoothing", "RIFLE"). */
  title: string;
  /** The paper it implements, as the file's header says. */
  paper: string;
  schema: S;
  /** Metadata of the on/off switch (`tricks.<name>`). */
  toggle: FieldMeta;
  /** Options with defaults for the form when it is switched on (default: schema.parse({})). */
  formDefaults?(): Partial<z.output<S>>;
  label(o: z.output<S>, differs: (key: keyof z.output<S> & string) => boolean): LabelParts;
  validate?(o: z.output<S>, ctx: ValidateContext): void;
  /** The other runs whose weights it uses (distillation's teacher): before a run exists each must
   * be a completed run with a readable checkpoint whose model takes this run's input and classes
   * (src/store/init-plan.ts sourceRunProblem); the trainer loads them for `create`. */
  sourceRuns?(o: z.output<S>): SourceRun[];
  events: Ev;
  metrics: readonly MetricSpec[];
  create?(setup: TrickSetup<z.output<S>>): Promise<TrickRun<Ev>> | TrickRun<Ev>;
}

/** Any trick, whatever its options and events (for code that walks a registry). */
export type AnyTrick = Trick<string, any, any>;

/** Declares a trick with its types inferred (`export const mixup = defineTrick({...})`). */
export function defineTrick<N extends string, S extends z.ZodType, Ev extends EventSpecs>(t: Trick<N, S, Ev>): Trick<N, S, Ev> {
  return t;
}
