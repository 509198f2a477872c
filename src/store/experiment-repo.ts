// Experiments and their arms in the store (migration 3). Runs point at their experiment and arm;
// the run row's seed is the pairing key. The analysis plan, the seed log and the sequential
// runner's state live in the spec column's JSON (rows written before them lack them: spec()
// fills them in).
import { LOCAL_EXECUTOR, type ExecutorConfig } from '../shared/executor';
import type { AnalysisPlan, ArmInfo, ArmRole, ExperimentInfo, ExperimentPlan, SeedLogEntry, SelectionRule } from '../shared/experiments';
import { initialSeeds } from '../shared/seed-plan';
import type { DB } from './db';

interface ExperimentRow {
  id: number;
  name: string;
  source: 'trickbench' | 'external';
  spec: string;
  seeds: string;
  created_at: number;
}
interface ArmRow {
  id: number;
  experiment_id: number;
  name: string;
  role: ArmRole;
  position: number;
  sets: string;
}

/** What the experiment row's spec column holds. */
export interface StoredSpec {
  description: string | null;
  question: string | null;
  presetId: string | null;
  baseline: Record<string, unknown>;
  pretrain: { name: string; set: Record<string, unknown> } | null;
  metric: string;
  rule: SelectionRule;
  /** The file's `analysis`; null when it declared none. */
  analysis: AnalysisPlan | null;
  /** Every addition of seeds, the initial ones first. */
  seedLog: SeedLogEntry[];
  /** The file's seeds in order: what a sequential experiment draws its next seeds from (it
   * starts with only the first ones). Old rows: the experiment's seeds. */
  seedPool: number[];
  /** Why the sequential runner stopped; null while it runs (or when not sequential). */
  sequentialStop: { at: number; reason: string } | null;
  /** The plan was set or changed after creation (runUntilDecided): when, and whether results
   * could have been seen by then — it is then not a plan declared before the experiment. Null
   * when `analysis` is the file's. */
  analysisSetLater: { at: number; afterResults: boolean } | null;
  /** Where its runs train; absent in rows from before executors: local. */
  executor?: ExecutorConfig;
  /** External experiments: the name of the baseline arm (set by the first run that names one, else
   * the first arm logged), which becomes the baseline when it appears. */
  baselineArm?: string;
}

export class ExperimentRepo {
  private readonly s;
  constructor(private readonly db: DB) {
    this.s = {
      insert: db.prepare(`INSERT INTO experiment (name, spec, seeds, created_at) VALUES (?, ?, ?, ?)`),
      insertArm: db.prepare(`INSERT INTO arm (experiment_id, name, role, position, sets) VALUES (?, ?, ?, ?, ?)`),
      get: db.prepare(`SELECT * FROM experiment WHERE id = ?`),
      list: db.prepare(`SELECT * FROM experiment ORDER BY id`),
      arms: db.prepare(`SELECT * FROM arm WHERE experiment_id = ? ORDER BY position`),
      runs: db.prepare(`SELECT id, arm_id, seed FROM run WHERE experiment_id = ? AND arm_id IS NOT NULL ORDER BY id`),
      setSeeds: db.prepare(`UPDATE experiment SET seeds = ? WHERE id = ?`),
      setSpec: db.prepare(`UPDATE experiment SET spec = ? WHERE id = ?`),
      // Results could have been seen: a compared (non-pretraining) run of the experiment completed.
      anyResult: db
        .prepare(
          `SELECT 1 FROM run JOIN arm ON arm.id = run.arm_id
           WHERE run.experiment_id = ? AND run.status = 'completed' AND arm.role != 'pretrain' LIMIT 1`,
        )
        .pluck(),
      link: db.prepare(`UPDATE run SET experiment_id = ?, arm_id = ? WHERE id = ?`),
      delete: db.prepare(`DELETE FROM experiment WHERE id = ?`),
      runOf: db.prepare(`SELECT experiment_id, arm_id FROM run WHERE id = ?`),
      insertExternal: db.prepare(`INSERT INTO experiment (name, spec, seeds, created_at, source) VALUES (?, ?, '[]', ?, 'external')`),
      byName: db.prepare(`SELECT * FROM experiment WHERE name = ? ORDER BY source = 'external' DESC, id LIMIT 1`),
      armByName: db.prepare(`SELECT * FROM arm WHERE experiment_id = ? AND name = ?`),
      setRole: db.prepare(`UPDATE arm SET role = ? WHERE id = ?`),
      namesOf: db.prepare(`SELECT experiment.name AS experiment, arm.name AS arm FROM run JOIN experiment ON experiment.id = run.experiment_id JOIN arm ON arm.id = run.arm_id WHERE run.id = ?`),
    };
  }

