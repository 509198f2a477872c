// Runs from outside our trainer (migration 5): a script logging through the ingest channels, an
// importer, a cluster job. They land as the same rows as ours — metrics idempotent on (run, key,
// step), events, status — with source 'external', a JSON-null config and the client's params.
// Every write is one transaction that checks first: a malformed batch, a run that is not an
// external one, a run that has finished, change nothing.
import os from 'node:os';
import { ApiFailure, type MetricPoint, type RunEvent, type RunStatus } from '../shared/api';
import {
  createSchema,
  DEFAULT_HEARTBEAT_TIMEOUT_S,
  eventSchema,
  pointSchema,
  summarySchema,
  type ExternalRunSpec,
  type FinalStatus,
  type IngestCreated,
  type IngestEvent,
  type IngestPoint,
} from '../shared/ingest';
import type { DB } from './db';
import type { ExperimentRepo } from './experiment-repo';
import { z } from 'zod';

interface ExternalRow {
  id: number;
  status: RunStatus;
  source: 'trickbench' | 'external';
  seed: number;
  experiment_id: number | null;
  arm_id: number | null;
  heartbeat_timeout_s: number | null;
}

/** What an importer brings for one run: everything at once, in one transaction. */
export interface ImportedRunInput {
  spec: ExternalRunSpec & { clientKey: string };
  metrics: readonly IngestPoint[];
  events?: readonly IngestEvent[];
  summary?: Record<string, number>;
  status: FinalStatus;
  error?: string | null;
}

export interface ImportResult extends IngestCreated {
  /** Metric rows that were not in the store before (a re-import of grown files adds only those). */
  pointsAdded: number;
  eventsAdded: number;
}

const fail = (code: 'bad_request' | 'not_found' | 'conflict', message: string, field?: string): never => {
  throw new ApiFailure({ code, message, ...(field ? { field } : {}) });
};

/** A schema's verdict on importer rows, as the HTTP channel would word it. */
function check<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  return fail('bad_request', `${what}${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`, what);
}

export class ExternalRepo {
  private readonly s;

  constructor(
    private readonly db: DB,
    private readonly experiments: ExperimentRepo,
  ) {
    this.s = {
      byKey: db.prepare(`SELECT id, status, source, seed, experiment_id, arm_id, heartbeat_timeout_s FROM run WHERE client_key = ?`),
      get: db.prepare(`SELECT id, status, source, seed, experiment_id, arm_id, heartbeat_timeout_s FROM run WHERE id = ?`),
      insert: db.prepare(
        `INSERT INTO run (name, status, config, seed, created_at, started_at, host, source, params, client_key, heartbeat_at, heartbeat_timeout_s, experiment_id, arm_id)
         VALUES (@name, 'running', 'null', @seed, @now, @now, @host, 'external', @params, @clientKey, @now, @timeout, @experimentId, @armId)`,
      ),
      upsertMetric: db.prepare(
        `INSERT INTO metric (run_id, key, step, epoch, value, wall_time) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_id, key, step) DO UPDATE SET epoch = excluded.epoch, value = excluded.value, wall_time = excluded.wall_time`,
      ),
      hasMetric: db.prepare(`SELECT 1 FROM metric WHERE run_id = ? AND key = ? AND step = ?`).pluck(),
      sameEvent: db.prepare(`SELECT 1 FROM event WHERE run_id = ? AND step = ? AND kind = ? AND payload = ?`).pluck(),
      insertEvent: db.prepare(`INSERT INTO event (run_id, epoch, step, kind, payload, wall_time) VALUES (?, ?, ?, ?, ?, ?)`),
      upsertSummary: db.prepare(`INSERT INTO run_summary (run_id, key, value) VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value`),
      heartbeat: db.prepare(`UPDATE run SET heartbeat_at = ? WHERE id = ?`),
      finish: db.prepare(`UPDATE run SET status = @status, error = @error, ended_at = @now, heartbeat_at = NULL WHERE id = @id AND status = 'running'`),
      span: db.prepare(`SELECT MIN(wall_time) AS lo, MAX(wall_time) AS hi FROM metric WHERE run_id = ?`),
      setSpan: db.prepare(`UPDATE run SET started_at = @lo, ended_at = CASE WHEN ended_at IS NULL THEN NULL ELSE @hi END WHERE id = @id`),
      stale: db.prepare(
        `SELECT id, heartbeat_timeout_s AS timeout FROM run
         WHERE source = 'external' AND status = 'running' AND heartbeat_at IS NOT NULL
           AND heartbeat_at + 1000 * COALESCE(heartbeat_timeout_s, ${DEFAULT_HEARTBEAT_TIMEOUT_S}) < ?`,
      ),
      grace: db.prepare(`UPDATE run SET heartbeat_at = ? WHERE source = 'external' AND status = 'running'`),
      reap: db.prepare(`UPDATE run SET status = 'failed', error = ?, ended_at = ?, heartbeat_at = NULL WHERE id = ? AND status = 'running'`),
    };
  }

