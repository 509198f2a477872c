// `trickbench experiment --file exp.json --data-dir DIR` (or `--preset ID`): create the experiment
// in the store, train its runs one after another in this process — seed by seed, each seed's
// pre-training (if any) and then every arm — and print the per-arm summary table (verdict first),
// the planning figures and the methods paragraph, then as the LAST stdout line one JSON object
// {"experimentId", "metric", "rule", "baseline", "analysis", "stopping", "arms": [{"name",
// "verdict", "n", "completed", "mean", "std", "reference", "delta", "ci95", "cs", "bootstrap",
// "pTTest", "pWilcoxon", "pAdjusted", "pTost", "betterIn", "signP", "mde80", "seedsNeeded",
// "costRatio"}]} (null where undefined). An experiment whose plan says `sequential` trains seed by
// seed until every confirmatory arm is decided (or maxSeeds). `--experiment ID` continues an
// experiment: runs it lacks (new seeds from --seeds — recorded as added after results were seen
// when some run had completed — or runs that never finished) are trained. Ctrl-C stops after the
// current run is cancelled; what finished is summarised.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import type { ComparisonSummary, ExperimentInfo, ExperimentPlan, PAdjustMethod, SelectionRule, TestName } from '../shared/experiments';
import { armRunConfig, formatExperimentErrors, P_ADJUST_METHODS, planExperiment, SELECTION_RULES, TESTS, type ArmSpec, type ExperimentFile } from '../shared/experiments';
import { BUILTIN_FACTS, type DatasetFacts } from '../shared/models/datasets';
import { mde, seedsNeeded } from '../shared/inference';
import { nextSeed } from '../shared/seed-plan';
import { csLevelText, displayScale, formatCost, formatInterval, formatMetric, formatP, metricUnits, shownP } from '../shared/summary-format';
import { openStoreFromEnv } from '../store/open';
import { resolveDataDir } from '../store/paths';
import type { Store } from '../store/store';
import { dbPath } from '../store/db';
import { locatedFactsOf } from '../data/facts';
import { executeRun } from '../trainer/run';
import { summarize } from './services/compare';
import { ExperimentService, launchOrder, loadPresets, readExperimentFile } from './services/experiments';
import { RunService } from './services/runs';
import { ApiFailure } from '../shared/api';
import { runIfScript } from '../cli/script';

interface Options {
  file?: string;
  preset?: string;
  experiment?: string;
  listPresets?: boolean;
  dataDir?: string;
  seeds?: string;
  epochs?: string;
  trainSubset?: string;
  metric?: string;
  rule?: string;
  test?: string;
  correction?: string;
  reference?: string;
  margin?: string;
  alpha?: string;
  pilotSd?: string;
  effect?: string;
}

class UsageError extends Error {}

function intList(v: string, flag: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  if (!parts.every((s) => /^\d+$/.test(s))) throw new UsageError(`${flag}: "${v}" is not a comma-separated list of integers`);
  return parts.map(Number);
}
function positiveNumber(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!/^[0-9.eE+-]+$/.test(v) || !Number.isFinite(x) || x <= 0) throw new UsageError(`${flag}: "${v}" is not a positive number`);
  return x;
}
function positive(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`${flag}: "${v}" is not a positive integer`);
  return Number(v);
}

/** --epochs / --train-subset shrink every run (a quick look): written into the file before it is
 * planned, so the stored experiment says what was run. */
function shrink(file: Record<string, unknown>, epochs?: number, trainSubset?: number): Record<string, unknown> {
  const f = structuredClone(file) as { baseline: Record<string, unknown>; pretrain?: { set: Record<string, unknown> }; arms: { set: Record<string, unknown> }[] };
  if (epochs !== undefined) {
    f.baseline.epochs = epochs;
    for (const s of [f.pretrain?.set, ...f.arms.map((a) => a.set)]) if (s && 'epochs' in s) s.epochs = epochs;
  }
  if (trainSubset !== undefined) {
    f.baseline.dataset = { ...(f.baseline.dataset as object | undefined), trainSubset };
    for (const s of [f.pretrain?.set, ...f.arms.map((a) => a.set)]) if (s && 'dataset.trainSubset' in s) s['dataset.trainSubset'] = trainSubset;
  }
  return f as unknown as Record<string, unknown>;
}

