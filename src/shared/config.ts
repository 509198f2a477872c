// The run-config schema: the single source of truth for the form, the CLI, the trainer and the store.
// A run is fully described by the validated JSON this schema produces.
import { z } from 'zod';
import { AugmentShapeError, augmentSchema, pipelineOutputShape, type AugmentConfig } from './augment';
import { BUILTIN_DATASETS, BUILTIN_FACTS, DATASET_NAME, type DatasetFacts } from './models/datasets';
import { traceModel } from './models/index';
import { tricksText } from './labels';
import { field, int } from './schema-meta';
import { TRICKS, TRICKS_OFF, tricksSchema } from './tricks/registry';
import type { ParamSpec } from './models/ops';

export const RESNETS = ['resnet20', 'resnet32', 'resnet56', 'resnet18', 'resnet34'] as const;
export const MODELS = ['cnn3', 'mlp', ...RESNETS, 'rir18'] as const;
/** Bag of Tricks' ResNet tweaks (src/shared/models/resnet.ts says what each changes). */
export const RESNET_VARIANTS = ['a', 'b', 'c', 'd'] as const;
export const RIR_SHORTCUTS = ['conv', 'parameterFree'] as const;
export const OPTIMIZERS = ['sgd', 'adam'] as const;
export const SCHEDULES = ['constant', 'step', 'cosine'] as const;
export const BACKENDS = ['auto', 'webgpu', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;


export const datasetSchema = z
  .object({
    /** A built-in dataset (BUILTIN_DATASETS), one found in the data dir or /usr/share/datasets
     * (by its folder name), or one imported under a name. */
    name: field(z.string().regex(DATASET_NAME, 'a dataset name: lower-case letters, digits, ".", "_" or "-"').default('synthetic'), {
      label: 'Dataset',
      kind: 'select',
      options: BUILTIN_DATASETS,
      hint: 'import or download more on the Datasets page',
      flag: 'dataset',
      help: `${BUILTIN_DATASETS.join(', ')}, or a dataset found or imported (npm run dataset -- list)`,
    }),
    /** CIFAR-100's labels: the 100 fine classes or the 20 coarse superclasses. */
    labels: field(z.enum(['fine', 'coarse']).default('fine'), {
      label: 'Labels',
      hint: 'CIFAR-100: 100 fine or 20 coarse classes',
      flag: 'labels',
      help: "CIFAR-100's 100 fine classes or its 20 coarse superclasses",
    }),
    /** Resize every image to imageSize x imageSize when loading (bilinear); null = as stored. The
     * dataset is held once at this size, as uint8. */
    imageSize: field(int(4).max(1024).nullable().default(null), {
      label: 'Image size',
      placeholder: 'as stored',
      hint: 'resize to N×N when loading',
      flag: 'image-size',
      help: 'resize every image to N x N when loading (bilinear); "null": as stored',
    }),
    /** Use only this many training images (a seeded subset); null = all. */
    trainSubset: field(int(1).nullable().default(null), {
      label: 'Train subset',
      hint: 'images; blank = all',
      flag: 'train-subset',
      help: 'use this many training images ("all" = every one)',
    }),
    /** Fraction of the (subset of the) training set held out for validation (a dataset with a
     * val/ folder of its own uses that instead). */
    valSplit: field(z.number().min(0).max(0.9).default(0.1), {
      label: 'Validation split',
      hint: 'fraction, 0–0.9',
      flag: 'val-split',
      help: 'fraction of the training images held out for validation',
    }),
    /** Fraction held out as the test set, for a dataset without one (a single image folder). */
    testSplit: field(z.number().min(0.01).max(0.9).default(0.2), {
      label: 'Test split',
      hint: 'fraction; only for a dataset without a test set',
      flag: 'test-split',
      help: 'fraction held out as the test set, for a dataset without one (a single image folder)',
    }),
    /** Seed of the train/val split and the subset: fixed apart from the run seed, so that runs
     * with different seeds are compared on the same validation images. */
    splitSeed: field(int(0).default(0), { label: 'Split seed', flag: 'split-seed', help: 'seed of the subset and validation split' }),
    /** Train and test on these classes only (labels renumbered 0..k-1 in this order), e.g. RIFLE's
     * "pre-train on half of the classes, fine-tune on the other half"; null = all. */
    classes: field(z.array(int(0)).min(2).nullable().default(null), {
      label: 'Classes',
      hint: 'only these class ids, e.g. 0,1,2,3,4; blank = all',
      flag: 'dataset-classes',
      help: 'train and test on these class ids only, e.g. 0,1,2,3,4 (relabelled 0..k-1); "all": every class',
    }),
    /** Inputs are standardised per channel: with the training split's mean and standard deviation
     * (computed once and cached), with ImageNet's (pre-trained-style pipelines), or not at all
     * (pixels / 255). */
    normalize: field(z.enum(['dataset', 'imagenet', 'none']).default('dataset'), {
      label: 'Normalise',
      hint: "dataset: the training split's mean/std",
      flag: 'normalize',
      help: "standardise inputs per channel with the training split's mean/std (dataset), ImageNet's, or not at all (pixels / 255)",
    }),
  })
  .strict();

/** datasetSchema with the checks that need the dataset's facts: coarse labels exist, the class
 * subset's ids are in range and listed once. A dataset these facts do not know skips them. */
export function datasetSchemaFor(facts: DatasetFacts) {
  return datasetSchema.superRefine((d, ctx) => datasetChecks(d, ctx, facts));
}

function datasetChecks(d: z.output<typeof datasetSchema>, ctx: z.RefinementCtx, facts: DatasetFacts): void {
  const info = facts.info(d.name);
  if (d.labels === 'coarse' && info && !info.coarseClasses) {
    ctx.addIssue({ code: 'custom', path: ['labels'], message: `${d.name} has no coarse labels (CIFAR-100 has)` });
  }
  if (!d.classes || !info) return; // an unknown name is refused where datasets are known (runs:start, the trainer)
  const n = d.labels === 'coarse' && info.coarseClasses ? info.coarseClasses : info.classes;
  d.classes.forEach((k, i) => {
    if (k >= n) ctx.addIssue({ code: 'custom', path: ['classes', i], message: `class ${k} does not exist: ${d.name} has classes 0..${n - 1}` });
    else if (d.classes!.indexOf(k) !== i) ctx.addIssue({ code: 'custom', path: ['classes', i], message: `class ${k} is listed twice` });
  });
}

export class UnknownDatasetError extends Error {
  constructor(readonly dataset: string) {
    super(`unknown dataset '${dataset}': not built in, not found in the data dir or /usr/share/datasets, not imported`);
    this.name = 'UnknownDatasetError';
  }
}

/** One stored image's shape and the class count of a run's data (after imageSize, labels and the
 * class subset), before augmentation. Throws UnknownDatasetError for a name the facts do not know. */
export function storedShape(d: Pick<DatasetConfig, 'name' | 'classes' | 'labels' | 'imageSize'>, facts: DatasetFacts): { shape: [number, number, number]; classes: number } {
  const info = facts.info(d.name);
  if (!info) throw new UnknownDatasetError(d.name);
  const [h, w, c] = info.shape;
  const shape: [number, number, number] = d.imageSize ? [d.imageSize, d.imageSize, c] : [h, w, c];
  const all = d.labels === 'coarse' && info.coarseClasses ? info.coarseClasses : info.classes;
  return { shape, classes: d.classes?.length ?? all };
}

/** The model's input shape and class count: the stored images after the augmentation pipeline
 * (a random resized crop to 32 of images stored at 40 trains a 32x32 model). */
export function dataShape(d: Pick<DatasetConfig, 'name' | 'classes' | 'labels' | 'imageSize'>, facts: DatasetFacts, augment: AugmentConfig = []): { shape: [number, number, number]; classes: number } {
  const s = storedShape(d, facts);
  return { shape: pipelineOutputShape(s.shape, augment), classes: s.classes };
}

/** dataShape, or null when the facts do not know the dataset (validation skips what needs it). */
export function knownShape(d: DatasetConfig, augment: AugmentConfig, facts: DatasetFacts): { shape: [number, number, number]; classes: number } | null {
  return facts.info(d.name) ? dataShape(d, facts, augment) : null;
}

/** The most training images a run of this dataset config can have, from what is known before the
 * data is read: the dataset's size (built-ins; inspected datasets), the subset, and the test and
 * validation splits taken as makeSplits (src/data/index.ts) takes them. `exact`: the
 * count itself (no class subset, whose size is not known here). Null when nothing bounds it. */
export function trainImagesBound(d: Pick<DatasetConfig, 'name' | 'trainSubset' | 'valSplit' | 'testSplit' | 'classes'>, facts: DatasetFacts): { images: number; exact: boolean } | null {
  const size = facts.trainSetSize(d.name);
  const info = facts.info(d.name);
  // Every step below is non-decreasing in the count it starts from, so a bound stays a bound.
  let n: number | null = size?.images ?? null;
  if (n !== null && info?.noTestSet) n -= Math.round(n * d.testSplit);
  if (d.trainSubset !== null) n = n === null ? d.trainSubset : Math.min(n, d.trainSubset);
  if (n === null) return null;
  // Without the size, whether the dataset has a validation set of its own is not known either.
  if (size && !size.ownVal) n -= Math.round(n * d.valSplit);
  return { images: n, exact: size !== null && d.classes === null };
}

/** Why a batch size does not fit a training set of `images` images (`exact`: that many; else at
 * most that many), or null. A batch larger than the training set is one short step per epoch,
 * and linearScaling would scale the LR by a batch that never exists. */
export function batchSizeProblem(batchSize: number, images: number, exact = true): string | null {
  if (batchSize <= images) return null;
  return `batch size ${batchSize} is larger than the training set (${exact ? '' : 'at most '}${images} image${images === 1 ? '' : 's'} after the subset and the validation split): use at most ${images}`;
}

/** Dropout rate before the classifier (every model has it: R-Drop needs it); 0 = none. */
const dropout = field(z.number().min(0).lt(1).default(0), { label: 'Dropout', hint: 'before the classifier, 0 = none', flag: 'dropout', help: 'dropout rate before the classifier' });

const cnn3Schema = z
  .object({
    name: z.literal('cnn3'),
    /** Filters per conv layer: the RePr paper's C^3(32) uses 32. */
    width: field(int(1).max(1024).default(32), { label: 'Width', hint: 'filters per conv layer', flag: 'width', help: 'filters per conv layer' }),
    /** conv -> BatchNorm -> ReLU in each of the three layers. */
    batchNorm: field(z.boolean().default(false), { label: 'BatchNorm', hint: 'conv → BN → ReLU', flag: 'batch-norm', help: 'conv -> BatchNorm -> ReLU' }),
    dropout,
  })
  .strict();

const mlpSchema = z
  .object({
    name: z.literal('mlp'),
    hidden: field(z.array(int(1).max(65536)).min(1).max(16).default([256, 128]), {
      label: 'Hidden layers',
      hint: 'units, comma separated',
      flag: 'hidden',
      help: 'hidden layer sizes, e.g. 256,128',
    }),
    dropout,
  })
  .strict();

const resnetSchema = z
  .object({
    name: z.enum(RESNETS),
    variant: field(z.enum(RESNET_VARIANTS).default('a'), {
      label: 'Variant',
      hint: 'c: 3-conv stem; d: c + pooled shortcut; b = a for basic blocks',
      flag: 'variant',
      help: 'Bag of Tricks tweaks (b: stride in the 3x3 conv; c: 3-conv stem; d: c + pooled shortcut)',
    }),
    /** gamma = 0 for the last BatchNorm of every residual block. */
    zeroGamma: field(z.boolean().default(false), {
      label: 'Zero-γ',
      hint: "each block's last BN starts at γ = 0",
      flag: 'zero-gamma',
      help: 'last BatchNorm of each block starts at gamma 0',
    }),
    dropout,
  })
  .strict();

const rirSchema = z
  .object({
    name: z.literal('rir18'),
    /** Channels of EACH stream (residual and transient) per stage. */
    channels: field(z.array(int(1).max(4096)).min(1).max(8).default([48, 96, 192]), {
      label: 'Channels',
      hint: 'per stream, per stage',
      flag: 'channels',
      help: 'channels of each stream (residual and transient) per stage, e.g. 48,96,192',
    }),
    /** RiR blocks (two generalized residual layers each) per stage. */
    blocks: field(z.array(int(1).max(64)).min(1).max(8).default([2, 3, 3]), {
      label: 'Blocks',
      hint: 'RiR blocks per stage',
      flag: 'blocks',
      help: 'RiR blocks per stage, one per channel width, e.g. 2,3,3',
    }),
    /** How shortcuts change shape: 1x1 conv, or stride-2 subsampling + zero channels. */
    shortcut: field(z.enum(RIR_SHORTCUTS).default('conv'), {
      label: 'Shortcut',
      hint: 'when the shape changes',
      flag: 'shortcut',
      help: 'shortcut where the shape changes: 1x1 conv, or stride-2 subsampling + zero channels',
    }),
    dropout,
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.blocks.length !== o.channels.length) {
      ctx.addIssue({ code: 'custom', path: ['blocks'], message: `needs one entry per stage: ${o.channels.length} channel widths, ${o.blocks.length} block counts` });
    }
    if (o.shortcut === 'parameterFree' && o.channels.some((c, i) => i > 0 && c < o.channels[i - 1]!)) {
      ctx.addIssue({ code: 'custom', path: ['channels'], message: 'a parameter-free shortcut cannot reduce channels: widths must not decrease' });
    }
  });

