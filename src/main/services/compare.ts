// The comparison of arms across seeds: one number per run by an explicit selection rule, mean and
// SD per arm, and each arm paired with its reference seed by seed. What a user may conclude comes
// from an analysis plan (the experiment's, or the defaults): the test (paired t or Wilcoxon), the
// family of confirmatory comparisons and its multiplicity correction (Holm by default), the
// reference (baseline, previous arm, or a named arm), an equivalence margin, and whether seeds
// were added after looking (then only the anytime-valid confidence sequence decides). Each arm
// gets one verdict; the numbers behind it (t and bootstrap intervals, confidence sequence, TOST,
// sign test, McNemar per seed, power) ride along for the details and the exports. Used by the app
// (compare view, exports) and the experiment CLI alike. Ad-hoc selections of runs are grouped into
// arms by their config without seed and name.
import { ApiFailure, type SummaryQuery } from '../../shared/api';
import { bootstrapMeanCI } from '../../shared/bootstrap';
import { describeConfig, legacyDescribeConfig } from '../../shared/config';
import { flatSettings, paramDifferences, SEED_OR_NAME } from '../../shared/run-info';
import { configDifferences, trickDifferences } from '../../shared/labels';
import type {
  AnalysisPlan,
  AnalysisSummary,
  ArmSummary,
  ComparedRun,
  ComparisonSummary,
  ExperimentInfo,
  PairedSummary,
  PairingPayload,
  SeedLogEntry,
  SelectionRule,
  Verdict,
} from '../../shared/experiments';
import { analysisPlanSchema, NOT_ARM_FIELDS, P_ADJUST_METHODS, pairingProblem, SELECTION_RULES, TESTS } from '../../shared/experiments';
import { adjustP, mcnemarExact, mde, predictiveBetter, seedsNeeded, signTest, tostPaired } from '../../shared/inference';
import { csHalfWidthFactor, csMixing, tConfidenceSequence } from '../../shared/sequential';
import { describe, pairedComparison, tQuantile975 } from '../../shared/stats';
import { displayScale, formatMetric, metricUnits } from '../../shared/summary-format';
import { methodsParagraph } from '../../shared/methods';
import { DEFAULT_MAX_SEEDS } from '../../shared/seed-plan';
import { armVerdict, stoppingRule } from '../../shared/verdicts';
import { higherIsBetter as higherIsBetterOf } from '../../shared/metrics';
import type { RunRecord, Store } from '../../store/store';

export interface ArmGroup {
  name: string;
  role: 'baseline' | 'arm';
  runs: RunRecord[];
}


/** What the comparison is asked for, and what was planned. */
export interface CompareRequest {
  metric: string;
  rule: SelectionRule;
  analysis: AnalysisPlan;
  /** The experiment's declared metric, rule and plan (null for ad-hoc selections: all exploratory
   * is not meaningful there, so none is marked). */
  planned: { metric: string; rule: SelectionRule; analysis: AnalysisPlan; declared: boolean } | null;
  /** The experiment's seeds: a seed without a run counts as missing. */
  seeds: number[] | null;
  seedLog: SeedLogEntry[];
}

/** The number behind an accuracy-type test metric as a count: correct images out of the test set
 * (test/acc: the confusion matrix's diagonal, exact; test/top5: top5 x n, which is a count of
 * images by construction and rounds back exactly for any n below 2^52). */
function countOf(metric: string, ev: { n: number; acc: number; top5: number | null; confusion: number[][] }): { correct: number; total: number } | null {
  if (metric === 'test/acc') {
    const correct = ev.confusion.reduce((s, row, i) => s + (row[i] ?? 0), 0);
    // a confusion matrix that does not add up to acc (an old or imported row) is not trusted
    return Math.abs(correct / ev.n - ev.acc) < 1e-9 ? { correct, total: ev.n } : { correct: Math.round(ev.acc * ev.n), total: ev.n };
  }
  if (metric === 'test/top5' && ev.top5 !== null) return { correct: Math.round(ev.top5 * ev.n), total: ev.n };
  return null;
}

/** One run's number under the rule. Unfinished runs have none: a mean over runs that stopped at
 * different points would mix epochs. Under best-val, the epoch is the one with the best val/acc
 * (the earliest on ties, as the best checkpoint is chosen), or the last without a validation split. */
export function selectValue(
  store: Store,
  run: RunRecord,
  metric: string,
  rule: SelectionRule,
): { value: number | null; epoch: number | null; count: { correct: number; total: number } | null } {
  if (run.status !== 'completed') return { value: null, epoch: null, count: null };
  if (run.source === 'external') {
    // What its script reported as the result (ingest:summary) is its value under either rule: the
    // script chose the model it reports. Else its per-epoch points, as for ours.
    const reported = store.summaryValue(run.id, metric);
    if (reported !== null) return { value: reported, epoch: null, count: null };
  } else if (metric.startsWith('test/')) {
    const ev = store.evaluations.get(run.id)[rule === 'best-val' ? 'best' : 'last'];
    if (!ev) return { value: null, epoch: null, count: null };
    const v = metric === 'test/acc' ? ev.acc : metric === 'test/loss' ? ev.loss : metric === 'test/top5' ? ev.top5 : null;
    return { value: v, epoch: ev.epoch, count: v === null ? null : countOf(metric, ev) };
  }
  const last = store.lastEpochPoint(run.id, metric);
  if (!last) return { value: null, epoch: null, count: null };
  if (rule === 'last') return { ...last, count: null };
  const e = store.bestEpoch(run.id, 'val/acc') ?? last.epoch;
  const value = store.valueAt(run.id, metric, e);
  return { value, epoch: value === null ? null : e, count: null };
}