/** Seeds one at a time until the comparison's stopping rule says done (every confirmatory arm
 * decided by its confidence sequence, or the maximum of seeds), as the app's sequential runner
 * does (src/shared/seed-plan.ts): the experiment starts with its first 2 seeds, then each next
 * seed comes from the file's list, then the next free integers; each is logged as 'sequential'. */
async function trainSequential(store: Store, dataDir: string, info: ExperimentInfo, isCancelled: () => boolean, look: () => ComparisonSummary): Promise<void> {
  await trainAll(store, dataDir, info, isCancelled);
  while (!isCancelled()) {
    const now = store.experiments.get(info.id)!;
    const stopping = look().stopping;
    const next = nextSeed({ seeds: now.seeds, pool: store.experiments.spec(info.id)!.seedPool, plan: now.analysis, stopping });
    process.stderr.write(`after ${now.seeds.length} seeds: ${next.reason}\n`);
    if (next.seed === null) {
      store.experiments.setSequentialStop(info.id, { at: Date.now(), reason: next.reason });
      return;
    }
    store.experiments.setSeeds(info.id, [...now.seeds, next.seed], 'sequential');
    await trainAll(store, dataDir, { ...store.experiments.get(info.id)!, seeds: [next.seed] }, isCancelled);
  }
}

/** The facts of the datasets an experiment's arms name, located and inspected in this data dir
 * (an imported one is checked as the app checks it). */
async function armFacts(store: Store | null, dataDir: string, file: Pick<ExperimentFile, 'name' | 'baseline' | 'pretrain'>, arms: readonly ArmSpec[]): Promise<DatasetFacts> {
  const names = arms.map((a) => armRunConfig(file, a, 1, null, BUILTIN_FACTS).dataset.name);
  const { facts } = await locatedFactsOf(names, dataDir, { imported: (n) => store?.datasets.get(n) ?? null, systemDir: process.env.TRICKBENCH_SYSTEM_DATASETS, cache: store?.datasets ?? null });
  return facts;
}

/** An experiment whose file says `executor: slurm`: submitted to the cluster as serve would (one
 * job array; refused before anything is submitted when the cluster cannot honour it), then
 * followed here until every run has ended: the journals ingested, the jobs' states read. Ctrl-C
 * cancels its jobs. */
