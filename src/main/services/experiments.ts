// Experiments in the app: create one from a file (or a preset), queue its runs interleaved — seed
// 1's arms, then seed 2's, ... — so that an experiment stopped half-way is still balanced; add
// seeds or arms later; summarise it. With a pre-training, each seed's pre-training run is queued
// and that seed's arms are queued when it completes (and not at all, with its status saying why,
// when it does not).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiFailure } from '../../shared/api';
import type { FieldError } from '../../shared/config';
import {
  armRunConfig,
  planExperiment,
  type ArmInfo,
  type ComparisonSummary,
  type ExperimentFile,
  type ExperimentInfo,
  type ExperimentPlan,
} from '../../shared/experiments';
import type { Preset, SummaryQuery } from '../../shared/api';
import { summarize } from './compare';
import type { RunService } from './runs';

function invalid(errors: FieldError[], what = 'experiment'): ApiFailure {
  return new ApiFailure({ code: 'invalid_config', message: `invalid ${what}: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, field: errors[0]?.field, fields: errors });
}

/** resources/presets: TRICKBENCH_PRESETS, else found above this module (source or bundle). */
export function presetsDir(): string {
  if (process.env.TRICKBENCH_PRESETS) return process.env.TRICKBENCH_PRESETS;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'resources', 'presets');
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('resources/presets not found (set TRICKBENCH_PRESETS)');
}

/** Read and validate an experiment file; errors name the file and the field. */
export function readExperimentFile(file: string): ExperimentPlan {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not JSON: ${(e as Error).message}`}`);
  }
  const r = planExperiment(raw);
  if (!r.ok) throw new Error(`${file}: ${r.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
  return r.plan;
}

/** Every preset file (an experiment file with a description and a question), validated. */
export function loadPresets(dir = presetsDir()): Preset[] {
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((f) => {
      const file = path.join(dir, f);
      const plan = readExperimentFile(file);
      if (!plan.file.description || !plan.file.question) throw new Error(`${file}: a preset needs a description and a question`);
      return { id: f.replace(/\.json$/, ''), name: plan.file.name, description: plan.file.description, question: plan.file.question, plan };
    });
}

/** The (arm, seed) runs to queue, in launch order: seed by seed, the pre-training first. */
export function launchOrder(arms: readonly ArmInfo[], seeds: readonly number[]): { seed: number; arm: ArmInfo }[] {
  const sorted = [...arms].sort((a, b) => a.position - b.position);
  return seeds.flatMap((seed) => sorted.map((arm) => ({ seed, arm })));
}

export class ExperimentService {
  constructor(private readonly runs: RunService) {}

  private get store() {
    return this.runs.store;
  }

  /** At start-up, after RunService.recover(): fine-tuning arms whose seed's pre-training
   * completed while no app was watching are queued now; those whose pre-training is still queued
   * or running wait for it again. */
  recover(): void {
    for (const info of this.store.experiments.list()) {
      const pre = info.arms.find((a) => a.role === 'pretrain');
      if (!pre) continue;
      const arms = info.arms.filter((a) => a.role !== 'pretrain');
      for (const seed of info.seeds) {
        const preRun = info.runs.filter((r) => r.armId === pre.id && r.seed === seed).pop();
        if (preRun) this.afterPretrain(info.id, seed, arms, preRun.runId);
      }
    }
  }

  /** Queue the arms of a seed from its pre-training run once that run is completed (now, or when
   * it completes: after a resume too); arms that have a run for the seed by then are skipped, and
   * nothing happens if the experiment was deleted meanwhile. */
  private afterPretrain(experimentId: number, seed: number, arms: readonly ArmInfo[], preRunId: number): void {
    const go = () => {
      const info = this.store.experiments.get(experimentId);
      if (!info) return;
      const missing = arms.filter((a) => !info.runs.some((r) => r.armId === a.id && r.seed === seed));
      if (missing.length) this.launchArms(info, seed, missing, preRunId);
    };
    const status = this.store.getRun(preRunId)?.status;
    if (status === 'completed') go();
    else if (status !== undefined) {
      // failed/cancelled/interrupted: its status says why; a resume that completes it still counts
      const follow = () => this.runs.whenFinished(preRunId, (st) => (st === 'completed' ? go() : follow()));
      follow();
    }
  }

  /** Start one run per arm for the seed, linked to the experiment; their ids. */
  private launchArms(info: ExperimentInfo, seed: number, arms: readonly ArmInfo[], pretrainRun: number | null): number[] {
    const spec = this.store.experiments.spec(info.id)!;
    const file = { name: info.name, baseline: spec.baseline, pretrain: spec.pretrain ?? undefined };
    return arms.map((arm) => {
      const run = this.runs.start(armRunConfig(file, arm, seed, pretrainRun));
      this.store.experiments.link(run.id, info.id, arm.id);
      return run.id;
    });
  }

  list(): ExperimentInfo[] {
    return this.store.experiments.list();
  }

  get(id: number): ExperimentInfo {
    const e = this.store.experiments.get(id);
    if (!e) throw new ApiFailure({ code: 'not_found', message: `experiment ${id} does not exist`, field: 'id' });
    return e;
  }

  /** Validate the file, store the experiment, queue its runs. */
  create(raw: unknown, presetId: string | null = null): ExperimentInfo {
    const r = planExperiment(raw);
    if (!r.ok) throw invalid(r.errors);
    const info = this.store.experiments.create(r.plan, presetId);
    this.launch(info, info.seeds, info.arms);
    return this.get(info.id);
  }

  addSeeds(id: number, seeds: unknown): ExperimentInfo {
    const info = this.get(id);
    if (!Array.isArray(seeds) || !seeds.length || !seeds.every((s) => Number.isInteger(s) && s >= 0 && s < 2 ** 31)) {
      throw new ApiFailure({ code: 'bad_request', message: 'seeds must be a non-empty list of integers from 0 to 2^31-1', field: 'seeds' });
    }
    const fresh = [...new Set(seeds as number[])].filter((s) => !info.seeds.includes(s));
    if (!fresh.length) throw new ApiFailure({ code: 'bad_request', message: `the experiment already has seed${seeds.length > 1 ? 's' : ''} ${seeds.join(', ')}`, field: 'seeds' });
    this.store.experiments.setSeeds(id, [...info.seeds, ...fresh]);
    this.launch(info, fresh, info.arms);
    return this.get(id);
  }

  /** A new arm, run for every seed the experiment has. */
  addArm(id: number, name: unknown, set: unknown): ExperimentInfo {
    const info = this.get(id);
    const spec = this.store.experiments.spec(id)!;
    const file = {
      name: info.name,
      baseline: spec.baseline,
      pretrain: spec.pretrain ?? undefined,
      baselineName: info.arms.find((a) => a.role === 'baseline')!.name,
      arms: [...info.arms.filter((a) => a.role === 'arm').map((a) => ({ name: a.name, set: a.set })), { name, set }],
      seeds: info.seeds,
      metric: info.metric,
      rule: info.rule,
    };
    const r = planExperiment(file);
    if (!r.ok) throw invalid(r.errors.map((e) => ({ ...e, field: e.field.replace(/^arms\.\d+/, (m) => (m === `arms.${file.arms.length - 1}` ? 'arm' : m)) })), 'arm');
    const added = r.plan.arms[r.plan.arms.length - 1]!; // validated: trimmed name, set as given
    const arm = this.store.experiments.addArm(id, added.name, added.set);
    this.launch(this.get(id), info.seeds, [arm]);
    return this.get(id);
  }

  delete(id: number): { deleted: number } {
    this.get(id);
    this.store.experiments.delete(id);
    return { deleted: id };
  }

  summary(q: SummaryQuery): ComparisonSummary {
    return summarize(this.store, q);
  }

  /** Queue the runs of `arms` x `seeds`, interleaved by seed. Arms that fine-tune wait for their
   * seed's pre-training run (queued here when the seed has none yet). */
  private launch(info: ExperimentInfo, seeds: readonly number[], arms: readonly ArmInfo[]): void {
    const pre = info.arms.find((a) => a.role === 'pretrain');
    const queued = arms.filter((a) => a.role !== 'pretrain');
    for (const seed of seeds) {
      if (!pre) {
        this.launchArms(info, seed, queued, null);
        continue;
      }
      const existing = info.runs.filter((r) => r.armId === pre.id && r.seed === seed).pop();
      const status = existing ? this.store.getRun(existing.runId)?.status : undefined;
      // A seed without a usable pre-training (none, failed, cancelled) gets a new one.
      const usable = status === 'completed' || status === 'queued' || status === 'running';
      const preId = usable ? existing!.runId : this.launchArms(info, seed, [pre], null)[0]!;
      this.afterPretrain(info.id, seed, queued, preId);
    }
  }
}
