// `trickbench import tensorboard DIR` and `trickbench import csv FILE`: runs of other tools into
// the store as external runs (store.external.importRun: one transaction per run, idempotent by a
// client key made from the source's absolute path, so importing the same files again duplicates
// nothing and files that grew add only their new points). Progress on stderr; the last stdout line
// is one JSON object: runs created / already present, points added, warnings. Exit 2 on bad input.
import fs from 'node:fs';
import { Command, Option } from 'commander';
import { compilePattern, keysWithoutDirection, parseKeyMap } from '../import/common';
import { parseColumns, readCsvFile, type CsvFormat } from '../import/csv';
import { readTensorboardDir } from '../import/tensorboard';
import { ImportError, type ImportedRun } from '../import/types';
import { openStoreFromEnv } from '../store/open';
import { resolveDataDir } from '../store/paths';

interface CommonOpts {
  dataDir?: string;
  pattern?: string;
  experiment?: string;
  baseline?: string;
  metric?: string;
  seed?: string;
  keyMap: string[];
  dryRun?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

function common(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data dir holding trickbench.db (default $TRICKBENCH_HOME or ~/.trickbench)')
    .option('--pattern <regex>', 'regular expression with named groups arm and seed (and optionally experiment; other groups become params), matched against each run\'s folder path relative to DIR (tensorboard) or its name (csv), e.g. "(?<arm>[^/]+)/seed(?<seed>\\d+)"')
    .option('--experiment <name>', 'put every run into this experiment (made on first use); each run then needs an arm and a seed from --pattern')
    .option('--baseline <arm>', "the experiment's baseline arm (default: the first arm imported); csv: also of the experiments its experiment and arm columns name")
    .option('--metric <key>', 'the metric a new experiment compares (default val/acc)')
    .option('--seed <n>', 'seed of a run that --pattern gives none (default 0)')
    .option('--key-map <old=new>', 'rename a metric key (repeatable)', collect, [])
    .option('--dry-run', 'read and check everything, write nothing');
}

/** The parsed runs into the store; the summary printed as the last stdout line. */
function store(runs: readonly ImportedRun[], warnings: string[], o: CommonOpts, extra: Record<string, unknown>): void {
  for (const r of runs) warnings.push(...r.warnings);
  const noDirection = keysWithoutDirection(runs);
  const points = runs.reduce((n, r) => n + r.metrics.length, 0);
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  if (noDirection.length) {
    process.stderr.write(`note: no known direction (higher or lower is better) for ${noDirection.join(', ')}: a comparison on them reads a positive difference as a gain; rename with --key-map (e.g. epoch_accuracy=val/acc)\n`);
  }
  const summary = {
    ...extra,
    runsCreated: 0,
    runsPresent: 0,
    pointsAdded: 0,
    pointsRead: points,
    keysWithoutDirection: noDirection,
    runs: [] as { name: string; source: string; runId: number | null; experimentId: number | null; created: boolean; pointsAdded: number }[],
    warnings,
    ...(o.dryRun ? { dryRun: true } : {}),
  };
  if (o.dryRun) {
    for (const r of runs) summary.runs.push({ name: r.name, source: r.sourcePath, runId: null, experimentId: null, created: false, pointsAdded: 0 });
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const dataDir = resolveDataDir(o.dataDir);
  if (!fs.existsSync(dataDir)) fs.mkdirSync(dataDir, { recursive: true });
  const db = openStoreFromEnv(dataDir);
  try {
    for (const r of runs) {
      const spec = { ...r.spec, ...(o.metric !== undefined && r.spec.experiment !== undefined ? { metric: o.metric } : {}) };
      const got = db.external.importRun({ spec, metrics: r.metrics, events: r.events, summary: r.summary, status: r.status ?? 'completed' });
      summary[got.created ? 'runsCreated' : 'runsPresent']++;
      summary.pointsAdded += got.pointsAdded;
      summary.runs.push({ name: r.name, source: r.sourcePath, runId: got.runId, experimentId: got.experimentId, created: got.created, pointsAdded: got.pointsAdded });
      process.stderr.write(`${got.created ? 'imported' : 'updated'} run ${got.runId} ${r.name}: ${got.pointsAdded} new points of ${r.metrics.length}\n`);
    }
  } finally {
    db.close();
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

/** The placement flags, checked. `fileColumns`: a CSV, whose experiment and arm columns may place
 * runs, so --baseline needs no --experiment there (readCsvFile refuses it if no run is placed). */
function placement(o: CommonOpts, fileColumns = false) {
  let seed: number | undefined;
  if (o.seed !== undefined) {
    if (!/^[+-]?\d{1,15}$/.test(o.seed)) throw new ImportError(`--seed: "${o.seed}" is not an integer`);
    seed = Number(o.seed);
  }
  if (o.baseline !== undefined && o.experiment === undefined && !o.pattern?.includes('?<experiment>') && !fileColumns) {
    throw new ImportError('--baseline: an arm of an experiment: give --experiment too');
  }
  return {
    ...(o.pattern !== undefined ? { pattern: compilePattern(o.pattern) } : {}),
    ...(o.experiment !== undefined ? { experiment: o.experiment } : {}),
    ...(o.baseline !== undefined ? { baseline: o.baseline } : {}),
    ...(seed !== undefined ? { seed } : {}),
    keyMap: parseKeyMap(o.keyMap),
  };
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('trickbench import').description('Import runs of other tools (TensorBoard event files, CSV exports) as external runs.').exitOverride();
  let action: (() => void) | null = null;
  common(
    program
      .command('tensorboard')
      .argument('<dir>', 'folder of TensorBoard logs: one run per folder holding events.out.tfevents.* files')
      .description('Import the scalars of TensorBoard event files (TF1 simple_value and TF2/Keras tensor scalars); images, histograms and other summaries are skipped and counted.')
      .option('--strict', 'refuse a damaged or truncated event file instead of importing up to its last good record')
      .option('--keras', "Keras' layout: a run folder's train/ and validation/ subfolders are one run, epoch_loss/epoch_accuracy/batch_loss renamed train/loss, val/acc, train/loss_step, ...")
      .exitOverride(),
  ).action((dir: string, o: CommonOpts & { strict?: boolean; keras?: boolean }) => {
    action = () => {
      const got = readTensorboardDir(dir, { ...placement(o), strict: !!o.strict, keras: !!o.keras, onProgress: (m) => process.stderr.write(`${m}\n`) });
      store(got.runs, got.warnings, o, { source: 'tensorboard' });
    };
  });
  common(
    program
      .command('csv')
      .argument('<file>', 'CSV file')
      .description('Import a CSV: long format run,key,step,value[,epoch,time,experiment,arm,seed] (our histories export, MLflow metric history), a W&B chart export, or an MLflow runs table.')
      .addOption(new Option('--format <format>', 'shape of the file (default: from its header)').choices(['auto', 'long', 'wandb', 'mlflow']).default('auto'))
      .option('--columns <map>', 'which header holds what, e.g. run=Name,key=metric,step=Step,value=val,epoch=ep,time=ts,seed=seed,experiment=exp,arm=arm')
      .option('--params <names>', 'MLflow runs table: numeric columns that are params, not metrics (comma-separated)')
      .exitOverride(),
  ).action((file: string, o: CommonOpts & { format: CsvFormat | 'auto'; columns?: string; params?: string }) => {
    action = () => {
      const got = readCsvFile(file, {
        ...placement(o, true),
        format: o.format,
        ...(o.columns !== undefined ? { columns: parseColumns(o.columns) } : {}),
        ...(o.params !== undefined ? { params: o.params.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
      });
      process.stderr.write(`${file}: ${got.format} format, ${got.runs.length} run${got.runs.length === 1 ? '' : 's'}\n`);
      store(got.runs, got.warnings, o, { source: 'csv', format: got.format });
    };
  });
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    process.exitCode = (e as { exitCode?: number }).exitCode === 0 ? 0 : 2;
    return;
  }
  if (!action) {
    program.outputHelp({ error: true });
    process.exitCode = 2;
    return;
  }
  try {
    (action as () => void)();
  } catch (e) {
    // the store's refusals (ApiFailure: a bad field, a clientKey imported before with another seed) are bad input too
    const code = (e as { error?: { code?: string } }).error?.code;
    const bad = e instanceof ImportError || code === 'bad_request' || code === 'conflict';
    const msg = (e as { message?: string }).message ?? String(e);
    process.stderr.write(`import: ${msg}\n`);
    process.exitCode = bad ? 2 : 1;
  }
}
