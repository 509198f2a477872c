// The new-run form as data: which inputs exist (by dotted config path), how their text becomes
// config input, and which input a schema error belongs to.
import {
  BACKENDS,
  LABEL_SMOOTHING_CONVENTIONS,
  MODELS,
  OPTIMIZERS,
  RDROP_REDUCTIONS,
  RESNET_VARIANTS,
  DISTILL_MODES,
  REPR_SCOPES,
  RIFLE_INITIALIZERS,
  RIR_SHORTCUTS,
  SCHEDULES,
  TRICK_NAMES,
  datasetSchema,
  defaultTrick,
  flattenConfig,
  reprCalendar,
  TRICK_SCHEMAS,
  setPath,
} from '../../../shared/config';
import { describeAugmentError } from '../../../shared/augment';
import { datasetInfo, trainSetSize } from '../../../shared/models/datasets';
import { jsonProblemText } from './jsonError';
import type { TrickName } from '../../../shared/config';
import { BUILTIN_DATASETS } from '../../../shared/models/datasets';
import type { FieldError, RunConfig } from '../../../shared/config';

export type FieldKind = 'text' | 'number' | 'numberOrBlank' | 'list' | 'listOrBlank' | 'bool' | 'select' | 'json';

export interface FieldSpec {
  path: string;
  label: string;
  kind: FieldKind;
  options?: readonly string[];
  hint?: string;
  placeholder?: string;
}

/** Form state: dotted config path -> input text (or checkbox state). */
export type FormValues = Record<string, string | boolean>;

export type ModelName = (typeof MODELS)[number];
export type OptimizerName = (typeof OPTIMIZERS)[number];

export const GENERAL_FIELDS: FieldSpec[] = [
  { path: 'name', label: 'Name', kind: 'text', hint: 'optional' },
  { path: 'epochs', label: 'Epochs', kind: 'number' },
  { path: 'batchSize', label: 'Batch size', kind: 'number' },
  { path: 'seed', label: 'Seed', kind: 'number', hint: 'weights init and batch order' },
  { path: 'backend', label: 'Backend', kind: 'select', options: BACKENDS },
];

/** The datasets a run can use now (built in, found, imported, downloaded): the Datasets page's list. */
export function datasetFields(names: readonly string[]): FieldSpec[] {
  return [{ ...DATASET_FIELDS[0]!, options: names }, ...DATASET_FIELDS.slice(1)];
}

export const DATASET_FIELDS: FieldSpec[] = [
  { path: 'dataset.name', label: 'Dataset', kind: 'select', options: BUILTIN_DATASETS, hint: 'import or download more on the Datasets page' },
  { path: 'dataset.imageSize', label: 'Image size', kind: 'numberOrBlank', placeholder: 'as stored', hint: 'resize to N×N when loading' },
  { path: 'dataset.labels', label: 'Labels', kind: 'select', options: ['fine', 'coarse'], hint: 'CIFAR-100: 100 fine or 20 coarse classes' },
  { path: 'dataset.normalize', label: 'Normalise', kind: 'select', options: ['dataset', 'imagenet', 'none'], hint: "dataset: the training split's mean/std" },
  { path: 'dataset.trainSubset', label: 'Train subset', kind: 'numberOrBlank', hint: 'images; blank = all' },
  { path: 'dataset.valSplit', label: 'Validation split', kind: 'number', hint: 'fraction, 0–0.9' },
  { path: 'dataset.splitSeed', label: 'Split seed', kind: 'number' },
  { path: 'dataset.classes', label: 'Classes', kind: 'listOrBlank', hint: 'only these class ids, e.g. 0,1,2,3,4; blank = all' },
  { path: 'dataset.testSplit', label: 'Test split', kind: 'number', hint: 'fraction; only for a dataset without a test set' },
  {
    path: 'augment',
    label: 'Augmentation',
    kind: 'json',
    hint: 'steps in order, e.g. [{"name":"randomCrop","padding":4},{"name":"hflip"}]; try pipelines on the dataset page',
  },
];

