// The Slurm executor: an experiment's runs as a job array (one task per (arm, seed), matched
// pairs in seed order), submitted with sbatch by the host on a login node. A task never opens the
// store (SQLite over a network file system breaks WAL): it runs `trickbench cluster-task`, which
// writes the run's journal and checkpoints under the shared folder; the host ingests the journals
// (idempotently: src/journal/ingest.ts) and asks the scheduler what it says of each job, so that
// every run ends in a clear state with the reason, whatever happens to its job.
import fs from 'node:fs';
import path from 'node:path';
import { ApiFailure } from '../../shared/api';
import type { SlurmExecutor } from '../../shared/executor';
import { ingestJournal } from '../../journal/ingest';
import type { JournalRecord } from '../../journal/format';
import { checkpointsOf, sharedRoot } from '../../store/paths';
import type { RunRecord, Store } from '../../store/store';
import { gresSatisfies, parseSbatch, parseScontrolJobs, parseSinfo, parseSqueue, scontrolJobId, SQUEUE_FORMAT, type SlurmCommands } from './slurm-cli';

export interface SlurmOptions {
  store: Store;
  commands: SlurmCommands;
  /** How a node starts our CLI: Node's path and out/main/cli.js (the nodes see this install). */
  node: string;
  cli: string;
  /** The host's data dir: tasks read datasets from it (never its store). */
  dataDir: string;
  /** Where the journal's runs land: the run service tells the pages. */
  changed: (runId: number) => void;
  /** New points and events of a run, for the pages' live curves and markers. */
  pushed?: (runId: number, rec: JournalRecord) => void;
}

/** A run's folder on the shared file system. */
export function sharedRunDir(sharedDir: string, runId: number): string {
  return path.join(sharedDir, 'runs', String(runId));
}
export { sharedRoot };
export const journalFile = (dir: string) => path.join(dir, 'journal.jsonl');
export const cancelFile = (dir: string) => path.join(dir, 'cancel');

/** A value for a single-quoted shell word. */
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Job states after which the job runs no more (squeue no longer lists it, or soon will not). */
const ENDED = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE', 'PREEMPTED', 'SPECIAL_EXIT']);
/** Ended states after which Slurm requeues a job submitted with --requeue (it is PENDING again). */
const REQUEUED = new Set(['PREEMPTED', 'NODE_FAIL']);
/** Looks (polls) an ended-but-maybe-not-final job gets before its run is decided. */
const SETTLE_LOOKS = 3;
/** A cluster run queued this long with no job and no journal was never submitted. */
const NEVER_SUBMITTED_MS = 10 * 60_000;
/** How long a job may stay listed pending or running after scancel answered before it is sent again. */
const CANCEL_RETRY_MS = 60_000;
/** Where a note on an undelivered cancel starts in a run's executor state. */
const CANCEL_NOTE = ' · scancel ';

export class SlurmService {
  private polling = false;
  /** How many looks in a row each run's job has been gone without its run being decided. */
  private readonly unlisted = new Map<number, number>();
  /** The last scancel of each run cancelled here: its job, whether Slurm answered, when. */
  private readonly cancels = new Map<number, { job: string; inFlight: boolean; ok: boolean; at: number; error?: string }>();

  constructor(private readonly o: SlurmOptions) {}