/** A section given without its kind (`--lr 0.1` alone, or a partial file) is of the default kind. */
function withDefaultName(name: string) {
  return (v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) && !('name' in v) ? { name, ...v } : v);
}

const modelUnion = z.discriminatedUnion('name', [cnn3Schema, mlpSchema, resnetSchema, rirSchema]);
export const modelSchema = field(z.preprocess(withDefaultName('cnn3'), modelUnion), { label: 'Model', flag: 'model', help: 'the network' });
/** A model section before defaults are filled in (`{name: 'resnet20'}`). */
export type ModelConfigInput = z.input<typeof modelUnion>;

/** Bag of Tricks (He et al. 2019) options every optimizer has. */
const optimizerTricks = {
  /** Weight decay on conv and dense kernels only; biases and BatchNorm gamma/beta get none. */
  noBiasDecay: field(z.boolean().default(false), {
    label: 'No bias decay',
    hint: 'decay kernels only, not biases or BN γ/β',
    flag: 'skip-bias-decay',
    help: 'no bias decay: weight decay on conv and dense kernels only, not on biases or BatchNorm gamma/beta',
  }),
  /** lr is the base LR for batch 256: the run uses lr * batchSize / 256. */
  linearScaling: field(z.boolean().default(false), {
    label: 'Linear LR scaling',
    hint: 'LR is for batch 256: × batch size / 256',
    flag: 'linear-scaling',
    help: 'lr is the base LR for batch 256: the run uses lr * batch-size / 256',
  }),
};