export const MODEL_NAME_FIELD: FieldSpec = { path: 'model.name', label: 'Model', kind: 'select', options: MODELS };
const DROPOUT_FIELD: FieldSpec = { path: 'model.dropout', label: 'Dropout', kind: 'number', hint: 'before the classifier, 0 = none' };
const RESNET_FIELDS: FieldSpec[] = [
  { path: 'model.variant', label: 'Variant', kind: 'select', options: RESNET_VARIANTS, hint: 'c: 3-conv stem; d: c + pooled shortcut; b = a for basic blocks' },
  { path: 'model.zeroGamma', label: 'Zero-γ', kind: 'bool', hint: "each block's last BN starts at γ = 0" },
  DROPOUT_FIELD,
];
export const MODEL_FIELDS: Record<ModelName, FieldSpec[]> = {
  cnn3: [
    { path: 'model.width', label: 'Width', kind: 'number', hint: 'filters per conv layer' },
    { path: 'model.batchNorm', label: 'BatchNorm', kind: 'bool', hint: 'conv → BN → ReLU' },
    DROPOUT_FIELD,
  ],
  mlp: [{ path: 'model.hidden', label: 'Hidden layers', kind: 'list', hint: 'units, comma separated' }, DROPOUT_FIELD],
  resnet20: RESNET_FIELDS,
  resnet32: RESNET_FIELDS,
  resnet56: RESNET_FIELDS,
  resnet18: RESNET_FIELDS,
  resnet34: RESNET_FIELDS,
  rir18: [
    { path: 'model.channels', label: 'Channels', kind: 'list', hint: 'per stream, per stage' },
    { path: 'model.blocks', label: 'Blocks', kind: 'list', hint: 'RiR blocks per stage' },
    { path: 'model.shortcut', label: 'Shortcut', kind: 'select', options: RIR_SHORTCUTS, hint: 'when the shape changes' },
    DROPOUT_FIELD,
  ],
};

export const OPTIMIZER_NAME_FIELD: FieldSpec = { path: 'optimizer.name', label: 'Optimizer', kind: 'select', options: OPTIMIZERS };
const OPTIMIZER_TRICK_FIELDS: FieldSpec[] = [
  { path: 'optimizer.noBiasDecay', label: 'No bias decay', kind: 'bool', hint: 'decay kernels only, not biases or BN γ/β' },
  { path: 'optimizer.linearScaling', label: 'Linear LR scaling', kind: 'bool', hint: 'LR is for batch 256: × batch size / 256' },
];
export const OPTIMIZER_FIELDS: Record<OptimizerName, FieldSpec[]> = {
  sgd: [
    { path: 'optimizer.lr', label: 'Learning rate', kind: 'number' },
    { path: 'optimizer.momentum', label: 'Momentum', kind: 'number' },
    { path: 'optimizer.nesterov', label: 'Nesterov', kind: 'bool' },
    { path: 'optimizer.weightDecay', label: 'Weight decay', kind: 'number' },
    ...OPTIMIZER_TRICK_FIELDS,
  ],
  adam: [
    { path: 'optimizer.lr', label: 'Learning rate', kind: 'number' },
    { path: 'optimizer.beta1', label: 'β1', kind: 'number' },
    { path: 'optimizer.beta2', label: 'β2', kind: 'number' },
    { path: 'optimizer.epsilon', label: 'ε', kind: 'number' },
    { path: 'optimizer.weightDecay', label: 'Weight decay', kind: 'number' },
    ...OPTIMIZER_TRICK_FIELDS,
  ],
};