  /** What would make a submission fail, before anything is made: sbatch missing, a partition or a
   * gres the cluster lacks (sinfo says), a shared folder this host cannot write. Each error names
   * its field (`executor.partition`). */
  validate(x: SlurmExecutor): void {
    const bad = (field: string, message: string) => new ApiFailure({ code: 'invalid_config', message, field: `executor.${field}` });
    for (const cmd of ['sbatch', 'squeue', 'scontrol', 'scancel', 'sinfo'] as const) {
      if (!this.o.commands.which(cmd)) throw bad('kind', `${cmd} is not on PATH: run serve where Slurm's commands are (a login node), or use the local executor`);
    }
    let parts;
    try {
      parts = parseSinfo(this.o.commands.runSync('sinfo', ['-h', '-o', '%P|%G|%a']));
    } catch (e) {
      throw bad('kind', `the cluster does not answer: ${(e as Error).message}`);
    }
    const part = x.partition ? parts.find((p) => p.name === x.partition) : parts.find((p) => p.isDefault);
    if (x.partition && !part) throw bad('partition', `partition '${x.partition}' does not exist (sinfo lists ${parts.map((p) => p.name).join(', ') || 'none'})`);
    if (part && !part.up) throw bad('partition', `partition '${part.name}' is not up (sinfo)`);
    if (x.gres) {
      const have = part ? part.gres : parts.flatMap((p) => p.gres);
      if (!gresSatisfies(have, x.gres)) {
        throw bad('gres', `no node${part ? ` of partition '${part.name}'` : ''} has ${x.gres} (sinfo lists ${have.length ? have.join(', ') : 'no generic resources'})`);
      }
    }
    try {
      fs.mkdirSync(path.join(x.sharedDir, 'slurm'), { recursive: true });
      fs.mkdirSync(path.join(x.sharedDir, 'runs'), { recursive: true });
      const probe = path.join(x.sharedDir, `.trickbench-probe-${process.pid}`);
      fs.writeFileSync(probe, 'ok');
      fs.rmSync(probe);
    } catch (e) {
      throw bad('sharedDir', `${x.sharedDir} cannot be written from here: ${(e as Error).message}`);
    }
  }

  /** Submit runs (created queued, in this order: every arm of a seed, seed by seed) as one job
   * array; their task.json files first, then the script, then sbatch. A refusal by sbatch fails
   * the runs with its words (nothing stays queued for a job that does not exist). */
  submit(runIds: readonly number[], x: SlurmExecutor, name: string, array = true): string | null {
    if (!runIds.length) return null;
    const runs = runIds.map((id) => this.o.store.getRun(id)).filter((r): r is RunRecord => !!r);
    let job: string;
    try {
      for (const r of runs) this.writeTask(r, x, array);
      const script = this.script(runs, x, name, array);
      const file = path.join(x.sharedDir, 'slurm', `${safeName(name)}-${runIds[0]}-${Date.now()}.sbatch`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, script, { mode: 0o700 });
      job = parseSbatch(this.o.commands.runSync('sbatch', ['--parsable', file]));
    } catch (e) {
      // the task files, the script or sbatch: nothing stays queued for a job that does not exist
      const msg = `not submitted: ${(e as Error).message}`;
      for (const r of runs) {
        this.o.store.finishRun(r.id, 'failed', msg);
        this.o.changed(r.id);
      }
      throw new ApiFailure({ code: 'bad_request', message: msg, field: 'executor' });
    }
    runs.forEach((r, i) => {
      this.cancels.delete(r.id); // a cancel of an earlier job of the run is over
      this.o.store.setJob(r.id, array ? `${job}_${i}` : job, 'PENDING');
      this.o.changed(r.id);
    });
    return job;
  }

  /** A cluster run's task: everything its node needs, on the shared folder. */
  private writeTask(r: RunRecord, x: SlurmExecutor, fresh: boolean): void {
    const dir = sharedRunDir(x.sharedDir, r.id);
    // A new run whose folder holds a journal is another store's run of the same id (two data dirs
    // sharing one sharedDir, or a data dir made anew): never mixed with it.
    if (fresh && fs.existsSync(journalFile(dir)) && !this.o.store.journalIngested(r.id)) {
      throw new Error(`${dir} already holds a journal of another run ${r.id} (another data dir's, sharing ${x.sharedDir}): give this data dir a sharedDir of its own`);
    }
    fs.mkdirSync(dir, { recursive: true });
    fs.rmSync(cancelFile(dir), { force: true });
    const config = r.config as { dataset?: { name?: string } } | null;
    const dataset = config?.dataset?.name ? this.o.store.datasets.get(config.dataset.name) : null;
    const task = {
      version: 1,
      runId: r.id,
      config: r.config,
      dataDir: this.o.dataDir,
      systemDatasetsDir: process.env.TRICKBENCH_SYSTEM_DATASETS ?? null,
      datasets: dataset ? [dataset] : [],
      ingest: null,
    };
    const tmp = path.join(dir, `task.json.${process.pid}.tmp`);
    fs.writeFileSync(tmp, `${JSON.stringify(task, null, 2)}\n`);
    fs.renameSync(tmp, path.join(dir, 'task.json'));
  }