async function onCluster(store: Store, dataDir: string, raw: unknown, presetId: string | null, isCancelled: () => boolean): Promise<ExperimentInfo> {
  // the CLI entry running now (out/main/cli.js, through the bin's link): the nodes run it too
  const cli = fs.realpathSync(process.argv[1] ?? fileURLToPath(import.meta.url));
  const runs = new RunService({ store, dataDir, trainerEntry: path.join(path.dirname(cli), 'trainer.js'), concurrency: 0, emit: () => undefined, cluster: { cli } });
  runs.recover();
  const exps = new ExperimentService(runs);
  try {
    let info: ExperimentInfo;
    try {
      info = exps.create(raw, presetId);
    } catch (e) {
      if (e instanceof ApiFailure) throw new UsageError(`${e.error.field ? `${e.error.field}: ` : ''}${e.message}`);
      throw e;
    }
    const ids = info.runs.map((r) => r.runId);
    process.stderr.write(`submitted ${ids.length} runs to Slurm as job ${store.getRun(ids[0]!)?.jobId?.split('_')[0] ?? '?'}; following them (Ctrl-C cancels)\n`);
    let told = '';
    let stopped = false;
    for (;;) {
      // a sequential experiment's runner adds seeds as they are decided: until it has stopped
      const e = store.experiments.get(info.id)!;
      const now = e.runs.map((x) => store.getRun(x.runId)!).filter(Boolean);
      if (now.every((r) => r.status !== 'queued' && r.status !== 'running') && (!e.analysis?.sequential || e.sequentialStop !== null || stopped)) break;
      if (isCancelled() && !stopped) {
        stopped = true;
        exps.stopAll(info.id);
      }
      const counts = new Map<string, number>();
      for (const r of now) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
      const line = [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
      if (line !== told) process.stderr.write(`  ${(told = line)}\n`);
      await new Promise((r) => setTimeout(r, 1000));
      await runs.pollCluster();
    }
    return store.experiments.get(info.id)!;
  } finally {
    exps.close();
    await runs.close({ leaveRunning: true });
  }
}

async function trainAll(store: Store, dataDir: string, info: ExperimentInfo, isCancelled: () => boolean): Promise<void> {
  const spec = store.experiments.spec(info.id)!;
  const file = { name: info.name, baseline: spec.baseline, pretrain: spec.pretrain ?? undefined };
  const facts = await armFacts(store, dataDir, file, info.arms);
  const done = (armId: number, seed: number) =>
    store.experiments.get(info.id)!.runs.find((r) => r.armId === armId && r.seed === seed && store.getRun(r.runId)?.status === 'completed')?.runId ?? null;
  const pre = info.arms.find((a) => a.role === 'pretrain');
  for (const { seed, arm } of launchOrder(info.arms, info.seeds)) {
    if (isCancelled()) return;
    if (done(arm.id, seed) !== null) continue;
    let preRun: number | null = null;
    if (pre && arm.role !== 'pretrain') {
      preRun = done(pre.id, seed);
      if (preRun === null) {
        process.stderr.write(`seed ${seed}: ${arm.name} skipped: the pre-training run did not complete\n`);
        continue;
      }
    }
    const config = armRunConfig(file, arm, seed, preRun, facts);
    const run = store.createRun(config, 'running', config.name);
    store.experiments.link(run.id, info.id, arm.id);
    process.stderr.write(`run ${run.id}: ${arm.name}, seed ${seed}\n`);
    const out = await executeRun({
      store,
      runId: run.id,
      dataDir,
      isCancelled,
      hooks: {
        metrics(points) {
          const v = points.find((p) => p.key === 'val/acc');
          if (v) process.stderr.write(`  epoch ${v.epoch}: val/acc ${(100 * v.value).toFixed(2)}%\n`);
        },
      },
    });
    if (out.status !== 'completed') process.stderr.write(`  ${out.status}${out.error ? `: ${out.error}` : ''}\n`);
  }
}

/** The experiment CLI; its exit status: 0, 2 for bad arguments or files, 1 when it failed. */
export async function experiment(argv: string[]): Promise<number> {
  const program = new Command('trickbench experiment')
    .description('Create an experiment (baseline + arms x seeds) and train its runs, then print the paired comparison.')
    .option('--file <exp.json>', 'experiment file: {"name", "baseline": <run config>, "arms": [{"name", "set": {...}}], "seeds": [1, 2, 3]}')
    .option('--preset <id>', 'a preset from resources/presets instead of a file')
    .option('--experiment <id>', 'continue an existing experiment: train the runs it lacks')
    .option('--list-presets', 'list the presets and their arms')
    .option('--data-dir <dir>', 'data dir (default $TRICKBENCH_HOME or ~/.trickbench)')
    .option('--seeds <list>', "seeds instead of the file's (with --experiment: seeds to add)")
    .option('--epochs <n>', 'train every run for this many epochs instead (a quick look)')
    .option('--train-subset <n>', 'use this many training images in every run instead')
    .option('--metric <key>', "metric of the summary (default: the file's, else test/acc)")
    .option('--rule <rule>', `selection rule: ${SELECTION_RULES.join(' | ')} (default: the file's, else best-val)`)
    .option('--test <test>', `primary test: ${TESTS.join(' | ')} (default: the plan's, else t; off the plan is exploratory)`)
    .option('--correction <method>', `multiplicity correction: ${P_ADJUST_METHODS.join(' | ')} (default: the plan's, else holm)`)
    .option('--reference <arm>', 'compare with: baseline | previous (each arm with the one before) | an arm name')
    .option('--margin <points>', 'equivalence margin (points for accuracy-type metrics) for "equivalent within ±m"')
    .option('--alpha <a>', 'significance level (default: the plan\'s, else 0.05)')
    .option('--pilot-sd <points>', 'SD of paired differences to plan with (points for accuracy-type metrics) before any seed has run')
    .option('--effect <points>', 'the smallest effect worth detecting, for the seeds-needed figure')
    .exitOverride();
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    return (e as { exitCode?: number }).exitCode === 0 ? 0 : 2;
  }
  const o = program.opts<Options>();
  try {
    if (o.listPresets) {
      for (const p of loadPresets()) {
        process.stdout.write(`${p.id}: ${p.name} (seeds ${p.plan.file.seeds.join(', ')})\n  ${p.question}\n`);
        for (const a of [...(p.plan.pretrain ? [p.plan.pretrain] : []), ...p.plan.arms]) process.stdout.write(`  - ${a.name}${a.role === 'pretrain' ? ' (pre-training)' : a.role === 'baseline' ? ' (baseline)' : ''}\n`);
      }
      return 0;
    }
    if ([o.file, o.preset, o.experiment].filter(Boolean).length !== 1) throw new UsageError('give one of --file, --preset or --experiment');
    if (o.rule !== undefined && !SELECTION_RULES.includes(o.rule as SelectionRule)) throw new UsageError(`--rule: "${o.rule}" is not one of ${SELECTION_RULES.join(', ')}`);
    if (o.test !== undefined && !TESTS.includes(o.test as TestName)) throw new UsageError(`--test: "${o.test}" is not one of ${TESTS.join(', ')}`);
    if (o.correction !== undefined && !P_ADJUST_METHODS.includes(o.correction as PAdjustMethod)) throw new UsageError(`--correction: "${o.correction}" is not one of ${P_ADJUST_METHODS.join(', ')}`);
    const margin = positiveNumber(o.margin, '--margin');
    const alpha = positiveNumber(o.alpha, '--alpha');
    if (alpha !== undefined && alpha > 0.2) throw new UsageError(`--alpha: ${alpha} is above 0.2`);
    const pilotSd = positiveNumber(o.pilotSd, '--pilot-sd');
    const effect = positiveNumber(o.effect, '--effect');
    const seeds = o.seeds !== undefined ? intList(o.seeds, '--seeds') : undefined;
    const epochs = positive(o.epochs, '--epochs');
    const trainSubset = positive(o.trainSubset, '--train-subset');

    const dataDir = resolveDataDir(o.dataDir);
    let plan: ExperimentPlan | null = null;
    let rawFile: unknown = null; // the file as planned (a cluster experiment is submitted from it)
    let presetId: string | null = null;
    if (o.file || o.preset) {
      let source: ExperimentPlan;
      let where: string;
      if (o.file) {
        source = readExperimentFile(o.file, BUILTIN_FACTS); // checked again below with the data dir's datasets
        where = o.file;
      } else {
        const presets = loadPresets();
        const p = presets.find((x) => x.id === o.preset);
        if (!p) throw new UsageError(`--preset: no preset '${o.preset}' (have: ${presets.map((x) => x.id).join(', ')})`);
        source = p.plan;
        presetId = p.id;
        where = `preset ${p.id}`;
      }
      const raw = shrink({ ...source.file, ...(seeds ? { seeds } : {}), ...(o.metric ? { metric: o.metric } : {}), ...(o.rule ? { rule: o.rule } : {}) }, epochs, trainSubset);
      // The arms' datasets, located in the data dir: an imported one is checked as the app checks it.
      const known = planExperiment(raw, BUILTIN_FACTS);
      let facts = BUILTIN_FACTS;
      if (known.ok) {
        const s = fs.existsSync(dbPath(dataDir)) ? openStoreFromEnv(dataDir) : null;
        try {
          facts = await armFacts(s, dataDir, known.plan.file, [...(known.plan.pretrain ? [known.plan.pretrain] : []), ...known.plan.arms]);
        } finally {
          s?.close();
        }
      }
      const r = planExperiment(raw, facts);
      if (!r.ok) throw new UsageError(`${where}: ${formatExperimentErrors(r.errors)}`);
      plan = r.plan;
      rawFile = raw;
    }

    fs.mkdirSync(dataDir, { recursive: true });
    const store = openStoreFromEnv(dataDir);
    let cancelled = false;
    process.on('SIGINT', () => (cancelled = true));
    try {
      let info: ExperimentInfo;
      let trained = false;
      if (plan && plan.file.executor.kind === 'slurm') {
        info = await onCluster(store, dataDir, rawFile, presetId, () => cancelled);
        trained = true;
      } else if (plan) {
        info = store.experiments.create(plan, presetId);
      } else {
        const id = positive(o.experiment, '--experiment')!;
        const found = store.experiments.get(id);
        if (!found) throw new UsageError(`--experiment: experiment ${id} does not exist in ${dataDir}`);
        if (found.executor.kind === 'slurm') throw new UsageError(`--experiment: experiment ${id} trains on Slurm: add seeds and follow it in trickbench serve (its runs are the cluster's, not this command's)`);
        if (epochs !== undefined || trainSubset !== undefined) throw new UsageError('--epochs and --train-subset apply to new experiments only (an experiment keeps its configs)');
        if (seeds) addSeedsLogged(store, found, seeds);
        info = store.experiments.get(id)!;
      }
      const query = {
        experimentId: info.id,
        metric: o.metric,
        rule: o.rule as SelectionRule | undefined,
        test: o.test as TestName | undefined,
        correction: o.correction as PAdjustMethod | undefined,
        reference: o.reference,
        margin,
        alpha,
      };
      const look = () => summarize(store, query);
      const before = look(); // bad --reference etc. fail here, before any training
      process.stderr.write(`experiment ${info.id}: ${info.name} — ${info.arms.filter((a) => a.role !== 'pretrain').length} arms x ${info.seeds.length} seeds${before.analysis.sequential ? ' (seeds run until decided)' : ''}\n`);
      if (pilotSd !== undefined) printPlanning(before, pilotSd / displayScale(before.metric), info.seeds.length, effect);
      if (trained) {
        // on the cluster: trained and followed above
      } else if (before.analysis.sequential && plan) await trainSequential(store, dataDir, info, () => cancelled, look);
      else await trainAll(store, dataDir, info, () => cancelled);
      const s = look();
      printTable(s, effect);
      const arms = s.arms.map((a) => ({
        name: a.name,
        verdict: a.verdict?.text ?? null,
        n: a.n,
        completed: a.completion.text,
        mean: a.mean,
        std: a.std,
        reference: a.paired?.reference ?? null,
        delta: a.paired?.delta ?? null,
        ci95: a.paired?.ci95 ?? null,
        cs: a.paired?.cs?.map((x) => (Number.isFinite(x) ? x : null)) ?? null,
        bootstrap: a.paired?.bootstrap?.ci ?? null,
        pTTest: a.paired?.pTTest ?? null,
        pWilcoxon: a.paired?.pWilcoxon ?? null,
        pAdjusted: a.paired?.pAdjusted ?? null,
        pTost: a.paired?.tost?.p ?? null,
        betterIn: a.paired ? a.paired.betterIn : null,
        signP: a.paired?.signP ?? null,
        mde80: a.paired?.mde80 ?? null,
        seedsNeeded: a.verdict?.seedsNeeded ?? null,
        costRatio: a.costRatio,
      }));
      process.stdout.write(`${JSON.stringify({ experimentId: info.id, metric: s.metric, rule: s.rule, baseline: s.baseline, analysis: s.analysis, stopping: s.stopping, arms })}\n`);
      const runs = store.experiments.get(info.id)!.runs.map((r) => store.getRun(r.runId)!);
      return !cancelled && runs.every((r) => r.status === 'completed') ? 0 : 1;
    } finally {
      store.close();
    }
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

/** Seeds added to an existing experiment from the command line: logged like the app's "add
 * seeds" (after results were seen when some run had completed), so the comparison knows that
 * fixed-n p-values no longer hold. */
function addSeedsLogged(store: Store, info: ExperimentInfo, seeds: number[]): void {
  const fresh = seeds.filter((s) => !info.seeds.includes(s));
  if (fresh.length) store.experiments.setSeeds(info.id, [...info.seeds, ...fresh], 'user');
}

/** Before training (or with too few seeds to estimate it): what a given SD of paired differences
 * allows — the minimum detectable effect at 80% power for the seeds planned, and the seeds an
 * effect needs, at the family's per-comparison alpha (Bonferroni, the conservative planning case). */
function printPlanning(s: ComparisonSummary, sd: number, nSeeds: number, effect: number | undefined, label = 'planning'): void {
  const k = Math.max(1, s.analysis.family.length);
  const a = s.analysis.alpha / k;
  const u = displayScale(s.metric) === 100 ? ' points' : '';
  const f = (x: number | null) => (x === null ? '—' : `${formatMetric(s.metric, x)}${u}`);
  const e = effect !== undefined ? effect / displayScale(s.metric) : (s.analysis.effect ?? s.analysis.margin);
  process.stdout.write(
    `${label}: SD of paired differences ${f(sd)}, ${k} comparison${k === 1 ? '' : 's'} at alpha ${+a.toPrecision(3)} each: ` +
      `with ${nSeeds} seeds the smallest effect found with 80% power is ${f(mde(sd, nSeeds, a))}` +
      (e ? `; ${f(e)} needs ${seedsNeeded(e, sd, a) ?? 'over 1000'} seeds` : '') +
      '\n',
  );
}

function printTable(s: ComparisonSummary, effect?: number): void {
  const ref = s.analysis.reference === 'previous' ? 'previous arm' : s.analysis.reference === 'baseline' ? s.baseline : s.analysis.reference;
  const u = metricUnits(s.metric);
  const unit = (x: string) => (x ? ` (${x})` : '');
  const head = ['arm', 'verdict', 'done', `${s.metric}${unit(u.value)}`, `Δ vs ${ref}${unit(u.delta)}`, `95% CI (t${u.delta ? `, ${u.delta}` : ''})`, `CS${unit(u.delta)}`, 'p (adj)', 'better', 'cost'];
  const rows = s.arms.map((a) => {
    const p = a.paired;
    const pv = shownP(a, s);
    return [
      a.name,
      a.verdict?.text ?? 'reference',
      `${a.completion.completed}/${a.completion.total}`,
      a.mean === null ? '—' : `${formatMetric(s.metric, a.mean)}${a.std === null ? '' : ` ± ${formatMetric(s.metric, a.std)}`}`,
      p ? formatMetric(s.metric, p.delta, true) : '',
      p ? formatInterval(s.metric, p.ci95) : '',
      p ? formatInterval(s.metric, p.cs) : '',
      p ? formatP(pv) : '',
      p ? `${p.betterIn}/${p.n}${p.signP !== null ? ` p=${formatP(p.signP)}` : ''}` : '',
      formatCost(a),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i <= 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const rule = s.rule === 'best-val' ? 'at the best val/acc epoch' : 'at the last epoch';
  const an = s.analysis;
  process.stdout.write(
    `\n${s.title}: ${s.metric} ${rule}, mean ± SD over seeds; Δ paired with ${ref}; p: ${an.test === 't' ? 'paired t' : 'Wilcoxon'}, ${an.correction} over ${an.family.length}; CS: ${csLevelText(an)}\n${line(head)}\n${rows.map(line).join('\n')}\n`,
  );
  if (an.exploratory.length) process.stdout.write(`  exploratory (off the plan): ${an.exploratory.join('; ')}\n`);
  if (an.fixedNInvalid) process.stdout.write(`  note: ${an.fixedNInvalid}\n`);
  for (const a of s.arms) {
    const p = a.paired;
    const lines = [
      a.completion.completed < a.completion.total ? a.completion.text : null,
      a.failsWhereReferenceDoesNot.length ? `fails where ${p?.reference} does not: seed ${a.failsWhereReferenceDoesNot.join(', ')}` : null,
      ...a.cost.loadWarnings.map((w) => `cost: ${w}`),
    ];
    for (const n of lines) if (n) process.stdout.write(`  ${a.name}: ${n}\n`);
  }
  for (const a of s.arms) if (a.paired && a.paired.sdDelta && a.paired.n >= 2) printPlanning(s, a.paired.sdDelta, a.paired.n, effect, `  ${a.name} (power)`);
  for (const p of s.pairing) process.stdout.write(`  warning: seed ${p.seed}, ${p.arm}: not a matched pair (${p.problem})\n`);
  process.stdout.write(`\nMethods. ${s.methods}\n`);
}

/** `trickbench experiment ARGS` (src/cli/script.ts). */
export async function main(argv: string[]): Promise<void> {
  process.exitCode = await experiment(argv);
}

runIfScript(import.meta.url, main);
