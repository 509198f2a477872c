// The host's run lifecycle: a queue (concurrency 1 by default), forking trainers, cancel, crash
// detection, and recovery of runs a previous session left behind. Electron-free: the desktop app
// and `npm run serve` both use it. Trainers write their own rows; this service only owns lifecycle.
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { EventMap, EventName, RunProgress, RunStatus, RunSummary } from '../../shared/api';
import { ApiFailure, FINAL_STATUSES } from '../../shared/api';
import { describeConfig } from '../../shared/config';
import type { HostMessage, TrainerMessage } from '../../shared/protocol';
import { checkpointsOf, runDir } from '../../store/paths';
import { dbPath } from '../../store/db';
import { clearFinalNote, writeFinalNote } from '../../store/final-note';
import { isAlive, settleOrphan } from '../../store/orphans';
import { resumeProblem } from '../../store/run-checks';
import { isDiskFull, writeError } from '../../store/safe-write';
import type { RunRecord, Store } from '../../store/store';
import { BUILTIN_FACTS, type DatasetFacts } from '../../shared/models/datasets';
import { checkStartInput } from './run-input';
import type { ExecutorConfig, SlurmExecutor } from '../../shared/executor';
import { sharedRoot, sharedRunDir, SlurmService } from './slurm';
import { systemSlurm, type SlurmCommands } from './slurm-cli';

/** What the run service needs of the dataset service (DatasetService has it). */
export interface HostDatasets {
  problem(name: string): string | null;
  facts(): DatasetFacts;
}

export interface RunServiceOptions {
  store: Store;
  dataDir: string;
  /** The dataset service: refuses runs on datasets that are not on this machine, and gives the
   * facts (classes, shapes, sizes) configs are checked with. Without it only the built-in
   * datasets are known, and the trainer checks any other when it locates it. */
  datasets?: HostDatasets;
  /** The trainer entry: out/main/trainer.js when built, or src/trainer/main.ts with a TS loader. */
  trainerEntry: string;
  execArgv?: string[];
  execPath?: string;
  env?: NodeJS.ProcessEnv;
  concurrency?: number;
  /** How long a cancelled trainer gets to stop on its own before it is killed. */
  cancelGraceMs?: number;
  /** How often runs owned by other processes (CLI, a previous app session) are checked. */
  pollMs?: number;
  emit: <E extends EventName>(event: E, payload: EventMap[E]) => void;
  /** How cluster runs are submitted: Slurm's commands (default: those on PATH) and how a node
   * starts our CLI (default: this Node, and cli.js beside the trainer entry). */
  cluster?: { commands?: SlurmCommands; node?: string; cli?: string; pollMs?: number };
}

interface Active {
  child: ChildProcess;
  progress: RunProgress | null;
  cancelRequested: boolean;
  stderrTail: string;
  /** The trainer's own report of how the run ended (its 'finished' message). */
  finished?: { status: RunStatus; error: string | null };
  killTimer?: NodeJS.Timeout;
}

const STDERR_TAIL = 4000;

export { isAlive };

export class RunService {
  private readonly queue: number[] = [];
  private readonly active = new Map<number, Active>();
  private readonly exited = new Map<number, Promise<void>>();
  private pollTimer: NodeJS.Timeout | null = null;
  private readonly watched = new Set<number>(); // running runs owned by other processes
  private readonly followers = new Map<number, ((status: RunStatus) => void)[]>();
  /** Final statuses the store could not take (a full disk): written as soon as it can. */
  private readonly unrecorded = new Map<number, { status: RunStatus; error: string | null }>();
  private readonly unsettled = new Set<number>(); // orphans whose end the store refused (logged once)
  private closed = false;