/** Training wall time of a completed run: the sum of its epochs' times (time/epoch_s), which
 * leaves out start-up (loading the data, the first run's warm-up) and the final test evaluation,
 * so the cost ratio is the trick's; the run's start-to-end time when it has no epoch times. */
function wallS(store: Store, r: RunRecord): number | null {
  if (r.status !== 'completed') return null;
  const train = store.sumOf(r.id, 'time/epoch_s');
  if (train !== null) return train;
  return r.startedAt !== null && r.endedAt !== null ? (r.endedAt - r.startedAt) / 1000 : null;
}

/** The trainer's CPU time over its epochs (time/cpu_s; runs from before it have none). */
function cpuS(store: Store, r: RunRecord): number | null {
  return r.status === 'completed' ? store.sumOf(r.id, 'time/cpu_s') : null;
}

/** Why a run has no value, in a few words: "diverged at epoch 2", "failed: <error>". */
export function runProblem(r: RunRecord): string | null {
  if (r.status === 'completed') return null;
  if (r.status === 'failed') {
    const div = /diverged\b.*?\bat epoch (\d+)/.exec(r.error ?? '');
    if (div) return `diverged at epoch ${div[1]}`;
    const first = (r.error ?? 'no error recorded').split('\n')[0]!.trim();
    return `failed: ${first.length > 80 ? `${first.slice(0, 77)}...` : first}`;
  }
  return r.status; // running, queued, cancelled, interrupted
}

function pairingOf(store: Store, runId: number): PairingPayload | null {
  return store.eventPayload(runId, 'pairing') as PairingPayload | null;
}

/** One run per seed: the first completed one, else the latest (a seed run again — a failed run
 * re-run as a new one, a CLI and the app both training it — must not count twice). The first, not
 * the latest: re-running a seed after seeing its result and keeping the new one would be a choice
 * made by looking. */
function onePerSeed(runs: readonly RunRecord[]): RunRecord[] {
  const bySeed = new Map<number, RunRecord>();
  for (const r of [...runs].sort((a, b) => a.id - b.id)) {
    const had = bySeed.get(r.seed);
    if (!had || had.status !== 'completed') bySeed.set(r.seed, r);
  }
  return [...bySeed.values()].sort((a, b) => a.seed - b.seed);
}

/** Seeds with more than one completed run (only the first counts): said in the completion text. */
function repeatedSeeds(runs: readonly RunRecord[]): number[] {
  const n = new Map<number, number>();
  for (const r of runs) if (r.status === 'completed') n.set(r.seed, (n.get(r.seed) ?? 0) + 1);
  return [...n].filter(([, k]) => k > 1).map(([s]) => s).sort((a, b) => a - b);
}

/** "4 of 5 completed: seed 3 diverged at epoch 2; seed 5 not started". */
function completion(runs: readonly ComparedRun[], seeds: readonly number[] | null, repeated: readonly number[] = []): ArmSummary['completion'] {
  const bySeed = new Map(runs.map((r) => [r.seed, r]));
  const all = [...new Set([...(seeds ?? []), ...runs.map((r) => r.seed)])].sort((a, b) => a - b);
  const completed = runs.filter((r) => r.value !== null).length;
  const why = all
    .map((s) => {
      const r = bySeed.get(s);
      if (!r) return `seed ${s} not started`;
      if (r.value !== null) return null;
      return `seed ${s} ${r.problem ?? (r.status === 'completed' ? 'has no value for the metric' : r.status)}`;
    })
    .filter((x): x is string => x !== null);
  if (repeated.length) why.push(`seed${repeated.length > 1 ? 's' : ''} ${repeated.join(', ')} completed more than once: the first run counts`);
  const text = `${completed} of ${all.length} completed${why.length ? `: ${why.slice(0, 4).join('; ')}${why.length > 4 ? `; ${why.length - 4} more` : ''}` : ''}`;
  return { completed, total: all.length, text };
}

/** Geometric mean of per-seed ratios with their range (a ratio's natural average: 2x and 0.5x
 * cancel). */
function ratioSummary(ratios: number[]): { ratio: number; min: number; max: number; n: number } | null {
  const r = ratios.filter((x) => Number.isFinite(x) && x > 0);
  if (!r.length) return null;
  const g = Math.exp(r.reduce((s, x) => s + Math.log(x), 0) / r.length);
  return { ratio: g, min: Math.min(...r), max: Math.max(...r), n: r.length };
}