/** The learning rate: every optimizer's, with its own default. */
const learningRate = (d: number) => field(z.number().positive().default(d), { label: 'Learning rate', flag: 'lr', help: 'learning rate' });
const weightDecay = field(z.number().min(0).default(0), { label: 'Weight decay', flag: 'weight-decay', help: 'L2 weight decay' });

const sgdSchema = z
  .object({
    name: z.literal('sgd'),
    // 0.01 with momentum 0.9 is stable for the plain (no BatchNorm) networks; 0.05 can diverge.
    lr: learningRate(0.01),
    momentum: field(z.number().min(0).max(0.9999).default(0.9), { label: 'Momentum', flag: 'momentum', help: 'momentum' }),
    nesterov: field(z.boolean().default(false), { label: 'Nesterov', flag: 'nesterov', help: 'Nesterov momentum' }),
    weightDecay,
    ...optimizerTricks,
  })
  .strict()
  .refine((o) => !o.nesterov || o.momentum > 0, {
    message: 'nesterov needs momentum > 0',
    path: ['nesterov'],
  });

const adamSchema = z
  .object({
    name: z.literal('adam'),
    lr: learningRate(0.001),
    beta1: field(z.number().min(0).lt(1).default(0.9), { label: 'β1', flag: 'beta1', help: 'beta1' }),
    beta2: field(z.number().min(0).lt(1).default(0.999), { label: 'β2', flag: 'beta2', help: 'beta2' }),
    epsilon: field(z.number().positive().default(1e-8), { label: 'ε', flag: 'epsilon', help: 'epsilon' }),
    weightDecay,
    ...optimizerTricks,
  })
  .strict();

