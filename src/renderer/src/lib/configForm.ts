// The new-run form as data: which inputs exist (by dotted config path), how their text becomes
// config input, and which input a schema error belongs to. The inputs are derived from the config
// schema's leaves and their metadata (shared/schema-walk.ts, shared/schema-meta.ts): labels, hints
// and choices are written once, in the schema.
import {
  MODELS,
  OPTIMIZERS,
  TRICK_NAMES,
  datasetSchema,
  defaultTrick,
  flattenConfig,
  reprCalendar,
  runConfigSchema,
  TRICK_SCHEMAS,
  setPath,
} from '../../../shared/config';
import { describeAugmentError } from '../../../shared/augment';
import type { DatasetFacts } from '../../../shared/models/datasets';
import { schemaLeaves, sectionOf, type SchemaLeaf } from '../../../shared/schema-walk';
import type { FieldKind } from '../../../shared/schema-meta';
import { jsonProblemText } from './jsonError';
import type { TrickName } from '../../../shared/config';
import type { FieldError, RunConfig } from '../../../shared/config';

export type { FieldKind };

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

/** The input kind of a leaf: the metadata's, else from its type (null allowed: blank = null). */
function kindOf(l: SchemaLeaf): FieldKind {
  if (l.meta?.kind) return l.meta.kind;
  switch (l.type) {
    case 'number':
      return l.nullable ? 'numberOrBlank' : 'number';
    case 'list':
      return l.nullable ? 'listOrBlank' : 'list';
    case 'boolean':
    case 'toggle':
      return 'bool';
    case 'enum':
      return 'select';
    case 'json':
      return 'json';
    default:
      return 'text';
  }
}

function specOf(l: SchemaLeaf): FieldSpec {
  const m = l.meta!;
  const options = m.options ?? l.options;
  return {
    path: l.path,
    label: m.label,
    kind: kindOf(l),
    ...(options ? { options } : {}),
    ...(m.hint ? { hint: m.hint } : {}),
    ...(m.placeholder ? { placeholder: m.placeholder } : {}),
  };
}

/** The config's leaves that have an input of their own (a leaf without metadata has none: the
 * leaves test refuses it). */
const LEAVES = schemaLeaves(runConfigSchema);
const FORM_LEAVES = LEAVES.filter((l) => l.meta && !l.meta.noForm);
const specAt = (path: string): FieldSpec => {
  const l = FORM_LEAVES.find((x) => x.path === path);
  if (!l) throw new Error(`the config schema has no form field ${path}`);
  return specOf(l);
};
const inSection = (section: string) => FORM_LEAVES.filter((l) => sectionOf(l.path) === section).map(specOf);

export const GENERAL_FIELDS: FieldSpec[] = inSection('Run');

/** The datasets a run can use now (built in, found, imported, downloaded): the Datasets page's list. */
export function datasetFields(names: readonly string[]): FieldSpec[] {
  return [{ ...DATASET_FIELDS[0]!, options: names }, ...DATASET_FIELDS.slice(1)];
}

/** The data options and the augmentation; the dataset name first (datasetFields replaces its choices). */
export const DATASET_FIELDS: FieldSpec[] = inSection('Data');

/** A discriminated union's fields by variant (its kind's select first elsewhere). */
function variantFields<N extends string>(discriminator: string, names: readonly N[]): Record<N, FieldSpec[]> {
  const d = LEAVES.find((l) => l.path === discriminator)!;
  return Object.fromEntries(names.map((n) => [n, (d.fieldsOf?.[n] ?? []).filter((p) => FORM_LEAVES.some((l) => l.path === p)).map(specAt)])) as Record<N, FieldSpec[]>;
}

export const MODEL_NAME_FIELD: FieldSpec = specAt('model.name');
export const MODEL_FIELDS: Record<ModelName, FieldSpec[]> = variantFields('model.name', MODELS);

export const OPTIMIZER_NAME_FIELD: FieldSpec = specAt('optimizer.name');
export const OPTIMIZER_FIELDS: Record<OptimizerName, FieldSpec[]> = variantFields('optimizer.name', OPTIMIZERS);

/** Each loss-level trick: a checkbox at `tricks.<name>` (off = null in the config) and its options. */
export const TRICK_FIELDS: Record<TrickName, { toggle: FieldSpec; options: FieldSpec[] }> = Object.fromEntries(
  TRICK_NAMES.map((t) => {
    const path = `tricks.${t}`;
    return [t, { toggle: specAt(path), options: FORM_LEAVES.filter((l) => l.under === path).map(specOf) }];
  }),
) as Record<TrickName, { toggle: FieldSpec; options: FieldSpec[] }>;

/** Fine-tuning (config `init`): the source run (blank = from scratch) and the layers not loaded.
 * FineTuneFields.vue shows them as a select of completed runs and an "exclude head" checkbox. */
export const INIT_FIELDS: FieldSpec[] = inSection('Fine-tune');

/** The layers a fine-tuning run does not load unless told otherwise (the head). */
const INIT_EXCLUDE_DEFAULT = LEAVES.find((l) => l.path === 'init.exclude')!.default;

const SCHEDULE_FIELDS: FieldSpec[] = inSection('Schedule');
/** The schedule's inputs: gamma only for the step schedule (the only one that uses it). */
export function scheduleFields(name: string): FieldSpec[] {
  return SCHEDULE_FIELDS.filter((f) => f.path !== 'schedule.gamma' || name === 'step');
}

/** Every input's spec by path (trick options, init and every model's and optimizer's fields). */
export const ALL_SPECS: ReadonlyMap<string, FieldSpec> = new Map<string, FieldSpec>(FORM_LEAVES.map((l) => [l.path, specOf(l)]));

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
    Object.assign(flat, { 'init.fromRun': null, 'init.exclude': JSON.stringify(INIT_EXCLUDE_DEFAULT) });
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
 * (src/data/index.ts) takes the splits, from the sizes known before the data is read
 * (built-ins; datasets the Datasets page inspected); silent where the size is not known.
 * `facts`: what is known of the datasets (the datasets store's). `title` names a dataset
 * ("Fashion-MNIST"). Warnings, not errors: the run can start. */
export function datasetWarnings(input: Record<string, unknown>, facts: DatasetFacts, title: (name: string) => string = (n) => n): FieldError[] {
  const parsed = datasetSchema.safeParse(input.dataset ?? {});
  if (!parsed.success) return [];
  const d = parsed.data;
  const size = facts.trainSetSize(d.name);
  if (!size) return [];
  const info = facts.info(d.name);
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
export function configWarnings(input: Record<string, unknown>, facts: DatasetFacts, title?: (name: string) => string): FieldError[] {
  return [...datasetWarnings(input, facts, title), ...trickWarnings(input)];
}
