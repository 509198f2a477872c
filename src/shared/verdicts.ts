// One plain verdict per arm, and the stopping rule of "run seeds until decided". Pure functions of
// the paired statistics, shared by the comparison service and the simulation test that checks the
// whole procedure keeps its false-positive rate (tests/unit/procedure-simulation.test.ts).
//
// Fixed n (seeds planned in advance, none added after looking): better / worse when the planned
// test's p — adjusted over the family for confirmatory arms — is below alpha; equivalent within
// ±m when the (adjusted) TOST p is. Otherwise, or when seeds were added after looking or are run
// until decided, the anytime-valid confidence sequence decides: better / worse when it excludes
// 0, equivalent when it lies inside (-m, m). The sequence of a confirmatory arm has level
// 1 - alpha/k (Bonferroni over the k arms of the family), so the chance that any arm of the family
// is ever wrongly declared better or worse, at any number of seeds, is at most alpha.
import type { Verdict } from './experiments';

export interface VerdictInput {
  n: number;
  delta: number | null;
  sdDelta: number | null;
  identical: boolean;
  /** The anytime-valid sequence at this n (level 1 - alpha/k for confirmatory arms). */
  cs: [number, number] | null;
  /** The planned test's p: adjusted for confirmatory arms, raw for exploratory ones. */
  p: number | null;
  /** The direction the planned test points (+1 / -1): the sign of the mean for the t-test, of
   * the signed-rank statistic for Wilcoxon (see signedRankDirection). Absent: the mean's. */
  direction?: number;
  /** The TOST p, adjusted like p; null without a margin. */
  tostP: number | null;
  confirmatory: boolean;
  /** Fixed-n p-values are not valid (sequential, or seeds added after looking): the sequence decides. */
  useCS: boolean;
  higherIsBetter: boolean;
  alpha: number;
  /** Family size (alpha / k per comparison for the seeds-needed figure). */
  k: number;
  /** Raw units; null when not declared. */
  margin: number | null;
  effect: number | null;
  /** Formats a raw value for the text (e.g. "0.40" points). */
  fmt: (v: number) => string;
  seedsNeeded: (effect: number, sd: number, alpha: number) => number | null;
}

export function armVerdict(v: VerdictInput): Verdict {
  const tag = v.confirmatory ? '' : ' (exploratory)';
  if (v.n === 0) return { kind: 'no-data', text: `no paired seeds${tag}`, seedsNeeded: null };
  if (v.identical) {
    const word = v.delta === 0 ? 'no difference in any seed' : `identical ${v.delta! > 0 === v.higherIsBetter ? 'gain' : 'loss'} in every seed`;
    return { kind: 'identical', text: `${word} (n = ${v.n})${tag}`, seedsNeeded: null };
  }
  const dir = (up: boolean): Verdict => {
    const better = up === v.higherIsBetter;
    return { kind: better ? 'better' : 'worse', text: `${better ? 'better' : 'worse'}${tag}`, seedsNeeded: null };
  };
  const equivalent: Verdict = { kind: 'equivalent', text: `equivalent within ±${v.margin === null ? '' : v.fmt(v.margin)}${tag}`, seedsNeeded: null };
  if (v.useCS) {
    if (v.cs && v.cs[0] > 0) return dir(true);
    if (v.cs && v.cs[1] < 0) return dir(false);
    if (v.margin !== null && v.cs && v.cs[0] > -v.margin && v.cs[1] < v.margin) return equivalent;
  } else {
    if (v.p !== null && v.p < v.alpha && v.delta !== null && v.delta !== 0) {
      const way = v.direction ?? Math.sign(v.delta);
      if (way === Math.sign(v.delta)) return dir(way > 0);
      // a significant signed-rank test one way, the mean the other (a collapsed seed): no verdict
      return { kind: 'undecided', text: `not decided: the signed-rank test and the mean difference point in opposite directions${tag}`, seedsNeeded: null };
    }
    if (v.tostP !== null && v.tostP < v.alpha) return equivalent;
  }
  // Not decided: the seeds the paired t-test needs for 80% power at the planned effect (else the
  // margin, else — saying so — the effect seen so far, which overstates power when it is noise).
  const target = v.effect ?? v.margin ?? (v.delta !== null && v.delta !== 0 ? Math.abs(v.delta) : null);
  const which = v.effect !== null ? 'the planned effect' : v.margin !== null ? 'the margin' : 'the effect seen so far';
  const sd = v.sdDelta;
  const need = sd && target ? v.seedsNeeded(target, sd, v.confirmatory ? v.alpha / v.k : v.alpha) : null;
  // with the sequence deciding, the figure is the sequence's (wider than the fixed-n test's)
  const how = v.useCS ? ', by the confidence sequence' : '';
  const text = need !== null ? `: ~${need} seeds for ${v.fmt(target!)} (${which}${how})` : sd && target ? ': over 1000 seeds for that effect' : '';
  return { kind: 'undecided', text: `not decided${text}${tag}`, seedsNeeded: need };
}

/** Decided for the stopping rule: an identical difference at small n is not (under the model it
 * has probability zero, with counts it happens by chance at n = 2), so the seeds go on. */
export const DECIDED: ReadonlySet<Verdict['kind']> = new Set(['better', 'worse', 'equivalent']);

/** The stopping rule of "run seeds until decided": done when every confirmatory arm is decided,
 * or when `seedsRun` reached `maxSeeds`. */
export function stoppingRule(arms: readonly { name: string; verdict: Verdict | null }[], seedsRun: number, maxSeeds: number): { done: boolean; reason: string } {
  const open = arms.filter((a) => !a.verdict || !DECIDED.has(a.verdict.kind));
  if (!open.length && arms.length) return { done: true, reason: `every arm decided after ${seedsRun} seeds` };
  if (seedsRun >= maxSeeds) return { done: true, reason: `maximum of ${maxSeeds} seeds reached; undecided: ${open.map((a) => a.name).join(', ')}` };
  return { done: false, reason: `undecided after ${seedsRun} seeds: ${open.map((a) => a.name).join(', ') || 'no paired seeds yet'}` };
}