  /** The job script: one array task per run (a single job for one run resumed), each exec-ing
   * the CLI so that Slurm's signals (scancel, the time limit) reach the trainer itself. */
  private script(runs: readonly RunRecord[], x: SlurmExecutor, name: string, array: boolean): string {
    const lines = ['#!/bin/bash', `#SBATCH --job-name=${safeName(name).slice(0, 60)}`];
    if (array) lines.push(`#SBATCH --array=0-${runs.length - 1}${x.concurrency ? `%${x.concurrency}` : ''}`);
    lines.push(`#SBATCH --output=${path.join(x.sharedDir, 'slurm', array ? '%A_%a.out' : '%j.out')}`, '#SBATCH --open-mode=append', '#SBATCH --requeue');
    if (x.partition) lines.push(`#SBATCH --partition=${x.partition}`);
    if (x.account) lines.push(`#SBATCH --account=${x.account}`);
    if (x.gres) lines.push(`#SBATCH --gres=${x.gres}`);
    if (x.cpusPerTask) lines.push(`#SBATCH --cpus-per-task=${x.cpusPerTask}`);
    if (x.mem) lines.push(`#SBATCH --mem=${x.mem}`);
    if (x.time) lines.push(`#SBATCH --time=${x.time}`);
    for (const e of x.extra) lines.push(`#SBATCH ${e}`);
    lines.push(
      '',
      '# Trickbench run ids by array task: every arm of a seed, seed by seed (matched pairs together).',
      `RUNS=(${runs.map((r) => r.id).join(' ')})`,
      array ? 'RUN=${RUNS[$SLURM_ARRAY_TASK_ID]}' : 'RUN=${RUNS[0]}',
      `exec ${sq(x.node ?? this.o.node)} ${sq(this.o.cli)} cluster-task --run-dir ${sq(path.join(x.sharedDir, 'runs'))}/"$RUN"`,
      '',
    );
    return lines.join('\n');
  }

  /** Cancel a cluster run: the task is told it is a cancel (not a time limit or a preemption),
   * then scancel; a job that never started ends cancelled at once. scancel runs in the
   * background, so a slow or unreachable controller never holds up serve: until Slurm has
   * answered, the run says so and each look asks again (the cancel file is the lasting request,
   * which a host restart does not lose). */
  cancel(r: RunRecord): void {
    if (r.sharedDir) {
      fs.mkdirSync(r.sharedDir, { recursive: true });
      fs.writeFileSync(cancelFile(r.sharedDir), '');
    }
    if (r.status === 'queued' && !this.started(r)) {
      this.o.store.finishRun(r.id, 'cancelled', null);
      this.o.store.setExecutorState(r.id, null);
    }
    if (r.jobId) void this.scancel(r.id, r.jobId);
    this.o.changed(r.id);
  }

  /** Sends scancel for a run's job (one at a time per run); never throws: a failure is shown on
   * the run and the next look retries. Resolves when Slurm has answered. */
  private async scancel(runId: number, job: string): Promise<void> {
    const prior = this.cancels.get(runId);
    if (prior?.inFlight && prior.job === job) return;
    const entry: { job: string; inFlight: boolean; ok: boolean; at: number; error?: string } = { job, inFlight: true, ok: false, at: Date.now(), error: prior?.error };
    this.cancels.set(runId, entry);
    try {
      await this.o.commands.run('scancel', [job]);
      entry.ok = true;
      entry.error = undefined;
    } catch (e) {
      entry.error = `scancel ${job} failed (${(e as Error).message.slice(0, 200)}): sent again at each look until Slurm answers`;
    } finally {
      entry.inFlight = false;
      entry.at = Date.now();
    }
    const base = (this.o.store.getRun(runId)?.executorState ?? '').split(CANCEL_NOTE)[0]!;
    const text = entry.error ? (base ? `${base} · ${entry.error}` : entry.error) : base || null;
    if (this.o.store.setExecutorState(runId, text)) this.o.changed(runId);
  }

