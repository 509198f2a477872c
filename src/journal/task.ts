// `trickbench cluster-task --run-dir SHARED/runs/<id>`: one run trained as a cluster job's task
// (issue 19; SHARED is a folder every node and the login node see). The task never opens the
// server's store (SQLite over NFS): it trains against a store on node-local disk whose writes are
// mirrored into the run's journal (writer.ts), which the server ingests (ingest.ts).
//
// The local data dir (under $TMPDIR, one per task attempt, removed at the end): trickbench.db,
// `runs` -> SHARED/runs (the checkpoints land in the run folder), `datasets` -> the server's
// DATA_DIR/datasets (read-only). The imported datasets the config names come from task.json.
// A journal from an earlier attempt (a requeue, a resume job) is replayed into the local store
// first, so the trainer sees the run's metrics and events; then it resumes from the run's `last`
// checkpoint when there is one, else starts afresh.
//
// SIGTERM or SIGINT (scancel, the time limit, a preemption) stops after the current step: the run
// ends `cancelled` when the server asked for it (a `cancel` file in the run folder), else
// `interrupted` (resumable). A second signal stops at once, recording the same end. A `cancel`
// file already there when the task starts (scancel raced the job's start) ends it cancelled,
// untrained: the server removes the file before it submits a resume. The last stdout
// line is `trickbench train`'s JSON result; exit code 0 only when the run completed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import type { RunConfig } from '../shared/config';
import { describeConfig } from '../shared/config';
import { SQLITE_BINDING_ENV, checkpointsOf, runDir } from '../store/paths';
import { Store } from '../store/store';
import type { OpenOptions } from '../store/db';
import { executeRun, type RunOutcome } from '../trainer/run';
import { runIfScript } from '../cli/script';
import { JOURNAL_FILE } from './format';
import { ingestJournal } from './ingest';
import { JournalWriter, JournaledStore } from './writer';

export const TASK_FILE = 'task.json';
export const CANCEL_FILE = 'cancel';
export const HEARTBEAT_MS = 10_000;

const taskSchema = z.object({
  version: z.literal(1),
  runId: z.number().int().positive(),
  config: z.looseObject({ seed: z.number().int() }),
  dataDir: z.string().min(1),
  systemDatasetsDir: z.string().min(1).nullable(),
  datasets: z.array(z.object({ name: z.string().min(1), path: z.string().min(1), format: z.string().min(1), options: z.record(z.string(), z.unknown()), info: z.record(z.string(), z.unknown()) }).loose()),
  ingest: z.object({ url: z.string(), tokenFile: z.string() }).nullable(),
});

export type TaskFile = z.infer<typeof taskSchema>;