/** Each loss-level trick: a checkbox at `tricks.<name>` (off = null in the config) and its options. */
export const TRICK_FIELDS: Record<TrickName, { toggle: FieldSpec; options: FieldSpec[] }> = {
  labelSmoothing: {
    toggle: { path: 'tricks.labelSmoothing', label: 'Label smoothing', kind: 'bool' },
    options: [
      { path: 'tricks.labelSmoothing.epsilon', label: 'ε', kind: 'number' },
      { path: 'tricks.labelSmoothing.convention', label: 'Convention', kind: 'select', options: LABEL_SMOOTHING_CONVENTIONS, hint: 'uniform: ε/K everywhere; paper: ε/(K−1) off target' },
    ],
  },
  mixup: {
    toggle: { path: 'tricks.mixup', label: 'Mixup', kind: 'bool' },
    options: [
      { path: 'tricks.mixup.alpha', label: 'α', kind: 'number', hint: 'λ ~ Beta(α, α) per batch' },
      { path: 'tricks.mixup.offLastEpochs', label: 'Off in last epochs', kind: 'number' },
    ],
  },
  cutmix: {
    toggle: { path: 'tricks.cutmix', label: 'CutMix', kind: 'bool', hint: 'paste a box of another image; targets by area; not with mixup' },
    options: [
      { path: 'tricks.cutmix.alpha', label: 'α', kind: 'number', hint: 'λ ~ Beta(α, α) per batch; box side √(1 − λ)' },
      { path: 'tricks.cutmix.prob', label: 'Probability', kind: 'number', hint: 'share of batches cut, above 0 up to 1' },
      { path: 'tricks.cutmix.offLastEpochs', label: 'Off in last epochs', kind: 'number' },
    ],
  },
  rdrop: {
    toggle: { path: 'tricks.rdrop', label: 'R-Drop', kind: 'bool', hint: 'two dropout passes + symmetric KL; needs dropout; ~2× compute' },
    options: [
      { path: 'tricks.rdrop.alpha', label: 'α', kind: 'number', hint: 'weight of the KL term' },
      { path: 'tricks.rdrop.reduction', label: 'KL reduction', kind: 'select', options: RDROP_REDUCTIONS, hint: 'mean: per sample; batchsum: official code' },
    ],
  },
  rifle: {
    toggle: { path: 'tricks.rifle', label: 'RIFLE', kind: 'bool', hint: 're-initialise the head now and then (fine-tuning)' },
    options: [
      { path: 'tricks.rifle.layers', label: 'Layers', kind: 'list', hint: 'layer names, comma separated' },
      { path: 'tricks.rifle.everyEpochs', label: 'Every (epochs)', kind: 'number' },
      { path: 'tricks.rifle.maxReinits', label: 'At most (times)', kind: 'number' },
      { path: 'tricks.rifle.noReinitLastEpochs', label: 'Not in last (epochs)', kind: 'number' },
      { path: 'tricks.rifle.initializer', label: 'Initializer', kind: 'select', options: RIFLE_INITIALIZERS, hint: 'heNormal: N(0, 2/fan-in); initial: epoch-0 values' },
      { path: 'tricks.rifle.resetOptimizerState', label: 'Reset momentum', kind: 'bool' },
    ],
  },
  distill: {
    toggle: { path: 'tricks.distill', label: 'Distillation', kind: 'bool', hint: 'a completed run on the same data teaches this one' },
    options: [
      { path: 'tricks.distill.teacherRun', label: 'Teacher run', kind: 'numberOrBlank', hint: 'id of a completed run' },
      { path: 'tricks.distill.temperature', label: 'Temperature', kind: 'number' },
      { path: 'tricks.distill.mode', label: 'Mode', kind: 'select', options: DISTILL_MODES, hint: 'paper: hard + T² soft; weighted: (1−w) hard + w T² soft' },
      { path: 'tricks.distill.weight', label: 'w', kind: 'number', hint: 'weighted mode' },
    ],
  },
  repr: {
    toggle: { path: 'tricks.repr', label: 'RePr', kind: 'bool', hint: 'prune the least orthogonal filters, re-initialise them later' },
    options: [
      { path: 'tricks.repr.s1', label: 'S1 (epochs)', kind: 'number', hint: 'training before each pruning' },
      { path: 'tricks.repr.s2', label: 'S2 (epochs)', kind: 'number', hint: 'with the filters pruned' },
      { path: 'tricks.repr.pruneRatio', label: 'Prune ratio', kind: 'number' },
      { path: 'tricks.repr.cycles', label: 'Cycles', kind: 'number' },
      { path: 'tricks.repr.scope', label: 'Ranking', kind: 'select', options: REPR_SCOPES, hint: 'global: all layers together' },
      { path: 'tricks.repr.excludeFirstConv', label: 'Skip first conv', kind: 'bool' },
      { path: 'tricks.repr.zeroNextLayer', label: 'Zero next layer', kind: 'bool', hint: 'new filters start unseen' },
    ],
  },
};

/** Fine-tuning (config `init`): the source run (blank = from scratch) and the layers not loaded.
 * FineTuneFields.vue shows them as a select of completed runs and an "exclude head" checkbox. */
export const INIT_FIELDS: FieldSpec[] = [
  { path: 'init.fromRun', label: 'Fine-tune from', kind: 'numberOrBlank' },
  { path: 'init.exclude', label: 'Layers not loaded', kind: 'list' },
];

