// `trickbench dataset <command>`: dataset files on disk.
//   inspect PATH [--labels coarse] [--image-size N] [--strict] [--kind mnist|fashion-mnist|kmnist]
//     reads and validates a dataset (IDX folder, CIFAR tarball or folder, image folder), prints a
//     short summary and, as its LAST stdout line, {"format","classes","train","test","shape"}
//     (plus "val" when the set has one). Bad data: exit 1 with the file (and entry or offset) on
//     stderr; bad arguments: exit 2.
//   list [--data-dir DIR]
//     the datasets runs can use (built in, imported, found in the data dir or /usr/share/datasets)
//     and the public ones that can be downloaded; last line: a JSON array of them.
//   download NAME [--data-dir DIR]
//     fetches a public dataset (mnist, fashion-mnist, kmnist, cifar10, cifar100) from its official
//     addresses into DIR/datasets/NAME with a progress bar: resumable (run it again after an
//     interruption or Ctrl+C), MD5-verified. Last line: the final progress as JSON. Exit 1 when it
//     failed or was cancelled.
// Subcommands are added with program.command(...) in buildProgram; each sets `state.code`.
import { Command, InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import { ApiFailure, type DownloadProgress } from '../shared/api';
import { openStoreFromEnv } from '../store/open';
import { resolveDataDir } from '../store/paths';
import { DatasetService } from './services/datasets';
import { inspectDataset, type InspectResult, type ReadOptions } from '../data/formats/read';
import { DataError } from '../data/types';
import { runIfScript } from '../cli/script';

export const EXIT_DATA = 1;
export const EXIT_INVALID = 2;

interface CliState {
  code: number;
}

function positiveInt(s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${s}"`);
  return n;
}

function oneOf<T extends string>(values: readonly T[]) {
  return (s: string): T => {
    if (!values.includes(s as T)) throw new InvalidArgumentError(`expected one of ${values.join(', ')}, got "${s}"`);
    return s as T;
  };
}

export function formatInspect(path: string, r: InspectResult, seconds: number): string {
  const lines: string[] = [];
  lines.push(`${path}: ${r.format}, ${r.shape.join('x')} images, ${r.classes} classes (read and checked in ${seconds.toFixed(1)} s)`);
  lines.push(`train ${r.train}, test ${r.test}${r.val !== undefined ? `, val ${r.val}` : ''}`);
  const width = Math.max(5, ...r.classNames.map((n) => [...n].length));
  lines.push(`  ${'#'.padStart(3)}  ${'class'.padEnd(width)}  ${'train'.padStart(7)}  ${'test'.padStart(7)}`);
  r.classNames.forEach((name, k) => {
    lines.push(`  ${String(k).padStart(3)}  ${name.padEnd(width - [...name].length + name.length)}  ${String(r.classCounts.train[k]).padStart(7)}  ${String(r.classCounts.test[k]).padStart(7)}`);
  });
  if (r.skipped.length) {
    lines.push(`skipped ${r.skipped.length} undecodable file${r.skipped.length > 1 ? 's' : ''}:`);
    for (const s of r.skipped) lines.push(`  ${s.file}: ${s.reason}`);
  }
  const json: Record<string, unknown> = { format: r.format, classes: r.classes, train: r.train, test: r.test, shape: r.shape };
  if (r.val !== undefined) json.val = r.val;
  lines.push(JSON.stringify(json));
  return lines.join('\n');
}

function addInspect(program: Command, state: CliState): void {
  program
    .command('inspect')
    .description('Read and validate a dataset, print its format, classes and per-class counts.')
    .argument('<path>', 'IDX folder, CIFAR .tar.gz or batches folder, or image folder')
    .option('--labels <which>', 'CIFAR-100 labels: fine (100 classes) or coarse (20)', oneOf(['fine', 'coarse'] as const))
    .option('--image-size <n>', 'image folders: resize to n x n (default: the common size, else 32)', positiveInt)
    .option('--strict', 'image folders: refuse undecodable images instead of skipping them')
    .option('--kind <kind>', 'IDX: class names of mnist, fashion-mnist or kmnist (default: from the folder name)', oneOf(['mnist', 'fashion-mnist', 'kmnist'] as const))
    .action(async (p: string, o: { labels?: 'fine' | 'coarse'; imageSize?: number; strict?: boolean; kind?: ReadOptions['kind'] }) => {
      const t0 = performance.now();
      const r = await inspectDataset(p, { labels: o.labels, imageSize: o.imageSize ?? null, strict: o.strict, kind: o.kind });
      process.stdout.write(`${formatInspect(p, r, (performance.now() - t0) / 1000)}\n`);
      state.code = 0;
    });
}

function addList(program: Command, state: CliState): void {
  program
    .command('list')
    .description('The datasets runs can use, and the public ones that can be downloaded.')
    .option('--data-dir <dir>', 'data dir (default $TRICKBENCH_HOME or ~/.trickbench)')
    .action(async (o: { dataDir?: string }) => {
      const dataDir = resolveDataDir(o.dataDir);
      const store = openStoreFromEnv(dataDir);
      try {
        const list = await new DatasetService({ store, dataDir }).list();
        for (const d of list) {
          const where = d.origin === null ? `not downloaded (trickbench dataset download ${d.name})` : `${d.origin}${d.path ? ` ${d.path}` : ''}`;
          const what = d.shape ? `${d.shape.join('x')}, ${d.classes} classes` : '';
          process.stdout.write(`${d.name.padEnd(16)} ${what.padEnd(22)} ${where}\n`);
        }
        process.stdout.write(`${JSON.stringify(list.map((d) => ({ name: d.name, origin: d.origin, format: d.format, path: d.path, shape: d.shape, classes: d.classes })))}\n`);
        state.code = 0;
      } finally {
        store.close();
      }
    });
}

function addDownload(program: Command, state: CliState): void {
  program
    .command('download')
    .description('Download a public dataset from its official addresses (resumable, MD5-verified).')
    .argument('<name>', 'mnist, fashion-mnist, kmnist, cifar10 or cifar100')
    .option('--data-dir <dir>', 'data dir (default $TRICKBENCH_HOME or ~/.trickbench)')
    .option('--no-progress', 'no progress bar')
    .action(async (name: string, o: { dataDir?: string; progress: boolean }) => {
      const dataDir = resolveDataDir(o.dataDir);
      const store = openStoreFromEnv(dataDir);
      const ds = new DatasetService({ store, dataDir, refreshOnDownload: false });
      const bar = o.progress && process.stderr.isTTY ? new cliProgress.SingleBar({ format: ' {bar} {percentage}% | {done} of {size} | {rate} | {file}', hideCursor: true }, cliProgress.Presets.shades_classic) : null;
      const mb = (b: number | null) => (b === null ? '?' : `${(b / 1e6).toFixed(1)} MB`);
      let started = false;
      const onProgress = (p: DownloadProgress) => {
        if (!bar || p.id !== name) return;
        const payload = { done: mb(p.received), size: mb(p.total), rate: p.bytesPerSecond ? `${mb(p.bytesPerSecond)}/s` : '', file: p.file ?? p.state };
        if (!started) {
          bar.start(p.total ?? 1, p.received, payload);
          started = true;
        }
        if (p.total) bar.setTotal(p.total);
        bar.update(p.received, payload);
      };
      ds.downloads.on('progress', onProgress);
      const stop = () => ds.downloads.cancel(name);
      process.once('SIGINT', stop);
      try {
        ds.download(name);
        const end = await ds.downloads.wait(name);
        bar?.stop();
        if (end.state === 'done') process.stderr.write(`${name}: downloaded and verified in ${end.dir}\n`);
        else process.stderr.write(`${name}: ${end.state}${end.error ? `: ${end.error}` : ''}${end.state === 'cancelled' || end.state === 'failed' ? ' (run the same command again to resume)' : ''}\n`);
        process.stdout.write(`${JSON.stringify(end)}\n`);
        state.code = end.state === 'done' ? 0 : EXIT_DATA;
      } finally {
        process.off('SIGINT', stop);
        bar?.stop();
        await ds.downloads.close();
        store.close();
      }
    });
}

export function buildProgram(state: CliState): Command {
  const program = new Command('trickbench dataset').description('Datasets: inspect files, list what runs can use, download the public ones.').exitOverride();
  addInspect(program, state);
  addList(program, state);
  addDownload(program, state);
  // Subcommands inherit exitOverride only when set before they are added; set it on each.
  for (const c of program.commands) c.exitOverride();
  return program;
}

async function dataset(argv: string[]): Promise<number> {
  const state: CliState = { code: 0 };
  const program = buildProgram(state);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof DataError) {
      process.stderr.write(`${e.message}\n`);
      return EXIT_DATA;
    }
    if (e instanceof ApiFailure) {
      process.stderr.write(`${e.message}\n`);
      return EXIT_INVALID;
    }
    const exitCode = (e as { exitCode?: number }).exitCode;
    if (exitCode !== undefined) return exitCode === 0 ? 0 : EXIT_INVALID; // commander printed why
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    return EXIT_DATA;
  }
  return state.code;
}

/** `trickbench dataset ARGS` (src/cli/script.ts): exit 1 for bad data or a failed download, 2 for bad arguments. */
export async function main(argv: string[]): Promise<void> {
  process.exitCode = await dataset(argv);
}

runIfScript(import.meta.url, main);