  /** A new running external run, or the run this clientKey made before (a retry). In an
   * experiment's arm when `experiment` is given (then `arm` is required); both are made on first use. */
  create(input: ExternalRunSpec): IngestCreated {
    const spec = check(createSchema, input, 'ingest:create');
    return this.db.transaction(() => this.createIn(spec, Date.now()))();
  }

  private createIn(spec: ExternalRunSpec, now: number): IngestCreated {
    if (spec.clientKey !== undefined) {
      const old = this.s.byKey.get(spec.clientKey) as ExternalRow | undefined;
      if (old) {
        if (old.seed !== spec.seed) fail('conflict', `clientKey ${JSON.stringify(spec.clientKey)} already made run ${old.id} with seed ${old.seed}, not ${spec.seed}`, 'clientKey');
        return { runId: old.id, experimentId: old.experiment_id, armId: old.arm_id, created: false };
      }
    }
    let experimentId: number | null = null;
    let armId: number | null = null;
    if (spec.experiment !== undefined) {
      if (spec.arm === undefined) fail('bad_request', `ingest:create: arm: a run in experiment '${spec.experiment}' needs the name of its arm`, 'arm');
      const arm = spec.arm!;
      let got;
      try {
        got = this.experiments.externalByName(spec.experiment, { baselineArm: spec.baseline ?? arm, metric: spec.metric });
      } catch (e) {
        return fail('conflict', (e as Error).message, 'experiment');
      }
      const { experiment } = got;
      let baselineArm = got.baselineArm;
      if (spec.baseline !== undefined && baselineArm !== null && baselineArm !== spec.baseline) {
        fail('conflict', `experiment '${experiment.name}' has baseline arm '${baselineArm}', not '${spec.baseline}'`, 'baseline');
      }
      if (baselineArm === null) {
        // an experiment made before baselines were recorded, or without one: the first named, else this arm
        baselineArm = spec.baseline ?? arm;
        this.experiments.setBaselineArm(experiment.id, baselineArm);
      }
      if (spec.metric !== undefined && spec.metric !== experiment.metric && !got.created) {
        fail('conflict', `experiment '${experiment.name}' compares ${experiment.metric}, not ${spec.metric}`, 'metric');
      }
      armId = this.experiments.externalArm(experiment.id, arm, baselineArm, {}).id;
      experimentId = experiment.id;
      this.experiments.addSeed(experiment.id, spec.seed);
    } else if (spec.arm !== undefined || spec.baseline !== undefined) {
      fail('bad_request', `ingest:create: ${spec.arm !== undefined ? 'arm' : 'baseline'}: an arm belongs to an experiment: give experiment too`, spec.arm !== undefined ? 'arm' : 'baseline');
    }
    const name = spec.name ?? (spec.experiment !== undefined ? `${spec.arm} seed ${spec.seed}` : `external seed ${spec.seed}`);
    const info = this.s.insert.run({
      name,
      seed: spec.seed,
      now,
      host: os.hostname(),
      params: JSON.stringify(spec.params ?? {}),
      clientKey: spec.clientKey ?? null,
      timeout: spec.heartbeatTimeoutS ?? DEFAULT_HEARTBEAT_TIMEOUT_S,
      experimentId,
      armId,
    });
    return { runId: Number(info.lastInsertRowid), experimentId, armId, created: true };
  }

  /** The run, which must be an external one still running (else why not, in words). */
  private running(runId: number, what: string): ExternalRow {
    const r = this.s.get.get(runId) as ExternalRow | undefined;
    if (!r) return fail('not_found', `run ${runId} does not exist`, 'runId');
    if (r.source !== 'external') fail('conflict', `run ${runId} is trained by Trickbench: its trainer writes its ${what}, a client cannot`, 'runId');
    if (r.status !== 'running') fail('conflict', `run ${runId} is ${r.status}: it takes no more ${what}`, 'runId');
    return r;
  }

  /** Upsert points on (run, key, step); epoch defaults to the step (a script that counts only
   * steps has its points on the step axis), time to now. Returns the points as stored. */
  logMetrics(runId: number, points: readonly IngestPoint[]): MetricPoint[] {
    const now = Date.now();
    return this.db.transaction(() => {
      this.running(runId, 'metrics');
      const stored = points.map((p) => ({ key: p.key, step: p.step, epoch: p.epoch ?? p.step, value: p.value, time: p.time ?? now }));
      this.writeMetrics(runId, stored);
      this.s.heartbeat.run(now, runId);
      return stored;
    })();
  }

  /** Rows not in the store before. */
  private writeMetrics(runId: number, points: readonly MetricPoint[]): number {
    let added = 0;
    for (const p of points) {
      if (this.s.hasMetric.get(runId, p.key, p.step) === undefined) added++;
      this.s.upsertMetric.run(runId, p.key, p.step, p.epoch, p.value, p.time);
    }
    return added;
  }