  /** Runs that train on a Slurm cluster: submitted, followed and ingested here. */
  readonly slurm: SlurmService;
  private clusterTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: RunServiceOptions) {
    this.slurm = new SlurmService({
      store: o.store,
      commands: o.cluster?.commands ?? systemSlurm(),
      node: o.cluster?.node ?? process.execPath,
      cli: o.cluster?.cli ?? path.join(path.dirname(o.trainerEntry), 'cli.js'),
      dataDir: o.dataDir,
      changed: (id) => this.changed(id),
      pushed: (id, rec) => {
        if (rec.kind === 'metrics') this.o.emit('runs:metrics', { runId: id, points: rec.points });
        else if (rec.kind === 'event' || rec.kind === 'resume') this.o.emit('runs:event', { runId: id, event: rec.event });
      },
    });
  }

  get store(): Store {
    return this.o.store;
  }

  /** At start-up: a run left `running` whose process is gone becomes `interrupted`; one whose
   * process still runs (a CLI run, a trainer that outlived its app) is watched; queued runs of a
   * previous session are queued again. */
  recover(): void {
    // External runs' clients could not reach a host that was down: their silence until now is not
    // theirs, so each gets a full heartbeat timeout from this start.
    this.o.store.external.graceAll();
    for (const r of this.o.store.listRuns()) {
      if (r.executor === 'slurm') {
        continue; // its job is the scheduler's: the cluster poll below follows it
      } else if (r.status === 'running' && r.source === 'external') {
        this.watched.add(r.id);
      } else if (r.status === 'running' && !this.active.has(r.id)) {
        if (isAlive(r.pid)) this.watched.add(r.id);
        else this.markInterrupted(r);
      } else if (r.status === 'queued' && !this.queue.includes(r.id)) {
        this.queue.push(r.id);
      }
    }
    this.pump();
    const ms = this.o.pollMs ?? 2000;
    this.pollTimer ??= setInterval(() => this.guarded('checking runs', () => this.poll()), ms);
    this.pollTimer.unref();
    this.clusterTimer ??= setInterval(() => void this.pollCluster(), this.o.cluster?.pollMs ?? 3000);
    this.clusterTimer.unref();
    void this.pollCluster();
  }

  /** One look at the cluster runs (their journals and jobs); the host survives whatever it throws. */
  async pollCluster(): Promise<void> {
    if (this.closed) return;
    try {
      await this.slurm.poll();
    } catch (e) {
      process.stderr.write(`run service, following cluster runs: ${(e as Error).message}\n`);
    }
  }

  /** A run whose trainer is gone: the final status its trainer noted when the store was full,
   * else interrupted. A store that cannot be written now is tried again at the next poll. */
  private markInterrupted(r: RunRecord): void {
    let changed = false;
    try {
      changed = settleOrphan(this.o.store, r);
    } catch (e) {
      if (!this.unsettled.has(r.id)) process.stderr.write(`run ${r.id}: its trainer is gone but its end cannot be recorded yet (${this.storeFailure(e)}); trying again\n`);
      this.unsettled.add(r.id);
      return;
    }
    this.unsettled.delete(r.id);
    if (changed) this.changed(r.id);
  }

  /** The host survives whatever one step of its timers and child events throws: it is logged. */
  private guarded(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      process.stderr.write(`run service, ${what}: ${(e as Error).message}\n`);
    }
  }

  /** Record a run's final status; when the store cannot take it (a full disk), keep it (and note
   * it in the run's folder for a next start) and try again at every poll. */
  private finish(id: number, status: RunStatus, error: string | null): void {
    try {
      this.o.store.finishRun(id, status, error);
      this.unrecorded.delete(id);
      clearFinalNote(this.o.dataDir, id);
    } catch (e) {
      if (!this.unrecorded.has(id)) {
        process.stderr.write(`run ${id}: its final status (${status}) cannot be recorded yet (${this.storeFailure(e)}); trying again when the store can be written\n`);
      }
      this.unrecorded.set(id, { status, error });
      writeFinalNote(this.o.dataDir, id, { status, error });
    }
  }

  private storeFailure(e: unknown): string {
    return isDiskFull(e) ? writeError(e, dbPath(this.o.dataDir)).message : (e as Error).message;
  }

  /** Runs this host does not own: pick up new ones (started from a CLI) and notice their end. */
  private poll(): void {
    for (const [id, f] of [...this.unrecorded]) {
      this.finish(id, f.status, f.error);
      if (!this.unrecorded.has(id)) this.changed(id);
    }
    // External runs whose client went silent fail here ("no heartbeat for N s").
    for (const id of this.o.store.external.reapStale()) this.changed(id);
    const running = this.o.store.listRuns().filter((r) => r.status === 'running' && r.executor === 'local' && !this.active.has(r.id) && !this.unrecorded.has(r.id));
    const stillRunning = new Set(running.map((r) => r.id));
    for (const id of this.watched) {
      if (!stillRunning.has(id)) {
        this.watched.delete(id); // ended (or deleted) since the last look
        this.changed(id);
      }
    }
    for (const r of running) {
      if (r.source === 'external') {
        this.watched.add(r.id); // its client keeps it alive with heartbeats; its pages follow its pushes
      } else if (isAlive(r.pid)) {
        this.watched.add(r.id);
        this.changed(r.id); // newly seen, or its metrics keep growing
      } else {
        this.watched.delete(r.id);
        this.markInterrupted(r);
      }
    }
  }

  summary(id: number): RunSummary {
    const r = this.o.store.getRun(id);
    if (!r) throw new ApiFailure({ code: 'not_found', message: `run ${id} does not exist` });
    return this.toSummary(r);
  }

  private toSummary(r: RunRecord): RunSummary {
    const { pid: _pid, host: _host, resume: _resume, sharedDir: _shared, ...rest } = r;
    const progress = this.active.get(r.id)?.progress ?? null;
    const names = r.experimentId !== null ? this.o.store.experiments.namesOf(r.id) : null;
    // a cluster run's checkpoints are on the shared folder (SHARED/runs/<id>)
    const where = r.sharedDir ? sharedRoot(r.sharedDir) : this.o.dataDir;
    return { ...rest, experimentName: names?.experimentName ?? null, armName: names?.armName ?? null, ...this.o.store.summaries(r.id), progress, checkpoints: checkpointsOf(where, r.id) };
  }

  list(): RunSummary[] {
    return this.o.store.listRuns().map((r) => this.toSummary(r));
  }

  /** Queue a run. `experiment`: the experiment and arm it is a run of, linked before the run is
   * announced, so that its first runs:changed names them (the runs list's columns). */
  start(input: unknown, experiment?: { experimentId: number; armId: number }, executor?: ExecutorConfig): RunSummary {
    const datasets = this.o.datasets;
    const config = checkStartInput(this.o.store, input, datasets ? { facts: datasets.facts(), problem: (n) => datasets.problem(n) } : { facts: BUILTIN_FACTS });
    const id = this.o.store.createRun(config, 'queued', config.name || describeConfig(config)).id;
    if (experiment) this.o.store.experiments.link(id, experiment.experimentId, experiment.armId);
    if (executor?.kind === 'slurm') {
      // queued for the cluster: submitCluster sends it (with its experiment's other new runs)
      this.o.store.setClusterRun(id, 'slurm', sharedRunDir(executor.sharedDir, id));
      this.changed(id);
      return this.summary(id);
    }
    return this.enqueue(id);
  }

  /** Refuse a Slurm executor the cluster cannot honour (sinfo, PATH, the shared folder). */
  validateExecutor(x: ExecutorConfig): void {
    if (x.kind === 'slurm') this.slurm.validate(x);
  }

  /** Submit cluster runs (queued by start) as one job array named after their experiment. */
  submitCluster(ids: readonly number[], x: SlurmExecutor, name: string): void {
    this.slurm.submit(ids, x, name);
  }

  /** The dataset facts runs are checked with now (experiments plan their arms with them). */
  datasetFacts(): DatasetFacts {
    return this.o.datasets?.facts() ?? BUILTIN_FACTS;
  }

  /** Queue a stopped run again: its trainer continues from the last checkpoint, same id. */
  resume(id: number): RunSummary {
    const r = this.o.store.getRun(id);
    if (r?.executor === 'slurm') return this.resumeCluster(r);
    const problem = resumeProblem(this.o.store, id) ?? (this.o.store.reopenForResume(id, 'queued') ? null : { code: 'conflict' as const, message: `run ${id} changed status meanwhile` });
    if (problem) throw new ApiFailure({ ...problem, field: 'id' });
    return this.enqueue(id);
  }

  /** A stopped cluster run continues from its last checkpoint (on the shared folder) in a new job. */
  private resumeCluster(r: RunRecord): RunSummary {
    const fail = (code: 'conflict' | 'bad_request', message: string) => new ApiFailure({ code, message, field: 'id' });
    if (r.status !== 'interrupted' && r.status !== 'cancelled' && r.status !== 'failed') throw fail('conflict', `run ${r.id} is ${r.status}: only a stopped run can be resumed`);
    if (!this.slurm.resumable(r)) throw fail('conflict', `run ${r.id} cannot be resumed: no last checkpoint in ${r.sharedDir}`);
    const x = r.experimentId !== null ? this.o.store.experiments.get(r.experimentId)?.executor : undefined;
    if (x?.kind !== 'slurm') throw fail('bad_request', `run ${r.id} is a cluster run outside a Slurm experiment: nothing says where to submit it`);
    if (!this.o.store.reopenForResume(r.id, 'queued')) throw fail('conflict', `run ${r.id} changed status meanwhile`);
    this.slurm.resume(this.o.store.getRun(r.id)!, x, this.o.store.experiments.get(r.experimentId!)!.name);
    return this.summary(r.id);
  }

  private enqueue(id: number): RunSummary {
    this.queue.push(id);
    this.changed(id);
    this.pump();
    return this.summary(id);
  }

  /** A cancel was asked of this run's trainer and it has not exited yet. */
  stopping(id: number): boolean {
    return this.active.get(id)?.cancelRequested ?? false;
  }

  cancel(id: number): RunSummary {
    const r = this.o.store.getRun(id);
    if (!r) throw new ApiFailure({ code: 'not_found', message: `run ${id} does not exist` });
    const qi = this.queue.indexOf(id);
    if (qi >= 0) this.queue.splice(qi, 1);
    const a = this.active.get(id);
    if (r.executor === 'slurm') {
      if (r.status === 'queued' || r.status === 'running') this.slurm.cancel(r);
    } else if (a) {
      if (!a.cancelRequested) {
        a.cancelRequested = true;
        const msg: HostMessage = { type: 'cancel' };
        if (a.child.connected) a.child.send(msg);
        else a.child.kill('SIGTERM');
        a.killTimer = setTimeout(() => a.child.kill('SIGKILL'), this.o.cancelGraceMs ?? 15000);
      }
    } else if (r.status === 'running' && r.source === 'external') {
      // Nothing here can stop the client's script: the run ends, and its client's next call is refused.
      this.o.store.external.finish(id, 'cancelled', 'cancelled in Trickbench: the logging script was told so at its next call');
    } else if (r.status === 'queued') {
      this.o.store.finishRun(id, 'cancelled');
    } else if (r.status === 'running' && r.pid && isAlive(r.pid)) {
      // Owned by another process on this machine (a CLI run): ask it to stop like Ctrl-C would.
      process.kill(r.pid, 'SIGTERM');
    } else if (r.status === 'running') {
      this.markInterrupted(r);
    }
    this.changed(id);
    return this.summary(id);
  }

  delete(ids: number[]): { deleted: number[] } {
    const deleted: number[] = [];
    for (const id of ids) {
      const r = this.o.store.getRun(id);
      if (!r) continue;
      if (r.status === 'running') {
        throw new ApiFailure({ code: 'conflict', message: `run ${id} is running: cancel it before deleting it` });
      }
    }
    for (const id of ids) {
      const qi = this.queue.indexOf(id);
      if (qi >= 0) this.queue.splice(qi, 1);
      const before = this.o.store.getRun(id);
      const shared = before?.sharedDir ?? null;
      // a cluster run still pending: its job goes too (it would start, and find no task)
      if (before?.executor === 'slurm' && before.status === 'queued' && before.jobId) this.slurm.cancel(before);
      if (this.o.store.deleteRun(id)) {
        deleted.push(id);
        fs.rmSync(runDir(this.o.dataDir, id), { recursive: true, force: true });
        if (shared) fs.rmSync(shared, { recursive: true, force: true });
      }
    }
    if (deleted.length) this.o.emit('runs:deleted', { ids: deleted });
    return { deleted };
  }

  /** Push an event to the pages (the ingest channels: an external run's points, events, status). */
  broadcast<E extends EventName>(event: E, payload: EventMap[E]): void {
    this.o.emit(event, payload);
  }

  /** An external run changed (created, finished): the pages and any follower hear of it. */
  externalChanged(id: number): void {
    this.changed(id);
  }

  /** Resolves when the given run's trainer (if any) has exited. For tests and shutdown. */
  whenExited(id: number): Promise<void> {
    return this.exited.get(id) ?? Promise.resolve();
  }

  /** Tell the pages a run's summary changed from outside its lifecycle (its experiment deleted:
   * no experiment and arm any more). Emits only; followers wait for the run's own end. */
  announce(id: number): void {
    const r = this.o.store.getRun(id);
    if (r) this.o.emit('runs:changed', this.toSummary(r));
  }

  private changed(id: number): void {
    const r = this.o.store.getRun(id);
    if (r) this.o.emit('runs:changed', this.toSummary(r));
    const f = this.followers.get(id);
    if (f && (!r || FINAL_STATUSES.includes(r.status))) {
      this.followers.delete(id);
      for (const fn of f) {
        try {
          fn(r?.status ?? 'failed');
        } catch (e) {
          // a follower's failure (say, an experiment's next runs no longer valid) must not stop
          // the others or take the host down: it is reported, the run's own status stands
          process.stderr.write(`after run ${id} finished: ${(e as Error).message}\n`);
        }
      }
    }
  }

  /** Calls fn once with the run's final status (completed, failed, cancelled, interrupted) when it
   * reaches one in this session (a preset's fine-tuning arms wait for their pre-training). */
  whenFinished(id: number, fn: (status: RunStatus) => void): void {
    this.followers.set(id, [...(this.followers.get(id) ?? []), fn]);
  }

  private pump(): void {
    if (this.closed) return;
    const limit = this.o.concurrency ?? 1;
    while (this.active.size < limit && this.queue.length) {
      const id = this.queue.shift()!;
      const r = this.o.store.getRun(id);
      if (!r || r.status !== 'queued') continue;
      this.spawn(id, r.resume);
    }
  }

  private spawn(id: number, resume: boolean): void {
    const args = ['--run-id', String(id), '--data-dir', this.o.dataDir, ...(resume ? ['--resume'] : [])];
    const child = fork(this.o.trainerEntry, args, {
      execPath: this.o.execPath,
      execArgv: this.o.execArgv ?? [],
      env: { ...process.env, ...this.o.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const a: Active = { child, progress: null, cancelRequested: false, stderrTail: '' };
    this.active.set(id, a);
    child.stdout?.resume();
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => {
      a.stderrTail = (a.stderrTail + s).slice(-STDERR_TAIL);
    });
    child.on('message', (m: TrainerMessage) => this.onMessage(id, a, m));
    this.exited.set(
      id,
      new Promise((resolve) => {
        // 'close' fires after 'exit' and after stdio has drained, so the stderr tail is complete.
        child.on('close', (code, signal) => {
          this.onExit(id, a, code, signal);
          resolve();
        });
        child.on('error', (err) => {
          a.stderrTail += `\n${err.message}`;
        });
      }),
    );
  }

  private onMessage(id: number, a: Active, m: TrainerMessage): void {
    switch (m.type) {
      case 'started':
        this.changed(id);
        break;
      case 'progress':
        a.progress = { epoch: m.epoch, epochs: m.epochs, step: m.step, stepsPerEpoch: m.stepsPerEpoch, phase: m.phase };
        this.o.emit('runs:progress', { runId: id, progress: a.progress });
        break;
      case 'metrics':
        this.o.emit('runs:metrics', { runId: id, points: m.points });
        break;
      case 'event':
        this.o.emit('runs:event', { runId: id, event: m.event });
        break;
      case 'finished':
        // Normally in the store already; if the trainer could not write it, onExit does.
        a.finished = { status: m.status, error: m.error };
        break;
    }
  }

  private onExit(id: number, a: Active, code: number | null, signal: NodeJS.Signals | null): void {
    if (a.killTimer) clearTimeout(a.killTimer);
    this.active.delete(id);
    this.guarded(`after run ${id}'s trainer exited`, () => {
      const r = this.o.store.getRun(id);
      if (r && (r.status === 'running' || r.status === 'queued')) {
        if (a.finished && a.finished.status !== 'completed') {
          // The trainer said how it ended but could not record it (a full store).
          this.finish(id, a.finished.status, a.finished.error);
        } else if (a.cancelRequested) {
          this.finish(id, 'cancelled', null);
        } else {
          const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
          const tail = a.stderrTail.trim();
          this.finish(id, 'failed', `trainer process ${how}${tail ? `; last output:\n${tail}` : ' (no output)'}`);
        }
      }
      this.changed(id);
    });
    this.guarded('starting the next run', () => this.pump());
  }

  /** Stop taking work. Running trainers are asked to stop (cancelled) unless `leaveRunning`. */
  async close({ leaveRunning = false } = {}): Promise<void> {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.clusterTimer) clearInterval(this.clusterTimer);
    if (!leaveRunning) {
      const ids = [...this.active.keys()];
      for (const id of ids) this.cancel(id);
      await Promise.all(ids.map((id) => this.whenExited(id)));
    }
  }
}