export const optimizerSchema = field(z.preprocess(withDefaultName('sgd'), z.discriminatedUnion('name', [sgdSchema, adamSchema])), {
  label: 'Optimizer',
  flag: 'optimizer',
  help: 'the optimizer',
});

export const scheduleSchema = z
  .object({
    name: field(z.enum(SCHEDULES).default('constant'), { label: 'LR schedule', flag: 'schedule', help: 'learning-rate schedule' }),
    /** Linear warmup from 0, per batch, over this many epochs (0 = none). */
    warmupEpochs: field(z.number().min(0).default(0), { label: 'Warmup epochs', hint: 'linear, 0 = none', flag: 'warmup-epochs', help: 'linear warmup epochs' }),
    /** step: divide the LR by 1/gamma at each of these epochs (0-based epoch index at which it applies). */
    milestones: field(z.array(int(1)).default([]), {
      label: 'Milestones',
      hint: 'epochs, comma separated',
      flag: 'milestones',
      help: 'step: epochs at which the LR is multiplied by gamma, e.g. 30,60',
    }),
    gamma: field(z.number().positive().max(1).default(0.1), { label: 'Gamma', hint: 'LR × gamma at each milestone', flag: 'gamma', help: 'step: LR factor at each milestone' }),
  })
  .strict();

