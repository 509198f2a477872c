// Which seeds an experiment runs, and, run sequentially ("until decided"), which seed comes next.
// Pure: the store (src/store/experiment-repo.ts) takes the initial seeds from here, the
// experiment service (src/main/services/experiments.ts) the next ones.
import type { AnalysisPlan, ExperimentFile } from './experiments';

/** Seeds a sequential experiment starts with: its confidence sequence needs n >= 2 paired seeds
 * before it can say anything, and every further seed is one decision more. More at the start
 * would only spend runs the stopping rule might not have needed (it is anytime-valid, so looking
 * after every seed from the second on costs nothing). */
export const SEQUENTIAL_START = 2;
/** maxSeeds of a sequential experiment whose plan gives none: a cap on the cost of an arm that is
 * never decided. At 20 paired seeds a fixed-n paired t-test has ~80% power for an effect of 0.65
 * standard deviations of the per-seed differences (a confidence sequence needs somewhat more);
 * an effect much smaller than the seed-to-seed noise is not worth more runs by default. */
export const DEFAULT_MAX_SEEDS = 20;
export const MAX_SEED = 2 ** 31 - 1;

export type Stopping = { done: boolean; reason: string } | null;
export type SeedDecision = { seed: number; reason: string } | { seed: null; reason: string };

export function isSequential(plan: Pick<AnalysisPlan, 'sequential'> | null | undefined): boolean {
  return plan?.sequential === true;
}

/** The total number of seeds a sequential experiment may reach. */
export function maxSeedsOf(plan: Pick<AnalysisPlan, 'maxSeeds'> | null | undefined): number {
  return plan?.maxSeeds ?? DEFAULT_MAX_SEEDS;
}

/** The seed after `used`: the first of `pool` (the file's list, in order) not used yet, else one
 * above the largest seed seen (used or listed), else the smallest free one. */
export function freshSeed(used: readonly number[], pool: readonly number[]): number {
  const taken = new Set(used);
  const listed = pool.find((s) => !taken.has(s));
  if (listed !== undefined) return listed;
  const above = Math.max(-1, ...used, ...pool) + 1;
  if (above <= MAX_SEED) return above;
  let s = 0;
  while (taken.has(s)) s++;
  return s;
}

/** The seeds an experiment is created with: all of the file's, or for a sequential one its first
 * SEQUENTIAL_START (completed from freshSeed when the file lists fewer; never above maxSeeds). */
export function initialSeeds(file: Pick<ExperimentFile, 'seeds' | 'analysis'>): number[] {
  if (!isSequential(file.analysis)) return [...file.seeds];
  const n = Math.min(SEQUENTIAL_START, maxSeedsOf(file.analysis));
  const seeds = file.seeds.slice(0, n);
  while (seeds.length < n) seeds.push(freshSeed(seeds, file.seeds));
  return seeds;
}

/** The sequential runner's decision once every run of the experiment's `seeds` has finished:
 * stop when the comparison says every confirmatory arm is decided (`stopping.done`) or the
 * experiment has maxSeeds seeds; otherwise the next seed (see freshSeed), never one of `taken`
 * (seeds that already have runs; default: `seeds`). A comparison without a stopping verdict
 * (null) is "not decided": the run goes on, up to maxSeeds. */
export function nextSeed(o: {
  seeds: readonly number[];
  taken?: readonly number[];
  pool: readonly number[];
  plan: Pick<AnalysisPlan, 'maxSeeds'> | null;
  stopping: Stopping | undefined;
}): SeedDecision {
  const n = o.seeds.length;
  const max = maxSeedsOf(o.plan);
  if (o.stopping?.done) return { seed: null, reason: o.stopping.reason || `decided after ${n} seeds` };
  const why = o.stopping?.reason ? `${o.stopping.reason}` : 'not decided';
  if (n >= max) return { seed: null, reason: `${why}; stopped at maxSeeds (${max} seeds)` };
  const seed = freshSeed([...o.seeds, ...(o.taken ?? [])], o.pool);
  return { seed, reason: `${why}: seed ${seed} is seed ${n + 1} of at most ${max}` };
}
