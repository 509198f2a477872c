// Short human labels for what a run config turns on: one per trick of `tricks.*` (each trick's file
// declares its title and label: "label smoothing ε=0.1", "mixup α=0.2", "RIFLE"), the Bag of Tricks
// switches "no bias decay", "warmup 5 ep", "cosine LR", "zero-γ", "ResNet-D"), and the config
// fields that tell two runs apart in a few words ("lr 0.01", "batch 128"). A trick's label is its
// name, its main parameter, and in parentheses only the options that differ from its defaults.
// Used for run names (describeConfig), the runs list, the run page and ad-hoc comparison arms.
import { describeModel, flattenConfig, type RunConfig } from './config';
import { defaultTrick, TRICK_BY_NAME, TRICK_NAMES, type TrickName } from './tricks/registry';
import type { Trick } from './tricks/types';
import { num as n } from './tricks/text';

/** What the user calls each trick of `tricks.*` (each trick's `title`). */
export const TRICK_TITLES = Object.fromEntries(TRICK_NAMES.map((t) => [t, TRICK_BY_NAME[t].title])) as Record<TrickName, string>;

/** A trick's label's key: a trick of `tricks.*`, or a Bag of Tricks switch elsewhere in the config. */
export type TrickKey = TrickName | 'linearScaling' | 'noBiasDecay' | 'warmup' | 'schedule' | 'zeroGamma' | 'variant';

export interface TrickLabel {
  key: TrickKey;
  /** Where in the config it lives (`tricks.mixup`, `optimizer.noBiasDecay`, `schedule.name`). */
  path: string;
  label: string;
}

