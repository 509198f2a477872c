// Small repositories over the store, used by the host (main process, serve, export CLI) and by
// trainers, each in its own process with its own connection.
import os from 'node:os';
import type { AlignedHistory, MetricPoint, RunEvent, RunStatus, RunSummary } from '../shared/api';
import { FINAL_STATUSES } from '../shared/api';
import type { RunConfig } from '../shared/config';
import { openDatabase, type DB, type OpenOptions } from './db';
import { EvaluationRepo } from './evaluation-repo';
import { ExperimentRepo } from './experiment-repo';

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
}

export interface RunRecord extends Omit<RunSummary, 'final' | 'best' | 'progress' | 'checkpoints'> {
  pid: number | null;
  host: string | null;
  /** Queued to continue from its last checkpoint (the trainer gets --resume). */
  resume: boolean;
}

export interface HistoryRow {
  run_id: number;
  key: string;
  step: number;
  epoch: number;
  value: number;
  wall_time: number;
}

/** Per-step epochs are fractions (e + (i+1)/n): rounded so that runs with the same batch count meet. */
function roundEpoch(e: number): number {
  return Math.round(e * 1e6) / 1e6;
}

/** Keys for which a lower value is better (best = min); every other metric's best is its max. */
export function lowerIsBetter(key: string): boolean {
  return /loss|time|_s$|error/.test(key);
}

function toRecord(r: RunRow): RunRecord {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    config: JSON.parse(r.config) as RunConfig,
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
  };
}

export class Store {
  readonly db: DB;
  readonly evaluations: EvaluationRepo;
  readonly experiments: ExperimentRepo;
  private readonly stmts;

  constructor(
    readonly dataDir: string,
    opts: OpenOptions = {},
  ) {
    this.db = openDatabase(dataDir, opts);
    const db = this.db;
    this.evaluations = new EvaluationRepo(db);
    this.experiments = new ExperimentRepo(db);
    this.stmts = {
      insertRun: db.prepare(
        `INSERT INTO run (name, status, config, seed, created_at, started_at, pid, host)
         VALUES (@name, @status, @config, @seed, @now, @startedAt, @pid, @host)`,
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
      lastPerKey: db.prepare(
        // The last point of every key; per-step keys (suffix _step) are not summaries.
        `SELECT m.key, m.value FROM metric m
         JOIN (SELECT key, MAX(step) AS step FROM metric WHERE run_id = ? GROUP BY key) l
           ON m.key = l.key AND m.step = l.step
         WHERE m.run_id = ? AND m.key NOT LIKE '%\\_step' ESCAPE '\\'`,
      ),
      minMaxPerKey: db.prepare(
        `SELECT key, MIN(value) AS lo, MAX(value) AS hi FROM metric
         WHERE run_id = ? AND key NOT LIKE '%\\_step' ESCAPE '\\' GROUP BY key`,
      ),
      history: db.prepare(
        `SELECT key, step, epoch, value, wall_time FROM metric WHERE run_id = ? ORDER BY key, step`,
      ),
      deleteRun: db.prepare(`DELETE FROM run WHERE id = ?`),
      keyHistory: db.prepare(`SELECT step, epoch, value, wall_time FROM metric WHERE run_id = ? AND key = ? ORDER BY step`).raw(),
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

  /** Final (last) and best value of each summary metric of a run. */
  summaries(runId: number): { final: Record<string, number>; best: Record<string, number> } {
    const final: Record<string, number> = {};
    const best: Record<string, number> = {};
    for (const r of this.stmts.lastPerKey.all(runId, runId) as { key: string; value: number }[]) final[r.key] = r.value;
    for (const r of this.stmts.minMaxPerKey.all(runId) as { key: string; lo: number; hi: number }[]) {
      best[r.key] = lowerIsBetter(r.key) ? r.lo : r.hi;
    }
    return { final, best };
  }

  history(runId: number, keys?: readonly string[]): Record<string, MetricPoint[]> {
    const out: Record<string, MetricPoint[]> = {};
    const want = keys && keys.length ? new Set(keys) : null;
    for (const r of this.stmts.history.iterate(runId) as IterableIterator<Omit<HistoryRow, 'run_id'>>) {
      if (want && !want.has(r.key)) continue;
      (out[r.key] ??= []).push({ key: r.key, step: r.step, epoch: r.epoch, value: r.value, time: r.wall_time });
    }
    return out;
  }

  /** One metric of several runs on a common x grid: the union of the runs' epoch values (per-epoch
   * metrics sit on whole epochs, per-step ones on e + (i+1)/n), so run j's value at grid index k is
   * values[j][k] (null where that run has no point: not trained that far, or another batch count).
   * `elapsed` is seconds since the run started. Charts and the comparison statistics read this;
   * nothing is downsampled here. */
  alignedHistory(runIds: readonly number[], key: string): AlignedHistory {
    const stmt = this.stmts.keyHistory;
    const perRun = runIds.map((id) => stmt.all(id, key) as [number, number, number, number][]);
    const grid = new Map<number, number>(); // epoch (rounded) -> step of the first run that has it
    for (const rows of perRun) for (const [step, epoch] of rows) if (!grid.has(roundEpoch(epoch))) grid.set(roundEpoch(epoch), step);
    const epochs = [...grid.keys()].sort((a, b) => a - b);
    const index = new Map(epochs.map((e, i) => [e, i]));
    const values: (number | null)[][] = [];
    const elapsed: (number | null)[][] = [];
    perRun.forEach((rows, j) => {
      const v = new Array<number | null>(epochs.length).fill(null);
      const t = new Array<number | null>(epochs.length).fill(null);
      const start = this.getRun(runIds[j]!)?.startedAt ?? rows[0]?.[3] ?? 0;
      for (const [, epoch, value, wall] of rows) {
        const k = index.get(roundEpoch(epoch))!;
        v[k] = value;
        t[k] = (wall - start) / 1000;
      }
      values.push(v);
      elapsed.push(t);
    });
    return { key, runIds: [...runIds], epoch: epochs, step: epochs.map((e) => grid.get(e)!), values, elapsed };
  }

  /** Every metric row of the given runs (all runs when empty), streamed in (run, key, step) order. */
  *iterateHistories(runIds: readonly number[]): Generator<HistoryRow> {
    const ids = runIds.length ? runIds : this.listRuns().map((r) => r.id);
    const stmt = this.db.prepare(`SELECT run_id, key, step, epoch, value, wall_time FROM metric WHERE run_id = ? ORDER BY key, step`);
    for (const id of ids) yield* stmt.iterate(id) as IterableIterator<HistoryRow>;
  }

  deleteRun(id: number): boolean {
    return this.stmts.deleteRun.run(id).changes === 1;
  }
}
