// What each metric key means, in one place: whether lower is better, whether it is logged per step or
// per epoch (or once, at the end), its unit and its display name. The store's summaries, the live run
// store, the comparison and the charts read it here. Tricks declare their own diagnostics' keys in
// their files (`metrics`), with this type.

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
}
