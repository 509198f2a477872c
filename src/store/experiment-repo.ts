// Experiments and their arms in the store (migration 3). Runs point at their experiment and arm;
// the run row's seed is the pairing key.
import type { ArmInfo, ArmRole, ExperimentInfo, ExperimentPlan, SelectionRule } from '../shared/experiments';
import type { DB } from './db';

interface ExperimentRow {
  id: number;
  name: string;
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
      link: db.prepare(`UPDATE run SET experiment_id = ?, arm_id = ? WHERE id = ?`),
      delete: db.prepare(`DELETE FROM experiment WHERE id = ?`),
      runOf: db.prepare(`SELECT experiment_id, arm_id FROM run WHERE id = ?`),
    };
  }

  /** A new experiment with its arms (pre-training first, then the baseline, then the arms). */
  create(plan: ExperimentPlan, presetId: string | null = null): ExperimentInfo {
    const f = plan.file;
    const spec: StoredSpec = {
      description: f.description ?? null,
      question: f.question ?? null,
      presetId,
      baseline: f.baseline,
      pretrain: f.pretrain ?? null,
      metric: f.metric,
      rule: f.rule,
    };
    const id = this.db.transaction(() => {
      const eid = Number(this.s.insert.run(f.name, JSON.stringify(spec), JSON.stringify(f.seeds), Date.now()).lastInsertRowid);
      const all = [...(plan.pretrain ? [plan.pretrain] : []), ...plan.arms];
      all.forEach((a, i) => this.s.insertArm.run(eid, a.name, a.role, i, JSON.stringify(a.set)));
      return eid;
    })();
    return this.get(id)!;
  }

  addArm(experimentId: number, name: string, set: Record<string, unknown>): ArmInfo {
    const arms = this.arms(experimentId);
    const position = Math.max(-1, ...arms.map((a) => a.position)) + 1;
    const id = Number(this.s.insertArm.run(experimentId, name, 'arm', position, JSON.stringify(set)).lastInsertRowid);
    return { id, name, role: 'arm', position, set };
  }

  setSeeds(experimentId: number, seeds: readonly number[]): void {
    this.s.setSeeds.run(JSON.stringify(seeds), experimentId);
  }

  /** Mark a run as the (arm, seed) run of an experiment (its seed is the run row's seed). */
  link(runId: number, experimentId: number, armId: number): void {
    this.s.link.run(experimentId, armId, runId);
  }

  runOf(runId: number): { experimentId: number; armId: number } | null {
    const r = this.s.runOf.get(runId) as { experiment_id: number | null; arm_id: number | null } | undefined;
    return r?.experiment_id && r.arm_id ? { experimentId: r.experiment_id, armId: r.arm_id } : null;
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
    return r ? (JSON.parse(r.spec) as StoredSpec) : null;
  }

  private toInfo(r: ExperimentRow): ExperimentInfo {
    const spec = JSON.parse(r.spec) as StoredSpec;
    return {
      id: r.id,
      name: r.name,
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
    };
  }
}
