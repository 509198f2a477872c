// The comparison of arms across seeds: one number per run by an explicit selection rule, mean and
// SD per arm, and each arm paired with the baseline seed by seed (difference, 95% CI, paired
// t-test, Wilcoxon signed-rank, better in k of n, cost). Used by the app (compare view, exports)
// and the experiment CLI alike. Ad-hoc selections of runs are grouped into arms by their config
// without seed and name.
import { ApiFailure, type SummaryQuery } from '../../shared/api';
import { flattenConfig } from '../../shared/config';
import type { ArmSummary, ComparedRun, ComparisonSummary, PairingPayload, SelectionRule } from '../../shared/experiments';
import { NOT_ARM_FIELDS, pairingProblem, SELECTION_RULES } from '../../shared/experiments';
import { describe, pairedComparison } from '../../shared/stats';
import { lowerIsBetter, type RunRecord, type Store } from '../../store/store';

export interface ArmGroup {
  name: string;
  role: 'baseline' | 'arm';
  runs: RunRecord[];
}

/** One run's number under the rule. Unfinished runs have none: a mean over runs that stopped at
 * different points would mix epochs. Under best-val, the epoch is the one with the best val/acc
 * (the earliest on ties, as the best checkpoint is chosen), or the last without a validation split. */
export function selectValue(store: Store, run: RunRecord, metric: string, rule: SelectionRule): { value: number | null; epoch: number | null } {
  if (run.status !== 'completed') return { value: null, epoch: null };
  if (metric.startsWith('test/')) {
    const ev = store.evaluations.get(run.id)[rule === 'best-val' ? 'best' : 'last'];
    if (!ev) return { value: null, epoch: null };
    const v = metric === 'test/acc' ? ev.acc : metric === 'test/loss' ? ev.loss : metric === 'test/top5' ? ev.top5 : null;
    return { value: v, epoch: ev.epoch };
  }
  const last = store.lastEpochPoint(run.id, metric);
  if (!last) return { value: null, epoch: null };
  if (rule === 'last') return last;
  const e = store.bestEpoch(run.id, 'val/acc') ?? last.epoch;
  const value = store.valueAt(run.id, metric, e);
  return { value, epoch: value === null ? null : e };
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

function pairingOf(store: Store, runId: number): PairingPayload | null {
  return store.eventPayload(runId, 'pairing') as PairingPayload | null;
}

/** One run per seed: the latest completed one, else the latest (a seed run again — a failed run
 * resumed as a new one, a CLI and the app both training it — must not count twice). */
function onePerSeed(runs: readonly RunRecord[]): RunRecord[] {
  const bySeed = new Map<number, RunRecord>();
  for (const r of runs) {
    const had = bySeed.get(r.seed);
    if (!had || (r.status === 'completed') >= (had.status === 'completed')) bySeed.set(r.seed, r);
  }
  return [...bySeed.values()].sort((a, b) => a.seed - b.seed);
}

export function compareGroups(store: Store, title: string, groups: readonly ArmGroup[], metric: string, rule: SelectionRule): ComparisonSummary {
  const higherIsBetter = !lowerIsBetter(metric);
  const base = groups.find((g) => g.role === 'baseline') ?? groups[0];
  const compared = new Map<ArmGroup, ComparedRun[]>();
  for (const g of groups) {
    compared.set(
      g,
      onePerSeed(g.runs).map((r) => ({ runId: r.id, seed: r.seed, status: r.status, ...selectValue(store, r, metric, rule), wallS: wallS(store, r) })),
    );
  }
  const baseRuns = base ? compared.get(base)! : [];
  const baseBySeed = new Map(baseRuns.filter((r) => r.value !== null).map((r) => [r.seed, r]));
  const mean = (xs: (number | null)[]) => describe(xs.filter((x): x is number => x !== null)).mean;
  const baseWall = mean(baseRuns.map((r) => r.wallS));
  const pairing: ComparisonSummary['pairing'] = [];
  const basePairing = new Map(baseRuns.map((r) => [r.seed, pairingOf(store, r.runId)]));

  const arms: ArmSummary[] = groups.map((g) => {
    const runs = compared.get(g)!;
    const d = describe(runs.map((r) => r.value).filter((v): v is number => v !== null));
    let paired: ArmSummary['paired'] = null;
    if (g !== base) {
      const pairs = runs.filter((r) => r.value !== null && baseBySeed.has(r.seed));
      const { wilcoxonTooFew, ...p } = pairedComparison(
        pairs.map((r) => r.value!),
        pairs.map((r) => baseBySeed.get(r.seed)!.value!),
        higherIsBetter,
      );
      // Too few seeds for the signed-rank test to ever reach p < 0.05: say so instead of a number.
      paired = wilcoxonTooFew ? { ...p, pWilcoxon: null } : p;
      for (const r of runs) {
        const a = pairingOf(store, r.runId);
        const b = basePairing.get(r.seed);
        if (!a || !b) continue; // runs from before the pairing event, or not started yet
        const problem = pairingProblem(a, b);
        if (problem) pairing.push({ seed: r.seed, arm: g.name, problem });
      }
    }
    const w = mean(runs.map((r) => r.wallS));
    return {
      name: g.name,
      role: g === base ? 'baseline' : 'arm',
      runs,
      n: d.n,
      mean: d.mean,
      std: d.std,
      paired,
      meanWallS: w,
      costRatio: w !== null && baseWall ? w / baseWall : null,
    };
  });
  return { title, metric, rule, higherIsBetter, baseline: base?.name ?? '', arms, pairing };
}

/** The arms of an experiment, the baseline first (pre-training runs are not compared). */
export function experimentGroups(store: Store, experimentId: number): { title: string; groups: ArmGroup[] } {
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
  return { title: info.name, groups };
}

/** Ad-hoc selections: runs whose configs differ only in seed and name are one arm (the first
 * selected run's arm is the baseline); an arm is named by what it changes against the baseline. */
export function adhocGroups(runs: readonly RunRecord[]): ArmGroup[] {
  const keyOf = (r: RunRecord) => {
    const f = flattenConfig(r.config);
    return JSON.stringify(Object.keys(f).filter((k) => !NOT_ARM_FIELDS.has(k)).sort().map((k) => [k, f[k]]));
  };
  const groups = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const k = keyOf(r);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const list = [...groups.values()];
  if (!list.length) return [];
  const base = flattenConfig(list[0]![0]!.config);
  const label = (rs: RunRecord[], i: number): string => {
    if (i === 0) return 'baseline';
    const f = flattenConfig(rs[0]!.config);
    const diff = Object.keys({ ...base, ...f })
      .filter((k) => !NOT_ARM_FIELDS.has(k) && base[k] !== f[k])
      .map((k) => `${k}=${f[k] ?? '—'}`);
    return diff.slice(0, 3).join(', ') + (diff.length > 3 ? ` +${diff.length - 3}` : '') || `arm ${i}`;
  };
  return list.map((rs, i) => ({ name: label(rs, i), role: i === 0 ? 'baseline' : 'arm', runs: rs }));
}

/** The comparison an API call or an export asks for: of an experiment (its metric and rule unless
 * given), or of selected runs grouped into arms. Bad input is an ApiFailure naming the field. */
export function summarize(store: Store, q: SummaryQuery): ComparisonSummary {
  const rule = q?.rule;
  if (rule !== undefined && !SELECTION_RULES.includes(rule)) throw new ApiFailure({ code: 'bad_request', message: `rule must be one of ${SELECTION_RULES.join(', ')}`, field: 'rule' });
  if (q?.metric !== undefined && (typeof q.metric !== 'string' || !q.metric)) throw new ApiFailure({ code: 'bad_request', message: 'metric must be a metric key such as test/acc', field: 'metric' });
  if (q?.experimentId !== undefined && q.experimentId !== null) {
    if (!Number.isInteger(q.experimentId)) throw new ApiFailure({ code: 'bad_request', message: 'experimentId must be an experiment id', field: 'experimentId' });
    const spec = store.experiments.spec(q.experimentId);
    if (!spec) throw new ApiFailure({ code: 'not_found', message: `experiment ${q.experimentId} does not exist`, field: 'experimentId' });
    const { title, groups } = experimentGroups(store, q.experimentId);
    return compareGroups(store, title, groups, q.metric ?? spec.metric, rule ?? spec.rule);
  }
  if (!Array.isArray(q?.runIds) || !q.runIds.every((x) => Number.isInteger(x))) {
    throw new ApiFailure({ code: 'bad_request', message: 'runIds must be a list of run ids (or give experimentId)', field: 'runIds' });
  }
  const found = q.runIds.map((i) => store.getRun(i));
  const missing = q.runIds.filter((_, k) => !found[k]);
  if (missing.length) throw new ApiFailure({ code: 'not_found', message: `no run with id ${missing.join(', ')}`, field: 'runIds' });
  const runs = found as RunRecord[];
  return compareGroups(store, `${runs.length} selected runs`, adhocGroups(runs), q.metric ?? 'test/acc', rule ?? 'best-val');
}