  /** A new experiment with its arms (pre-training first, then the baseline, then the arms). Its
   * seeds: the file's, or for a sequential plan only the first ones (seed-plan.ts initialSeeds);
   * logged as the `create` entry of the seed log. */
  create(plan: ExperimentPlan, presetId: string | null = null): ExperimentInfo {
    const f = plan.file;
    const seeds = initialSeeds(f);
    const now = Date.now();
    const spec: StoredSpec = {
      description: f.description ?? null,
      question: f.question ?? null,
      presetId,
      baseline: f.baseline,
      pretrain: f.pretrain ?? null,
      metric: f.metric,
      rule: f.rule,
      analysis: f.analysis ?? null,
      seedLog: [{ at: now, seeds, by: 'create', afterResults: false }],
      seedPool: [...f.seeds],
      sequentialStop: null,
      analysisSetLater: null,
      executor: f.executor,
    };
    const id = this.db.transaction(() => {
      const eid = Number(this.s.insert.run(f.name, JSON.stringify(spec), JSON.stringify(seeds), now).lastInsertRowid);
      const all = [...(plan.pretrain ? [plan.pretrain] : []), ...plan.arms];
      all.forEach((a, i) => this.s.insertArm.run(eid, a.name, a.role, i, JSON.stringify(a.set)));
      return eid;
    })();
    return this.get(id)!;
  }

  /** The external experiment of this name, made now when there is none (with its baseline arm's
   * name and compared metric). An experiment of ours with the name is refused: its arms are
   * configs, an external run cannot be one of them. */
  externalByName(name: string, o: { baselineArm?: string; metric?: string }): { experiment: ExperimentInfo; created: boolean; baselineArm: string | null } {
    const r = this.s.byName.get(name) as ExperimentRow | undefined;
    if (r && r.source !== 'external') {
      throw new Error(`experiment '${name}' (#${r.id}) was made from an experiment file here: log external runs into an experiment of another name`);
    }
    if (r) return { experiment: this.toInfo(r), created: false, baselineArm: this.toSpec(r).baselineArm ?? null };
    const now = Date.now();
    const spec: StoredSpec = {
      description: null,
      question: null,
      presetId: null,
      baseline: {},
      pretrain: null,
      metric: o.metric ?? 'val/acc',
      rule: 'best-val',
      analysis: null,
      seedLog: [],
      seedPool: [],
      sequentialStop: null,
      analysisSetLater: null,
      ...(o.baselineArm ? { baselineArm: o.baselineArm } : {}),
    };
    const id = Number(this.s.insertExternal.run(name, JSON.stringify(spec), now).lastInsertRowid);
    return { experiment: this.get(id)!, created: true, baselineArm: o.baselineArm ?? null };
  }

  /** Record the external experiment's baseline arm's name (the first run that names one). */
  setBaselineArm(experimentId: number, name: string): void {
    this.updateSpec(experimentId, (spec) => {
      spec.baselineArm = name;
    });
    const arm = this.s.armByName.get(experimentId, name) as ArmRow | undefined;
    if (arm) this.s.setRole.run('baseline', arm.id);
  }

  /** An external experiment's arm by name, made now (the baseline when it is the baseline arm's
   * name) when it does not exist yet. `set`: the arm's params, shown as what it sets. */
  externalArm(experimentId: number, name: string, baselineArm: string, set: Record<string, unknown>): ArmInfo {
    const a = this.s.armByName.get(experimentId, name) as ArmRow | undefined;
    if (a) return { id: a.id, name: a.name, role: a.role, position: a.position, set: JSON.parse(a.sets) as Record<string, unknown> };
    const arms = this.arms(experimentId);
    const position = Math.max(-1, ...arms.map((x) => x.position)) + 1;
    const role: ArmRole = name === baselineArm ? 'baseline' : 'arm';
    const id = Number(this.s.insertArm.run(experimentId, name, role, position, JSON.stringify(set)).lastInsertRowid);
    return { id, name, role, position, set };
  }

  /** A seed an external run brought: appended to the experiment's seeds when new. */
  addSeed(experimentId: number, seed: number): void {
    const r = this.s.get.get(experimentId) as ExperimentRow | undefined;
    if (!r) return;
    const seeds = JSON.parse(r.seeds) as number[];
    if (!seeds.includes(seed)) this.s.setSeeds.run(JSON.stringify([...seeds, seed]), experimentId);
  }

  addArm(experimentId: number, name: string, set: Record<string, unknown>): ArmInfo {
    const arms = this.arms(experimentId);
    const position = Math.max(-1, ...arms.map((a) => a.position)) + 1;
    const id = Number(this.s.insertArm.run(experimentId, name, 'arm', position, JSON.stringify(set)).lastInsertRowid);
    return { id, name, role: 'arm', position, set };
  }

  /** The experiment's seeds become `seeds`; those it did not have are logged as added `by` (with
   * whether results could have been seen by then). */
  setSeeds(experimentId: number, seeds: readonly number[], by: 'user' | 'sequential' = 'user'): void {
    this.db.transaction(() => {
      const r = this.s.get.get(experimentId) as ExperimentRow | undefined;
      if (!r) return;
      const old = JSON.parse(r.seeds) as number[];
      const fresh = seeds.filter((s) => !old.includes(s));
      this.s.setSeeds.run(JSON.stringify(seeds), experimentId);
      if (!fresh.length) return;
      const spec = this.toSpec(r);
      spec.seedLog.push({ at: Date.now(), seeds: fresh, by, afterResults: this.s.anyResult.get(experimentId) !== undefined });
      this.s.setSpec.run(JSON.stringify(spec), experimentId);
    })();
  }