/**
 * The test set is the same for every seed, so the seed-to-seed t-interval leaves out that it is one
 * sample of images. With c_i = (1/n) sum over seeds of (arm right on image i) - (reference right),
 * the mean difference is mean_i c_i, and its standard error over a resampled test set is
 * sd(c, ddof 1) / sqrt(N) (the images are shared by every seed and both arms: the covariance
 * across seeds is in c). Both parts together, as independent sources: delta ± t(0.975, n-1) x
 * sqrt(sd_seeds^2 / n + se_test^2) — a wider, honest interval for "on another test set too".
 */
export function testSampleError(sums: readonly number[], n: number, delta: number, sdSeeds: number): { se: number; ci95: [number, number] } {
  const N = sums.length;
  const c = sums.map((x) => x / n);
  const mean = c.reduce((s, x) => s + x, 0) / N;
  const varC = c.reduce((s, x) => s + (x - mean) ** 2, 0) / (N - 1);
  const se = Math.sqrt(varC / N);
  const half = tQuantile975(n - 1) * Math.sqrt((sdSeeds * sdSeeds) / n + se * se);
  return { se, ci95: [delta - half, delta + half] };
}

/**
 * Seeds the confidence sequence needs to exclude 0 with about 80% probability when the true mean
 * difference is `effect`: the smallest n whose half-width plus 0.84 standard errors is below the
 * effect (the mean lands above its lower end with probability ~0.8), taking the sample SD as the
 * true one — an approximation, which the verdict text marks with "~". Null above 1000 seeds.
 */
export function csSeedsNeeded(effect: number, sd: number, alpha: number, targetN: number): number | null {
  const c = csMixing(alpha, targetN);
  for (let n = 2; n <= 1000; n++) if (csHalfWidthFactor(n, alpha, c) * sd + 0.8416 * (sd / Math.sqrt(n)) <= effect) return n;
  return null;
}

/** Per-image correctness of a run's best checkpoint, read once per finished run: a comparison is
 * summarised again at every status change, and 50 seeds x 8 arms x 10,000 test images are 4
 * million rows. A run's predictions change only when it is resumed, which changes its end time. */
const correctnessCache = new WeakMap<Store, Map<number, { endedAt: number | null; data: { idx: Int32Array; ok: Uint8Array } }>>();
function correctnessOf(store: Store, r: ComparedRun): { idx: Int32Array; ok: Uint8Array } {
  let m = correctnessCache.get(store);
  if (!m) correctnessCache.set(store, (m = new Map()));
  const hit = m.get(r.runId);
  if (hit && hit.endedAt === r.endedAt) return hit.data;
  const data = store.evaluations.correctByIndex(r.runId);
  m.set(r.runId, { endedAt: r.endedAt, data });
  return data;
}

/** Other runs on the same host whose [start, end] overlaps the run's: what else loaded the machine. */
function overlapping(all: readonly RunRecord[], r: RunRecord, now: number): number {
  if (r.startedAt === null) return 0;
  const end = r.endedAt ?? now;
  return all.filter((o) => o.id !== r.id && o.host === r.host && o.startedAt !== null && o.startedAt < end && (o.endedAt ?? now) > r.startedAt!).length;
}

/** A margin and an effect are in the planned metric's units: for another metric they mean nothing
 * (0.5 points of accuracy are not 0.5 of a loss), so they are dropped unless the query gives them. */
function metricChanged(p: AnalysisPlan, metric: string | undefined, planned: string): AnalysisPlan {
  if (metric === undefined || metric === planned) return p;
  const { margin: _m, effect: _e, ...rest } = p;
  return rest as AnalysisPlan;
}

/** The effective plan: the experiment's (or the defaults) with a query's overrides. */
export function effectivePlan(base: AnalysisPlan | null, q: Pick<SummaryQuery, 'test' | 'correction' | 'reference' | 'margin' | 'alpha'>): AnalysisPlan {
  const p = { ...(base ?? analysisPlanSchema.parse({})) };
  if (q.margin === null) delete p.margin;
  return {
    ...p,
    ...(q.test !== undefined ? { test: q.test } : {}),
    ...(q.correction !== undefined ? { correction: q.correction } : {}),
    ...(q.reference !== undefined ? { reference: q.reference } : {}),
    ...(typeof q.margin === 'number' ? { margin: q.margin } : {}),
    ...(q.alpha !== undefined ? { alpha: q.alpha } : {}),
  };
}