export function scheduleFields(name: string): FieldSpec[] {
  const fields: FieldSpec[] = [
    { path: 'schedule.name', label: 'LR schedule', kind: 'select', options: SCHEDULES },
    { path: 'schedule.warmupEpochs', label: 'Warmup epochs', kind: 'number', hint: 'linear, 0 = none' },
    { path: 'schedule.milestones', label: 'Milestones', kind: 'list', hint: 'epochs, comma separated' },
  ];
  if (name === 'step') fields.push({ path: 'schedule.gamma', label: 'Gamma', kind: 'number', hint: 'LR × gamma at each milestone' });
  return fields;
}

/** Every input's spec by path (trick options, init and every model's and optimizer's fields). */
export const ALL_SPECS: ReadonlyMap<string, FieldSpec> = new Map<string, FieldSpec>(
  [
    ...GENERAL_FIELDS,
    ...DATASET_FIELDS,
    MODEL_NAME_FIELD,
    ...Object.values(MODEL_FIELDS).flat(),
    OPTIMIZER_NAME_FIELD,
    ...Object.values(OPTIMIZER_FIELDS).flat(),
    ...scheduleFields('step'),
    ...INIT_FIELDS,
    ...Object.values(TRICK_FIELDS).flatMap((t) => [t.toggle, ...t.options]),
  ].map((s) => [s.path, s]),
);

/** Number() only when the text is a valid number; otherwise the raw text, for the schema to report. */
export function parseNumber(text: string): number | string {
  const t = text.trim();
  if (t !== '') {
    const n = Number(t);
    if (Number.isFinite(n)) return n;
  }
  return text;
}

function toInputValue(kind: FieldKind, v: string | boolean): unknown {
  if (typeof v === 'boolean') return v;
  switch (kind) {
    case 'number':
      return parseNumber(v);
    case 'numberOrBlank':
      return v.trim() === '' ? null : parseNumber(v);
    case 'list':
    case 'listOrBlank': {
      const items = v
        .split(/[,;\s]+/)
        .filter((s) => s !== '')
        .map(parseNumber);
      return kind === 'listOrBlank' && items.length === 0 ? null : items;
    }
    case 'json':
      try {
        return v.trim() === '' ? [] : (JSON.parse(v) as unknown);
      } catch {
        return v; // the schema reports it
      }
    default:
      return v;
  }
}

/** Form values -> the (unvalidated) config input. */
export function valuesToInput(values: FormValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const trickOf = (path: string) => TRICK_NAMES.find((t) => path === `tricks.${t}` || path.startsWith(`tricks.${t}.`));
  for (const [path, v] of Object.entries(values)) {
    if (trickOf(path)) continue;
    setPath(out, path, toInputValue(ALL_SPECS.get(path)?.kind ?? 'text', v));
  }
  // A trick is its options when its box is ticked, else null.
  const tricks: Record<string, unknown> = {};
  for (const t of TRICK_NAMES) {
    if (values[`tricks.${t}`] !== true) {
      tricks[t] = null;
      continue;
    }
    const o: Record<string, unknown> = {};
    for (const f of TRICK_FIELDS[t].options) if (f.path in values) o[f.path.slice(`tricks.${t}.`.length)] = toInputValue(f.kind, values[f.path]!);
    tricks[t] = o;
  }
  out.tricks = tricks;
  // No source run: no fine-tuning, whatever the exclude list says.
  const init = out.init as Record<string, unknown> | undefined;
  if (init && (init.fromRun === null || init.fromRun === undefined)) out.init = null;
  return out;
}

/** A config (or one section of it, under `prefix`) -> form values. */
export function configToValues(config: RunConfig | Record<string, unknown>, prefix = ''): FormValues {
  const out: FormValues = {};
  const flat = flattenConfig(config, prefix);
  if (flat.init === null) {
    delete flat.init;
    Object.assign(flat, { 'init.fromRun': null, 'init.exclude': '["head"]' });
  }
  // A trick that is off (null) shows an unticked box and its default options, ready to tick.
  if (!prefix) {
    for (const t of TRICK_NAMES) {
      const key = `tricks.${t}`;
      if (flat[key] === null || !Object.keys(flat).some((k) => k.startsWith(key + '.'))) {
        delete flat[key];
        Object.assign(flat, flattenConfig(defaultTrick(t), key), { [key]: false });
      } else flat[key] = true;
    }
  }
  for (const [path, v] of Object.entries(flat)) {
    if (typeof v === 'boolean') out[path] = v;
    else if (v === null) out[path] = '';
    else if ((ALL_SPECS.get(path)?.kind === 'list' || ALL_SPECS.get(path)?.kind === 'listOrBlank') && typeof v === 'string') {
      const arr = JSON.parse(v) as unknown[];
      out[path] = arr.join(', ');
    } else out[path] = String(v);
  }
  return out;
}

