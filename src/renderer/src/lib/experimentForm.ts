// The new-experiment form as data: arms as changes to the baseline's form values, the experiment
// file they make (`arms[].set`: dotted config paths), names suggested from what an arm changes,
// seeds typed as "5" / "1-5" / "1, 2, 7", and the file's errors put back at the inputs.
import { defaultTrick, TRICK_NAMES, type FieldError, type RunConfig, type TrickName } from '@shared/config';
import {
  ALL_SPECS,
  DATASET_FIELDS,
  datasetFields,
  GENERAL_FIELDS,
  MODEL_FIELDS,
  MODEL_NAME_FIELD,
  OPTIMIZER_FIELDS,
  OPTIMIZER_NAME_FIELD,
  TRICK_FIELDS,
  configToValues,
  scheduleFields,
  type FieldSpec,
  type FormValues,
} from './configForm';

/** Config fields every run of an experiment sets for itself. */
export const PER_RUN = new Set(['name', 'seed', 'init.fromRun']);
/** Sections an arm may swap for another kind (their options differ). */
const SECTIONS = ['model', 'optimizer'] as const;

export interface ArmDraft {
  key: number;
  name: string;
  /** The user typed the name: it no longer follows the suggestion. */
  named: boolean;
  /** Form values the arm sets (dotted paths), over the baseline's. */
  over: FormValues;
  /** Non-trick inputs the arm shows (its changed fields), in the order added. */
  fields: string[];
}

/** The arm's form values: the baseline's with the arm's on top; a section the arm swaps (another
 * model) drops the baseline's options of that section. */
export function armValues(baseline: FormValues, arm: Pick<ArmDraft, 'over'>): FormValues {
  const out: FormValues = {};
  const swapped = SECTIONS.filter((s) => arm.over[`${s}.name`] !== undefined && arm.over[`${s}.name`] !== baseline[`${s}.name`]);
  for (const [k, v] of Object.entries(baseline)) if (!swapped.some((s) => k.startsWith(`${s}.`))) out[k] = v;
  return { ...out, ...arm.over };
}

const isPlain = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** What `arm` sets differently from `base` (config inputs) as dotted paths: leaves that differ, or a
 * whole object where the arm drops a key the baseline has (another model's options). */
export function diffSet(base: unknown, arm: unknown, path = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (isPlain(base) && isPlain(arm)) {
    if (path && Object.keys(base).some((k) => !(k in arm))) {
      out[path] = arm;
      return out;
    }
    for (const k of Object.keys(arm)) {
      const p = path ? `${path}.${k}` : k;
      if (!PER_RUN.has(p)) diffSet(base[k], arm[k], p, out);
    }
    return out;
  }
  if (JSON.stringify(base) !== JSON.stringify(arm)) out[path] = arm;
  return out;
}

/** Form values of `values` that differ from `base` (a config's values against the baseline's):
 * an arm's `over` for a config given whole (a run, a JSON arm). */
export function valuesOver(base: FormValues, values: FormValues): FormValues {
  const out: FormValues = {};
  for (const [k, v] of Object.entries(values)) if (!PER_RUN.has(k) && !k.startsWith('init.') && base[k] !== v) out[k] = v;
  return out;
}

/** An arm for a whole config (a run's, a JSON arm's): its differences from the baseline's. */
export function armFromConfig(key: number, baseline: FormValues, config: RunConfig, name?: string): ArmDraft {
  const over = valuesOver(baseline, configToValues(config));
  const fields = Object.keys(over).filter((k) => !k.startsWith('tricks.'));
  return { key, name: name ?? '', named: name !== undefined, over, fields };
}

// ---- names -------------------------------------------------------------------------------------

const trickOf = (path: string): TrickName | undefined => TRICK_NAMES.find((t) => path === `tricks.${t}` || path.startsWith(`tricks.${t}.`));
const lower = (s: string) => (/^[A-Z][a-z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s);
const shown = (v: unknown) => (Array.isArray(v) ? v.join('-') : isPlain(v) ? (typeof v.name === 'string' ? v.name : JSON.stringify(v)) : String(v));

/** One option in a few characters: "ε=0.1", "convention paper". */
function optionText(t: TrickName, key: string, v: unknown): string {
  const label = TRICK_FIELDS[t].options.find((f) => f.path === `tricks.${t}.${key}`)?.label ?? key;
  return label.length <= 2 ? `${label}=${shown(v)}` : `${lower(label)} ${shown(v)}`;
}

/** A short label for what a set changes: "label smoothing ε=0.1 + learning rate 0.05". */
export function suggestName(set: Record<string, unknown>, specs: ReadonlyMap<string, FieldSpec>): string {
  const parts: string[] = [];
  for (const [path, v] of Object.entries(set)) {
    const t = trickOf(path);
    if (t) {
      const trick = lower(TRICK_FIELDS[t].toggle.label);
      if (path === `tricks.${t}`) {
        if (v === null) parts.push(`no ${trick}`);
        else {
          const defaults = defaultTrick(t) as Record<string, unknown>;
          const opts = Object.entries(isPlain(v) ? v : {}).filter(([k, x]) => JSON.stringify(defaults[k]) !== JSON.stringify(x));
          parts.push([trick, ...opts.map(([k, x]) => optionText(t, k, x))].join(' '));
        }
      } else parts.push(`${trick} ${optionText(t, path.slice(`tricks.${t}.`.length), v)}`);
      continue;
    }
    const spec = specs.get(path);
    const label = lower(spec?.label ?? path);
    if (typeof v === 'boolean') parts.push(v ? label : `no ${label}`);
    else parts.push(`${label} ${shown(v)}`);
  }
  const name = parts.join(' + ');
  return name.length > 80 ? `${name.slice(0, 79)}…` : name;
}

// ---- inputs ------------------------------------------------------------------------------------

/** The inputs an arm can change, by section, for its model, optimizer and schedule. */
export function armFieldGroups(values: FormValues, datasetNames: readonly string[]): { title: string; fields: FieldSpec[] }[] {
  const model = String(values['model.name'] ?? '') as keyof typeof MODEL_FIELDS;
  const optimizer = String(values['optimizer.name'] ?? '') as keyof typeof OPTIMIZER_FIELDS;
  const dataset = datasetNames.length ? datasetFields(datasetNames) : DATASET_FIELDS;
  return [
    { title: 'Run', fields: GENERAL_FIELDS.filter((f) => !PER_RUN.has(f.path)) },
    { title: 'Data', fields: dataset },
    { title: 'Model', fields: [MODEL_NAME_FIELD, ...(MODEL_FIELDS[model] ?? [])] },
    { title: 'Optimizer', fields: [OPTIMIZER_NAME_FIELD, ...(OPTIMIZER_FIELDS[optimizer] ?? [])] },
    { title: 'Schedule', fields: scheduleFields(String(values['schedule.name'] ?? '')) },
  ];
}

/** Every input's spec by path: the form's own (configForm). */
export const ALL_FIELD_SPECS = ALL_SPECS;

// ---- seeds -------------------------------------------------------------------------------------

/** "5" (five seeds: 1-5), "1-5", "1, 2, 7" or "3-5, 9" -> the seeds, or what is wrong. */
export function parseSeeds(text: string): { seeds: number[] } | { error: string } {
  const t = text.trim();
  if (!t) return { error: 'required: a count (5), a range (1-5) or a list (1, 2, 7)' };
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    if (n < 1 || n > 100) return { error: 'a count of seeds from 1 to 100' };
    return { seeds: Array.from({ length: n }, (_, i) => i + 1) };
  }
  const seeds: number[] = [];
  for (const part of t.split(/[\s,;]+/).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return { error: `"${part}" is not a seed or a range (like 1-5)` };
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) return { error: `range ${part} goes backwards` };
    if (b - a > 100) return { error: `range ${part} has more than 100 seeds` };
    for (let s = a; s <= b; s++) seeds.push(s);
  }
  if (seeds.some((s) => s > 2 ** 31 - 1)) return { error: 'seeds go up to 2147483647' };
  const dup = seeds.find((s, i) => seeds.indexOf(s) !== i);
  if (dup !== undefined) return { error: `seed ${dup} is listed twice` };
  if (seeds.length > 100) return { error: 'at most 100 seeds' };
  return { seeds };
}