let defaults: { [N in TrickName]: Record<string, unknown> } | null = null;
/** Each trick's option defaults (computed on first use). */
function trickDefaults(): { [N in TrickName]: Record<string, unknown> } {
  defaults ??= Object.fromEntries(TRICK_NAMES.map((t) => [t, defaultTrick(t) as Record<string, unknown>])) as { [N in TrickName]: Record<string, unknown> };
  return defaults;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

type Tricks = RunConfig['tricks'];

/** One trick's label: its title, its main parameter, and the options that differ from its defaults
 * (each trick's file says which, in its `label`). */
export function trickLabel<N extends TrickName>(name: N, options: NonNullable<Tricks[N]>): string {
  const d = trickDefaults()[name];
  const o = options as Record<string, unknown>;
  const differs = (k: string) => k in o && !same(o[k], d[k]);
  const t = TRICK_BY_NAME[name] as unknown as Trick;
  const { main = '', extras = [] } = t.label(options, differs);
  return `${t.title}${main ? ` ${main}` : ''}${extras.length ? ` (${extras.join(', ')})` : ''}`;
}

/** Every trick a config turns on, in the order of the spec (tricks.*, then the Bag of Tricks
 * switches of the optimizer and schedule, then those of the model). `model: false` leaves out the
 * model's (zero-γ, ResNet-B/C/D), which describeModel already says. */
export function trickLabelList(c: RunConfig, o: { model?: boolean } = {}): TrickLabel[] {
  const out: TrickLabel[] = [];
  // Stored configs are read as they were written: one from before a section existed lacks it.
  const tricks: Partial<Tricks> = c.tricks ?? {};
  for (const t of TRICK_NAMES) {
    const options = tricks[t];
    if (options) out.push({ key: t, path: `tricks.${t}`, label: trickLabel(t, options as NonNullable<Tricks[typeof t]>) });
  }
  const opt: Partial<RunConfig['optimizer']> = c.optimizer ?? {};
  const sch: Partial<RunConfig['schedule']> = c.schedule ?? {};
  if (opt.linearScaling) out.push({ key: 'linearScaling', path: 'optimizer.linearScaling', label: 'linear LR scaling' });
  if (opt.noBiasDecay) out.push({ key: 'noBiasDecay', path: 'optimizer.noBiasDecay', label: 'no bias decay' });
  if ((sch.warmupEpochs ?? 0) > 0) out.push({ key: 'warmup', path: 'schedule.warmupEpochs', label: `warmup ${n(sch.warmupEpochs!)} ep` });
  if (sch.name === 'cosine') out.push({ key: 'schedule', path: 'schedule.name', label: 'cosine LR' });
  if (sch.name === 'step') {
    const at = sch.milestones?.length ? ` at ${sch.milestones.join(', ')}` : '';
    out.push({ key: 'schedule', path: 'schedule.name', label: `step LR ×${n(sch.gamma ?? 0.1)}${at}` });
  }
  if (o.model !== false && 'zeroGamma' in c.model && c.model.zeroGamma) out.push({ key: 'zeroGamma', path: 'model.zeroGamma', label: 'zero-γ' });
  if (o.model !== false && 'variant' in c.model && c.model.variant !== 'a') out.push({ key: 'variant', path: 'model.variant', label: `ResNet-${c.model.variant.toUpperCase()}` });
  return out;
}

/** The short labels of every trick the config turns on (see trickLabelList). */
export function trickLabels(c: RunConfig, o: { model?: boolean } = {}): string[] {
  return trickLabelList(c, o).map((t) => t.label);
}

/** The tricks in one line: "label smoothing ε=0.1 + mixup α=0.2"; '' when none. */
export function tricksText(c: RunConfig, o: { model?: boolean } = {}): string {
  return trickLabels(c, o).join(' + ');
}

/** What a config without one of the Bag of Tricks switches has instead. */
const WITHOUT: Record<Exclude<TrickKey, TrickName>, (c: RunConfig) => string> = {
  linearScaling: () => 'no linear LR scaling',
  noBiasDecay: () => 'with bias decay',
  warmup: () => 'no warmup',
  schedule: (c) => `${c.schedule?.name ?? 'constant'} LR`,
  zeroGamma: () => 'no zero-γ',
  variant: () => 'ResNet-A',
};

/** What an arm changes against a baseline in tricks: the labels of the tricks it turns on or
 * configures differently, and "no X" for each one the baseline has and it does not. */
export function trickDifferences(base: RunConfig, arm: RunConfig): string[] {
  const a = trickLabelList(base);
  const b = trickLabelList(arm);
  const out: string[] = [];
  for (const t of b) {
    const was = a.find((x) => x.key === t.key);
    if (!was || was.label !== t.label) out.push(t.label);
  }
  for (const t of a) {
    if (b.some((x) => x.key === t.key)) continue;
    out.push(t.key in TRICK_TITLES ? `no ${TRICK_TITLES[t.key as TrickName]}` : WITHOUT[t.key as Exclude<TrickKey, TrickName>](arm));
  }
  return out;
}

/** Config fields trickLabelList covers (with every option below a `tricks.*` path). */
const TRICK_PATHS = ['tricks.', 'optimizer.linearScaling', 'optimizer.noBiasDecay', 'schedule.warmupEpochs', 'schedule.name', 'schedule.milestones', 'schedule.gamma', 'model.zeroGamma', 'model.variant'];
const isTrickPath = (k: string) => TRICK_PATHS.some((p) => (p.endsWith('.') ? k.startsWith(p) : k === p));

/** Short names of config fields: `optimizer.lr` is "lr". Others: the last segment in words. */
const FIELD_NAMES: Record<string, string> = {
  'optimizer.lr': 'lr',
  'optimizer.weightDecay': 'weight decay',
  'optimizer.beta1': 'β1',
  'optimizer.beta2': 'β2',
  'optimizer.epsilon': 'Adam ε',
  batchSize: 'batch',
  'dataset.name': 'dataset',
  'dataset.trainSubset': 'train subset',
  'dataset.valSplit': 'val split',
  'dataset.testSplit': 'test split',
  'dataset.splitSeed': 'split seed',
  'dataset.imageSize': 'image size',
  'init.exclude': 'init exclude',
};

function fieldName(key: string): string {
  return FIELD_NAMES[key] ?? (key.split('.').pop() ?? key).replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
}

/** What null means in fields where it is not "none". */
const NULL_MEANS: Record<string, string> = { 'dataset.trainSubset': 'all', 'dataset.classes': 'all', 'dataset.imageSize': 'as stored' };

function fieldValue(v: unknown, key = ''): string {
  if (v === null || v === undefined) return NULL_MEANS[key] ?? 'none';
  if (typeof v === 'number') return n(v);
  if (typeof v === 'string' && v.startsWith('[')) {
    try {
      const list = JSON.parse(v) as unknown;
      if (Array.isArray(list)) return list.length ? list.map((x) => (typeof x === 'number' ? n(x) : typeof x === 'string' ? x : JSON.stringify(x))).join('-') : 'none';
    } catch {
      // not a list: as it is
    }
  }
  return String(v);
}

/** What else (not a trick) an arm changes against a baseline, "lr 0.01" style: the model (when
 * its kind differs, as describeModel writes it), the optimizer (when its kind differs: "adam lr
 * 0.001"), the augmentation pipeline, then each other field that differs. `ignore`: fields that
 * are never an arm's difference (name, seed, init.fromRun). */
export function configDifferences(base: RunConfig, arm: RunConfig, ignore: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  const fb = flattenConfig(base);
  const fa = flattenConfig(arm);
  const skip = (k: string) => ignore.has(k) || isTrickPath(k) || k === 'name' || k === 'seed';
  const differs = (k: string) => !skip(k) && !same(fb[k], fa[k]);
  const keys = [...new Set([...Object.keys(fb), ...Object.keys(fa)])].filter(differs);
  const done = new Set<string>();
  if (base.model.name !== arm.model.name) {
    out.push(describeModel(arm.model));
    for (const k of keys) if (k.startsWith('model.')) done.add(k);
  }
  if (base.optimizer.name !== arm.optimizer.name) {
    out.push(`${arm.optimizer.name} lr ${n(arm.optimizer.lr)}`);
    for (const k of keys) if (k.startsWith('optimizer.')) done.add(k);
  }
  if ((base.init === null) !== (arm.init === null)) {
    out.push(arm.init ? 'fine-tuned' : 'from scratch');
    for (const k of keys) if (k === 'init' || k.startsWith('init.')) done.add(k);
  }
  if (keys.includes('augment')) {
    out.push(arm.augment.length ? `augment ${arm.augment.map((s) => s.name).join('+')}` : 'no augment');
    done.add('augment');
  }
  for (const k of keys) if (!done.has(k)) out.push(`${fieldName(k)} ${fieldValue(fa[k], k)}`);
  return out;
}
