// `trickbench serve`: the web shell. The same services as the desktop app, bound to HTTP + WebSocket
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
import { parsePort, portCandidates, readLastPort, resolveToken, saveLastPort, TOKEN_ENV, TOKEN_FILE, type TokenChoice } from './serve-state';
import { removeServerFile, SERVER_FILE, serverFilePath, serverFileProblem, writeServerFile } from './server-file';
import { runIfScript } from '../cli/script';
import { VERSION } from '../cli/version';

const DEFAULT_PORT = 7340;

/** `trickbench serve ARGS` (src/cli/script.ts): resolves when serve has stopped (SIGINT or SIGTERM:
 * exit 0); a bad option, token file or port is one line on stderr and exit 1. */
export async function main(argv: string[]): Promise<void> {
  try {
    await serve(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}

async function serve(argv: string[]): Promise<void> {
  const program = new Command('trickbench serve')
    .description('Serve Trickbench on http://127.0.0.1 (open the printed URL; it carries the access token).')
    .option('--data-dir <dir>', 'data dir holding trickbench.db (default $TRICKBENCH_HOME or ~/.trickbench)')
    .option('--port <n>', `port on 127.0.0.1 (default: the one it had last time for this data dir, else ${DEFAULT_PORT}, else a free one)`)
    .option('--token <t>', `access token (default $${TOKEN_ENV}, else the one kept in <data dir>/${TOKEN_FILE}, made on first start); other local users can read a --token in ps: prefer $${TOKEN_ENV}`)
    .option('--concurrency <n>', 'runs trained at once (default 1)', '1')
    .addHelpText(
      'after',
      `\nThe token in <data dir>/${TOKEN_FILE} (mode 0600) stays the same across restarts, so open tabs reconnect by themselves.\n` +
        'serve refuses that file when it is a symbolic link, not a regular file, or readable by other users; delete it for a new token.\n' +
        `Once it listens, serve writes <data dir>/${SERVER_FILE} (mode 0600): {"url", "token", "pid"}, for local clients to find it; it is removed at stop.`,
    )
    .exitOverride();
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    process.exitCode = (e as { exitCode?: number }).exitCode ?? 1; // --help: 0; commander said what was wrong
    return;
  }
  const o = program.opts<{ dataDir?: string; port?: string; token?: string; concurrency: string }>();
  // Options and the token file are checked before anything is opened: a bad one is one clear line.
  const explicitPort = o.port === undefined ? undefined : parsePort(o.port);
  const dataDir = resolveDataDir(o.dataDir);
  const token: TokenChoice = resolveToken({ option: o.token, env: process.env[TOKEN_ENV], dataDir });
  const serverFile = serverFilePath(dataDir);
  const planted = serverFileProblem(serverFile);
  if (planted) throw new Error(planted);
  const store = openStoreFromEnv(dataDir);
  let server: WebServer | null = null;
  const datasets = new DatasetService({ store, dataDir, emit: (event, payload) => server?.broadcast(event, payload) });
  // Datasets on disk are listed in the background (an image folder's first inspection decodes
  // every image); until then runs:start accepts a dataset folder that exists and the trainer checks it.
  datasets.refresh().catch((e: unknown) => process.stderr.write(`datasets: ${(e as Error).message}\n`));
  const runs = new RunService({
    store,
    dataDir,
    datasets,
    trainerEntry: fileURLToPath(new URL('./trainer.js', import.meta.url)),
    concurrency: Math.max(1, Number(o.concurrency) || 1),
    emit: (event, payload) => server?.broadcast(event, payload),
  });
  const experiments = new ExperimentService(runs);
  const handlers = createHandlers(
    runs,
    { shell: 'web', dataDir, version: VERSION },
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
  const ports = portCandidates({ explicit: explicitPort, last: readLastPort(dataDir), fallback: DEFAULT_PORT });
  for (const [i, port] of ports.entries()) {
    try {
      server = await startServer({ handlers, store, staticDir, port, token: token.token });
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const busy = code === 'EADDRINUSE' || code === 'EACCES';
      if (busy && explicitPort !== undefined) throw new Error(`--port ${port}: 127.0.0.1:${port} is ${code === 'EACCES' ? 'not allowed for this user' : 'in use (another serve?)'}; choose another port, or leave --port out for a free one`);
      if (!busy || i === ports.length - 1) throw e;
    }
  }
  if (!server) throw new Error('serve found no port to listen on');
  const unsaved = saveLastPort(dataDir, server.port);
  if (unsaved) process.stderr.write(`warning: the port is not remembered for the next start (${unsaved.message})\n`);
  runs.recover();
  experiments.recover();
  const web = server;
  const stopped = new Promise<void>((resolve) => {
    let stopping = false;
    const stop = async () => {
      if (stopping) process.exit(1); // a second signal: now
      stopping = true;
      process.stdout.write('stopping: cancelling running trainers...\n');
      removeServerFile(serverFile, process.pid);
      await Promise.all([runs.close(), datasets.downloads.close()]);
      await web.close();
      store.close();
      resolve();
    };
    process.on('SIGINT', () => void stop());
    process.on('SIGTERM', () => void stop());
  });
  // Written, and printed, once the signals are handled: whoever reads the address may stop serve at once.
  try {
    writeServerFile(serverFile, { url: `http://127.0.0.1:${web.port}`, token: token.token, pid: process.pid });
  } catch (e) {
    process.stderr.write(`warning: ${(e as Error).message}; local clients will not find this serve by ${SERVER_FILE}\n`);
  }
  const kept = { option: 'from --token', env: `from $${TOKEN_ENV}`, file: `kept in ${token.file}`, new: `new, kept in ${token.file} for the next starts` }[token.source];
  process.stdout.write(`Trickbench (data dir ${dataDir})\nToken: ${kept}\nOpen: ${web.url}\n`);
  await stopped;
}

runIfScript(import.meta.url, main);
