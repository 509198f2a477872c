// What each metric key means, in one place: whether lower is better, whether it is logged per step or
// per epoch (or once, at the end), its unit and its display name. The store's summaries, the live run
// store, the comparison and the charts read it here. Tricks declare their own diagnostics' keys in
// their files (`metrics`), with this type.

import { TRICK_METRICS } from './tricks/registry';

export interface MetricSpec {
  /** The key ("val/acc"), or a prefix pattern ending in "/*" ("grad_norm/*": one key per layer). */
  key: string;
  /** Which way is better; 'none' for figures that are not a goal (lr, a norm). */
  direction: 'higher' | 'lower' | 'none';
  /** step: many points per epoch (x = fractional epoch); epoch: one per epoch; final: once, at the end. */
  granularity: 'step' | 'epoch' | 'final';
  /** fraction: shown as % (and differences in pp); s: seconds; img/s; '' : a plain number. */
  unit: 'fraction' | 's' | 'img/s' | '';
  /** The display name ("validation accuracy"). */
  name: string;
  /** A trick's per-layer diagnostic: a curve, never a run's final figure. */
  diagnostic?: boolean;
  /** The y axis's label where the name alone does not say what is drawn ("‖∇W‖ per step"). */
  axis?: string;
}

/** Every key our trainer writes (loop.ts, run-evaluation.ts), and the keys of loggers (the Python
 * client) that the pages draw by name. */
export const METRIC_SPECS: readonly MetricSpec[] = [
  // per step, from the first step on (x = e + (i + 1)/n)
  { key: 'train/loss_step', direction: 'lower', granularity: 'step', unit: '', name: 'training loss per step' },
  { key: 'lr_step', direction: 'none', granularity: 'step', unit: '', name: 'learning rate' },
  // at each epoch's end
  { key: 'train/loss', direction: 'lower', granularity: 'epoch', unit: '', name: 'training loss' },
  { key: 'train/acc', direction: 'higher', granularity: 'epoch', unit: 'fraction', name: 'training accuracy' },
  { key: 'lr', direction: 'none', granularity: 'epoch', unit: '', name: 'learning rate' },
  { key: 'val/loss', direction: 'lower', granularity: 'epoch', unit: '', name: 'validation loss' },
  { key: 'val/acc', direction: 'higher', granularity: 'epoch', unit: 'fraction', name: 'validation accuracy' },
  { key: 'time/epoch_s', direction: 'lower', granularity: 'epoch', unit: 's', name: 'epoch time' },
  { key: 'time/cpu_s', direction: 'lower', granularity: 'epoch', unit: 's', name: 'CPU time per epoch' },
  { key: 'time/data_wait_s', direction: 'lower', granularity: 'epoch', unit: 's', name: 'wait for data per epoch' },
  { key: 'throughput/img_s', direction: 'higher', granularity: 'epoch', unit: 'img/s', name: 'training throughput' },
  // once, after the last epoch: the last weights' test evaluation, then the best checkpoint's
  { key: 'test/loss', direction: 'lower', granularity: 'final', unit: '', name: 'test loss' },
  { key: 'test/acc', direction: 'higher', granularity: 'final', unit: 'fraction', name: 'test accuracy' },
  { key: 'test/top5', direction: 'higher', granularity: 'final', unit: 'fraction', name: 'test top-5 accuracy' },
  { key: 'test/loss_best', direction: 'lower', granularity: 'final', unit: '', name: 'test loss (best checkpoint)' },
  { key: 'test/acc_best', direction: 'higher', granularity: 'final', unit: 'fraction', name: 'test accuracy (best checkpoint)' },
  { key: 'test/top5_best', direction: 'higher', granularity: 'final', unit: 'fraction', name: 'test top-5 accuracy (best checkpoint)' },
  // a logger's per-step keys (the trainer writes lr_step and no per-step accuracy)
  { key: 'train/lr', direction: 'none', granularity: 'step', unit: '', name: 'learning rate' },
  { key: 'train/acc_step', direction: 'higher', granularity: 'step', unit: 'fraction', name: 'training accuracy per step' },
];

/** The tricks' per-layer diagnostics (RIFLE: gradient and weight norms; RePr: filter
 * orthogonality), declared by each trick in its own file (src/shared/tricks/). */
export const TRICK_METRIC_SPECS: readonly MetricSpec[] = TRICK_METRICS;

const isPattern = (key: string) => key.endsWith('/*');

function index(specs: readonly MetricSpec[]): { exact: Map<string, MetricSpec>; patterns: MetricSpec[] } {
  const exact = new Map<string, MetricSpec>();
  const patterns: MetricSpec[] = [];
  for (const s of specs) {
    const seen = isPattern(s.key) ? patterns.find((p) => p.key === s.key) : exact.get(s.key);
    if (seen) throw new Error(`metric ${s.key} is declared twice`);
    if (isPattern(s.key)) patterns.push(s);
    else exact.set(s.key, s);
  }
  // the longest prefix first: "a/b/*" is more specific than "a/*"
  patterns.sort((a, b) => b.key.length - a.key.length);
  return { exact, patterns };
}

const TABLE = index([...METRIC_SPECS, ...TRICK_METRIC_SPECS]);