  /** Events; one equal to a stored one (same step, kind and payload: a retried batch) is skipped.
   * Returns those stored now. */
  logEvents(runId: number, events: readonly IngestEvent[]): RunEvent[] {
    const now = Date.now();
    return this.db.transaction(() => {
      this.running(runId, 'events');
      const stored = this.writeEvents(runId, events, now);
      this.s.heartbeat.run(now, runId);
      return stored;
    })();
  }

  private writeEvents(runId: number, events: readonly IngestEvent[], now: number): RunEvent[] {
    const out: RunEvent[] = [];
    for (const e of events) {
      const payload = e.payload ?? {};
      const json = JSON.stringify(payload);
      if (this.s.sameEvent.get(runId, e.step, e.kind, json) !== undefined) continue;
      const ev = { kind: e.kind, epoch: e.epoch ?? e.step, step: e.step, payload, time: e.time ?? now };
      this.s.insertEvent.run(runId, ev.epoch, ev.step, ev.kind, json, ev.time);
      out.push(ev as RunEvent);
    }
    return out;
  }

  setSummary(runId: number, values: Record<string, number>): number {
    const now = Date.now();
    return this.db.transaction(() => {
      this.running(runId, 'summary values');
      for (const [k, v] of Object.entries(values)) this.s.upsertSummary.run(runId, k, v);
      this.s.heartbeat.run(now, runId);
      return Object.keys(values).length;
    })();
  }

  /** The run ends with a final status. Finishing again with the same status is a no-op (a retry
   * after a lost answer); with another, a conflict. */
  finish(runId: number, status: FinalStatus, error: string | null = null): void {
    this.db.transaction(() => {
      const r = this.s.get.get(runId) as ExternalRow | undefined;
      if (!r) return fail('not_found', `run ${runId} does not exist`, 'runId');
      if (r.source !== 'external') fail('conflict', `run ${runId} is trained by Trickbench: cancel it instead`, 'runId');
      if (r.status === status) return;
      if (r.status !== 'running') fail('conflict', `run ${runId} is already ${r.status}`, 'runId');
      this.s.finish.run({ id: runId, status, error, now: Date.now() });
    })();
  }

  heartbeat(runId: number): RunStatus {
    return this.db.transaction(() => {
      const r = this.running(runId, 'heartbeats');
      this.s.heartbeat.run(Date.now(), runId);
      return r.status;
    })();
  }

  /** Every running external run's silence starts now (a host starting after a downtime). */
  graceAll(now = Date.now()): void {
    this.s.grace.run(now);
  }

  /** External runs whose client has been silent past their timeout become failed; their ids. */
  reapStale(now = Date.now()): number[] {
    return this.db.transaction(() => {
      const rows = this.s.stale.all(now) as { id: number; timeout: number | null }[];
      const out: number[] = [];
      for (const r of rows) {
        const t = r.timeout ?? DEFAULT_HEARTBEAT_TIMEOUT_S;
        const msg = `no heartbeat for ${t} s: the client stopped, was killed or lost its connection to Trickbench`;
        if (this.s.reap.run(msg, now, r.id).changes === 1) out.push(r.id);
      }
      return out;
    })();
  }

  /** One imported run (a TensorBoard folder, a CSV's run), in one transaction: made on the first
   * import of its clientKey, and on a later import only the rows it lacks are added (the files
   * grew) — a run never doubles. Its start and end are its first and last point's times. */
  importRun(input: ImportedRunInput): ImportResult {
    const spec = check(createSchema, input.spec, 'spec');
    const metrics = input.metrics.map((p, i) => check(pointSchema, p, `metrics[${i}]`));
    const events = (input.events ?? []).map((e, i) => check(eventSchema, e, `events[${i}]`));
    const summary = check(summarySchema, input.summary ?? {}, 'summary');
    const now = Date.now();
    return this.db.transaction(() => {
      const made = this.createIn(spec, now);
      const pointsAdded = this.writeMetrics(
        made.runId,
        metrics.map((p) => ({ key: p.key, step: p.step, epoch: p.epoch ?? p.step, value: p.value, time: p.time ?? now })),
      );
      const eventsAdded = this.writeEvents(made.runId, events, now).length;
      for (const [k, v] of Object.entries(summary)) this.s.upsertSummary.run(made.runId, k, v);
      const r = this.s.get.get(made.runId) as ExternalRow;
      if (r.status === 'running') this.s.finish.run({ id: made.runId, status: input.status, error: input.error ?? null, now });
      const span = this.s.span.get(made.runId) as { lo: number | null; hi: number | null };
      if (made.created && span.lo !== null) this.s.setSpan.run({ id: made.runId, lo: span.lo, hi: span.hi });
      return { ...made, pointsAdded, eventsAdded };
    })();
  }
}