// The tricks (`tricks.<name>`, null when off) come from their registry: each trick's file declares
// its options schema and its checks (src/shared/tricks/).
export { LABEL_SMOOTHING_CONVENTIONS } from './tricks/label-smoothing';
export { RIFLE_INITIALIZERS, rifleEpochs } from './tricks/rifle';
export { REPR_SCOPES, reprCalendar, reprLayers, type ReprConfig } from './tricks/repr';
export { DISTILL_MODES } from './tricks/distill';
export { RDROP_REDUCTIONS } from './tricks/rdrop';
export { TRICK_SCHEMAS, TRICK_NAMES, tricksSchema, defaultTrick, type TrickName, type TricksConfig } from './tricks/registry';

/** Start from another run's weights (fine-tuning): its best checkpoint, else its last. Every
 * param and buffer whose name and shape match is loaded, except layers in `exclude`; the
 * classifier head is re-created anyway when the class counts differ. */
export const initSchema = field(
  z
    .object({
      fromRun: field(int(1), {
        label: 'Fine-tune from',
        kind: 'numberOrBlank',
        flag: 'init-from',
        help: 'start from the weights of this completed run (fine-tune; its best checkpoint, else its last)',
      }),
      /** Layer-name prefixes whose weights are not loaded (`head`, `stage2`, `conv1/kernel`). */
      exclude: field(z.array(z.string().min(1)).default(['head']), {
        label: 'Layers not loaded',
        kind: 'list',
        flag: 'init-exclude',
        help: "fine-tune: layer-name prefixes not loaded (head, stage2, conv1/kernel; '' = load every layer)",
      }),
    })
    .strict(),
  {
    label: 'Fine-tune',
    noForm: 'on while "Fine-tune from" names a run: a blank source run is no fine-tuning',
    flag: null,
    noFlag: '--init-from RUN switches it on',
  },
);

/** The run config's fields and defaults. The checks across fields, some of which need the
 * dataset's facts (its classes, shape, size), are added per facts by runConfigSchemaFor:
 * parseRunConfig(input, facts) is how a config is validated. */
export const runConfigSchema = z
  .object({
    name: field(z.string().max(200).default(''), { label: 'Name', hint: 'optional', flag: 'name', help: 'run name shown in the app' }),
    // Each section's defaults are its fields' own: `{}` parsed.
    dataset: datasetSchema.prefault({}),
    /** Training-time augmentation, applied in order to each image (seeded by run seed, epoch and
     * position, so matched pairs and resumed runs see the same images). Mixup is a trick. */
    augment: augmentSchema,
    model: modelSchema.prefault({}),
    optimizer: optimizerSchema.prefault({}),
    schedule: scheduleSchema.prefault({}),
    epochs: field(int(1).max(100000).default(10), { label: 'Epochs', flag: 'epochs', help: 'epochs' }),
    batchSize: field(int(1).max(65536).default(64), { label: 'Batch size', flag: 'batch-size', help: 'batch size' }),
    seed: field(int(0).max(2 ** 31 - 1).default(1), { label: 'Seed', hint: 'weights init and batch order', flag: 'seed', help: 'run seed: initial weights and data order' }),
    backend: field(z.enum(BACKENDS).default('auto'), { label: 'Backend', flag: 'backend', help: 'where it trains' }),
    init: initSchema.nullable().default(null),
    tricks: tricksSchema.prefault({}),
  })
  .strict();

const schemasByFacts = new WeakMap<DatasetFacts, ReturnType<typeof buildRunConfigSchema>>();

function buildRunConfigSchema(facts: DatasetFacts) {
  return runConfigSchema
    .extend({ dataset: runConfigSchema.shape.dataset.superRefine((d, ctx) => datasetChecks(d, ctx, facts)) })
    .superRefine((c, ctx) => runChecks(c, ctx, facts));
}

/** runConfigSchema with every check, against these dataset facts (built once per facts object). */
export function runConfigSchemaFor(facts: DatasetFacts): ReturnType<typeof buildRunConfigSchema> {
  let schema = schemasByFacts.get(facts);
  if (!schema) schemasByFacts.set(facts, (schema = buildRunConfigSchema(facts)));
  return schema;
}