  /** Record a plan set after creation (runUntilDecided turns a plan sequential after the fact),
   * with when and whether results could have been seen (analysisSetLater). */
  setAnalysis(experimentId: number, analysis: AnalysisPlan | null): void {
    this.updateSpec(experimentId, (spec) => {
      spec.analysis = analysis;
      spec.analysisSetLater = { at: Date.now(), afterResults: this.s.anyResult.get(experimentId) !== undefined };
    });
  }

  /** The sequential runner stopped (with why), or runs again (null). */
  setSequentialStop(experimentId: number, stop: { at: number; reason: string } | null): void {
    this.updateSpec(experimentId, (spec) => {
      spec.sequentialStop = stop;
    });
  }

  private updateSpec(experimentId: number, fn: (spec: StoredSpec) => void): void {
    this.db.transaction(() => {
      const r = this.s.get.get(experimentId) as ExperimentRow | undefined;
      if (!r) return;
      const spec = this.toSpec(r);
      fn(spec);
      this.s.setSpec.run(JSON.stringify(spec), experimentId);
    })();
  }

  /** Mark a run as the (arm, seed) run of an experiment (its seed is the run row's seed). */
  link(runId: number, experimentId: number, armId: number): void {
    this.s.link.run(experimentId, armId, runId);
  }

  runOf(runId: number): { experimentId: number; armId: number } | null {
    const r = this.s.runOf.get(runId) as { experiment_id: number | null; arm_id: number | null } | undefined;
    return r?.experiment_id && r.arm_id ? { experimentId: r.experiment_id, armId: r.arm_id } : null;
  }

  /** The names of a run's experiment and arm, or null for a run of no experiment. */
  namesOf(runId: number): { experimentName: string; armName: string } | null {
    const r = this.s.namesOf.get(runId) as { experiment: string; arm: string } | undefined;
    return r ? { experimentName: r.experiment, armName: r.arm } : null;
  }

  arms(experimentId: number): ArmInfo[] {
    return (this.s.arms.all(experimentId) as ArmRow[]).map((a) => ({ id: a.id, name: a.name, role: a.role, position: a.position, set: JSON.parse(a.sets) as Record<string, unknown> }));
  }

  get(id: number): ExperimentInfo | null {
    const r = this.s.get.get(id) as ExperimentRow | undefined;
    return r ? this.toInfo(r) : null;
  }

  list(): ExperimentInfo[] {
    return (this.s.list.all() as ExperimentRow[]).map((r) => this.toInfo(r));
  }

  /** Deletes the experiment and its arms; its runs stay, unlinked (ON DELETE SET NULL). */
  delete(id: number): boolean {
    return this.s.delete.run(id).changes === 1;
  }

  spec(id: number): StoredSpec | null {
    const r = this.s.get.get(id) as ExperimentRow | undefined;
    return r ? this.toSpec(r) : null;
  }

  /** The row's spec, with the fields older rows lack filled in (no plan, no log, the pool is the
   * experiment's seeds, not stopped). */
  private toSpec(r: ExperimentRow): StoredSpec {
    const raw = JSON.parse(r.spec) as Partial<StoredSpec> & Omit<StoredSpec, 'analysis' | 'seedLog' | 'seedPool' | 'sequentialStop' | 'analysisSetLater'>;
    return {
      ...raw,
      analysis: raw.analysis ?? null,
      seedLog: raw.seedLog ?? [],
      seedPool: raw.seedPool ?? (JSON.parse(r.seeds) as number[]),
      sequentialStop: raw.sequentialStop ?? null,
      analysisSetLater: raw.analysisSetLater ?? null,
    };
  }

  private toInfo(r: ExperimentRow): ExperimentInfo {
    const spec = this.toSpec(r);
    return {
      id: r.id,
      name: r.name,
      source: r.source ?? 'trickbench',
      executor: spec.executor ?? LOCAL_EXECUTOR,
      description: spec.description,
      question: spec.question,
      presetId: spec.presetId,
      baseline: spec.baseline,
      seeds: JSON.parse(r.seeds) as number[],
      arms: this.arms(r.id),
      metric: spec.metric,
      rule: spec.rule,
      createdAt: r.created_at,
      runs: (this.s.runs.all(r.id) as { id: number; arm_id: number; seed: number }[]).map((x) => ({ runId: x.id, armId: x.arm_id, seed: x.seed })),
      analysis: spec.analysis,
      seedLog: spec.seedLog,
      sequentialStop: spec.sequentialStop,
      analysisSetLater: spec.analysisSetLater,
    };
  }
}
