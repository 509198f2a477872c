// Experiments: a baseline run config, arms (each the baseline with some dotted config fields set)
// and a list of seeds. Every (arm, seed) is one run; the runs of one seed are a matched pair —
// same seed, so same initial weights for the layers they share, same data order, same dropout and
// mixup draws (src/shared/rng.ts derives every random stream from the seed and what it is for).
// The baseline is the arm named "baseline" (or `baselineName`), the reference of every paired
// difference. An optional pre-training runs first for each seed, and then every arm of that seed
// fine-tunes from its weights (a fresh head). Presets (resources/presets) are experiment files
// with a description and a question.
import { executorSchema, LOCAL_EXECUTOR, type ExecutorConfig } from './executor';
import { z } from 'zod';
import { MAX_CONFIG_DEPTH, nestingProblem, parseRunConfig, setPath, unsafePathProblem, type FieldError, type RunConfig } from './config';
import type { DatasetFacts } from './models/datasets';
import type { PairedComparison } from './stats';

const setSchema = z.record(z.string().min(1), z.unknown());
const armName = z.string().trim().min(1).max(80);

/** How one number is taken from a run: `best-val` — at the epoch with the best val/acc (for
 * test/* metrics: the test set evaluated with the best-val checkpoint); `last` — at the last epoch
 * (test/*: the last weights). */
export const SELECTION_RULES = ['best-val', 'last'] as const;
export type SelectionRule = (typeof SELECTION_RULES)[number];

/** Multiple-comparison adjustments of a family's p-values (statsmodels multipletests names:
 * holm, bonferroni, simes-hochberg, fdr_bh). Holm controls the family-wise error rate under any
 * dependence and is uniformly more powerful than Bonferroni, hence the default; Hochberg needs
 * independent or positively dependent tests; BH controls the false discovery rate, not the FWER. */
export const P_ADJUST_METHODS = ['holm', 'bonferroni', 'hochberg', 'bh', 'none'] as const;
export type PAdjustMethod = (typeof P_ADJUST_METHODS)[number];
export const TESTS = ['t', 'wilcoxon'] as const;
export type TestName = (typeof TESTS)[number];

/** The analysis plan an experiment file may declare before it starts (`analysis`); the table
 * marks any analysis off it as exploratory. `margin` is in the units the table shows: points
 * (percent) for accuracy-type metrics, the metric's own units otherwise. `reference`: every arm
 * against the baseline, each arm against the previous one (cumulative ablations), or a named arm.
 * `family`: the arms whose comparisons are confirmatory and adjusted together (default: all). */
export const analysisPlanSchema = z
  .object({
    test: z.enum(TESTS).default('t'),
    alpha: z.number().gt(0).max(0.2).default(0.05),
    correction: z.enum(P_ADJUST_METHODS).default('holm'),
    reference: z.string().trim().min(1).default('baseline'),
    family: z.array(armName).min(1).optional(),
    margin: z.number().positive().optional(),
    /** The smallest effect worth detecting (same units as margin), for the seeds-needed figure. */
    effect: z.number().positive().optional(),
    maxSeeds: z.number().int().min(2).max(100).optional(),
    /** Run seeds one at a time until every confirmatory arm is decided by its confidence sequence
     * (or maxSeeds is reached); the seeds list holds the seeds to draw from, in order. */
    sequential: z.boolean().default(false),
  })
  .strict();
export type AnalysisPlan = z.output<typeof analysisPlanSchema>;

export const experimentFileSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    description: z.string().optional(),
    question: z.string().optional(),
    baselineName: armName.default('baseline'),
    baseline: z.record(z.string(), z.unknown()),
    pretrain: z.object({ name: armName, set: setSchema }).strict().optional(),
    arms: z.array(z.object({ name: armName, set: setSchema }).strict()).min(1, 'an experiment needs at least one arm besides the baseline'),
    seeds: z
      .array(z.number().int().min(0).max(2 ** 31 - 1))
      .min(1, 'at least one seed')
      .max(100)
      .refine((s) => new Set(s).size === s.length, 'seeds must not repeat'),
    metric: z.string().min(1).default('test/acc'),
    rule: z.enum(SELECTION_RULES).default('best-val'),
    analysis: analysisPlanSchema.optional(),
    /** Where its runs train: this machine (the default) or a Slurm cluster (src/shared/executor.ts). */
    executor: executorSchema.default(LOCAL_EXECUTOR),
  })
  .strict();