/** The checks across a config's fields; those needing the dataset's shape or size are skipped
 * for a dataset the facts do not know (see parseRunConfig). */
function runChecks(c: z.output<typeof runConfigSchema>, ctx: z.RefinementCtx, facts: DatasetFacts): void {
  const bound = trainImagesBound(c.dataset, facts);
  const batch = bound && bound.images >= 1 ? batchSizeProblem(c.batchSize, bound.images, bound.exact) : null; // none left: makeSplits says so
  if (batch) ctx.addIssue({ code: 'custom', path: ['batchSize'], message: batch });
  let shapeKnown = true;
  if (facts.info(c.dataset.name)) {
    try {
      pipelineOutputShape(storedShape(c.dataset, facts).shape, c.augment);
    } catch (e) {
      if (!(e instanceof AugmentShapeError)) throw e;
      ctx.addIssue({ code: 'custom', path: ['augment', ...e.path], message: e.message.replace(/^augment\.[^:]*: /, '') });
      shapeKnown = false; // the model's input shape is unknown: the checks that need it are skipped
    }
  }
  trickProblems(c, shapeKnown ? knownShape(c.dataset, c.augment, facts) : null, ctx);
  if (!shapeKnown) return;
  if (c.schedule.warmupEpochs >= c.epochs && c.schedule.warmupEpochs > 0) {
    ctx.addIssue({ code: 'custom', path: ['schedule', 'warmupEpochs'], message: `must be less than epochs (${c.epochs})` });
  }
  for (const m of c.schedule.milestones) {
    if (m >= c.epochs) {
      ctx.addIssue({ code: 'custom', path: ['schedule', 'milestones'], message: `milestone ${m} is not below epochs (${c.epochs})` });
    }
  }
}

/** Each trick that is on checks itself against the model and the data (`input`: the model's input
 * shape and class count, null when the dataset is unknown here), in registry order. */
function trickProblems(c: { model: z.output<typeof modelUnion>; dataset: DatasetConfig; augment: AugmentConfig; epochs: number; tricks: z.output<typeof tricksSchema> }, input: { shape: [number, number, number]; classes: number } | null, ctx: z.RefinementCtx): void {
  let traced: readonly ParamSpec[] | null | undefined;
  const trace = () => {
    if (traced === undefined) {
      try {
        traced = input ? traceModel(c.model, input.shape, input.classes).paramSpecs : null;
      } catch {
        traced = null; // a model the tracer refuses has its own error
      }
    }
    return traced;
  };
  for (const t of TRICKS) {
    const options = (c.tricks as Record<string, unknown>)[t.name];
    if (options === null || options === undefined || !t.validate) continue;
    (t.validate as (o: unknown, v: Parameters<NonNullable<typeof t.validate>>[1]) => void)(options, {
      config: c,
      input,
      trace,
      issue: (path, message) => ctx.addIssue({ code: 'custom', path: ['tricks', t.name, ...path], message }),
    });
  }
}

export type RunConfig = z.output<typeof runConfigSchema>;
export type RunConfigInput = z.input<typeof runConfigSchema>;
export type ModelConfig = RunConfig['model'];
export type OptimizerConfig = RunConfig['optimizer'];
export type BackendName = RunConfig['backend'];
export type InitConfig = NonNullable<RunConfig['init']>;
export type DatasetConfig = z.output<typeof datasetSchema>;

/** One problem with a config: the dotted path of the field and what is wrong with it. */
export interface FieldError {
  field: string;
  message: string;
}

export type ParseResult = { ok: true; config: RunConfig } | { ok: false; errors: FieldError[] };

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : String(v);
}

function issueMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`}, got ${describe(issue.input)}`;
    case 'invalid_union': {
      // A discriminated union (model, optimizer) whose name is unknown: list what is accepted.
      const d = issue as { note?: string; options?: unknown[]; discriminator?: string };
      if (d.note === 'No matching discriminator' && d.discriminator) {
        const given = (issue.input as Record<string, unknown> | undefined)?.[d.discriminator];
        return `unknown ${String(issue.path[0] ?? 'value')} ${describe(given)}; expected one of ${(d.options ?? []).join(', ')}`;
      }
      return issue.message;
    }
    case 'invalid_value':
      return `got ${describe(issue.input)}, expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return `must be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}${issue.origin === 'array' ? ' items' : ''}, got ${describe(issue.input)}`;
    case 'too_big':
      return `must be ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}${issue.origin === 'array' ? ' items' : ''}, got ${describe(issue.input)}`;
    case 'unrecognized_keys':
      // Tricks that only some models have: say which trick and why, not just "unknown option".
      if (issue.path.join('.') === 'model' && issue.keys.includes('zeroGamma')) {
        return `zero-gamma (model.zeroGamma) needs residual blocks ending in BatchNorm: only the ResNets (${RESNETS.join(', ')}) have them`;
      }
      return `unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    default:
      return issue.message;
  }
}