/** Replace one section (e.g. `model`) of the form values. */
export function replaceSection(values: FormValues, prefix: string, section: Record<string, unknown>): FormValues {
  const next: FormValues = {};
  for (const [k, v] of Object.entries(values)) if (!k.startsWith(prefix + '.')) next[k] = v;
  return { ...next, ...configToValues(section, prefix) };
}

/** Errors grouped by the input they belong to (the longest input path that prefixes the error's
 * field, e.g. `model.hidden.1` -> `model.hidden`); the rest are general. Each keeps its own field
 * (for data-field) and gets a message relative to the input. */
export function groupErrors(errors: FieldError[], inputs: string[]) {
  const byField: Record<string, FieldError[]> = {};
  const general: FieldError[] = [];
  for (const e of errors) {
    const match = inputs
      .filter((p) => e.field === p || e.field.startsWith(p + '.'))
      .sort((a, b) => b.length - a.length)[0];
    if (!match) general.push(e);
    else {
      const rest = e.field.slice(match.length + 1);
      const where = /^\d+$/.test(rest) ? `item ${Number(rest) + 1}` : rest;
      (byField[match] ??= []).push({ field: e.field, message: rest ? `${where}: ${e.message}` : e.message });
    }
  }
  return { byField, general };
}

const isNumeric = (kind: FieldKind) => kind === 'number' || kind === 'numberOrBlank';

/** The messages one input shows for its errors (from groupErrors), in the input's own terms: an
 * empty numeric input is "required" (not `expected a number, got ""`); a JSON input whose text does
 * not parse says where and what is wrong; an augmentation error names the step and its transform. */
export function fieldMessages(spec: FieldSpec, value: string | boolean | undefined, errors: FieldError[] | undefined): FieldError[] {
  if (!errors?.length) return [];
  const text = typeof value === 'string' ? value : '';
  if (isNumeric(spec.kind) && text.trim() === '') {
    return errors.map((e) => (e.field === spec.path && /^expected an? (number|integer), got ("\s*"|nothing|null)$/.test(e.message) ? { ...e, message: 'required' } : e));
  }
  if (spec.kind === 'list' && text.trim() === '') {
    return errors.map((e) => (e.field === spec.path && /^must be >= \d+ items/.test(e.message) ? { ...e, message: 'required: one or more, comma separated' } : e));
  }
  if (spec.kind !== 'json') return errors;
  const syntax = text.trim() === '' ? null : jsonProblemText(text);
  if (syntax) return [{ field: spec.path, message: `not JSON: ${syntax}` }];
  if (spec.path !== 'augment') return errors;
  const augment = text.trim() === '' ? [] : (JSON.parse(text) as unknown);
  return errors.map((e) => {
    const rel = e.field === spec.path ? [] : e.field.slice(spec.path.length + 1).split('.');
    // groupErrors put the path in front of the schema's message ("item 1: …", "0.padding: …").
    const prefix = rel.length === 0 ? '' : rel.length === 1 && /^\d+$/.test(rel[0]!) ? `item ${Number(rel[0]) + 1}: ` : `${rel.join('.')}: `;
    const raw = prefix && e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
    return { ...e, message: describeAugmentError(rel, raw, augment) };
  });
}

const count = (n: number) => n.toLocaleString('en-US');

/** What the data options will really give, where it is not what they say: a train subset larger
 * than the dataset (the run trains on all of it, less the validation split), a validation split
 * that rounds to no image or leaves none for training, a valSplit a dataset with its own validation
 * set does not use, a test split that leaves no test or no training image. Computed as makeSplits
 * (src/trainer/data/index.ts) takes the splits, from the sizes known before the data is read
 * (built-ins; datasets the Datasets page inspected); silent where the size is not known.
 * `title` names a dataset ("Fashion-MNIST"). Warnings, not errors: the run can start. */
