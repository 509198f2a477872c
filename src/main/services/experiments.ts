// Experiments in the app: create one from a file (or a preset), queue its runs interleaved — seed
// 1's arms, then seed 2's, ... — so that an experiment stopped half-way is still balanced; add
// seeds or arms later; summarise it. With a pre-training, each seed's pre-training run is queued
// and that seed's arms are queued when it completes (and not at all, with its status saying why,
// when it does not).
//
// Sequential experiments (plan `analysis.sequential`, or runUntilDecided) start with their first
// two seeds and then run one seed at a time: once every run of the experiment's seeds has
// finished (completed, failed, cancelled or interrupted: a failure is data, the comparison counts
// it), the comparison's stopping rule says whether every confirmatory arm is decided; if not, and
// the experiment has fewer than maxSeeds seeds, the next seed is queued (seed-plan.ts nextSeed).
// The loop's state is the store (seeds, runs, the spec's sequentialStop), so recover() picks it
// up after a restart; one waiter per experiment, so it never queues two seeds at once.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiFailure, type ExperimentControl, type RunStatus } from '../../shared/api';
import {
  analysisPlanSchema,
  armRunConfig,
  formatExperimentErrors,
  planExperiment,
  type ArmInfo,
  type ComparisonSummary,
  type ExperimentError,
  type ExperimentFile,
  type ExperimentInfo,
  type ExperimentPlan,
} from '../../shared/experiments';
import type { Preset, SummaryQuery } from '../../shared/api';
import { isSequential, nextSeed, type Stopping } from '../../shared/seed-plan';
import { BUILTIN_FACTS, type DatasetFacts } from '../../shared/models/datasets';
import { resumeProblem } from '../../store/run-checks';
import type { RunRecord } from '../../store/store';
import { summarize } from './compare';
import type { RunService } from './runs';

export interface ExperimentServiceOptions {
  /** The sequential runner's stopping verdict for an experiment whose runs have all finished
   * (default: the comparison's `stopping`). A seam for tests. */
  decide?: (experimentId: number) => Stopping;
  /** How often a waiting sequential experiment checks that the run it waits on still exists (a
   * run deleted while queued never reports a final status). */
  sweepMs?: number;
}

const UNFINISHED: readonly RunStatus[] = ['queued', 'running'];
/** The sequential runner's stop reason after experiments:stop (experiments:resume restarts it). */
export const STOPPED_BY_USER = 'the experiment was stopped (Resume goes on)';
/** A failed run whose trainer died (the host's report, not the trainer's own error): an
 * interruption, worth running again; a run that failed by itself (diverged, bad data) is not. */
const DIED = /^trainer process (was killed|exited)/;