  /** A job still listed whose run was cancelled here: scancel again when the last one failed,
   * when this host has not sent one (it restarted since), or when Slurm still lists the job
   * pending or running a minute after it answered. */
  private async cancelAgain(r: RunRecord, state: string): Promise<void> {
    if (!r.sharedDir || !r.jobId || !fs.existsSync(cancelFile(r.sharedDir))) return;
    const c = this.cancels.get(r.id);
    if (c?.inFlight) return;
    const stuck = state === 'PENDING' || state === 'RUNNING' || state === 'SUSPENDED';
    if (!c || c.job !== r.jobId || !c.ok || (stuck && Date.now() - c.at > CANCEL_RETRY_MS)) await this.scancel(r.id, r.jobId);
  }

  /** Continue a stopped cluster run from its last checkpoint: a new job for it alone. */
  resume(r: RunRecord, x: SlurmExecutor, name: string): void {
    this.submit([r.id], x, `${name}-resume`, false);
  }

  /** Whether the run's journal has a start (its task began on a node). */
  private started(r: RunRecord): boolean {
    return r.sharedDir !== null && fs.existsSync(journalFile(r.sharedDir));
  }

  /** One look at every cluster run not finished (or finished with a journal still growing):
   * ingest the journals, then match the scheduler's word. Never throws: a scheduler that does not
   * answer leaves every run as it is (and says so), it never ends one. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const runs = this.o.store.listRuns().filter((r) => r.executor === 'slurm' && r.sharedDir !== null && (r.status === 'queued' || r.status === 'running' || r.jobId !== null));
      if (!runs.length) return;
      for (const r of runs) this.ingest(r);
      this.neverSubmitted(runs);
      const active = runs.map((r) => this.o.store.getRun(r.id)).filter((r): r is RunRecord => !!r && r.jobId !== null);
      if (!active.length) return;
      let queue: ReturnType<typeof parseSqueue>;
      try {
        // this user's pending and running jobs, one line per array task (-r); not `-j`, which
        // fails outright when one of the ids is no longer known (purged after MinJobAge)
        queue = parseSqueue(await this.o.commands.run('squeue', ['-h', '-r', '--me', '-o', SQUEUE_FORMAT]));
      } catch (e) {
        for (const r of active) if (this.o.store.setExecutorState(r.id, `scheduler not answering: ${(e as Error).message.slice(0, 200)}`)) this.o.changed(r.id);
        return;
      }
      const byId = new Map(queue.map((j) => [j.id, j]));
      for (const r of active) {
        const q = byId.get(r.jobId!);
        // a preempted or failed node's job that squeue still lists is being requeued (--requeue)
        if (q && (!ENDED.has(q.state) || REQUEUED.has(q.state))) {
          this.unlisted.delete(r.id);
          this.listed(r, q.state, q.reason, q.nodes);
          await this.cancelAgain(this.o.store.getRun(r.id) ?? r, q.state);
        } else await this.gone(r);
      }
    } finally {
      this.polling = false;
    }
  }

  /** Cluster runs queued without a job and without a journal for long: the host stopped between
   * making them and sbatch's answer (a job that did start fills its id in from its journal). */
  private neverSubmitted(runs: readonly RunRecord[]): void {
    for (const r of runs) {
      const now = this.o.store.getRun(r.id);
      if (!now || now.status !== 'queued' || now.jobId !== null || this.started(now)) continue;
      if (Date.now() - now.createdAt < NEVER_SUBMITTED_MS) continue;
      this.o.store.finishRun(r.id, 'failed', `never submitted to Slurm: the host stopped before sbatch answered (${Math.round(NEVER_SUBMITTED_MS / 60000)} minutes ago); start it again`);
      this.o.changed(r.id);
    }
  }