export type ExperimentFile = z.output<typeof experimentFileSchema>;

export type ArmRole = 'baseline' | 'arm' | 'pretrain';

export interface ArmSpec {
  name: string;
  role: ArmRole;
  /** Dotted config paths the arm sets, relative to the baseline ({} for the baseline). */
  set: Record<string, unknown>;
}

/** A validated experiment file: arms in order, the baseline first (the pre-training, if any, is
 * separate), and the config every arm gets for the first seed. */
export interface ExperimentPlan {
  file: ExperimentFile;
  pretrain: (ArmSpec & { config: RunConfig }) | null;
  arms: (ArmSpec & { config: RunConfig })[];
}

/** How deep an experiment file may nest: a baseline run config (MAX_CONFIG_DEPTH) one level
 * down, an arm's set value three levels down (arms, the arm, its set). */
export const MAX_EXPERIMENT_DEPTH = MAX_CONFIG_DEPTH + 3;

/** A placeholder source run for validating fine-tuning configs before the pre-training exists. */
const PLACEHOLDER_RUN = 1;

/** The baseline with `set` applied (a deep copy; `set` paths are dotted config paths). */
export function applySet(baseline: Record<string, unknown>, set: Record<string, unknown>): Record<string, unknown> {
  const out = structuredClone(baseline);
  for (const [path, value] of Object.entries(set)) setPath(out, path, structuredClone(value));
  return out;
}

export function runName(experiment: string, arm: string, seed: number): string {
  return `${experiment} · ${arm} · seed ${seed}`;
}

/** The run config of one arm and seed. `pretrainRunId`: the seed's pre-training run, which every
 * non-pretrain arm of an experiment with pre-training starts from. */
export function armRunInput(file: Pick<ExperimentFile, 'name' | 'baseline' | 'pretrain'>, arm: ArmSpec, seed: number, pretrainRunId: number | null): Record<string, unknown> {
  const input = applySet(file.baseline, arm.set);
  input.seed = seed;
  input.name = runName(file.name, arm.name, seed);
  if (file.pretrain && arm.role !== 'pretrain') {
    const exclude = (input.init as { exclude?: unknown } | undefined)?.exclude ?? ['head'];
    input.init = { fromRun: pretrainRunId ?? PLACEHOLDER_RUN, exclude };
  }
  return input;
}