/** The learning rate a run starts from: optimizer.lr, scaled by batchSize / 256 with linearScaling. */
export function baseLearningRate(c: Pick<RunConfig, 'optimizer' | 'batchSize'>): number {
  return c.optimizer.linearScaling ? (c.optimizer.lr * c.batchSize) / 256 : c.optimizer.lr;
}

/** Validate any input (form, CLI, file, store) into a complete config with defaults filled in,
 * against what the caller knows of the datasets (`facts`: BUILTIN_FACTS where it knows only the
 * built-ins). For a dataset the facts do not know, the checks that need its facts are skipped,
 * and only those: coarse labels exist (dataset.labels), the class ids are in range
 * (dataset.classes), the batch fits the training set (batchSize; a trainSubset still bounds it),
 * the augmentation fits the images (augment), and, needing the model's input shape, RIFLE's
 * layers and calendar (tricks.rifle) and RePr's conv layers and calendar (tricks.repr). Whether
 * the dataset exists is not this function's to say: runs:start (the dataset service) and the
 * trainer (locating it) refuse an unknown name, and check again with its facts. */
export function parseRunConfig(input: unknown, facts: DatasetFacts): ParseResult {
  // Before anything walks the input recursively (zod, structuredClone, flattenConfig).
  const deep = nestingProblem(input);
  if (deep) return { ok: false, errors: [deep] };
  const r = runConfigSchemaFor(facts).safeParse(input, { reportInput: true });
  if (r.success) return { ok: true, config: r.data };
  const errors: FieldError[] = r.error.issues.map((issue) => {
    let field = issue.path.map(String).join('.');
    // An unknown top-level key is reported at the root: name the key itself.
    if (issue.code === 'unrecognized_keys' && issue.path.length === 0) field = issue.keys[0] ?? '';
    if (issue.code === 'unrecognized_keys' && field === 'model' && issue.keys.includes('zeroGamma')) field = 'model.zeroGamma';
    return { field: field || '(config)', message: issueMessage(issue) };
  });
  return { ok: false, errors };
}

export function formatErrors(errors: FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('\n');
}

export class ConfigError extends Error {
  constructor(public readonly errors: FieldError[]) {
    super(formatErrors(errors));
    this.name = 'ConfigError';
  }
}

export function mustParseRunConfig(input: unknown, facts: DatasetFacts): RunConfig {
  const r = parseRunConfig(input, facts);
  if (!r.ok) throw new ConfigError(r.errors);
  return r.config;
}

export function defaultRunConfig(): RunConfig {
  return mustParseRunConfig({}, BUILTIN_FACTS); // the defaults name a built-in dataset
}

/** Defaults of each model's and optimizer's options, for the form when the user switches kind. */
export function defaultModel(name: (typeof MODELS)[number]): ModelConfig {
  return modelSchema.parse({ name });
}
export function defaultOptimizer(name: (typeof OPTIMIZERS)[number]): OptimizerConfig {
  return optimizerSchema.parse({ name });
}
/** Flatten a config to dotted keys (`optimizer.lr`), for tables, CSV columns and diffs. */
export function flattenConfig(obj: unknown, prefix = '', out: Record<string, string | number | boolean | null> = {}) {
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
    }
  } else if (Array.isArray(obj)) {
    out[prefix] = JSON.stringify(obj);
  } else {
    out[prefix] = obj as string | number | boolean | null;
  }
  return out;
}

/** Path segments that would reach an object's prototype (or its constructor's) instead of a
 * field: `__proto__.x` set through a plain assignment is `Object.prototype.x`, after which every
 * object has an `x` and every strict schema refuses it. */
const UNSAFE_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** A path or key as shown in an error: at most 80 characters. */
function shownPath(p: string): string {
  return JSON.stringify(p.length > 80 ? `${p.slice(0, 80)}…` : p);
}

/** Why a dotted path may not be set (a segment such as `__proto__`), or null. */
export function unsafePathProblem(path: string): string | null {
  const bad = path.split('.').find((p) => UNSAFE_SEGMENTS.has(p));
  return bad === undefined ? null : `${shownPath(path)} is not a config path: "${bad}" is not allowed in a path (it would reach the prototype of every object)`;
}