export function compareGroups(store: Store, title: string, groups: readonly ArmGroup[], req: CompareRequest): ComparisonSummary {
  const { metric, rule, analysis: plan } = req;
  const higherIsBetter = higherIsBetterOf(metric);
  const base = groups.find((g) => g.role === 'baseline') ?? groups[0];
  const scale = displayScale(metric);
  const marginRaw = plan.margin !== undefined ? plan.margin / scale : null;
  const effectRaw = plan.effect !== undefined ? plan.effect / scale : null;
  const now = Date.now();
  const allRuns = store.listRuns();

  const compared = new Map<ArmGroup, { record: RunRecord; row: ComparedRun }[]>();
  for (const g of groups) {
    compared.set(
      g,
      onePerSeed(g.runs).map((r) => ({
        record: r,
        row: {
          runId: r.id,
          seed: r.seed,
          status: r.status,
          ...selectValue(store, r, metric, rule),
          wallS: wallS(store, r),
          cpuS: cpuS(store, r),
          problem: runProblem(r),
          startedAt: r.startedAt,
          endedAt: r.endedAt,
        },
      })),
    );
  }

  // Who is compared with whom.
  const refName = plan.reference;
  const named = refName !== 'baseline' && refName !== 'previous' ? groups.find((g) => g.name === refName) : undefined;
  if (refName !== 'baseline' && refName !== 'previous' && !named) {
    throw new ApiFailure({ code: 'bad_request', message: `reference must be "baseline", "previous" or an arm name (${groups.map((g) => g.name).join(', ')}); got "${refName}"`, field: 'reference' });
  }
  const referenceOf = (g: ArmGroup, i: number): ArmGroup | null => {
    if (named) return g === named ? null : named;
    if (g === base) return null;
    if (refName === 'previous') return groups[i - 1] ?? null;
    return base ?? null;
  };
  const refs = groups.map((g, i) => referenceOf(g, i));
  const compareNames = groups.filter((_, i) => refs[i] !== null).map((g) => g.name);
  const family = (plan.family ?? compareNames).filter((n) => compareNames.includes(n));
  const notInFamily = (plan.family ?? []).filter((n) => !compareNames.includes(n));
  const k = Math.max(1, family.length);
  // Confidence sequences for the family are Bonferroni-corrected (alpha / k each): Holm's
  // step-down has no anytime-valid counterpart as simple, and Bonferroni keeps the family-wise
  // error of "seeds run until decided" at alpha under any dependence between the arms.
  const alphaCS = (name: string) => (family.includes(name) ? plan.alpha / k : plan.alpha);
  const targetN = plan.maxSeeds ?? (plan.sequential ? DEFAULT_MAX_SEEDS : 10);

  const seedLog = req.seedLog;
  const lateUser = seedLog.filter((e) => e.by === 'user' && e.afterResults);
  const fixedNInvalid = plan.sequential
    ? 'seeds were run until decided: the fixed-n p-values and intervals assume n was fixed in advance; the anytime-valid confidence sequence decides'
    : lateUser.length
      ? `seed${lateUser.flatMap((e) => e.seeds).length > 1 ? 's' : ''} ${lateUser.flatMap((e) => e.seeds).join(', ')} ${lateUser.flatMap((e) => e.seeds).length > 1 ? 'were' : 'was'} added after results were seen: the fixed-n p-values and intervals are not valid (optional stopping); the anytime-valid confidence sequence is`
      : null;

  const basePairing = new Map<ArmGroup, Map<number, PairingPayload | null>>();
  const pairingOfGroup = (g: ArmGroup) => {
    let m = basePairing.get(g);
    if (!m) {
      m = new Map(compared.get(g)!.map(({ row }) => [row.seed, pairingOf(store, row.runId)]));
      basePairing.set(g, m);
    }
    return m;
  };
  const pairing: ComparisonSummary['pairing'] = [];

  interface Work {
    g: ArmGroup;
    ref: ArmGroup | null;
    paired: PairedSummary | null;
    testP: number | null;
    tostP: number | null;
    diffs: number[];
    direction?: number;
  }
  const work: Work[] = groups.map((g, i) => {
    const ref = refs[i]!;
    if (!ref) return { g, ref, paired: null, testP: null, tostP: null, diffs: [] };
    const mine = compared.get(g)!.map((x) => x.row);
    const refBySeed = new Map(compared.get(ref)!.filter((x) => x.row.value !== null).map((x) => [x.row.seed, x.row]));
    const pairs = mine.filter((r) => r.value !== null && refBySeed.has(r.seed)).map((r) => [r, refBySeed.get(r.seed)!] as const);
    const total = pairs[0]?.[0].count?.total;
    const counted = total !== undefined && pairs.every(([a, b]) => a.count?.total === total && b.count?.total === total);
    const c = counted
      ? pairedComparison(pairs.map(([a]) => a.count!.correct), pairs.map(([, b]) => b.count!.correct), higherIsBetter, { divisor: total })
      : pairedComparison(pairs.map(([a]) => a.value!), pairs.map(([, b]) => b.value!), higherIsBetter);
    const diffs = counted ? pairs.map(([a, b]) => (a.count!.correct - b.count!.correct) / total) : pairs.map(([a, b]) => a.value! - b.value!);
    const { wilcoxonTooFew, rankDirection, ...p } = c;
    // Too few seeds for the signed-rank test to ever reach p < 0.05: say so instead of a number.
    const pWilcoxon = wilcoxonTooFew ? null : p.pWilcoxon;
    const n = c.n;
    let tost: PairedSummary['tost'] = null;
    if (marginRaw !== null && n >= 2) {
      // identical differences: no test (as for the primary test), so nothing enters the family's
      // adjustment — a p of 0 there would let Holm step down for the other arms
      if (!c.identical) tost = { p: tostPaired(diffs, marginRaw).p, margin: marginRaw };
    }
    let mcnemar: PairedSummary['mcnemar'] = null;
    let testSample: PairedSummary['testSample'] = null;
    if (metric === 'test/acc' && rule === 'best-val' && pairs.length) {
      const rows: NonNullable<PairedSummary['mcnemar']> = [];
      // per test image, the sum over seeds of (arm right) - (reference right): the image's share
      // of the mean difference, whose spread over images is the test sample's part of the error
      const perImage = new Map<number, number>();
      for (const [a, b] of pairs) {
        const ca = correctnessOf(store, a);
        const cb = correctnessOf(store, b);
        // no predictions stored, or another test set (other image indices)
        if (!ca.idx.length || ca.idx.length !== cb.idx.length || !ca.idx.every((v, i) => v === cb.idx[i])) continue;
        let armOnly = 0;
        let refOnly = 0;
        for (let i = 0; i < ca.ok.length; i++) {
          const d = ca.ok[i]! - cb.ok[i]!;
          if (d > 0) armOnly++;
          else if (d < 0) refOnly++;
          if (d !== 0) perImage.set(ca.idx[i]!, (perImage.get(ca.idx[i]!) ?? 0) + d);
        }
        rows.push({ seed: a.seed, armOnly, refOnly, p: mcnemarExact(armOnly, refOnly) });
      }
      mcnemar = rows.length ? rows : null;
      const total = pairs[0]![0].count?.total;
      if (rows.length === pairs.length && total !== undefined && n >= 2) {
        // images where every seed agrees contribute 0 (perImage holds the others)
        const sums = [...perImage.values()];
        while (sums.length < total) sums.push(0);
        testSample = testSampleError(sums, n, c.delta!, c.sdDelta!);
      }
    }
    const paired: PairedSummary = {
      ...p,
      pWilcoxon,
      reference: ref.name,
      exact: counted,
      identical: c.identical,
      pAdjusted: null,
      cs: n >= 2 ? tConfidenceSequence(diffs, alphaCS(g.name), { targetN }) : null,
      bootstrap: n >= 2 ? bootstrapMeanCI(diffs, { method: 'bca', seed: 0 }) : null,
      tost,
      signP: signTest(c.betterIn, c.worseIn),
      pBetter: predictiveBetter(c.betterIn, c.tiedIn, n),
      mcnemar,
      testSample,
      mde80: n >= 2 && c.sdDelta !== null && c.sdDelta > 0 ? mde(c.sdDelta, n, plan.alpha / k) : null,
    };
    const refPairing = pairingOfGroup(ref);
    for (const r of mine) {
      const x = pairingOf(store, r.runId);
      const y = refPairing.get(r.seed);
      if (!x || !y) continue; // runs from before the pairing event, or not started yet
      const problem = pairingProblem(x, y);
      if (problem) pairing.push({ seed: r.seed, arm: g.name, problem });
    }
    return { g, ref, paired, testP: c.identical ? null : plan.test === 't' ? p.pTTest : pWilcoxon, tostP: tost?.p ?? null, diffs, direction: plan.test === 'wilcoxon' ? rankDirection : undefined };
  });

  // Multiplicity: the family's planned-test p-values (and TOST p-values) adjusted together.
  const famWork = work.filter((w) => w.paired && family.includes(w.g.name));
  const adj = adjustP(famWork.map((w) => w.testP), plan.correction);
  const adjTost = adjustP(famWork.map((w) => w.tostP), plan.correction);
  const tostAdjusted = new Map<Work, number | null>();
  famWork.forEach((w, i) => {
    w.paired!.pAdjusted = adj[i] ?? null;
    tostAdjusted.set(w, adjTost[i] ?? null);
  });

  const verdictOf = (w: Work): Verdict | null => {
    const p = w.paired;
    if (!p) return null;
    const confirmatory = family.includes(w.g.name);
    return armVerdict({
      n: p.n,
      delta: p.delta,
      sdDelta: p.sdDelta,
      identical: p.identical,
      cs: p.cs,
      p: confirmatory ? p.pAdjusted : w.testP,
      tostP: confirmatory ? (tostAdjusted.get(w) ?? null) : w.tostP,
      confirmatory,
      useCS: fixedNInvalid !== null,
      higherIsBetter,
      alpha: plan.alpha,
      k,
      margin: marginRaw,
      effect: effectRaw,
      fmt: (v) => `${formatMetric(metric, v)}${metricUnits(metric).delta ? ` ${metricUnits(metric).delta}` : ''}`, // "0.40 pp"
      direction: w.direction,
      seedsNeeded: (e, sd, a) => (fixedNInvalid !== null ? csSeedsNeeded(e, sd, a, targetN) : seedsNeeded(e, sd, a)),
    });
  };

  const arms: ArmSummary[] = work.map((w) => {
    const rows = compared.get(w.g)!.map((x) => x.row);
    const d = describe(rows.map((r) => r.value).filter((v): v is number => v !== null));
    const ref = w.ref;
    const refRows = ref ? new Map(compared.get(ref)!.map((x) => [x.row.seed, x])) : null;
    const failsWhereReferenceDoesNot = refRows
      ? compared
          .get(w.g)!
          .filter((x) => x.record.status === 'failed' && refRows.get(x.row.seed)?.record.status === 'completed')
          .map((x) => x.row.seed)
      : [];
    const wallRatios: number[] = [];
    const cpuRatios: number[] = [];
    const loadWarnings: string[] = [];
    if (refRows) {
      const refSeedStarts = [...refRows.values()];
      for (const x of compared.get(w.g)!) {
        const y = refRows.get(x.row.seed);
        if (!y || x.row.wallS === null || y.row.wallS === null) continue;
        wallRatios.push(x.row.wallS / y.row.wallS);
        if (x.row.cpuS !== null && y.row.cpuS !== null && y.row.cpuS > 0) cpuRatios.push(x.row.cpuS / y.row.cpuS);
        const la = overlapping(allRuns, x.record, now);
        const lb = overlapping(allRuns, y.record, now);
        if (la !== lb) loadWarnings.push(`seed ${x.row.seed}: ${w.g.name} ran beside ${la} other run${la === 1 ? '' : 's'}, ${ref!.name} beside ${lb}`);
        else {
          const [s0, s1] = [x.record.startedAt ?? 0, y.record.startedAt ?? 0].sort((p, q) => p - q);
          const between = [...compared.values()].flat().filter((z) => z.row.seed !== x.row.seed && z.record.startedAt !== null && z.record.startedAt > s0! && z.record.startedAt < s1!).length;
          if (between > 0 && refSeedStarts.length) loadWarnings.push(`seed ${x.row.seed}: not interleaved (${between} run${between === 1 ? '' : 's'} of other seeds started between the two)`);
        }
      }
    }
    const wall = ratioSummary(wallRatios);
    const mean = (xs: (number | null)[]) => describe(xs.filter((x): x is number => x !== null)).mean;
    return {
      name: w.g.name,
      role: w.g === base ? 'baseline' : 'arm',
      runs: rows,
      n: d.n,
      mean: d.mean,
      std: d.std,
      completion: completion(rows, req.seeds, repeatedSeeds(w.g.runs)),
      failsWhereReferenceDoesNot,
      paired: w.paired,
      confirmatory: family.includes(w.g.name),
      verdict: verdictOf(w),
      cost: { wall, cpu: ratioSummary(cpuRatios), loadWarnings },
      meanWallS: mean(rows.map((r) => r.wallS)),
      costRatio: wall?.ratio ?? null,
    };
  });

  const exploratory: string[] = [];
  // a family member that is not compared (it is the reference now, or has another name): the
  // family shrank, so its adjustment is not the planned one
  if (notInFamily.length) exploratory.push(`family member${notInFamily.length > 1 ? 's' : ''} ${notInFamily.join(', ')} not compared`);
  const pl = req.planned;
  if (pl) {
    if (metric !== pl.metric) exploratory.push(`metric ${metric} (planned: ${pl.metric})`);
    if (rule !== pl.rule) exploratory.push(`rule ${rule} (planned: ${pl.rule})`);
    if (plan.test !== pl.analysis.test) exploratory.push(`test ${plan.test} (planned: ${pl.analysis.test})`);
    if (plan.correction !== pl.analysis.correction) exploratory.push(`correction ${plan.correction} (planned: ${pl.analysis.correction})`);
    if (plan.reference !== pl.analysis.reference) exploratory.push(`reference ${plan.reference} (planned: ${pl.analysis.reference})`);
    if (plan.alpha !== pl.analysis.alpha) exploratory.push(`alpha ${plan.alpha} (planned: ${pl.analysis.alpha})`);
    if (plan.margin !== pl.analysis.margin) exploratory.push(plan.margin === undefined ? 'no margin (planned: ±' + pl.analysis.margin + ')' : `margin ±${plan.margin} (planned: ${pl.analysis.margin === undefined ? 'none' : `±${pl.analysis.margin}`})`);
  }

  const analysis: AnalysisSummary = {
    test: plan.test,
    alpha: plan.alpha,
    correction: plan.correction,
    reference: plan.reference,
    family,
    margin: marginRaw,
    effect: effectRaw,
    maxSeeds: plan.maxSeeds ?? (plan.sequential ? DEFAULT_MAX_SEEDS : null),
    sequential: plan.sequential,
    declared: pl?.declared ?? false,
    exploratory,
    fixedNInvalid,
  };

  const stopping = plan.sequential
    ? stoppingRule(
        arms.filter((x) => x.confirmatory && x.paired),
        Math.max(0, ...arms.map((x) => x.runs.length)),
        analysis.maxSeeds!,
      )
    : null;

  const summary: ComparisonSummary = { title, metric, rule, higherIsBetter, baseline: base?.name ?? '', arms, pairing, analysis, methods: '', stopping };
  summary.methods = methodsParagraph(summary);
  return summary;
}