  private ingest(r: RunRecord): void {
    const file = journalFile(r.sharedDir!);
    if (!fs.existsSync(file)) return;
    try {
      const got = ingestJournal(this.o.store, r.id, file, this.o.pushed && ((rec) => this.o.pushed!(r.id, rec)));
      if (got.linesAdded) this.o.changed(r.id);
    } catch (e) {
      if (this.o.store.setExecutorState(r.id, `journal not readable: ${(e as Error).message.slice(0, 300)}`)) this.o.changed(r.id);
    }
  }

  /** The scheduler lists the job: pending (with why) or running. A run whose attempt ended (the
   * journal's `interrupted`) or died without a word (still `running`) while its job is pending
   * again was requeued (preemption, node failure): queued. */
  private listed(r: RunRecord, state: string, reason: string, nodes: string): void {
    const now = this.o.store.getRun(r.id);
    if (!now) return; // deleted meanwhile
    const undelivered = this.cancels.get(r.id)?.error;
    const text = `${state}${reason && reason !== 'None' ? ` (${reason})` : ''}${state === 'RUNNING' && nodes ? ` on ${nodes}` : ''}${undelivered ? ` · ${undelivered}` : ''}`;
    let changed = this.o.store.setExecutorState(r.id, text);
    const pendingAgain = state === 'PENDING' || state === 'REQUEUED' || state === 'REQUEUE_HOLD';
    if ((now.status === 'interrupted' && (pendingAgain || state === 'RUNNING')) || (now.status === 'running' && pendingAgain)) {
      changed = this.o.store.requeued(r.id) || changed;
    }
    if (changed) this.o.changed(r.id);
  }

  /** The scheduler no longer lists the job (or lists it ended). Its journal, ingested once more,
   * says how the run ended; if it says nothing, the scheduler's record (scontrol while it keeps
   * the job, else sacct where there is accounting) does, else "ended without a word". */
  private async gone(r: RunRecord): Promise<void> {
    this.ingest(r);
    const now = this.o.store.getRun(r.id);
    if (!now) return; // deleted meanwhile
    const unfinished = now.status === 'queued' || now.status === 'running';
    const job = `Slurm job ${r.jobId}`;
    const cancelled = now.sharedDir !== null && fs.existsSync(cancelFile(now.sharedDir));
    if (!unfinished && now.status !== 'interrupted') {
      this.done(r.id);
      return;
    }
    const rec = await this.record(r.jobId!);
    const state = rec?.state ?? null;
    if (state && !ENDED.has(state)) return; // listed again by the time we asked: next poll
    // Ended in a way that may not be the last word: a job requeued after preemption or a node
    // failure shows up again, and a completed task's end line may not be visible yet on a
    // network file system. Those wait a few looks before anything is decided.
    const looks = (this.unlisted.get(r.id) ?? 0) + 1;
    this.unlisted.set(r.id, looks);
    if ((REQUEUED.has(state ?? '') || (state === 'COMPLETED' && unfinished)) && looks < SETTLE_LOOKS) return;
    this.unlisted.delete(r.id);
    if (!unfinished) {
      // The trainer recorded that it was stopped (a SIGTERM): a cancel whose file the node did not
      // see yet (NFS caches a missing file) is a cancel; else the scheduler says why.
      if (cancelled && state === 'CANCELLED') this.o.store.cancelledAfterAll(r.id);
      else if (state === 'TIMEOUT') this.o.store.setError(r.id, `${job} reached its time limit${rec?.timeLimit ? ` (${rec.timeLimit})` : ''}: resume continues from the last checkpoint`);
      else if (state === 'PREEMPTED') this.o.store.setError(r.id, `${job} was preempted: resume continues from the last checkpoint`);
      this.done(r.id);
      return;
    }
    const last = this.lastHeartbeat(now);
    let status: 'failed' | 'cancelled' | 'interrupted';
    let error: string | null;
    const extra = rec ? [rec.exit && rec.exit !== '0:0' ? `exit ${rec.exit}` : '', rec.reason && rec.reason !== 'None' ? rec.reason : ''].filter(Boolean).join(', ') : '';
    if (state === 'TIMEOUT') {
      status = 'interrupted';
      error = `${job} reached its time limit${rec?.timeLimit ? ` (${rec.timeLimit})` : ''}: resume continues from the last checkpoint`;
    } else if (state === 'CANCELLED' || cancelled) {
      status = 'cancelled';
      error = cancelled ? null : `${job} was cancelled in Slurm (scancel)${extra ? `: ${extra}` : ''}`;
    } else if (state === 'PREEMPTED') {
      status = 'interrupted';
      error = `${job} was preempted: resume continues from the last checkpoint`;
    } else if (state) {
      status = 'failed';
      error = `${job} ended ${state}${extra ? ` (${extra})` : ''} before its trainer recorded an end${last}${this.output(now)}`;
    } else {
      status = 'failed';
      error = `${job} ended without a word: the scheduler no longer knows it and its journal has no end${last}${this.output(now)}`;
    }
    this.o.store.finishRun(r.id, status, error);
    this.done(r.id);
  }

