// What a run is, for tables, pickers and diffs, whichever made it: our trainer's runs have a
// RunConfig, external runs (logged by a script through the ingest API, or imported) a free-form
// params object. Pure: the renderer and the main process use it alike.
import { describeConfig, describeModel, flattenConfig, type RunConfig } from './config';
import { tricksText } from './labels';

type Scalar = string | number | boolean | null;

export interface RunSettings {
  config: RunConfig | null;
  params: Record<string, unknown> | null;
}

/** A run's settings as dotted keys: `optimizer.lr` of our config, or the external run's params
 * flattened the same way (`lr`, `optim.lr` as the script nested them). */
export function flatSettings(r: RunSettings): Record<string, Scalar> {
  if (r.config) return flattenConfig(r.config);
  return r.params ? flattenConfig(r.params) : {};
}

/** Keys an external script names a setting by, most usual first (W&B, MLflow and Lightning
 * scripts' conventions; matched case-insensitively, on the last segment of a nested key). */
const PARAM_NAMES = {
  model: ['model', 'arch', 'architecture', 'model_name', 'network', 'net', 'backbone'],
  dataset: ['dataset', 'data', 'dataset_name'],
  optimizer: ['optimizer', 'optim', 'opt', 'optimizer_name'],
  lr: ['lr', 'learning_rate', 'learningrate', 'base_lr'],
} as const;

/** An external run's setting by its usual names (PARAM_NAMES), or undefined. */
export function paramOf(params: Record<string, unknown> | null, what: keyof typeof PARAM_NAMES): Scalar | undefined {
  if (!params) return undefined;
  const flat = flattenConfig(params);
  const names: readonly string[] = PARAM_NAMES[what];
  for (const n of names) {
    for (const [k, v] of Object.entries(flat)) {
      const last = k.slice(k.lastIndexOf('.') + 1).toLowerCase();
      if (last === n && v !== null && v !== '') return v;
    }
  }
  return undefined;
}

const text = (v: Scalar | undefined) => (v === undefined || v === null ? '' : String(v));

/** The model: `cnn3(32)` of our config, an external run's `model`/`arch` param, or ''. */
export function modelText(r: RunSettings): string {
  return r.config ? describeModel(r.config.model) : text(paramOf(r.params, 'model'));
}

/** The dataset (with the training subset where one is used), or ''. */
export function datasetText(r: RunSettings): string {
  if (!r.config) return text(paramOf(r.params, 'dataset'));
  const d = r.config.dataset;
  return d.trainSubset != null ? `${d.name} ×${d.trainSubset}` : d.name;
}

/** The optimizer and its learning rate (`sgd 0.05`), or as much of it as is known. */
export function optimizerText(r: RunSettings, num: (v: number) => string = String): string {
  if (r.config) return `${r.config.optimizer.name} ${num(r.config.optimizer.lr)}`;
  const o = text(paramOf(r.params, 'optimizer'));
  const lr = paramOf(r.params, 'lr');
  const lrText = typeof lr === 'number' ? num(lr) : text(lr);
  return [o, lrText && (o ? lrText : `lr ${lrText}`)].filter(Boolean).join(' ');
}

/** Our tricks as labels (`label smoothing ε=0.1 + mixup α=0.2`); '' for an external run, whose
 * tricks only its params (and its arm) say. */
export function tricksOf(r: RunSettings): string {
  return r.config ? tricksText(r.config) : '';
}

/** The run's name, else one made from its settings: our describeConfig, an external run's
 * params (`resnet18 cifar10 sgd 0.1 · seed 3`), or `external run · seed N`. */
export function runTitle(r: RunSettings & { name: string; seed?: number }): string {
  const name = r.name.trim();
  if (name) return name;
  if (r.config) return describeConfig(r.config);
  const what = [modelText(r), datasetText(r), optimizerText(r)].filter(Boolean).join(' ') || 'external run';
  return r.seed === undefined ? what : `${what} · seed ${r.seed}`;
}

/** The keys where settings differ between runs (our NOT_ARM-style ignores applied by the caller),
 * in first-seen order. */
export function differingKeys(flats: readonly Record<string, Scalar>[], ignore: (k: string) => boolean = () => false): string[] {
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const f of flats) for (const k of Object.keys(f)) if (!seen.has(k)) (seen.add(k), keys.push(k));
  return keys.filter((k) => !ignore(k) && flats.some((f) => !same(f[k], flats[0]![k])));
}

const same = (a: Scalar | undefined, b: Scalar | undefined) => (a === undefined ? null : a) === (b === undefined ? null : b);

/** What an external run changes against another, as `key value` parts (`lr 0.01`,
 * `label_smoothing 0.1`; a key the other has but this one lacks: `no key`). Seeds and names are not
 * differences. */
export function paramDifferences(base: Record<string, unknown> | null, arm: Record<string, unknown> | null): string[] {
  const fb = base ? flattenConfig(base) : {};
  const fa = arm ? flattenConfig(arm) : {};
  return differingKeys([fb, fa], (k) => SEED_OR_NAME.test(k)).map((k) => (k in fa ? `${k} ${fa[k]}` : `no ${k}`));
}

/** Params that are a run's seed or name, not what its arm changes. */
export const SEED_OR_NAME = /(^|\.)(seed|random_seed|name|run_name)$/i;
