// `trickbench train ...`: train one run headless. Creates the run row, trains, writes everything to
// the store, shows progress on a terminal, and prints as its LAST stdout line one JSON object
// {runId, status, backend, device, metrics, error}. Exit code 0 only when the run completed.
// `--resume ID` continues a stopped run from its last checkpoint instead.
import fs from 'node:fs';
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { BACKENDS, formatErrors, describeConfig, type BackendName } from '../shared/config';
import { dbPath } from '../store/db';
import { resolveDataDir } from '../store/paths';
import { openStoreFromEnv } from '../store/open';
import { ownerIsGone, settleOrphan } from '../store/orphans';
import { resumeProblem } from '../store/run-checks';
import type { Store } from '../store/store';
import { CONFIG_FLAGS, CliInputError, addConfigOptions, configFromOptions } from './cli-config';
import { executeRun, type RunOutcome } from './run';
import { checkTrainInput } from './train-input';
import { runIfScript } from '../cli/script';

const EXIT_INVALID = 2;

function refuse(message: string): number {
  process.stderr.write(`invalid input:\n${message}\n`);
  return EXIT_INVALID;
}

/** The store of an existing data dir; null (nothing created) when there is none. */
function existingStore(dataDir: string): Store | null {
  return fs.existsSync(dbPath(dataDir)) ? openStoreFromEnv(dataDir) : null;
}

/** `--resume ID`: the run re-opened as running, or an exit code when it cannot be resumed. */
function reopen(opts: Record<string, unknown>, dataDir: string): { store: Store; runId: number } | number {
  const runId = Number(opts.resume);
  if (!Number.isInteger(runId) || runId < 1) return refuse(`--resume: expected a run id, got "${String(opts.resume)}"`);
  // --backend is where it trains, not what it trains: a run checkpointed on one backend resumes on
  // another (checkpoints are plain float32).
  const given = ['config', 'set', ...CONFIG_FLAGS.map((f) => f.flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase()))]
    .filter((k) => k !== 'backend')
    .filter((k) => opts[k] !== undefined);
  if (given.length) return refuse(`--resume: a resumed run keeps its config; drop ${given.map((k) => `--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`).join(', ')}`);
  const store = existingStore(dataDir);
  if (!store) return refuse(`--resume: run ${runId} does not exist (no store in ${dataDir})`);
  // A run left `running` by a process that is gone (a CLI killed by SIGKILL, a crashed trainer):
  // the same check the app makes at start marks it interrupted (or failed, as its trainer noted),
  // and it resumes like any stopped run. A live owner's run is refused below.
  const left = store.getRun(runId);
  if (left && ownerIsGone(left)) {
    try {
      settleOrphan(store, left);
    } catch (e) {
      store.close();
      return refuse(`--resume: run ${runId} was left running by process ${left.pid ?? '?'}, which is gone, but the store cannot record that: ${(e as Error).message}`);
    }
    const now = store.getRun(runId);
    process.stderr.write(`run ${runId} was left running by process ${left.pid ?? '?'}, which is gone: marked ${now?.status ?? 'stopped'}\n`);
  }
  const problem = resumeProblem(store, runId) ?? (store.reopenForResume(runId, 'running') ? null : { message: `run ${runId} changed status meanwhile` });
  if (problem) {
    store.close();
    return refuse(`--resume: ${problem.message}`);
  }
  return { store, runId };
}