/** Seeds as typed: consecutive ones as a range ("1-5, 9"). */
export function formatSeeds(seeds: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < seeds.length; ) {
    let j = i;
    while (j + 1 < seeds.length && seeds[j + 1] === seeds[j]! + 1) j++;
    out.push(j - i >= 2 ? `${seeds[i]}-${seeds[j]}` : seeds.slice(i, j + 1).join(', '));
    i = j + 1;
  }
  return out.join(', ');
}

// ---- errors ------------------------------------------------------------------------------------

export interface PlacedErrors {
  name: FieldError[];
  seeds: FieldError[];
  /** Baseline errors, fields relative to the run config (`optimizer.lr`). */
  baseline: FieldError[];
  /** Per arm, fields as `arms.<i>.<config path>` (the arm's inputs are named so). */
  arms: Map<number, FieldError[]>;
  /** Where it runs (`executor`, `executor.partition`, ...): the "Where it runs" inputs. */
  executor: FieldError[];
  general: FieldError[];
}

/** The experiment file's errors (planExperiment's, or the server's), by where the form shows them.
 * An arm's error that only repeats the baseline's (the same field and message) is not repeated. */
export function placeErrors(errors: readonly FieldError[]): PlacedErrors {
  const out: PlacedErrors = { name: [], seeds: [], baseline: [], arms: new Map(), executor: [], general: [] };
  for (const e of errors) {
    if (e.field === 'name') out.name.push(e);
    else if (e.field === 'seeds' || e.field.startsWith('seeds.')) out.seeds.push(e);
    else if (e.field.startsWith('baseline.')) out.baseline.push({ ...e, field: e.field.slice('baseline.'.length) });
    else if (e.field === 'executor' || e.field.startsWith('executor.')) out.executor.push(e);
    else {
      // `arms.1.tricks.rdrop`, `arms.1.set (arm "x")`, and the arm named in brackets or quotes
      const m = /^arms\.(\d+)(?:\s*\([^)]*\))?(?:\.(.*))?$/.exec(e.field);
      if (!m) {
        out.general.push(e);
        continue;
      }
      const i = Number(m[1]);
      const rest = m[2] ?? '';
      if (out.baseline.some((b) => b.field === rest && b.message === e.message)) continue;
      out.arms.set(i, [...(out.arms.get(i) ?? []), { field: rest ? `arms.${i}.${rest}` : `arms.${i}`, message: e.message }]);
    }
  }
  // baseline errors can come after the arms' that repeat them
  for (const [i, list] of out.arms) {
    const kept = list.filter((a) => !out.baseline.some((b) => `arms.${i}.${b.field}` === a.field && b.message === a.message));
    if (kept.length) out.arms.set(i, kept);
    else out.arms.delete(i);
  }
  return out;
}
