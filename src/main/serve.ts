// `npm run serve`: the web shell. The same services as the desktop app, bound to HTTP + WebSocket
// on 127.0.0.1, for headless (GPU) machines and for end-to-end tests in a real browser.
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { createHandlers } from './handlers';
import { DatasetService } from './services/datasets';
import { ExperimentService } from './services/experiments';
import { startServer, type WebServer } from './server';
import { RunService } from './services/runs';
import { openStoreFromEnv } from '../store/open';
import { resolveDataDir } from '../store/paths';

const DEFAULT_PORT = 7340;

async function main(): Promise<void> {
  const program = new Command('serve')
    .description('Serve Trickbench on http://127.0.0.1 (open the printed URL; it carries the access token).')
    .option('--data-dir <dir>', 'data dir holding trickbench.db (default $TRICKBENCH_HOME or ~/.trickbench)')
    .option('--port <n>', `port on 127.0.0.1 (default ${DEFAULT_PORT}, or a free one when that is taken)`)
    .option('--concurrency <n>', 'runs trained at once (default 1)', '1')
    .parse();
  const o = program.opts<{ dataDir?: string; port?: string; concurrency: string }>();
  const dataDir = resolveDataDir(o.dataDir);
  const store = openStoreFromEnv(dataDir);
  let server: WebServer | null = null;
  const datasets = new DatasetService({ store, dataDir, emit: (event, payload) => server?.broadcast(event, payload) });
  // Datasets on disk are listed in the background (an image folder's first inspection decodes
  // every image); until then runs:start accepts a dataset folder that exists and the trainer checks it.
  datasets.refresh().catch((e: unknown) => process.stderr.write(`datasets: ${(e as Error).message}\n`));
  const runs = new RunService({
    store,
    dataDir,
    datasetProblem: (name) => datasets.problem(name),
    trainerEntry: fileURLToPath(new URL('./trainer.js', import.meta.url)),
    concurrency: Math.max(1, Number(o.concurrency) || 1),
    emit: (event, payload) => server?.broadcast(event, payload),
  });
  const experiments = new ExperimentService(runs);
  const handlers = createHandlers(
    runs,
    { shell: 'web', dataDir, version: process.env.npm_package_version ?? '' },
    () => {
      throw new Error('export:csv is a download in web mode');
    },
    () => {
      throw new Error('export:file is a download in web mode');
    },
    experiments,
    datasets,
  );
  const staticDir = fileURLToPath(new URL('../renderer', import.meta.url));
  const explicit = o.port !== undefined;
  try {
    server = await startServer({ handlers, store, staticDir, port: explicit ? Number(o.port) : DEFAULT_PORT });
  } catch (e) {
    if (explicit || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    server = await startServer({ handlers, store, staticDir, port: 0 });
  }
  runs.recover();
  experiments.recover();
  process.stdout.write(`Trickbench (data dir ${dataDir})\nOpen: ${server.url}\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stdout.write('stopping: cancelling running trainers...\n');
    await Promise.all([runs.close(), datasets.downloads.close()]);
    await server?.close();
    store.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