/** The arms of an experiment, the baseline first (pre-training runs are not compared). */
export function experimentGroups(store: Store, experimentId: number): { title: string; groups: ArmGroup[]; info: ExperimentInfo } {
  const info = store.experiments.get(experimentId);
  if (!info) throw new Error(`experiment ${experimentId} does not exist`);
  const groups: ArmGroup[] = info.arms
    .filter((a) => a.role !== 'pretrain')
    .sort((a, b) => (a.role === 'baseline' ? -1 : b.role === 'baseline' ? 1 : a.position - b.position))
    .map((a) => ({
      name: a.name,
      role: a.role === 'baseline' ? 'baseline' : 'arm',
      runs: info.runs.filter((x) => x.armId === a.id).map((x) => store.getRun(x.runId)).filter((r): r is RunRecord => !!r),
    }));
  // An external experiment whose scripts named a baseline arm that has logged no run yet: the
  // arms are compared with it (no paired seeds so far), never with whichever arm came first.
  const declared = info.source === 'external' ? store.experiments.spec(experimentId)?.baselineArm : undefined;
  if (declared !== undefined && !groups.some((g) => g.role === 'baseline')) groups.unshift({ name: declared, role: 'baseline', runs: [] });
  return { title: info.name, groups, info };
}

/** A run's name without its seed part (` · seed 3`, `seed=3`, `seed 3`), or null when the run has
 * no name of its own: none, or the one describeConfig generated (today's or an older one's). */