/** The declared spec of a key: an exact entry, else the longest pattern whose prefix it has
 * ("grad_norm/conv1" -> "grad_norm/*"); null for a key nobody declared. */
export function declaredSpec(key: string): MetricSpec | null {
  const exact = TABLE.exact.get(key);
  if (exact) return exact;
  for (const p of TABLE.patterns) {
    const prefix = p.key.slice(0, -1); // "grad_norm/"
    if (key.length > prefix.length && key.startsWith(prefix)) return p;
  }
  return null;
}

/** What an undeclared key (an imported run's, a logger's) is taken to mean, from its name:
 * - direction: lower for a loss or an error, for times (`time/...`, a name part `time` or
 *   `latency`, a key ending in `_s` or `_ms`) and for the usual lower-is-better scores (perplexity,
 *   mse, mae, rmse, nll, wer, cer, fid); higher for an accuracy (a name part `acc`, `accuracy` or
 *   `top<k>`, alone or followed by `_`, `/`, `@` or a digit), for a throughput (`throughput/...`)
 *   and for the usual higher-is-better scores (f1, iou, auc, map, bleu, rouge, dice, precision,
 *   recall, reward, return, psnr, ssim); otherwise none (no goal: its best is not kept, and a
 *   comparison on it reads a positive difference as a gain);
 * - unit: an accuracy is a fraction; `time/...` seconds; `throughput/...` img/s; else a number;
 * - granularity: per step when the key ends in `_step`, else per epoch;
 * - name: the key itself. Never a diagnostic. */
export function fallbackSpec(key: string): MetricSpec {
  const accuracy = /(^|[/_])(acc(uracy)?|top\d+)($|[/_@\d])/.test(key);
  const throughput = key.startsWith('throughput/');
  // a name part, as for accuracies: `val/f1`, `eval/bleu_4`, `train/step_time`, `val/latency_ms`
  const part = (words: string) => new RegExp(`(^|[/_])(${words})($|[/_@\\d])`).test(key);
  const lower =
    /loss|error/.test(key) ||
    key.startsWith('time/') ||
    part('time|latency|perplexity|ppl|mse|mae|rmse|nll|wer|cer|fid') ||
    (!throughput && /_(s|ms)$/.test(key));
  const higher = accuracy || throughput || part('f1|iou|miou|auc|auroc|map|bleu|rouge|dice|precision|recall|reward|return|psnr|ssim');
  return {
    key,
    direction: lower ? 'lower' : higher ? 'higher' : 'none',
    granularity: key.endsWith('_step') ? 'step' : 'epoch',
    unit: accuracy && !lower ? 'fraction' : key.startsWith('time/') ? 's' : throughput ? 'img/s' : '',
    name: key,
  };
}

/** The spec of a key: declared (exact, then pattern), else the fallback from its name. */
export function metricSpec(key: string): MetricSpec {
  return declaredSpec(key) ?? fallbackSpec(key);
}

/** Lower values are better (a loss, a time): a best is the minimum, a negative difference a gain. */
export const lowerIsBetter = (key: string): boolean => metricSpec(key).direction === 'lower';
/** Higher is better for a comparison's verdict: every key that is not lower-is-better (a figure
 * without a goal compares as "higher": a positive difference reads as a gain). */
export const higherIsBetter = (key: string): boolean => !lowerIsBetter(key);
/** Logged per step (many points per epoch), never a run's final figure. */
export const isStepKey = (key: string): boolean => metricSpec(key).granularity === 'step';
/** A trick's per-layer diagnostic. */
export const isDiagnostic = (key: string): boolean => metricSpec(key).diagnostic === true;
/** Shown in percent (differences in percentage points). */
export const isFraction = (key: string): boolean => metricSpec(key).unit === 'fraction';
/** One of a run's final figures (the store's final/best summaries): per-epoch and end-of-run
 * keys, neither per-step series nor a trick's diagnostics. */
export const isSummaryKey = (key: string): boolean => {
  const s = metricSpec(key);
  return s.granularity !== 'step' && !s.diagnostic;
};

/** The best of a key's values given their minimum and maximum; undefined when the key has no
 * direction (the "best" learning rate is not a thing). */
export function bestOf(key: string, min: number, max: number): number | undefined {
  const d = metricSpec(key).direction;
  return d === 'lower' ? min : d === 'higher' ? max : undefined;
}

/** The better of two values of a key (a running best): `b` (the new value) when there is no
 * previous one; undefined when the key has no direction. */
export function better(key: string, a: number | undefined, b: number): number | undefined {
  const d = metricSpec(key).direction;
  if (d === 'none') return undefined;
  if (a === undefined) return b;
  return d === 'lower' ? Math.min(a, b) : Math.max(a, b);
}

/** The display name ("validation accuracy"; an undeclared key's is the key). */
export const displayName = (key: string): string => metricSpec(key).name;

/** The display name as a title ("Validation accuracy"). */
export function metricTitle(key: string): string {
  const n = displayName(key);
  return n === key ? n : n.charAt(0).toUpperCase() + n.slice(1);
}

/** How many display units one raw unit is: fractions show in percent. */
export const displayScale = (key: string): number => (isFraction(key) ? 100 : 1);