export class UnsafePathError extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
    this.name = 'UnsafePathError';
  }
}

const isPlainRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Set a dotted path in a plain object, creating objects on the way (for `--set a.b=c` and form
 * fields). Only own properties are read and written: a path never walks into a prototype, and a
 * path with a `__proto__`, `constructor` or `prototype` segment throws UnsafePathError before
 * anything is written. */
export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const problem = unsafePathProblem(path);
  if (problem) throw new UnsafePathError(path, problem);
  const parts = path.split('.');
  const own = (o: Record<string, unknown>, k: string, v: unknown) => Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  let cur: Record<string, unknown> = obj;
  for (const p of parts.slice(0, -1)) {
    const next = Object.hasOwn(cur, p) ? cur[p] : undefined;
    if (isPlainRecord(next)) {
      cur = next;
    } else {
      const fresh: Record<string, unknown> = {};
      own(cur, p, fresh);
      cur = fresh;
    }
  }
  own(cur, parts[parts.length - 1]!, value);
}

/** How deep a run config, experiment file or arm value may nest objects and lists. Real configs
 * nest 4 levels; far deeper input only serves to overflow the stack of whatever walks it
 * recursively (structuredClone, JSON.stringify, flattenConfig). */
export const MAX_CONFIG_DEPTH = 32;

/** Where `value` nests objects and lists more than `limit` levels deep (the value itself is
 * level 1), as a field error naming the path to the first container past the limit; null when it
 * does not. Iterative, so that it cannot overflow the stack itself. `prefix`: the field path of
 * `value` itself. */
export function nestingProblem(value: unknown, prefix = '', limit = MAX_CONFIG_DEPTH): FieldError | null {
  const stack: { v: unknown; depth: number; path: readonly string[] }[] = [{ v: value, depth: 1, path: [] }];
  while (stack.length) {
    const { v, depth, path } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > limit) {
      const shown = path.map((k) => (k.length > 40 ? `${k.slice(0, 40)}…` : k));
      const field = [prefix, ...shown].filter(Boolean).join('.') || '(config)';
      return { field, message: `nested more than ${limit} levels deep (objects and lists inside each other); a config nests a few levels at most` };
    }
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const child = (v as Record<string, unknown>)[keys[i]!];
      if (child !== null && typeof child === 'object') stack.push({ v: child, depth: depth + 1, path: [...path, keys[i]!] });
    }
  }
  return null;
}

/** A short human label for a run, when the user gave no name: model, dataset, optimizer and
 * LR, the tricks it uses (labels.ts; the model's own are in describeModel), and the seed last —
 * `cnn3(32) synthetic sgd lr 0.01 · label smoothing ε=0.1 + mixup α=0.2 · seed 1`. */
export function describeConfig(c: RunConfig): string {
  const tricks = tricksText(c, { model: false });
  return `${describeModel(c.model)} ${c.dataset.name} ${c.optimizer.name} lr ${c.optimizer.lr}${tricks ? ` · ${tricks}` : ''} · seed ${c.seed}`;
}

/** describeConfig as it was before the tricks were in it (`... lr=0.01 seed=1`): the names of runs
 * stored then, so that they are still known for generated names. */
export function legacyDescribeConfig(c: RunConfig): string {
  return `${describeModel(c.model)} ${c.dataset.name} ${c.optimizer.name} lr=${c.optimizer.lr} seed=${c.seed}`;
}

/** A model in a few characters: `cnn3(32)`, `resnet20-d zero-gamma`, `rir18(48-96-192 x 2-3-3)`. */
export function describeModel(m: ModelConfig): string {
  const extras: string[] = [];
  let base: string;
  switch (m.name) {
    case 'cnn3':
      base = `cnn3(${m.width}${m.batchNorm ? ', bn' : ''})`;
      break;
    case 'mlp':
      base = `mlp(${m.hidden.join('-')})`;
      break;
    case 'rir18':
      base = `rir18(${m.channels.join('-')} x ${m.blocks.join('-')})`;
      if (m.shortcut !== 'conv') extras.push(m.shortcut);
      break;
    default:
      base = m.variant === 'a' ? m.name : `${m.name}-${m.variant}`;
      if (m.zeroGamma) extras.push('zero-gamma');
  }
  if (m.dropout > 0) extras.push(`dropout=${m.dropout}`);
  return [base, ...extras].join(' ');
}