export function givenRunName(r: Pick<RunRecord, 'name' | 'config' | 'seed'>): string | null {
  const name = r.name.trim();
  if (!name || (r.config && (name === describeConfig(r.config) || name === legacyDescribeConfig(r.config)))) return null;
  const stripped = name
    .replace(new RegExp(`\\s*(·\\s*)?\\bseed[ =]?${r.seed}\\b\\s*`, 'i'), ' ')
    .replace(/\s*·\s*$/, '')
    .trim();
  return stripped || null;
}

/** Ad-hoc selections: runs whose configs differ only in seed and name are one arm (the first
 * selected run's arm is the baseline). An arm is named, unique within the comparison: by its
 * runs' name when they share one (without the seed part, and without the start every arm's name
 * shares: `ls · smoothed` is "smoothed" beside `ls · baseline`), else by the tricks it
 * changes against the baseline ("label smoothing ε=0.1"), else by the other fields it changes
 * ("lr 0.01"); the baseline without a name of its own is "baseline". Arms whose names would
 * coincide get what tells them apart in parentheses, or their first run's id. */
export function adhocGroups(runs: readonly RunRecord[], armOf: (r: RunRecord) => string | undefined = () => undefined): ArmGroup[] {
  // External runs (config null): by the experiment arm their script named, else by their params
  // without the seed and name; never one arm with our runs.
  const keyOf = (r: RunRecord) => {
    const arm = r.config ? undefined : armOf(r);
    if (arm !== undefined) return JSON.stringify(['external arm', arm]);
    const f = flatSettings(r);
    const ignore = (k: string) => (r.config ? NOT_ARM_FIELDS.has(k) : SEED_OR_NAME.test(k));
    return JSON.stringify([r.source, Object.keys(f).filter((k) => !ignore(k)).sort().map((k) => [k, f[k]])]);
  };
  const groups = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const k = keyOf(r);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const list = [...groups.values()];
  if (!list.length) return [];
  const base = list[0]![0]!;
  const given = list.map((rs) => {
    const names = new Set(rs.map(givenRunName));
    return names.size === 1 ? [...names][0]! : null;
  });
  // Names that all start alike (`exp · baseline`, `exp · mixup`: runs of one experiment) are
  // named by what follows.
  if (list.length > 1 && given.every((g) => g !== null)) {
    const parts = given.map((g) => g!.split(' · '));
    let common = 0;
    while (parts.every((p) => p.length > common + 1 && p[common] === parts[0]![common])) common++;
    if (common) given.forEach((_, i) => (given[i] = parts[i]!.slice(common).join(' · ')));
  }
  const armed = list.map((rs, i) => {
    const { tricks, other } = i === 0 ? { tricks: [], other: [] } : armDifferences(base, rs[0]!);
    const described = tricks.length ? tricks.join(' + ') : other.join(', ');
    // what would tell it apart from an arm named alike: what its name does not say yet
    const more = given[i] !== null ? [...tricks, ...other] : tricks.length ? other : [];
    return { rs, i, more, name: given[i] ?? (i === 0 ? 'baseline' : described || `arm ${i}`) };
  });
  const clashes = () => {
    const seen = new Map<string, number>();
    for (const a of armed) seen.set(a.name, (seen.get(a.name) ?? 0) + 1);
    return armed.filter((a) => seen.get(a.name)! > 1);
  };
  // Named alike: say what differs (the baseline keeps its name), then which run.
  for (const a of clashes()) {
    if (a.i !== 0 && a.more.length) a.name = `${a.name} (${a.more.join(', ')})`;
  }
  for (const a of clashes()) if (a.i !== 0) a.name = `${a.name} #${a.rs[0]!.id}`;
  return armed.map((a) => ({ name: a.name, role: a.i === 0 ? 'baseline' : 'arm', runs: a.rs }));
}