export function datasetWarnings(input: Record<string, unknown>, title: (name: string) => string = (n) => n): FieldError[] {
  const parsed = datasetSchema.safeParse(input.dataset ?? {});
  if (!parsed.success) return [];
  const d = parsed.data;
  const size = trainSetSize(d.name);
  if (!size) return [];
  const info = datasetInfo(d.name);
  const out: FieldError[] = [];
  const name = title(d.name);
  const some = d.classes ? ` (fewer in classes ${d.classes.join(', ')})` : '';
  const atMost = d.classes ? 'at most ' : '';
  let pool = size.images;
  let has = `${name} has ${count(size.images)} training images${some}`;
  if (info?.noTestSet) {
    const nTest = Math.round(size.images * d.testSplit);
    if (!d.classes && (nTest < 1 || nTest >= size.images)) {
      out.push({ field: 'dataset.testSplit', message: `${d.testSplit} of ${count(size.images)} images leaves ${nTest < 1 ? 'no test image' : 'no training image'}: the run would stop at its start` });
      return out;
    }
    pool -= nTest;
    has = `${name} has ${count(size.images)} images${some}, ${atMost}${count(pool)} after the test split (testSplit ${d.testSplit})`;
  }
  if (size.ownVal && d.valSplit !== 0) {
    out.push({ field: 'dataset.valSplit', message: `not used: ${name} has a validation set of its own` });
  }
  const total = d.trainSubset === null ? pool : Math.min(d.trainSubset, pool);
  const nVal = size.ownVal ? 0 : Math.round(total * d.valSplit);
  const train = total - nVal;
  const split = size.ownVal ? '' : `with valSplit ${d.valSplit} `;
  if (train < 1 && !d.classes) {
    const field = d.trainSubset !== null ? 'dataset.trainSubset' : 'dataset.valSplit';
    out.push({ field, message: `valSplit ${d.valSplit} of ${count(total)} image${total === 1 ? '' : 's'} leaves none for training: the run would stop at its start` });
    return out;
  }
  if (d.trainSubset !== null && d.trainSubset > pool) {
    out.push({ field: 'dataset.trainSubset', message: `${has}; ${split}this trains on ${atMost}${count(train)}` + (nVal > 0 ? ` and validates on ${atMost}${count(nVal)}` : '') });
  }
  if (!size.ownVal && d.valSplit > 0 && nVal === 0 && !d.classes) {
    out.push({ field: 'dataset.valSplit', message: `${d.valSplit} of ${count(total)} images rounds to no validation image: nothing is validated` });
  }
  return out;
}

/** Trick options the run will not use as given: RePr cycles that do not fit in the epochs (the
 * calendar stops at the run's end), a last cycle whose re-initialisation falls after the end. */
export function trickWarnings(input: Record<string, unknown>): FieldError[] {
  // Only the parts it needs: another field's error (a batch size too large) hides no warning.
  const tricks = input.tricks as Record<string, unknown> | undefined;
  const parsed = TRICK_SCHEMAS.repr.safeParse(tricks?.repr);
  const epochs = input.epochs;
  if (!parsed.success || typeof epochs !== 'number' || !Number.isInteger(epochs) || epochs < 1) return [];
  const repr = parsed.data;
  const { prune, reinit } = reprCalendar(repr, epochs);
  if (prune.length === 0) return []; // an error of its own (s1)
  const after = (e: number[]) => e.map((x) => String(x)).join(', ');
  const out: FieldError[] = [];
  if (prune.length < repr.cycles) {
    out.push({ field: 'tricks.repr.cycles', message: `${epochs} epochs fit ${prune.length} of ${repr.cycles} cycles: pruning after epoch${prune.length > 1 ? 's' : ''} ${after(prune)}` });
  }
  if (reinit.length < prune.length) {
    out.push({ field: 'tricks.repr.s2', message: `the last pruning (after epoch ${prune[prune.length - 1]}) is not re-initialised within ${epochs} epochs: the run ends pruned` });
  }
  return out;
}

/** Every warning of the form: datasetWarnings and trickWarnings. */
export function configWarnings(input: Record<string, unknown>, title?: (name: string) => string): FieldError[] {
  return [...datasetWarnings(input, title), ...trickWarnings(input)];
}