function invalid(errors: ExperimentError[], what = 'experiment'): ApiFailure {
  return new ApiFailure({ code: 'invalid_config', message: `invalid ${what}: ${formatExperimentErrors(errors)}`, field: errors[0]?.field, fields: errors });
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

/** Read and validate an experiment file against these dataset facts; errors name the file and the field. */
export function readExperimentFile(file: string, facts: DatasetFacts): ExperimentPlan {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not JSON: ${(e as Error).message}`}`);
  }
  const r = planExperiment(raw, facts);
  if (!r.ok) throw new Error(`${file}: ${formatExperimentErrors(r.errors)}`);
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
      const plan = readExperimentFile(file, BUILTIN_FACTS); // presets use built-in datasets
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
  private readonly decide: (experimentId: number) => Stopping;
  /** Sequential experiments waiting on a run: experiment id -> that run's id. */
  private readonly waiting = new Map<number, number>();
  /** Experiments stopped by stopAll (until resumeAll): nothing of theirs starts by itself. */
  private readonly stopped = new Set<number>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly runs: RunService,
    private readonly o: ExperimentServiceOptions = {},
  ) {
    this.decide = o.decide ?? ((experimentId) => summarize(this.store, { experimentId }).stopping);
  }

  private get store() {
    return this.runs.store;
  }

  /** At start-up, after RunService.recover(): fine-tuning arms whose seed's pre-training
   * completed while no app was watching are queued now; those whose pre-training is still queued
   * or running wait for it again. Sequential experiments go on: one whose runs have all finished
   * gets its next seed (unless decided), one with runs still to finish waits for them. */
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
    for (const info of this.store.experiments.list()) {
      if (!isSequential(info.analysis) || info.sequentialStop) continue;
      try {
        this.step(info.id);
      } catch (e) {
        process.stderr.write(`experiment ${info.id}: the sequential runner could not go on: ${(e as Error).message}\n`);
      }
    }
  }

  /** Stops the sequential runners' timers and callbacks (the store may close after this). */
  close(): void {
    this.closed = true;
    this.waiting.clear();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  /** One step of an experiment's sequential runner: wait while a run of its seeds is unfinished;
   * once all are, ask the stopping rule and queue the next seed or record why it stopped. Called
   * again on the end of the run waited on. Idempotent: a second call while one waits does nothing,
   * and a seed that has runs is never queued again. */
  private step(id: number): void {
    if (this.closed || this.waiting.has(id) || !this.store.db.open) return;
    for (let guard = 0; guard < 3; guard++) {
      const info = this.store.experiments.get(id);
      if (!info || !isSequential(info.analysis) || info.sequentialStop) return;
      // The latest seeds stored without runs (the app stopped between storing and queueing them,
      // or queueing them threw): queue them now, then wait. Older seeds without runs are not the
      // runner's (their runs were deleted): they stay as they are.
      const latest = info.seedLog.at(-1)?.seeds ?? [];
      const unlaunched = info.seeds.filter((s) => latest.includes(s) && !info.runs.some((r) => r.seed === s));
      if (unlaunched.length) {
        this.launch(info, unlaunched, info.arms);
        continue;
      }
      const wait = this.unfinishedRun(info);
      if (wait !== null) return this.waitFor(id, wait);
      const spec = this.store.experiments.spec(id)!;
      const taken = [...info.seeds, ...info.runs.map((r) => r.seed)]; // a seed with runs is never queued again
      const d = nextSeed({ seeds: info.seeds, taken, pool: spec.seedPool, plan: info.analysis, stopping: this.decide(id) });
      if (d.seed === null) {
        this.store.experiments.setSequentialStop(id, { at: Date.now(), reason: d.reason });
        return;
      }
      this.store.experiments.setSeeds(id, [...info.seeds, d.seed], 'sequential');
      this.launch(this.get(id), [d.seed], info.arms);
    }
  }

  /** A queued or running run the experiment's seeds still wait on, or null when all have finished:
   * every compared arm's latest run of every seed, and a seed's pre-training (its arms come after
   * it; a pre-training that did not complete leaves its seed with nothing more to run). */
  private unfinishedRun(info: ExperimentInfo): number | null {
    const pre = info.arms.find((a) => a.role === 'pretrain');
    const arms = info.arms.filter((a) => a.role !== 'pretrain');
    const unfinished = (runId: number) => UNFINISHED.includes(this.store.getRun(runId)?.status ?? 'failed');
    for (const seed of info.seeds) {
      const latest = (armId: number) => info.runs.filter((r) => r.armId === armId && r.seed === seed).pop()?.runId;
      if (pre) {
        const p = latest(pre.id);
        if (p === undefined) continue;
        if (unfinished(p)) return p;
        if (this.store.getRun(p)?.status !== 'completed') continue;
      }
      for (const arm of arms) {
        const r = latest(arm.id);
        if (r !== undefined && unfinished(r)) return r;
      }
    }
    return null;
  }

  private waitFor(id: number, runId: number): void {
    this.waiting.set(id, runId);
    this.runs.whenFinished(runId, () => {
      // After the run's other followers (a pre-training's arms are queued by one).
      setImmediate(() => this.resume(id, runId));
    });
    this.sweepTimer ??= setInterval(() => this.sweep(), this.o.sweepMs ?? 5000);
    this.sweepTimer.unref();
  }

  private resume(id: number, runId: number): void {
    if (this.waiting.get(id) !== runId) return; // already resumed (by the sweep)
    this.waiting.delete(id);
    if (!this.waiting.size && this.sweepTimer) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
    try {
      this.step(id);
    } catch (e) {
      // e.g. the comparison failing: the runner stays where it is; a restart or runUntilDecided retries
      process.stderr.write(`experiment ${id}: the sequential runner could not go on: ${(e as Error).message}\n`);
    }
  }

  /** A run waited on that was deleted, or finished unseen, resumes its experiment's runner. */
  private sweep(): void {
    if (this.closed || !this.store.db.open) return this.close();
    for (const [id, runId] of [...this.waiting]) {
      const st = this.store.getRun(runId)?.status;
      if (!st || !UNFINISHED.includes(st)) this.resume(id, runId);
    }
  }

  /** Queue the arms of a seed from its pre-training run once that run is completed (now, or when
   * it completes: after a resume too); arms that have a run for the seed by then are skipped, and
   * nothing happens if the experiment was deleted meanwhile. */
  private afterPretrain(experimentId: number, seed: number, arms: readonly ArmInfo[], preRunId: number): void {
    const go = () => {
      const info = this.store.experiments.get(experimentId);
      // stopped: a pre-training that completed as Stop was pressed starts nothing (Resume does)
      if (!info || this.stopped.has(experimentId)) return;
      const missing = arms.filter((a) => !info.runs.some((r) => r.armId === a.id && r.seed === seed));
      if (!missing.length) return;
      const ids = this.launchArms(info, seed, missing, preRunId);
      // on a cluster: the seed's arms go as one job array once its pre-training has completed
      if (info.executor.kind === 'slurm') this.runs.submitCluster(ids, info.executor, `${info.name}-seed-${seed}`);
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
      return this.runs.start(armRunConfig(file, arm, seed, pretrainRun, this.runs.datasetFacts()), { experimentId: info.id, armId: arm.id }, info.executor).id;
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

  /** An experiment this host may launch runs of: not an external one, whose runs are its scripts'. */
  private launchable(id: number, what: string): ExperimentInfo {
    const info = this.get(id);
    if (info.source === 'external') {
      throw new ApiFailure({
        code: 'conflict',
        message: `experiment '${info.name}' holds runs logged by other scripts: ${what} is done by running those scripts (with the new seeds or arms), not here`,
        field: 'id',
      });
    }
    return info;
  }

  /** Validate the file, store the experiment, queue its runs (a sequential one: its first seeds,
   * then one at a time until decided). */
  create(raw: unknown, presetId: string | null = null): ExperimentInfo {
    const r = planExperiment(raw, this.runs.datasetFacts());
    if (!r.ok) throw invalid(r.errors);
    const x = r.plan.file.executor;
    if (x.kind === 'slurm') {
      // before anything is stored: a partition or gres the cluster lacks, no sbatch, an unwritable shared folder
      this.runs.validateExecutor(x);
    }
    const info = this.store.experiments.create(r.plan, presetId);
    this.launch(info, info.seeds, info.arms);
    this.step(info.id);
    return this.get(info.id);
  }

  /** Run an existing experiment's seeds until its confirmatory arms are decided or it has
   * `maxSeeds` seeds (absent: the plan's, else the default). Records the plan as sequential
   * (from the defaults when the experiment had none) and starts, or resumes, its runner. */
  runUntilDecided(id: number, maxSeeds?: unknown): ExperimentInfo {
    const info = this.launchable(id, 'running it until decided');
    if (maxSeeds !== undefined && maxSeeds !== null && (!Number.isInteger(maxSeeds) || (maxSeeds as number) < 2 || (maxSeeds as number) > 100)) {
      throw new ApiFailure({ code: 'bad_request', message: 'maxSeeds must be an integer from 2 to 100', field: 'maxSeeds' });
    }
    const plan = { ...(info.analysis ?? analysisPlanSchema.parse({})), sequential: true };
    if (typeof maxSeeds === 'number') {
      if (maxSeeds < info.seeds.length) {
        throw new ApiFailure({ code: 'bad_request', message: `maxSeeds is ${maxSeeds} but the experiment already has ${info.seeds.length} seeds`, field: 'maxSeeds' });
      }
      plan.maxSeeds = maxSeeds;
    }
    this.store.experiments.setAnalysis(id, analysisPlanSchema.parse(plan));
    this.store.experiments.setSequentialStop(id, null);
    this.step(id);
    return this.get(id);
  }

  addSeeds(id: number, seeds: unknown): ExperimentInfo {
    const info = this.launchable(id, 'adding seeds');
    if (!Array.isArray(seeds) || !seeds.length || !seeds.every((s) => Number.isInteger(s) && s >= 0 && s < 2 ** 31)) {
      throw new ApiFailure({ code: 'bad_request', message: 'seeds must be a non-empty list of integers from 0 to 2^31-1', field: 'seeds' });
    }
    const fresh = [...new Set(seeds as number[])].filter((s) => !info.seeds.includes(s));
    if (!fresh.length) throw new ApiFailure({ code: 'bad_request', message: `the experiment already has seed${seeds.length > 1 ? 's' : ''} ${seeds.join(', ')}`, field: 'seeds' });
    this.store.experiments.setSeeds(id, [...info.seeds, ...fresh], 'user');
    this.launch(info, fresh, info.arms);
    return this.get(id);
  }

  /** A new arm, run for every seed the experiment has. */
  addArm(id: number, name: unknown, set: unknown): ExperimentInfo {
    const info = this.launchable(id, 'adding an arm');
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
    const r = planExperiment(file, this.runs.datasetFacts());
    if (!r.ok) throw invalid(r.errors.map((e) => ({ ...e, field: e.field.replace(/^arms\.\d+/, (m) => (m === `arms.${file.arms.length - 1}` ? 'arm' : m)) })), 'arm');
    const added = r.plan.arms[r.plan.arms.length - 1]!; // validated: trimmed name, set as given
    const arm = this.store.experiments.addArm(id, added.name, added.set);
    this.launch(this.get(id), info.seeds, [arm]);
    return this.get(id);
  }

  /** Cancel every queued and running run of the experiment, queued ones first (so none starts in
   * between), and stop its sequential runner. Running trainers stop after their current step. */
  stopAll(id: number): ExperimentControl {
    const info = this.get(id);
    this.stopped.add(id);
    if (isSequential(info.analysis) && !info.sequentialStop) {
      this.store.experiments.setSequentialStop(id, { at: Date.now(), reason: STOPPED_BY_USER });
      this.waiting.delete(id);
    }
    const records = info.runs.map((r) => this.store.getRun(r.runId)).filter((r): r is RunRecord => !!r);
    const order = [...records.filter((r) => r.status === 'queued'), ...records.filter((r) => r.status === 'running')];
    const runs: number[] = [];
    const skipped: ExperimentControl['skipped'] = [];
    for (const r of order) {
      try {
        this.runs.cancel(r.id);
        runs.push(r.id);
      } catch (e) {
        skipped.push({ runId: r.id, reason: (e as Error).message });
      }
    }
    return { experiment: this.get(id), runs, skipped };
  }

  /** Queue again, in the experiment's order, the latest run of every (arm, seed) that has no
   * completed, queued or running run: a cancelled or interrupted one, or one whose trainer died,
   * continues from its last checkpoint; one without a checkpoint (stopped before its first epoch
   * ended, or never started) is run afresh as a new run of that arm and seed (one that never
   * started, with nothing recorded, is replaced). Runs that failed by themselves stay as they are
   * (skipped, with why). A sequential runner stopped by stopAll goes on. */
  resumeAll(id: number): ExperimentControl {
    const info = this.launchable(id, 'resuming its runs');
    this.stopped.delete(id);
    const slots = new Map<string, { runId: number; armId: number; seed: number }[]>();
    for (const r of info.runs) {
      const k = `${r.armId}:${r.seed}`;
      slots.set(k, [...(slots.get(k) ?? []), r]);
    }
    const pre = info.arms.find((a) => a.role === 'pretrain');
    const runs: number[] = [];
    const skipped: ExperimentControl['skipped'] = [];
    for (const slot of slots.values()) {
      const records = slot.map((r) => this.store.getRun(r.runId)).filter((r): r is RunRecord => !!r);
      const exiting = records.find((r) => r.status === 'running' && this.runs.stopping(r.id));
      if (exiting) {
        // its trainer has not stopped yet: requeueing it now would leave it cancelled, unnoticed
        skipped.push({ runId: exiting.id, reason: 'still stopping: press Resume again once it has stopped' });
        continue;
      }
      if (!records.length || records.some((r) => r.status === 'completed' || UNFINISHED.includes(r.status))) continue;
      const last = records[records.length - 1]!;
      const link = slot.find((r) => r.runId === last.id)!;
      if (last.status === 'failed' && !DIED.test(last.error ?? '')) {
        skipped.push({ runId: last.id, reason: `it failed: ${(last.error ?? 'no error recorded').split('\n')[0]}` });
        continue;
      }
      try {
        if (!resumeProblem(this.store, last.id)) {
          this.runs.resume(last.id);
          runs.push(last.id);
          continue;
        }
        const fresh = this.runs.start(last.config, { experimentId: info.id, armId: link.armId }, info.executor);
        if (info.executor.kind === 'slurm') this.runs.submitCluster([fresh.id], info.executor, info.name);
        runs.push(fresh.id);
        if (last.startedAt === null) this.runs.delete([last.id]);
        if (pre && link.armId === pre.id) {
          this.afterPretrain(info.id, link.seed, info.arms.filter((a) => a.role !== 'pretrain'), fresh.id);
        }
      } catch (e) {
        skipped.push({ runId: last.id, reason: (e as Error).message });
      }
    }
    // Seeds whose pre-training completed while the experiment was stopped: their arms start now.
    if (pre) {
      const rest = info.arms.filter((a) => a.role !== 'pretrain');
      for (const r of info.runs) {
        if (r.armId === pre.id && this.store.getRun(r.runId)?.status === 'completed') this.afterPretrain(id, r.seed, rest, r.runId);
      }
    }
    const now = this.get(id);
    if (isSequential(now.analysis) && now.sequentialStop?.reason === STOPPED_BY_USER) {
      this.store.experiments.setSequentialStop(id, null);
      this.step(id);
    }
    return { experiment: this.get(id), runs, skipped };
  }

  delete(id: number): { deleted: number } {
    const info = this.get(id);
    this.store.experiments.delete(id);
    // its runs stay, out of any experiment: the runs list's experiment and arm columns follow
    for (const r of info.runs) this.runs.announce(r.runId);
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
    const x = info.executor;
    if (x.kind === 'slurm' && !pre) {
      // one job array: every arm of a seed, seed by seed, so matched pairs run side by side
      const ids = seeds.flatMap((seed) => this.launchArms(info, seed, queued, null));
      this.runs.submitCluster(ids, x, info.name);
      return;
    }
    if (!pre) {
      for (const seed of seeds) this.launchArms(info, seed, queued, null);
      return;
    }
    // A seed without a usable pre-training (none, failed, cancelled) gets a new one; each seed's
    // arms start once its pre-training has completed (on a cluster: the pre-trainings go first,
    // as one array, and each seed's arms as an array of their own when theirs completes).
    const plan = seeds.map((seed) => {
      const existing = info.runs.filter((r) => r.armId === pre.id && r.seed === seed).pop();
      const status = existing ? this.store.getRun(existing.runId)?.status : undefined;
      const usable = status === 'completed' || status === 'queued' || status === 'running';
      return { seed, preId: usable ? existing!.runId : this.launchArms(info, seed, [pre], null)[0]!, fresh: !usable };
    });
    if (x.kind === 'slurm') {
      const fresh = plan.filter((p) => p.fresh).map((p) => p.preId);
      if (fresh.length) this.runs.submitCluster(fresh, x, `${info.name}-pretrain`);
    }
    for (const p of plan) this.afterPretrain(info.id, p.seed, queued, p.preId);
  }
}
