// Experiments: a baseline run config, arms (each the baseline with some dotted config fields set)
// and a list of seeds. Every (arm, seed) is one run; the runs of one seed are a matched pair —
// same seed, so same initial weights for the layers they share, same data order, same dropout and
// mixup draws (src/trainer/rng.ts derives every random stream from the seed and what it is for).
// The baseline is the arm named "baseline" (or `baselineName`), the reference of every paired
// difference. An optional pre-training runs first for each seed, and then every arm of that seed
// fine-tunes from its weights (a fresh head). Presets (resources/presets) are experiment files
// with a description and a question.
import { z } from 'zod';
import { parseRunConfig, setPath, type FieldError, type RunConfig } from './config';
import type { PairedComparison } from './stats';

const setSchema = z.record(z.string().min(1), z.unknown());
const armName = z.string().trim().min(1).max(80);

/** How one number is taken from a run: `best-val` — at the epoch with the best val/acc (for
 * test/* metrics: the test set evaluated with the best-val checkpoint); `last` — at the last epoch
 * (test/*: the last weights). */
export const SELECTION_RULES = ['best-val', 'last'] as const;
export type SelectionRule = (typeof SELECTION_RULES)[number];

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

export function armRunConfig(file: Pick<ExperimentFile, 'name' | 'baseline' | 'pretrain'>, arm: ArmSpec, seed: number, pretrainRunId: number | null): RunConfig {
  const r = parseRunConfig(armRunInput(file, arm, seed, pretrainRunId));
  if (!r.ok) throw new Error(`arm ${arm.name}: ${r.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
  return r.config;
}

function zodErrors(issues: readonly z.core.$ZodIssue[], prefix = ''): FieldError[] {
  return issues.map((i) => ({ field: [prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(experiment)', message: i.message }));
}

/** Validate an experiment file: its shape, unique arm names, and every arm's run config (errors
 * name the arm: `arms.1.tricks.rdrop`, `baseline.optimizer.lr`, `pretrain.epochs`). */
export function planExperiment(raw: unknown): { ok: true; plan: ExperimentPlan } | { ok: false; errors: FieldError[] } {
  const parsed = experimentFileSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, errors: zodErrors(parsed.error.issues) };
  const file = parsed.data;
  const errors: FieldError[] = [];
  const names = new Set<string>([file.baselineName]);
  if (file.pretrain) names.add(file.pretrain.name);
  file.arms.forEach((a, i) => {
    if (names.has(a.name)) errors.push({ field: `arms.${i}.name`, message: `arm name "${a.name}" is used twice (the baseline is "${file.baselineName}")` });
    names.add(a.name);
  });
  const seed = file.seeds[0]!;
  const check = (spec: ArmSpec, where: string) => {
    const r = parseRunConfig(armRunInput(file, spec, seed, null));
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
}

/** One run's number in a comparison. */
export interface ComparedRun {
  runId: number;
  seed: number;
  status: string;
  /** The selected value (null: not finished, or the metric is missing). */
  value: number | null;
  /** Epoch the rule picked (1-based; null for test metrics of a run without an evaluation). */
  epoch: number | null;
  wallS: number | null;
}

export interface ArmSummary {
  name: string;
  role: 'baseline' | 'arm';
  runs: ComparedRun[];
  n: number;
  mean: number | null;
  std: number | null;
  /** Paired against the baseline (seeds both have a value for); null for the baseline itself. A
   * p-value the test cannot make meaningful is null with its note (see stats.ts). */
  paired: Omit<PairedComparison, 'wilcoxonTooFew'> | null;
  /** Mean training wall time (sum of epoch times) over the baseline's (completed runs). */
  costRatio: number | null;
  meanWallS: number | null;
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