async function train(argv: string[]): Promise<number> {
  const program = new Command('trickbench train')
    .description('Train one run and record it in the store.')
    .option('--data-dir <dir>', 'data dir holding trickbench.db (default $TRICKBENCH_HOME or ~/.trickbench)')
    .option('--resume <runId>', 'continue a cancelled, failed or interrupted run from its last checkpoint (no config flags but --backend)')
    .option('--no-progress', 'no progress bar')
    .exitOverride();
  addConfigOptions(program, 'optimizer.lr=0.1');
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    const code = (e as { exitCode?: number }).exitCode;
    return code === 0 ? 0 : EXIT_INVALID; // --help exits 0; commander printed the reason otherwise
  }
  const opts = program.opts<Record<string, unknown>>();

  const dataDir = resolveDataDir(opts.dataDir as string | undefined);
  let store: Store;
  let run: { id: number; name: string };
  if (opts.resume !== undefined) {
    if (opts.backend !== undefined && !(BACKENDS as readonly string[]).includes(String(opts.backend))) {
      return refuse(`--backend: expected one of ${BACKENDS.join(', ')}, got "${String(opts.backend)}"`);
    }
    const r = reopen(opts, dataDir);
    if (typeof r === 'number') return r;
    store = r.store;
    run = { id: r.runId, name: `${store.getRun(r.runId)!.name} (resumed)` };
  } else {
    let raw: Record<string, unknown>;
    try {
      raw = configFromOptions(opts);
    } catch (e) {
      if (e instanceof CliInputError) return refuse(e.message);
      throw e;
    }
    // Before the run row exists: a refused start writes nothing.
    const checked = await checkTrainInput(raw, dataDir);
    if (!checked.ok) {
      process.stderr.write(`invalid config:\n${formatErrors(checked.errors)}\n`);
      return EXIT_INVALID;
    }
    const config = checked.config;
    store = openStoreFromEnv(dataDir);
    run = store.createRun(config, 'running', config.name || describeConfig(config));
  }

  let cancelled = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (cancelled) process.exit(130); // a second Ctrl-C: stop now (the store stays consistent)
    cancelled = true;
    process.stderr.write(`\n${sig}: stopping after this step (again to force)\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const tty = Boolean(process.stderr.isTTY) && opts.progress !== false;
  const bar = tty
    ? new cliProgress.SingleBar(
        { format: 'epoch {epoch}/{epochs} |{bar}| {percentage}% | step {value}/{total} | loss {loss} | val/acc {valAcc} | eta {eta_formatted}', hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let barStarted = false;
  process.stderr.write(`run ${run.id}: ${run.name} (data dir ${dataDir})\n`);
  const runId = run.id;
  const outcome = await executeRun({
    store,
    runId: run.id,
    dataDir,
    resume: opts.resume !== undefined,
    ...(opts.resume !== undefined && opts.backend !== undefined ? { backend: opts.backend as BackendName } : {}),
    isCancelled: () => cancelled,
    hooks: {
      started: (b, d) => process.stderr.write(`backend ${b} on ${d}\n`),
      progress(p) {
        if (!bar) return;
        const total = p.stepsPerEpoch * p.epochs;
        if (!barStarted) {
          bar.start(total, 0, { epoch: 1, epochs: p.epochs, loss: '-', valAcc: '-' });
          barStarted = true;
        }
        bar.update(p.step, { epoch: p.epoch + 1, epochs: p.epochs });
      },
      metrics(points) {
        if (bar) {
          const loss = points.findLast((p) => p.key === 'train/loss_step');
          const val = points.find((p) => p.key === 'val/acc');
          if (barStarted && (loss || val)) {
            bar.update({ ...(loss ? { loss: loss.value.toFixed(4) } : {}), ...(val ? { valAcc: `${(100 * val.value).toFixed(2)}%` } : {}) });
          }
          return;
        }
        const epochEnd = points.find((p) => p.key === 'val/acc' || p.key === 'train/acc');
        if (epochEnd && opts.progress !== false) {
          const get = (k: string) => points.find((p) => p.key === k)?.value;
          const fmt = (v: number | undefined, d = 4) => (v === undefined ? '-' : v.toFixed(d));
          process.stderr.write(
            `epoch ${epochEnd.epoch}: train/loss ${fmt(get('train/loss'))} train/acc ${fmt(get('train/acc'))} val/loss ${fmt(get('val/loss'))} val/acc ${fmt(get('val/acc'))} (${fmt(get('throughput/img_s'), 0)} img/s)\n`,
          );
        }
      },
    },
  }).catch((e: unknown): RunOutcome => {
    // executeRun records its own failures; this is for one it could not: the JSON line still comes.
    const error = (e as Error)?.message || String(e);
    return { runId, status: 'failed', backend: null, device: null, metrics: {}, error };
  });
  if (bar && barStarted) bar.stop();
  try {
    store.close();
  } catch {
    // the run's end is recorded (or noted) already
  }
  if (outcome.error) process.stderr.write(`run ${run.id} ${outcome.status}: ${outcome.error}\n`);
  process.stdout.write(
    `${JSON.stringify({ runId: outcome.runId, status: outcome.status, backend: outcome.backend, device: outcome.device, metrics: outcome.metrics, error: outcome.error })}\n`,
  );
  return outcome.status === 'completed' ? 0 : 1;
}

/** `trickbench train ARGS` (src/cli/script.ts): exit 0 only when the run completed, 2 for bad input. */
export async function main(argv: string[]): Promise<void> {
  process.exitCode = await train(argv);
}

runIfScript(import.meta.url, main);
