// Columns of the runs table: label, sort value and cell text.
import type { RunSummary } from '../../../shared/api';
import { datasetText, modelText, optimizerText, tricksOf } from '../../../shared/run-info';
import { datasetLabel, modelLabel, optimizerLabel, pct, runDuration, runName, shortDateTime, duration, tricksLabel } from './format';

export interface RunColumn {
  key: string;
  label: string;
  title?: string;
  numeric?: boolean;
  /** Text that may be long: cut with an ellipsis in the cell, whole in its tooltip. */
  clip?: boolean;
  sort: (r: RunSummary, now: number) => number | string | null;
  text?: (r: RunSummary, now: number) => string;
}

/** A cluster run's backend is its node's: `slurm` until the node says which (`wasm · slurm`). */
function backendText(r: RunSummary): string {
  if (r.executor === 'slurm') return r.backend ? `${r.backend} · slurm` : 'slurm';
  return r.backend ?? r.config?.backend ?? (r.source === 'external' ? 'external' : '');
}

const metric = (key: string, from: 'final' | 'best') => (r: RunSummary) => r[from][key] ?? null;

export const RUN_COLUMNS: RunColumn[] = [
  { key: 'id', label: 'id', numeric: true, sort: (r) => r.id, text: (r) => String(r.id) },
  { key: 'name', label: 'name', sort: (r) => runName(r).toLowerCase() },
  { key: 'status', label: 'status', sort: (r) => r.status },
  { key: 'experiment', label: 'experiment', title: 'the experiment the run belongs to', clip: true, sort: (r) => r.experimentName?.toLowerCase() ?? null, text: (r) => r.experimentName ?? '' },
  { key: 'arm', label: 'arm', title: "the run's arm in its experiment", clip: true, sort: (r) => r.armName?.toLowerCase() ?? null, text: (r) => r.armName ?? '' },
  { key: 'tricks', label: 'tricks', title: 'the tricks the run uses (options that differ from their defaults in parentheses)', clip: true, sort: (r) => tricksOf(r).toLowerCase() || null, text: (r) => tricksLabel(r) },
  { key: 'model', label: 'model', sort: (r) => modelText(r) || null, text: (r) => modelLabel(r) },
  { key: 'dataset', label: 'dataset', sort: (r) => datasetText(r) || null, text: (r) => datasetLabel(r) },
  {
    key: 'optimizer',
    label: 'optimizer',
    sort: (r) => (r.config ? `${r.config.optimizer.name} ${String(r.config.optimizer.lr).padStart(12)}` : optimizerText(r) || null),
    text: (r) => optimizerLabel(r),
  },
  { key: 'seed', label: 'seed', numeric: true, sort: (r) => r.seed, text: (r) => String(r.seed) },
  {
    key: 'final-val-acc',
    label: 'val/acc',
    title: 'final validation accuracy',
    numeric: true,
    sort: metric('val/acc', 'final'),
    text: (r) => pct(r.final['val/acc']),
  },
  {
    key: 'best-val-acc',
    label: 'best val/acc',
    title: 'best validation accuracy over epochs',
    numeric: true,
    sort: metric('val/acc', 'best'),
    text: (r) => pct(r.best['val/acc']),
  },
  {
    key: 'test-acc',
    label: 'test/acc',
    title: 'test accuracy at the end',
    numeric: true,
    sort: metric('test/acc', 'final'),
    text: (r) => pct(r.final['test/acc']),
  },
  // after the numbers: at 1440 px what a run is and how it did fit, the rest scrolls
  {
    key: 'backend',
    label: 'backend',
    title: 'the backend it trains on (a cluster run: slurm, and the backend once its node says)',
    sort: (r) => (r.executor === 'slurm' ? backendText(r) : (r.backend ?? r.config?.backend ?? null)),
    text: (r) => backendText(r),
  },
  { key: 'created', label: 'created', sort: (r) => r.createdAt, text: (r) => shortDateTime(r.createdAt) },
  {
    key: 'duration',
    label: 'duration',
    numeric: true,
    sort: (r, now) => runDuration(r, now),
    text: (r, now) => duration(runDuration(r, now)),
  },
];

export function compareValues(a: number | string | null, b: number | string | null): number {
  if (a === b) return 0;
  if (a === null) return 1; // empty values last
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}
