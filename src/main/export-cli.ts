// `trickbench export --data-dir DIR --out FILE [--histories | --events] [--runs 1,2,3]`
import fs from 'node:fs';
import { Command } from 'commander';
import { openStoreFromEnv } from '../store/open';
import { resolveDataDir } from '../store/paths';
import { writeEventsCsv, writeHistoriesCsv, writeRunsCsv } from './services/export';
import { runIfScript } from '../cli/script';

async function exportCsv(argv: string[]): Promise<number> {
  const program = new Command('trickbench export')
    .description('Export the runs table (default), full metric histories or the events to CSV.')
    .requiredOption('--out <file>', 'CSV file to write ("-" for stdout)')
    .option('--data-dir <dir>', 'data dir holding trickbench.db (default $TRICKBENCH_HOME or ~/.trickbench)')
    .option('--histories', 'every metric point of the runs, long format, instead of one row per run')
    .option('--events', 'every event of the runs (run, epoch, step, kind, JSON payload): trick actions, starts, resumes')
    .option('--runs <ids>', 'comma-separated run ids (default: all runs)')
    .exitOverride();
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    return (e as { exitCode?: number }).exitCode === 0 ? 0 : 2;
  }
  const o = program.opts<{ out: string; dataDir?: string; histories?: boolean; events?: boolean; runs?: string }>();
  if (o.histories && o.events) {
    process.stderr.write('--histories and --events: choose one\n');
    return 2;
  }
  const ids = o.runs ? o.runs.split(',').map((s) => s.trim()).filter(Boolean).map(Number) : [];
  const bad = o.runs?.split(',').find((s) => !/^\s*\d+\s*$/.test(s));
  if (bad !== undefined) {
    process.stderr.write(`--runs: "${bad}" is not a run id\n`);
    return 2;
  }
  const dataDir = resolveDataDir(o.dataDir);
  if (!fs.existsSync(dataDir)) {
    process.stderr.write(`--data-dir: ${dataDir} does not exist\n`);
    return 2;
  }
  const store = openStoreFromEnv(dataDir);
  const tmp = o.out === '-' ? null : `${o.out}.partial`;
  const file = tmp ? fs.createWriteStream(tmp) : null;
  const out = file ?? process.stdout;
  try {
    if (o.histories) await writeHistoriesCsv(store, ids, out);
    else if (o.events) await writeEventsCsv(store, ids, out);
    else await writeRunsCsv(store, ids, out);
    if (tmp) fs.renameSync(tmp, o.out); // a failed export never leaves a half-written file behind
  } catch (e) {
    // The stream opens its file asynchronously: closed first, so that the file is not created
    // again after it was removed.
    if (file) await new Promise<void>((resolve) => (file.closed ? resolve() : file.once('close', () => resolve()).destroy()));
    if (tmp) fs.rmSync(tmp, { force: true });
    process.stderr.write(`export failed: ${(e as Error).message}\n`);
    return 1;
  } finally {
    store.close();
  }
  if (tmp) process.stderr.write(`wrote ${o.out}\n`);
  return 0;
}

/** `trickbench export ARGS` (src/cli/script.ts): exit 2 for bad arguments, 1 when writing failed. */
export async function main(argv: string[]): Promise<void> {
  process.exitCode = await exportCsv(argv);
}

runIfScript(import.meta.url, main);