/** What a run changes against the baseline's: our tricks and other config fields, or an external
 * run's params (as `key value`); between one of ours and an external run, nothing nameable. */
function armDifferences(base: RunRecord, arm: RunRecord): { tricks: string[]; other: string[] } {
  if (base.config && arm.config) return { tricks: trickDifferences(base.config, arm.config), other: configDifferences(base.config, arm.config, NOT_ARM_FIELDS) };
  if (!base.config && !arm.config) return { tricks: [], other: paramDifferences(base.params, arm.params) };
  return { tricks: [], other: [] };
}

/** Overrides in a query, validated (hostile input: each error names its field). */
export function checkOverrides(q: Pick<SummaryQuery, 'test' | 'correction' | 'reference' | 'margin' | 'alpha'>): void {
  const bad = (field: string, message: string) => new ApiFailure({ code: 'bad_request', message, field });
  if (q.test !== undefined && !TESTS.includes(q.test)) throw bad('test', `test must be one of ${TESTS.join(', ')}`);
  if (q.correction !== undefined && !P_ADJUST_METHODS.includes(q.correction)) throw bad('correction', `correction must be one of ${P_ADJUST_METHODS.join(', ')}`);
  if (q.reference !== undefined && (typeof q.reference !== 'string' || !q.reference.trim() || q.reference.length > 80)) throw bad('reference', 'reference must be "baseline", "previous" or an arm name');
  if (q.margin !== undefined && q.margin !== null && !(typeof q.margin === 'number' && Number.isFinite(q.margin) && q.margin > 0)) throw bad('margin', 'margin must be a positive number (points for accuracy-type metrics), or null for none');
  if (q.alpha !== undefined && !(typeof q.alpha === 'number' && q.alpha > 0 && q.alpha <= 0.2)) throw bad('alpha', 'alpha must be a number in (0, 0.2]');
}