/** DIR/task.json, checked; an error naming the file and the field otherwise. */
export function readTaskFile(dir: string): TaskFile {
  const file = path.join(dir, TASK_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  const r = taskSchema.safeParse(raw);
  if (!r.success) throw new Error(`${file} is not a task file: ${r.error.issues.map((i) => `${i.path.join('.') || 'task'}: ${i.message}`).join('; ')}`);
  return r.data;
}

export interface TaskOptions {
  env?: NodeJS.ProcessEnv;
  /** Where the node-local data dir is made (default os.tmpdir(): $TMPDIR). */
  tmpDir?: string;
  log?: (line: string) => void;
  /** Between heartbeat records (default HEARTBEAT_MS). */
  heartbeatMs?: number;
}

/** The attempt number and job id as Slurm gives them to a task. */
export function slurmAttempt(env: NodeJS.ProcessEnv): { attempt: number; jobId: string | null } {
  const n = Number(env.SLURM_RESTART_COUNT ?? 0);
  const jobId = env.SLURM_ARRAY_JOB_ID && env.SLURM_ARRAY_TASK_ID ? `${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID}` : (env.SLURM_JOB_ID ?? null);
  return { attempt: Number.isInteger(n) && n >= 0 ? n : 0, jobId: jobId || null };
}

function storeOptions(env: NodeJS.ProcessEnv): OpenOptions {
  const binding = env[SQLITE_BINDING_ENV];
  return binding && fs.existsSync(binding) ? { nativeBinding: binding } : {};
}

/** The node-local data dir of one attempt: `runs` -> the run folder's parent, `datasets` -> the
 * server's. Checked: the run's folder as the trainer computes it is DIR. */
function makeLocalDataDir(dir: string, task: TaskFile, tmpDir: string): string {
  let local: string;
  try {
    local = fs.mkdtempSync(path.join(tmpDir, `trickbench-task-${task.runId}-`));
  } catch (e) {
    throw new Error(`cannot make the node-local data dir under ${tmpDir} ($TMPDIR): ${(e as Error).message}`);
  }
  fs.symlinkSync(path.dirname(dir), path.join(local, 'runs'), 'dir');
  const datasets = path.join(task.dataDir, 'datasets');
  if (fs.existsSync(datasets)) fs.symlinkSync(datasets, path.join(local, 'datasets'), 'dir');
  const resolved = fs.realpathSync(runDir(local, task.runId));
  if (resolved !== fs.realpathSync(dir)) throw new Error(`the run folder resolves to ${resolved}, not ${dir}`);
  return local;
}

function removeLocal(local: string): void {
  // the links first: never anything under them
  for (const link of ['runs', 'datasets']) fs.rmSync(path.join(local, link), { force: true });
  fs.rmSync(local, { recursive: true, force: true });
}

/** The local store as the earlier attempts left the run: the task's row (same id as the server's),
 * the imported datasets, the journal replayed. Returns whether the run completed already. */
function prepareLocalStore(local: string, task: TaskFile, journal: string, opts: OpenOptions): { status: string; resume: boolean } {
  const store = new Store(local, opts);
  try {
    for (const d of task.datasets) store.datasets.add({ name: d.name, path: d.path, format: d.format, options: d.options, info: d.info });
    const config = task.config as unknown as RunConfig;
    store.createRunWithId(task.runId, config, (config.name as string | undefined) || describeConfig(config));
    ingestJournal(store, task.runId, journal);
    const run = store.getRun(task.runId)!;
    if (run.status === 'completed') return { status: run.status, resume: false };
    const resume = checkpointsOf(local, task.runId).includes('last');
    // queued (a first attempt), running (an attempt that died without a word), or stopped: this
    // process runs it now.
    const ok = run.status === 'queued' ? store.claimRun(task.runId) : run.status === 'running' || store.reopenForResume(task.runId, 'running');
    if (!ok) throw new Error(`run ${task.runId} cannot be started: it is ${run.status}`);
    return { status: 'running', resume };
  } finally {
    store.close();
  }
}

/** Train the run of the folder `dir` (see the top of this file). */
export async function runClusterTask(dirArg: string, o: TaskOptions = {}): Promise<RunOutcome> {
  const env = o.env ?? process.env;
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const dir = path.resolve(dirArg);
  // From the start, so that a signal while the task sets up is not the default (death, no end):
  // the run then stops at its first step.
  let signal: NodeJS.Signals | null = null;
  let journaled: JournaledStore | null = null;
  const stopAs = (): { status: 'cancelled' | 'interrupted'; error: string | null } =>
    fs.existsSync(path.join(dir, CANCEL_FILE))
      ? { status: 'cancelled', error: null }
      : { status: 'interrupted', error: `stopped by ${signal ?? 'a signal'} (a time limit, a preemption or a node drain): resumable from its last checkpoint` };
  const onSignal = (sig: NodeJS.Signals) => {
    if (signal) {
      // A second signal: stop now, the end recorded (the checkpoint is the last epoch's).
      const stop = stopAs();
      try {
        if (journaled) {
          journaled.end(stop.status, stop.error);
          journaled.journal.close();
        }
        fs.writeSync(1, `${resultLine({ runId: journaled?.runId ?? 0, status: stop.status, backend: null, device: null, metrics: {}, error: stop.error })}\n`);
      } finally {
        process.exit(1);
      }
    }
    signal = sig;
    log(`${sig}: stopping after this step (again to stop at once)`);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    const task = readTaskFile(dir);
    if (path.basename(dir) !== String(task.runId)) throw new Error(`${path.join(dir, TASK_FILE)} is for run ${task.runId}, but the folder is ${dir} (expected …/runs/${task.runId})`);
    const journalFile = path.join(dir, JOURNAL_FILE);
    const sqlite = storeOptions(env);
    const local = makeLocalDataDir(dir, task, o.tmpDir ?? os.tmpdir());
    const { runId } = task;
    try {
      // Opened first: it cuts what a dead earlier attempt left unfinished (writer.ts), before the
      // replay reads the journal.
      const writer = new JournalWriter(journalFile);
      if (writer.repaired) log(`${journalFile}: cut ${writer.repaired.bytes} bytes an earlier attempt left unfinished at byte ${writer.repaired.fromByte}`);
      let before: { status: string; resume: boolean };
      try {
        before = prepareLocalStore(local, task, journalFile, sqlite);
      } catch (e) {
        writer.close();
        throw e;
      }
      if (before.status === 'completed') {
        writer.close();
        log(`run ${runId} has completed already (its journal says so): nothing to do`);
        const store = new Store(local, sqlite);
        const run = store.getRun(runId)!;
        const out: RunOutcome = { runId, status: 'completed', backend: run.backend, device: run.device, metrics: store.summaries(runId).final, error: null };
        store.close();
        return out;
      }
      const store = new JournaledStore(local, writer, runId, sqlite);
      journaled = store;
      const { attempt, jobId } = slurmAttempt(env);
      writer.append({ kind: 'start', attempt, jobId, host: os.hostname(), pid: process.pid });
      // Afresh (no checkpoint) after an attempt that wrote rows: those go, here and on the host,
      // or its events (run.start, pairing, a trick's) would be there twice.
      if (!before.resume && (Object.keys(store.history(runId)).length > 0 || store.events(runId).length > 0)) {
        store.clearRunRows(runId);
        writer.append({ kind: 'reset' });
      }
      log(`run ${runId}: attempt ${attempt}${jobId ? ` (job ${jobId})` : ''} on ${os.hostname()}, ${before.resume ? 'resuming from its last checkpoint' : 'starting'} (local data dir ${local})`);
      const heartbeat = setInterval(() => {
        try {
          writer.append({ kind: 'heartbeat' });
        } catch (e) {
          log(`heartbeat: ${(e as Error).message}`);
        }
      }, o.heartbeatMs ?? HEARTBEAT_MS);
      heartbeat.unref();

      let outcome: RunOutcome;
      try {
        // Cancelled by the server before this attempt could start (the job started as it was
        // scancelled): it ends so, untrained.
        const cancelledBefore = fs.existsSync(path.join(dir, CANCEL_FILE));
        outcome = cancelledBefore
          ? { runId, status: 'cancelled', backend: null, device: null, metrics: {}, error: null }
          : await executeRun({
              store,
              runId,
              dataDir: local,
              resume: before.resume,
              ...(task.systemDatasetsDir ? { systemDatasetsDir: task.systemDatasetsDir } : {}),
              isCancelled: () => signal !== null,
              stopAs,
              hooks: { started: (b, d) => log(`backend ${b} on ${d}`) },
            }).catch((e: unknown): RunOutcome => ({ runId, status: 'failed', backend: null, device: null, metrics: {}, error: (e as Error)?.message || String(e) }));
        if (cancelledBefore) {
          log(`run ${runId}: ${path.join(dir, CANCEL_FILE)} exists: cancelled before it started`);
          store.finishRun(runId, 'cancelled');
        }
        // The store could not take the end (executeRun then reports failed): the journal still says.
        if (!store.ended) store.end(outcome.status, outcome.error);
      } finally {
        clearInterval(heartbeat);
        journaled = null;
        try {
          store.close();
        } finally {
          writer.close();
        }
      }
      return outcome;
    } finally {
      try {
        removeLocal(local);
      } catch (e) {
        log(`cannot remove the local data dir ${local}: ${(e as Error).message}`);
      }
    }
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

/** The JSON result `trickbench train` prints as its last stdout line. */
function resultLine(o: RunOutcome): string {
  return JSON.stringify({ runId: o.runId, status: o.status, backend: o.backend, device: o.device, metrics: o.metrics, error: o.error });
}

async function clusterTask(argv: string[]): Promise<number> {
  const program = new Command('trickbench cluster-task')
    .description('Train one run as a cluster job task: reads RUN_DIR/task.json, writes RUN_DIR/journal.jsonl and the checkpoints there, never the server\'s store.')
    .requiredOption('--run-dir <dir>', 'the run folder on the shared file system (SHARED/runs/<id>)')
    .exitOverride();
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    const code = (e as { exitCode?: number }).exitCode;
    return code === 0 ? 0 : 2;
  }
  const { runDir: dir } = program.opts<{ runDir: string }>();
  let outcome: RunOutcome;
  try {
    outcome = await runClusterTask(dir);
  } catch (e) {
    const error = (e as Error)?.message || String(e);
    process.stderr.write(`cluster-task: ${error}\n`);
    const id = Number(path.basename(path.resolve(dir)));
    outcome = { runId: Number.isInteger(id) ? id : 0, status: 'failed', backend: null, device: null, metrics: {}, error };
  }
  if (outcome.error) process.stderr.write(`run ${outcome.runId} ${outcome.status}: ${outcome.error}\n`);
  process.stdout.write(`${resultLine(outcome)}\n`);
  return outcome.status === 'completed' ? 0 : 1;
}

/** `trickbench cluster-task --run-dir DIR` (src/cli/script.ts). */
export async function main(argv: string[]): Promise<void> {
  process.exitCode = await clusterTask(argv);
}

runIfScript(import.meta.url, main);
