// Small repositories over the store, used by the host (main process, serve, export CLI) and by
// trainers, each in its own process with its own connection.
import os from 'node:os';
import type { AlignedHistory, MetricPoint, RunEvent, RunStatus, RunSummary } from '../shared/api';
import { FINAL_STATUSES } from '../shared/api';
import type { RunConfig } from '../shared/config';
import { bestOf, isSummaryKey } from '../shared/metrics';
import { openDatabase, type DB, type OpenOptions } from './db';
import { EvaluationRepo } from './evaluation-repo';
import { DatasetRepo } from './dataset-repo';
import { ExperimentRepo } from './experiment-repo';
import { ExternalRepo } from './external-repo';

interface RunRow {
  id: number;
  name: string;
  status: RunStatus;
  config: string;
  seed: number;
  backend: string | null;
  device: string | null;
  pid: number | null;
  host: string | null;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  error: string | null;
  resume: number;
  experiment_id: number | null;
  source: 'trickbench' | 'external';
  params: string | null;
  executor: 'local' | 'slurm';
  job_id: string | null;
  executor_state: string | null;
  shared_dir: string | null;
}

export interface RunRecord extends Omit<RunSummary, 'final' | 'best' | 'progress' | 'checkpoints' | 'experimentName' | 'armName'> {
  pid: number | null;
  host: string | null;
  /** Queued to continue from its last checkpoint (the trainer gets --resume). */
  resume: boolean;
  /** A cluster run's folder on the shared file system (its journal and checkpoints), else null. */
  sharedDir: string | null;
}

export interface HistoryRow {
  key: string;
  step: number;
  epoch: number;
  value: number;
  wall_time: number;
}

const HISTORY_PAGE = 5000;

/** Per-step epochs are fractions (e + (i+1)/n): rounded so that runs with the same batch count meet. */
function roundEpoch(e: number): number {
  return Math.round(e * 1e6) / 1e6;
}

function toRecord(r: RunRow): RunRecord {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    source: r.source,
    config: JSON.parse(r.config) as RunConfig,
    params: r.params === null ? null : (JSON.parse(r.params) as Record<string, unknown>),
    seed: r.seed,
    backend: r.backend,
    device: r.device,
    createdAt: r.created_at,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    error: r.error,
    pid: r.pid,
    host: r.host,
    resume: r.resume === 1,
    experimentId: r.experiment_id ?? null,
    executor: r.executor ?? 'local',
    jobId: r.job_id ?? null,
    executorState: r.executor_state ?? null,
    sharedDir: r.shared_dir ?? null,
  };
}

export class Store {
  readonly db: DB;
  readonly evaluations: EvaluationRepo;
  readonly experiments: ExperimentRepo;
  readonly datasets: DatasetRepo;
  /** Runs from outside our trainer: the ingest channels and the importers write through it. */
  readonly external: ExternalRepo;
  private readonly stmts;