export function armRunConfig(file: Pick<ExperimentFile, 'name' | 'baseline' | 'pretrain'>, arm: ArmSpec, seed: number, pretrainRunId: number | null, facts: DatasetFacts): RunConfig {
  const r = parseRunConfig(armRunInput(file, arm, seed, pretrainRunId), facts);
  if (!r.ok) throw new Error(`arm ${shownArm(arm.name)}: ${r.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
  return r.config;
}

/** A problem with an experiment file: the field's path in the file (`arms.1.tricks.rdrop`), what
 * is wrong, and the name of the arm the field is in (absent outside arms, and for the baseline
 * when it is called "baseline"), so that messages say which arm. */
export interface ExperimentError extends FieldError {
  arm?: string;
}

/** An arm's name as messages quote it: `"mixup"`, at most 40 characters. */
function shownArm(name: string): string {
  return JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name);
}

/** Where a problem is, for a person: `arm "mixup" (arms.1.set)` in a named arm, else the path. */
export function experimentErrorField(e: ExperimentError): string {
  return e.arm !== undefined ? `arm ${shownArm(e.arm)} (${e.field})` : e.field;
}

/** Experiment errors as one message: `arm "mixup" (arms.1.tricks.rdrop): R-Drop needs dropout; ...`. */
export function formatExperimentErrors(errors: readonly ExperimentError[], separator = '; '): string {
  return errors.map((e) => `${experimentErrorField(e)}: ${e.message}`).join(separator);
}

/** Each error in an arm (`arms.N...`, `pretrain...`, and `baseline...` when the baseline has a name
 * of its own) with that arm's name, read from the file as given (it may not have parsed). */
function withArmNames(errors: FieldError[], raw: unknown): ExperimentError[] {
  const file = (raw !== null && typeof raw === 'object' ? raw : {}) as { arms?: unknown; pretrain?: { name?: unknown }; baselineName?: unknown };
  const named = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
  return errors.map((e) => {
    const m = /^(arms\.(\d+)|pretrain|baseline)(\.|$)/.exec(e.field);
    if (!m) return e;
    let arm: string | undefined;
    if (m[2] !== undefined) arm = Array.isArray(file.arms) ? named((file.arms[Number(m[2])] as { name?: unknown } | undefined)?.name) : undefined;
    else if (m[1] === 'pretrain') arm = named(file.pretrain?.name);
    else arm = named(file.baselineName) === 'baseline' ? undefined : named(file.baselineName);
    return arm === undefined ? e : { ...e, arm };
  });
}

function zodErrors(issues: readonly z.core.$ZodIssue[], prefix = ''): FieldError[] {
  return issues.map((i) => ({ field: [prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(experiment)', message: i.message }));
}

/** Validate an experiment file: its shape, unique arm names, and every arm's run config. Errors
 * give the field's path (`arms.1.tricks.rdrop`, `baseline.optimizer.lr`, `pretrain.epochs`) and
 * the arm's name (formatExperimentErrors: `arm "mixup" (arms.1.tricks.rdrop): ...`). Each arm's
 * config is checked against `facts` (parseRunConfig). */
export function planExperiment(raw: unknown, facts: DatasetFacts): { ok: true; plan: ExperimentPlan } | { ok: false; errors: ExperimentError[] } {
  const r = planExperimentFile(raw, facts);
  return r.ok ? r : { ok: false, errors: withArmNames(r.errors, raw) };
}

function planExperimentFile(raw: unknown, facts: DatasetFacts): { ok: true; plan: ExperimentPlan } | { ok: false; errors: FieldError[] } {
  // Before anything walks the file recursively (zod, structuredClone in applySet).
  const deep = nestingProblem(raw, '', MAX_EXPERIMENT_DEPTH);
  if (deep) return { ok: false, errors: [deep] };
  const parsed = experimentFileSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, errors: zodErrors(parsed.error.issues) };
  const file = parsed.data;
  const errors: FieldError[] = [];
  // A set path that would reach a prototype (`__proto__.x`) is refused before any set is applied.
  const unsafeSets = new Set<string>();
  const checkPaths = (set: Record<string, unknown>, where: string) => {
    for (const path of Object.keys(set)) {
      const problem = unsafePathProblem(path);
      if (!problem) continue;
      errors.push({ field: `${where}.set`, message: problem });
      unsafeSets.add(where);
    }
  };
  if (file.pretrain) checkPaths(file.pretrain.set, 'pretrain');
  file.arms.forEach((a, i) => checkPaths(a.set, `arms.${i}`));
  const names = new Set<string>([file.baselineName]);
  if (file.pretrain) names.add(file.pretrain.name);
  file.arms.forEach((a, i) => {
    if (names.has(a.name)) errors.push({ field: `arms.${i}.name`, message: `arm name "${a.name}" is used twice (the baseline is "${file.baselineName}")` });
    names.add(a.name);
  });
  // The plan names arms: a misspelt one would silently shrink the family (an unadjusted claim)
  // or break every summary later, so it is refused here.
  const compared = [file.baselineName, ...file.arms.map((a) => a.name)];
  const an = file.analysis;
  if (an && an.reference !== 'baseline' && an.reference !== 'previous' && !compared.includes(an.reference)) {
    errors.push({ field: 'analysis.reference', message: `reference must be "baseline", "previous" or an arm name (${compared.join(', ')}); got "${an.reference}"` });
  }
  an?.family?.forEach((name, i) => {
    if (!compared.includes(name)) errors.push({ field: `analysis.family.${i}`, message: `"${name}" is not an arm of this experiment (${compared.join(', ')})` });
  });
  if (an?.family && new Set(an.family).size !== an.family.length) errors.push({ field: 'analysis.family', message: 'family names an arm twice' });
  if (an?.maxSeeds !== undefined && an.maxSeeds < Math.min(file.seeds.length, an.sequential ? 2 : file.seeds.length)) {
    errors.push({ field: 'analysis.maxSeeds', message: `maxSeeds (${an.maxSeeds}) is below the ${file.seeds.length} seeds listed` });
  }
  const seed = file.seeds[0]!;
  const check = (spec: ArmSpec, where: string) => {
    if (unsafeSets.has(where)) return null;
    const r = parseRunConfig(armRunInput(file, spec, seed, null), facts);
    if (!r.ok) {
      errors.push(...r.errors.map((e) => ({ field: `${where}.${e.field}`, message: e.message })));
      return null;
    }
    return { ...spec, config: r.config };
  };
  const pretrain = file.pretrain ? check({ name: file.pretrain.name, role: 'pretrain', set: file.pretrain.set }, 'pretrain') : null;
  const arms = [
    check({ name: file.baselineName, role: 'baseline', set: {} }, 'baseline'),
    ...file.arms.map((a, i) => check({ name: a.name, role: 'arm', set: a.set }, `arms.${i}`)),
  ];
  if (errors.length) return { ok: false, errors };
  return { ok: true, plan: { file, pretrain, arms: arms as ExperimentPlan['arms'] } };
}

/** Config fields that are not what an arm changes: every run has its own name and seed, and a
 * fine-tuning run its own source run. */
export const NOT_ARM_FIELDS: ReadonlySet<string> = new Set(['name', 'seed', 'init.fromRun']);

// ---------------------------------------------------------------------------------------------
// What the store and the API say about experiments

export interface ArmInfo {
  id: number;
  name: string;
  role: ArmRole;
  position: number;
  set: Record<string, unknown>;
}

export interface ExperimentInfo {
  id: number;
  name: string;
  /** 'trickbench': made from an experiment file, its runs queued here; 'external': made by the
   * first run a script logged into it (ingest:create) or an importer; its arms appear as runs name
   * them, and nothing of it is launched here. */
  source: 'trickbench' | 'external';
  /** Where its runs train (the experiment file's `executor`). */
  executor: ExecutorConfig;
  description: string | null;
  question: string | null;
  presetId: string | null;
  baseline: Record<string, unknown>;
  seeds: number[];
  arms: ArmInfo[];
  metric: string;
  rule: SelectionRule;
  createdAt: number;
  /** Every run of the experiment (pre-training included), in the order they were created. */
  runs: { runId: number; armId: number; seed: number }[];
  /** The file's analysis plan (`analysis`); null when it declared none (and none was set since:
   * runUntilDecided records one). */
  analysis: AnalysisPlan | null;
  /** When each seed was added, by whom, and whether results could have been seen by then. Empty
   * for experiments stored before the log existed. */
  seedLog: SeedLogEntry[];
  /** A sequential experiment whose runner stopped (decided, or maxSeeds reached), and why; null
   * while it runs, or when it is not sequential. */
  sequentialStop: { at: number; reason: string } | null;
  /** The plan was set or changed after creation (runUntilDecided), when, and whether results
   * could have been seen by then; null when `analysis` is the file's (or absent). */
  analysisSetLater: { at: number; afterResults: boolean } | null;
}

/** One addition of seeds to an experiment. `by`: at creation, by the user (add seeds), or by the
 * sequential runner. `afterResults`: some compared run (a non-pretraining arm's) of the
 * experiment had completed then, so the choice could depend on results seen — fixed-n p-values
 * are then no longer valid. */
export interface SeedLogEntry {
  at: number;
  seeds: number[];
  by: 'create' | 'user' | 'sequential';
  afterResults: boolean;
}

/** One run's number in a comparison. */
export interface ComparedRun {
  runId: number;
  seed: number;
  status: string;
  /** The selected value (null: not finished, or the metric is missing). */
  value: number | null;
  /** For test/acc and test/top5: correct images and test-set size behind the value (value =
   * correct / total exactly), so differences are exact integers / total. Null otherwise. */
  count: { correct: number; total: number } | null;
  /** Epoch the rule picked (1-based; null for test metrics of a run without an evaluation). */
  epoch: number | null;
  /** Training wall time (sum of epoch times) and the trainer's CPU time (sum of time/cpu_s). */
  wallS: number | null;
  cpuS: number | null;
  /** Why the run has no value: "diverged at epoch 2", "failed: <error>", "cancelled", "running", "queued". */
  problem: string | null;
  startedAt: number | null;
  endedAt: number | null;
}

/** The plain verdict of one arm against its reference. */
export type VerdictKind = 'better' | 'worse' | 'equivalent' | 'undecided' | 'identical' | 'no-data';

export interface Verdict {
  kind: VerdictKind;
  /** The cell text: "better", "worse", "equivalent within ±0.5", "identical gain in every seed (n = 3)",
   * "not decided: ~12 seeds needed for 0.4", "no paired seeds". */
  text: string;
  /** Seeds the paired t-test needs for 80% power at the plan's effect (or the observed effect when none is declared); null when decided or unknown. */
  seedsNeeded: number | null;
}

/** Paired comparison of an arm with its reference (seeds both have a value for). */
export interface PairedSummary extends Omit<PairedComparison, 'wilcoxonTooFew'> {
  /** The comparison's reference arm. */
  reference: string;
  /** Differences were exact counts (integers / total). */
  exact: boolean;
  /** All differences equal (exactly for counts, within a relative 1e-9 otherwise): no test. */
  identical: boolean;
  /** The planned test's p (t or Wilcoxon), adjusted for the family; null when not in the family or no p. */
  pAdjusted: number | null;
  /** Anytime-valid 1-alpha confidence sequence for the mean difference at the current n
   * (Lai 1976; valid however seeds were added); null when n < 2. */
  cs: [number, number] | null;
  /** Paired bootstrap CI of the mean difference (seeded; method named). */
  bootstrap: { ci: [number, number]; method: 'bca' | 'percentile'; resamples: number | 'exact' } | null;
  /** TOST equivalence within ±margin (raw units); null without a margin. */
  tost: { p: number; margin: number } | null;
  /** Two-sided sign test p of betterIn vs worseIn (ties dropped): the null probability of "k of n better". */
  signP: number | null;
  /** Probability the arm beats the reference on a new seed ((better + ties/2) / n) with its 95%
   * Clopper–Pearson interval on the better count. */
  pBetter: { estimate: number; ci: [number, number] } | null;
  /** Exact McNemar test per seed on the test images (test/acc, best-val rule: the stored predictions). */
  mcnemar: { seed: number; armOnly: number; refOnly: number; p: number }[] | null;
  /** The test sample's part of the error (same predictions as McNemar): the SE of the mean
   * difference over a resampled test set, and the 95% interval with seed and test-sample variation
   * together (see testSampleError in compare.ts); null without stored predictions. */
  testSample: { se: number; ci95: [number, number] } | null;
  /** Minimum detectable effect at 80% power with the seeds paired now (two-sided, the family's alpha per test under Bonferroni). */
  mde80: number | null;
}

export interface ArmSummary {
  name: string;
  role: 'baseline' | 'arm';
  runs: ComparedRun[];
  /** Runs with a value. */
  n: number;
  mean: number | null;
  std: number | null;
  /** What happened to the arm's runs: "4 of 5 completed: seed 3 diverged at epoch 2". */
  completion: { completed: number; total: number; text: string };
  /** A run of this arm failed or diverged where the reference's run of that seed completed. */
  failsWhereReferenceDoesNot: number[];
  /** Paired against its reference; null for the baseline itself. A p-value the test cannot make
   * meaningful is null with its note (see stats.ts). */
  paired: PairedSummary | null;
  /** In the plan's family (confirmatory), or exploratory. */
  confirmatory: boolean;
  verdict: Verdict | null;
  /** Cost paired by seed: the geometric mean of per-seed ratios arm/reference with their range;
   * null without a completed pair. */
  cost: {
    wall: { ratio: number; min: number; max: number; n: number } | null;
    cpu: { ratio: number; min: number; max: number; n: number } | null;
    /** Seeds whose two runs ran under different load (not interleaved, or another run beside one). */
    loadWarnings: string[];
  };
  /** Mean training wall time of the arm's completed runs (seconds). */
  meanWallS: number | null;
  /** The wall-time cost ratio (cost.wall.ratio), kept for exports and older callers. */
  costRatio: number | null;
}

/** How the comparison was analysed, and whether that was the plan. */
export interface AnalysisSummary {
  test: TestName;
  alpha: number;
  correction: PAdjustMethod;
  /** "baseline", "previous" or an arm name. */
  reference: string;
  /** Arms adjusted together. */
  family: string[];
  /** Raw units (fractions for accuracy); null without one. */
  margin: number | null;
  effect: number | null;
  maxSeeds: number | null;
  sequential: boolean;
  /** The experiment declared an analysis plan (otherwise the defaults are the plan). */
  declared: boolean;
  /** Why this analysis is exploratory (off the plan: another metric, rule, test, correction,
   * reference); empty when it is the plan. */
  exploratory: string[];
  /** Fixed-n p-values and intervals are not valid: seeds were added after results were seen, or
   * seeds are run until decided; the confidence sequence still is. Null when they are valid. */
  fixedNInvalid: string | null;
}

export interface ComparisonSummary {
  title: string;
  metric: string;
  rule: SelectionRule;
  higherIsBetter: boolean;
  baseline: string;
  arms: ArmSummary[];
  /** Pairing checks (see the run's `pairing` event): seeds whose arms did not start from the same
   * weights on the layers they share, or did not see the same batches. */
  pairing: { seed: number; arm: string; problem: string }[];
  analysis: AnalysisSummary;
  /** A methods paragraph for a paper: n, pairing, selection rule, tests, correction, intervals. */
  methods: string;
  /** For sequential experiments: every confirmatory arm decided or maxSeeds reached. */
  stopping: { done: boolean; reason: string } | null;
}

/** What a comparison may override (the rest comes from the experiment's plan). */
export interface AnalysisOverrides {
  metric?: string;
  rule?: SelectionRule;
  test?: TestName;
  correction?: PAdjustMethod;
  reference?: string;
  margin?: number;
  alpha?: number;
}

// ---------------------------------------------------------------------------------------------
// Pairing: the trainer's `pairing` event (src/trainer/pairing.ts)

export interface PairingPayload {
  /** Parameter name -> "<shape>:<hash of its initial float32 values>". */
  weights: Record<string, string>;
  /** Hash of the dataset identity, the splits and the first epoch's order. */
  data: string;
}

/** Why two runs of one seed are not a matched pair (null when they are): a parameter both have
 * with the same shape started from different values, or they saw different data. Parameters only
 * one has, or with another shape (an arm's extra or wider layer), are not shared and not compared. */
export function pairingProblem(a: PairingPayload, b: PairingPayload): string | null {
  if (a.data !== b.data) return 'different data split or order';
  const shape = (v: string) => v.slice(0, v.indexOf(':'));
  const differ = Object.keys(a.weights).filter((k) => {
    const x = a.weights[k]!;
    const y = b.weights[k];
    return y !== undefined && shape(x) === shape(y) && x !== y;
  });
  return differ.length ? `different initial weights: ${differ.slice(0, 3).join(', ')}${differ.length > 3 ? ` and ${differ.length - 3} more` : ''}` : null;
}
