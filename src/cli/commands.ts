// The `trickbench` subcommands: a name, the line `trickbench --help` shows, and the module whose
// main(argv) runs it (src/cli/script.ts), imported only when that subcommand runs. A new
// subcommand is one line here.
import type { CliMain } from './script';

export interface Subcommand {
  name: string;
  summary: string;
  load: () => Promise<{ main: CliMain }>;
}

// `import` comes from src/main/import-cli.ts when the build has it (import.meta.glob finds the
// module at build time, or nothing); without it the subcommand is not offered.
const importCli = import.meta.glob<{ main: CliMain }>('../main/import-cli.ts');

export const SUBCOMMANDS: Subcommand[] = [
  { name: 'serve', summary: 'serve the app on http://127.0.0.1 (the web shell; writes DATA_DIR/server.json)', load: () => import('../main/serve') },
  { name: 'train', summary: 'train one run (or --resume one) and record it in the store', load: () => import('../trainer/cli') },
  { name: 'cluster-task', summary: "train one run as a cluster job's task (--run-dir SHARED/runs/<id>): a run journal, not the store", load: () => import('../journal/task') },
  { name: 'experiment', summary: 'train an experiment (baseline + arms x seeds), then print the paired comparison', load: () => import('../main/experiment-cli') },
  { name: 'preset', summary: "run a preset's experiment (--list: the presets)", load: () => import('../main/preset-cli') },
  { name: 'export', summary: 'write the runs table, metric histories or events as CSV', load: () => import('../main/export-cli') },
  ...Object.values(importCli).map((load) => ({ name: 'import', summary: 'import runs from TensorBoard event files or a CSV file', load })),
  { name: 'dataset', summary: 'datasets: inspect files, list what runs can use, download the public ones', load: () => import('../main/dataset-cli') },
  { name: 'summary', summary: "a model's layers, parameters and multiply-adds", load: () => import('../trainer/summary-cli') },
  { name: 'bench', summary: 'benchmarks: training images/s (against PyTorch when present), store, loader, kernels', load: () => import('../../bench/index') },
];