  constructor(
    readonly dataDir: string,
    opts: OpenOptions = {},
  ) {
    this.db = openDatabase(dataDir, opts);
    const db = this.db;
    this.evaluations = new EvaluationRepo(db);
    this.experiments = new ExperimentRepo(db);
    this.datasets = new DatasetRepo(db);
    this.external = new ExternalRepo(db, this.experiments);
    this.stmts = {
      insertRun: db.prepare(
        `INSERT INTO run (name, status, config, seed, created_at, started_at, pid, host)
         VALUES (@name, @status, @config, @seed, @now, @startedAt, @pid, @host)`,
      ),
      insertRunWithId: db.prepare(
        `INSERT INTO run (id, name, status, config, seed, created_at) VALUES (@id, @name, 'queued', @config, @seed, @now)`,
      ),
      getRun: db.prepare(`SELECT * FROM run WHERE id = ?`),
      listRuns: db.prepare(`SELECT * FROM run ORDER BY id`),
      // A resumed run keeps its first start time.
      claim: db.prepare(
        `UPDATE run SET status = 'running', started_at = COALESCE(started_at, @now), pid = @pid, host = @host, error = NULL,
           ended_at = NULL, resume = 0
         WHERE id = @id AND status = 'queued'`,
      ),
      reopen: db.prepare(
        `UPDATE run SET status = @status, resume = @resume, pid = @pid, host = @host, error = NULL, ended_at = NULL
         WHERE id = @id AND status IN ('cancelled', 'failed', 'interrupted')`,
      ),
      deleteMetricsAfter: db.prepare(`DELETE FROM metric WHERE run_id = ? AND step > ?`),
      // Trick events (rifle.reinit at an epoch's start, ...) of the abandoned part: the resumed run
      // writes them again. Lifecycle events (run.*) are history and stay.
      deleteTrickEventsFrom: db.prepare(`DELETE FROM event WHERE run_id = ? AND step >= ? AND kind NOT LIKE 'run.%' AND kind NOT IN ('init.loaded', 'pairing')`),
      setBackend: db.prepare(`UPDATE run SET backend = ?, device = ? WHERE id = ?`),
      finish: db.prepare(
        `UPDATE run SET status = @status, error = @error, ended_at = @now, pid = NULL
         WHERE id = @id AND status IN ('queued', 'running')`,
      ),
      insertMetric: db.prepare(
        `INSERT OR REPLACE INTO metric (run_id, key, step, epoch, value, wall_time)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      insertEvent: db.prepare(
        `INSERT INTO event (run_id, epoch, step, kind, payload, wall_time) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      // In the order written: a resumed run's steps go back to its checkpoint.
      events: db.prepare(`SELECT epoch, step, kind, payload, wall_time FROM event WHERE run_id = ? ORDER BY id`),
      eventOfKind: db.prepare(`SELECT payload FROM event WHERE run_id = ? AND kind = ? ORDER BY id DESC LIMIT 1`).pluck(),
      // The run's distinct keys by seeking the (run, key, step) index from one key to the next:
      // as many lookups as keys, however many points (a per-step key has tens of thousands).
      keysOf: db.prepare(
        `WITH RECURSIVE k(key) AS (
           SELECT (SELECT MIN(key) FROM metric WHERE run_id = @run)
           UNION ALL
           SELECT (SELECT MIN(key) FROM metric WHERE run_id = @run AND key > k.key) FROM k WHERE k.key IS NOT NULL
         ) SELECT key FROM k WHERE key IS NOT NULL`,
      ).pluck(),
      lastOfKey: db.prepare(`SELECT value FROM metric WHERE run_id = ? AND key = ? ORDER BY step DESC LIMIT 1`).pluck(),
      minMaxOfKey: db.prepare(`SELECT MIN(value) AS lo, MAX(value) AS hi FROM metric WHERE run_id = ? AND key = ?`),
      history: db.prepare(
        `SELECT key, step, epoch, value, wall_time FROM metric WHERE run_id = ? ORDER BY key, step`,
      ),
      deleteRun: db.prepare(`DELETE FROM run WHERE id = ?`),
      historyPage: db
        .prepare(
          `SELECT step, epoch, value, wall_time FROM metric WHERE run_id = ? AND key = ? AND step > ? ORDER BY step LIMIT ${HISTORY_PAGE}`,
        )
        .raw(),
      keyHistory: db.prepare(`SELECT step, epoch, value, wall_time FROM metric WHERE run_id = ? AND key = ? ORDER BY step`).raw(),
      keyEpochs: db.prepare(`SELECT epoch FROM metric WHERE run_id = ? AND key = ? ORDER BY step`).pluck(),
      keySteps: db.prepare(`SELECT step FROM metric WHERE run_id = ? AND key = ? ORDER BY step`).pluck(),
      keyValues: db.prepare(`SELECT value FROM metric WHERE run_id = ? AND key = ? ORDER BY step`).pluck(),
      keyWalls: db.prepare(`SELECT wall_time FROM metric WHERE run_id = ? AND key = ? ORDER BY step`).pluck(),
      // Per-epoch points of a key (whole epochs): the best by value (earliest on ties) and the last.
      bestEpochOf: db.prepare(`SELECT epoch FROM metric WHERE run_id = ? AND key = ? AND epoch = CAST(epoch AS INTEGER) ORDER BY value DESC, step ASC LIMIT 1`).pluck(),
      lastEpochOf: db.prepare(`SELECT epoch, value FROM metric WHERE run_id = ? AND key = ? AND epoch = CAST(epoch AS INTEGER) ORDER BY step DESC LIMIT 1`),
      valueAtEpoch: db.prepare(`SELECT value FROM metric WHERE run_id = ? AND key = ? AND epoch = ? ORDER BY step DESC LIMIT 1`).pluck(),
      sumOf: db.prepare(`SELECT SUM(value) FROM metric WHERE run_id = ? AND key = ?`).pluck(),
      setSummaries: db.prepare(`SELECT key, value FROM run_summary WHERE run_id = ?`),
      summaryValue: db.prepare(`SELECT value FROM run_summary WHERE run_id = ? AND key = ?`).pluck(),
    };
  }

  close(): void {
    this.db.close();
  }

  /** A new run row: `running` for a trainer that starts now (CLI), `queued` for the app's queue. */
  createRun(config: RunConfig, status: 'queued' | 'running', name?: string): RunRecord {
    const now = Date.now();
    const info = this.stmts.insertRun.run({
      name: name ?? config.name,
      status,
      config: JSON.stringify(config),
      seed: config.seed,
      now,
      startedAt: status === 'running' ? now : null,
      pid: status === 'running' ? process.pid : null,
      host: status === 'running' ? os.hostname() : null,
    });
    return this.getRun(Number(info.lastInsertRowid))!;
  }

  /** A queued run row with a given id: a cluster task's node-local copy of the server's run
   * (src/journal/task.ts), whose rows are mirrored to the journal under the server's id. */
  createRunWithId(id: number, config: RunConfig, name: string): RunRecord {
    if (!Number.isInteger(id) || id < 1) throw new Error(`a run id must be a positive integer, got ${id}`);
    if (this.getRun(id)) throw new Error(`run ${id} already exists in ${this.dataDir}`);
    this.stmts.insertRunWithId.run({ id, name, config: JSON.stringify(config), seed: config.seed, now: Date.now() });
    return this.getRun(id)!;
  }

  getRun(id: number): RunRecord | null {
    const r = this.stmts.getRun.get(id) as RunRow | undefined;
    return r ? toRecord(r) : null;
  }

  listRuns(): RunRecord[] {
    return (this.stmts.listRuns.all() as RunRow[]).map(toRecord);
  }

  /** Atomically take a queued run for this process; false when someone else took it or it was cancelled. */
  claimRun(id: number, pid = process.pid): boolean {
    return this.stmts.claim.run({ id, pid, host: os.hostname(), now: Date.now() }).changes === 1;
  }

  /** A stopped (cancelled, failed, interrupted) run goes on: `queued` with the resume flag for the
   * app's queue, or `running` for a CLI that trains it now. False when it is not stopped. */
  reopenForResume(id: number, status: 'queued' | 'running'): boolean {
    const running = status === 'running';
    return (
      this.stmts.reopen.run({
        id,
        status,
        resume: running ? 0 : 1,
        pid: running ? process.pid : null,
        host: running ? os.hostname() : null,
      }).changes === 1
    );
  }

  /** In one transaction: drop what the run wrote after its checkpoint (the points of a partial
   * epoch, an evaluation), and record the resume event. The resumed epochs rewrite the rest. */
  beginResume(runId: number, fromStep: number, e: RunEvent): void {
    this.db.transaction(() => {
      this.stmts.deleteMetricsAfter.run(runId, fromStep);
      this.stmts.deleteTrickEventsFrom.run(runId, fromStep);
      this.evaluations.clear(runId);
      this.addEvent(runId, e);
    })();
  }

  /** Drop every metric, event and evaluation of a run (a cluster attempt starting afresh). */
  clearRunRows(runId: number): void {
    this.db.transaction(() => {
      this.db.prepare(`DELETE FROM metric WHERE run_id = ?`).run(runId);
      this.db.prepare(`DELETE FROM event WHERE run_id = ?`).run(runId);
      this.evaluations.clear(runId);
    })();
  }

  setBackend(id: number, backend: string, device: string): void {
    this.stmts.setBackend.run(backend, device, id);
  }

  /** Move a queued or running run to a final status; a run already final is left alone
   * (so a trainer's own 'completed' is never overwritten by a late crash report). */
  finishRun(id: number, status: RunStatus, error: string | null = null): boolean {
    if (!FINAL_STATUSES.includes(status)) throw new Error(`not a final status: ${status}`);
    return this.stmts.finish.run({ id, status, error, now: Date.now() }).changes === 1;
  }

  addMetrics(runId: number, points: readonly MetricPoint[]): void {
    if (points.length === 0) return;
    const ins = this.stmts.insertMetric;
    this.db.transaction(() => {
      for (const p of points) ins.run(runId, p.key, p.step, p.epoch, p.value, p.time);
    })();
  }

  addEvent(runId: number, e: RunEvent): void {
    this.stmts.insertEvent.run(runId, e.epoch, e.step, e.kind, JSON.stringify(e.payload), e.time);
  }

  events(runId: number): RunEvent[] {
    return (this.stmts.events.all(runId) as { epoch: number; step: number; kind: string; payload: string; wall_time: number }[]).map(
      (r) => ({ epoch: r.epoch, step: r.step, kind: r.kind, payload: JSON.parse(r.payload) as Record<string, unknown>, time: r.wall_time }),
    );
  }

  /** The payload of a run's latest event of a kind (e.g. 'pairing'), or null. */
  eventPayload(runId: number, kind: string): Record<string, unknown> | null {
    const p = this.stmts.eventOfKind.get(runId, kind) as string | undefined;
    return p === undefined ? null : (JSON.parse(p) as Record<string, unknown>);
  }

  /** Final (last) and best value of each summary metric of a run (shared/metrics.ts decides
   * which: per-step series and tricks' diagnostics are not, and are never read; the best follows
   * the key's direction, and a key without one, like lr, has no best). */
  summaries(runId: number): { final: Record<string, number>; best: Record<string, number> } {
    const final: Record<string, number> = {};
    const best: Record<string, number> = {};
    for (const key of this.stmts.keysOf.all({ run: runId }) as string[]) {
      if (!isSummaryKey(key)) continue;
      final[key] = this.stmts.lastOfKey.get(runId, key) as number;
      const { lo, hi } = this.stmts.minMaxOfKey.get(runId, key) as { lo: number; hi: number };
      const b = bestOf(key, lo, hi);
      if (b !== undefined) best[key] = b;
    }
    // Values a client set explicitly (an external run's summary) stand for the final value.
    for (const { key, value } of this.stmts.setSummaries.all(runId) as { key: string; value: number }[]) final[key] = value;
    return { final, best };
  }

  history(runId: number, keys?: readonly string[]): Record<string, MetricPoint[]> {
    const out: Record<string, MetricPoint[]> = {};
    if (keys && keys.length) {
      // One range scan of the primary key (run, key, step) per key asked for.
      for (const key of new Set(keys)) {
        const rows = this.stmts.keyHistory.all(runId, key) as [number, number, number, number][];
        if (rows.length) out[key] = rows.map(([step, epoch, value, time]) => ({ key, step, epoch, value, time }));
      }
      return out;
    }
    for (const r of this.stmts.history.iterate(runId) as IterableIterator<HistoryRow>) {
      (out[r.key] ??= []).push({ key: r.key, step: r.step, epoch: r.epoch, value: r.value, time: r.wall_time });
    }
    return out;
  }

  /** One metric of several runs on a common x grid: the union of the runs' epoch values (per-epoch
   * metrics sit on whole epochs, per-step ones on e + (i+1)/n), so run j's value at grid index k is
   * values[j][k] (NaN where that run has no point: not trained that far, or another batch count).
   * `time`: also the seconds since each run started. Charts read this (float32 is plenty for
   * drawing); statistics and exports read the stored doubles. Columns are read one at a time
   * (pluck): building a row object per point would cost five times as much. */
  alignedHistory(runIds: readonly number[], key: string, opts: { time?: boolean } = {}): AlignedHistory {
    const s = this.stmts;
    const epochsOf = runIds.map((id) => s.keyEpochs.all(id, key) as number[]);
    const first = epochsOf.find((e) => e.length) ?? [];
    // The usual case: every run has the same epochs (same batches per epoch, trained as far).
    const same = epochsOf.every((e) => e.length === first.length && e.every((v, i) => v === first[i]));
    let epochs: number[];
    let steps: number[];
    let indexOf: ((j: number) => Int32Array) | null = null;
    if (same) {
      epochs = first;
      const firstRun = runIds[epochsOf.indexOf(first)];
      steps = firstRun === undefined ? [] : (s.keySteps.all(firstRun, key) as number[]);
    } else {
      const grid = new Map<number, { j: number; i: number }>();
      epochsOf.forEach((es, j) => es.forEach((e, i) => grid.has(roundEpoch(e)) || grid.set(roundEpoch(e), { j, i })));
      epochs = [...grid.keys()].sort((a, b) => a - b);
      const at = new Map(epochs.map((e, k) => [e, k]));
      const stepsCache = new Map<number, number[]>();
      steps = epochs.map((e) => {
        const { j, i } = grid.get(e)!;
        if (!stepsCache.has(j)) stepsCache.set(j, s.keySteps.all(runIds[j]!, key) as number[]);
        return stepsCache.get(j)![i]!;
      });
      indexOf = (j) => Int32Array.from(epochsOf[j]!, (e) => at.get(roundEpoch(e))!);
    }
    const spread = (j: number, column: number[], map: (v: number) => number = (v) => v) => {
      const out = new Float32Array(epochs.length).fill(NaN);
      const idx = indexOf?.(j);
      for (let i = 0; i < column.length; i++) out[idx ? idx[i]! : i] = map(column[i]!);
      return out;
    };
    const values = runIds.map((id, j) => spread(j, s.keyValues.all(id, key) as number[]));
    let elapsed: Float32Array[] | null = null;
    if (opts.time) {
      elapsed = runIds.map((id, j) => {
        const wall = s.keyWalls.all(id, key) as number[];
        const start = this.getRun(id)?.startedAt ?? wall[0] ?? 0;
        return spread(j, wall, (w) => (w - start) / 1000);
      });
    }
    return { key, runIds: [...runIds], epoch: epochs, step: steps, values, elapsed };
  }

  /** The whole epoch (1-based) with the highest value of a per-epoch key, the earliest on ties
   * (as the best checkpoint is chosen); null when the run has none. */
  bestEpoch(runId: number, key: string): number | null {
    return (this.stmts.bestEpochOf.get(runId, key) as number | undefined) ?? null;
  }

  /** The last whole-epoch point of a key. */
  lastEpochPoint(runId: number, key: string): { epoch: number; value: number } | null {
    return (this.stmts.lastEpochOf.get(runId, key) as { epoch: number; value: number } | undefined) ?? null;
  }

  valueAt(runId: number, key: string, epoch: number): number | null {
    return (this.stmts.valueAtEpoch.get(runId, key, epoch) as number | undefined) ?? null;
  }

  /** A run that trains on a cluster: its executor and its folder on the shared file system. */
  setClusterRun(runId: number, executor: 'slurm', sharedDir: string): void {
    this.db.prepare(`UPDATE run SET executor = ?, shared_dir = ? WHERE id = ?`).run(executor, sharedDir, runId);
  }

  /** The scheduler's job of a cluster run (null: none now) and what it says of it. */
  setJob(runId: number, jobId: string | null, state: string | null): void {
    this.db.prepare(`UPDATE run SET job_id = ?, executor_state = ? WHERE id = ?`).run(jobId, state, runId);
  }

  /** A cluster run whose attempt ended (interrupted) or died (running) and whose job Slurm has
   * requeued: queued again, the next attempt resumes from its checkpoint. */
  requeued(runId: number): boolean {
    return this.db.prepare(`UPDATE run SET status = 'queued', ended_at = NULL, pid = NULL WHERE id = ? AND status IN ('interrupted', 'running')`).run(runId).changes > 0;
  }

  /** A run its trainer recorded interrupted that was in fact cancelled (the cancel came first). */
  cancelledAfterAll(runId: number): void {
    this.db.prepare(`UPDATE run SET status = 'cancelled', error = NULL WHERE id = ? AND status = 'interrupted'`).run(runId);
  }

  /** Whether any of a run's journal has been ingested. */
  journalIngested(runId: number): boolean {
    return this.db.prepare(`SELECT 1 FROM journal_offset WHERE run_id = ? AND bytes > 0`).get(runId) !== undefined;
  }

  /** Why a stopped run stopped, told later (a scheduler saying its job reached its time limit). */
  setError(runId: number, error: string): void {
    this.db.prepare(`UPDATE run SET error = ? WHERE id = ? AND status IN ('interrupted', 'failed', 'cancelled')`).run(error, runId);
  }

  /** When a run last gave a sign of life (an external client's call, a cluster task's heartbeat). */
  heartbeatAt(runId: number): number | null {
    return (this.db.prepare(`SELECT heartbeat_at FROM run WHERE id = ?`).pluck().get(runId) as number | null | undefined) ?? null;
  }

  /** What the scheduler says of a cluster run's job now; true when it changed. */
  setExecutorState(runId: number, state: string | null): boolean {
    return this.db.prepare(`UPDATE run SET executor_state = ? WHERE id = ? AND executor_state IS NOT ?`).run(state, runId, state).changes > 0;
  }

  /** The value a client set for a key (ingest:summary: an external run's result), or null. */
  summaryValue(runId: number, key: string): number | null {
    return (this.stmts.summaryValue.get(runId, key) as number | undefined) ?? null;
  }

  /** Sum of a key's values (e.g. time/epoch_s: the training time), null without points. */
  sumOf(runId: number, key: string): number | null {
    return (this.stmts.sumOf.get(runId, key) as number | null | undefined) ?? null;
  }

  /** Every metric row of one run as [key, step, epoch, value, wall_time], streamed in (key, step)
   * order, a page of 5,000 rows at a time: an export of a million rows never holds more, and
   * reading pages is faster than stepping row by row (raw arrays, not objects, for the same reason). */
  *iterateHistory(runId: number): Generator<[string, number, number, number, number]> {
    for (const key of this.stmts.keysOf.all({ run: runId }) as string[]) {
      let step = -Infinity;
      for (;;) {
        // without the key column: one string fewer to build per row
        const rows = this.stmts.historyPage.all(runId, key, step) as [number, number, number, number][];
        for (const r of rows) yield [key, r[0], r[1], r[2], r[3]];
        if (rows.length < HISTORY_PAGE) break;
        step = rows[rows.length - 1]![0];
      }
    }
  }

  deleteRun(id: number): boolean {
    return this.stmts.deleteRun.run(id).changes === 1;
  }
}