/** The comparison an API call or an export asks for: of an experiment (its metric, rule and
 * analysis plan unless overridden — then exploratory), or of selected runs grouped into arms
 * (the default plan). Bad input is an ApiFailure naming the field. */
export function summarize(store: Store, q: SummaryQuery): ComparisonSummary {
  q = q ?? {};
  const rule = q.rule;
  if (rule !== undefined && !SELECTION_RULES.includes(rule)) throw new ApiFailure({ code: 'bad_request', message: `rule must be one of ${SELECTION_RULES.join(', ')}`, field: 'rule' });
  if (q.metric !== undefined && (typeof q.metric !== 'string' || !q.metric)) throw new ApiFailure({ code: 'bad_request', message: 'metric must be a metric key such as test/acc', field: 'metric' });
  checkOverrides(q);
  if (q.experimentId !== undefined && q.experimentId !== null) {
    if (!Number.isInteger(q.experimentId)) throw new ApiFailure({ code: 'bad_request', message: 'experimentId must be an experiment id', field: 'experimentId' });
    const spec = store.experiments.spec(q.experimentId);
    if (!spec) throw new ApiFailure({ code: 'not_found', message: `experiment ${q.experimentId} does not exist`, field: 'experimentId' });
    const { title, groups, info } = experimentGroups(store, q.experimentId);
    const declared = spec.analysis;
    const planned = declared ?? analysisPlanSchema.parse({});
    const seedLog = info.seedLog;
    // A plan recorded after results could be seen (turning "run until decided" on later) is not a
    // plan declared in advance: its choices are the analysis, but not confirmatory by design.
    const inAdvance = declared !== null && !info.analysisSetLater?.afterResults;
    return compareGroups(store, title, groups, {
      metric: q.metric ?? spec.metric,
      rule: rule ?? spec.rule,
      analysis: effectivePlan(metricChanged(planned, q.metric, spec.metric), q),
      planned: { metric: spec.metric, rule: spec.rule, analysis: planned, declared: inAdvance },
      seeds: info.seeds,
      seedLog,
    });
  }
  if (!Array.isArray(q.runIds) || !q.runIds.every((x) => Number.isInteger(x))) {
    throw new ApiFailure({ code: 'bad_request', message: 'runIds must be a list of run ids (or give experimentId)', field: 'runIds' });
  }
  const found = q.runIds.map((i) => store.getRun(i));
  const missing = q.runIds.filter((_, k) => !found[k]);
  if (missing.length) throw new ApiFailure({ code: 'not_found', message: `no run with id ${missing.join(', ')}`, field: 'runIds' });
  const runs = found as RunRecord[];
  return compareGroups(store, `${runs.length} selected runs`, adhocGroups(runs, externalArms(store, runs)), {
    metric: q.metric ?? 'test/acc',
    rule: rule ?? 'best-val',
    analysis: effectivePlan(null, q),
    planned: null,
    seeds: null,
    seedLog: [],
  });
}

/** The experiment arm of each external run among `runs` (`experiment id:arm name`), which is what
 * its script said it is: ad-hoc selections group such runs by it rather than by their params. */
function externalArms(store: Store, runs: readonly RunRecord[]): (r: RunRecord) => string | undefined {
  const arms = new Map<number, string>();
  for (const experimentId of new Set(runs.flatMap((r) => (!r.config && r.experimentId !== null ? [r.experimentId] : [])))) {
    const info = store.experiments.get(experimentId);
    if (!info) continue;
    const names = new Map(info.arms.map((a) => [a.id, a.name]));
    for (const x of info.runs) {
      const name = names.get(x.armId);
      if (name !== undefined) arms.set(x.runId, `${experimentId}:${name}`);
    }
  }
  return (r) => arms.get(r.id);
}