  /** Followed to its end: no job any more. */
  private done(id: number): void {
    this.cancels.delete(id);
    this.o.store.setJob(id, null, null);
    this.o.changed(id);
  }

  /** Where the job's output is, and its last lines (a task that failed to start says why there). */
  private output(r: RunRecord): string {
    if (!r.sharedDir || !r.jobId) return '';
    const file = path.join(sharedRoot(r.sharedDir), 'slurm', `${r.jobId}.out`);
    let tail = '';
    try {
      const text = fs.readFileSync(file, 'utf8');
      tail = text.trimEnd().split('\n').slice(-3).join('\n').slice(-600);
    } catch {
      return `; its output would be in ${file} (not readable here)`;
    }
    return `; its output, ${file}, ends:\n${tail}`;
  }

  private lastHeartbeat(r: RunRecord): string {
    const at = this.o.store.heartbeatAt(r.id);
    return at ? `; last heartbeat ${new Date(at).toISOString()}` : '';
  }

  /** What the scheduler recorded of an ended job: sacct (accounting) first, else scontrol. */
  private async record(jobId: string): Promise<{ state: string; exit: string; reason: string; timeLimit: string } | null> {
    // scontrol first: the controller's own record while it keeps it (MinJobAge); sacct's
    // accounting can lag behind it (or keep "runaway" jobs RUNNING).
    try {
      const recs = parseScontrolJobs(await this.o.commands.run('scontrol', ['show', 'job', '-o', jobId]));
      const rec = recs.find((x) => scontrolJobId(x) === jobId) ?? (recs.length === 1 ? recs[0] : undefined);
      if (rec) return { state: rec.JobState ?? '', exit: rec.ExitCode ?? '', reason: rec.Reason ?? '', timeLimit: rec.TimeLimit ?? '' };
    } catch {
      // purged (older than MinJobAge): accounting, where there is some, still knows
    }
    if (this.o.commands.which('sacct')) {
      try {
        const out = await this.o.commands.run('sacct', ['-n', '-P', '-X', '-j', jobId, '-o', 'JobID,State,ExitCode,Reason,Timelimit']);
        const line = out
          .split('\n')
          .map((l) => l.split('|'))
          .find((f) => f[0] === jobId);
        if (line) return { state: line[1]!.split(' ')[0]!, exit: line[2] ?? '', reason: line[3] ?? '', timeLimit: line[4] ?? '' };
      } catch {
        // no accounting (no slurmdbd): nothing more to ask
      }
    }
    return null;
  }

  /** Whether a stopped cluster run can continue: it has a last checkpoint on the shared folder. */
  resumable(r: RunRecord): boolean {
    return r.sharedDir !== null && checkpointsOf(sharedRoot(r.sharedDir), r.id).includes('last');
  }
}

/** A file- and job-name-safe form of a name. */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '') || 'trickbench';
}
