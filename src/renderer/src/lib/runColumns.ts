// Columns of the runs table: label, sort value and cell text.
import type { RunSummary } from '@shared/api';
import { datasetLabel, modelLabel, optimizerLabel, pct, runDuration, runName, shortDateTime, duration } from './format';

export interface RunColumn {
  key: string;
  label: string;
  title?: string;
  numeric?: boolean;
  sort: (r: RunSummary, now: number) => number | string | null;
  text?: (r: RunSummary, now: number) => string;
}

const metric = (key: string, from: 'final' | 'best') => (r: RunSummary) => r[from][key] ?? null;

export const RUN_COLUMNS: RunColumn[] = [
  { key: 'id', label: 'id', numeric: true, sort: (r) => r.id, text: (r) => String(r.id) },
  { key: 'name', label: 'name', sort: (r) => runName(r).toLowerCase() },
  { key: 'status', label: 'status', sort: (r) => r.status },
  { key: 'model', label: 'model', sort: (r) => modelLabel(r.config), text: (r) => modelLabel(r.config) },
  { key: 'dataset', label: 'dataset', sort: (r) => datasetLabel(r.config), text: (r) => datasetLabel(r.config) },
  {
    key: 'optimizer',
    label: 'optimizer',
    sort: (r) => `${r.config.optimizer.name} ${String(r.config.optimizer.lr).padStart(12)}`,
    text: (r) => optimizerLabel(r.config),
  },
  { key: 'seed', label: 'seed', numeric: true, sort: (r) => r.seed, text: (r) => String(r.seed) },
  { key: 'backend', label: 'backend', sort: (r) => r.backend ?? r.config.backend, text: (r) => r.backend ?? r.config.backend },
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
