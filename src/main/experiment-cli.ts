// `npm run experiment -- --file exp.json --data-dir DIR` (or `--preset ID`): create the experiment
// in the store, train its runs one after another in this process — seed by seed, each seed's
// pre-training (if any) and then every arm — and print the per-arm summary table, then as the LAST
// stdout line one JSON object {"experimentId", "metric", "rule", "baseline", "arms": [{"name",
// "n", "mean", "std", "delta", "ci95", "pTTest", "pWilcoxon", "betterIn", "costRatio"}]} (null
// where undefined). `--experiment ID` continues an experiment: runs it lacks (new seeds from
// --seeds, or runs that never finished) are trained. Ctrl-C stops after the current run is
// cancelled; what finished is summarised.
import fs from 'node:fs';
import { Command } from 'commander';
import type { ExperimentInfo, ExperimentPlan, SelectionRule } from '../shared/experiments';
import { armRunConfig, planExperiment, SELECTION_RULES } from '../shared/experiments';
import { formatMetric, formatP } from '../shared/summary-format';
import { openStoreFromEnv } from '../store/open';
import { resolveDataDir } from '../store/paths';
import type { Store } from '../store/store';
import { executeRun } from '../trainer/run';
import { summarize } from './services/compare';
import { launchOrder, loadPresets, readExperimentFile } from './services/experiments';

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
}

class UsageError extends Error {}

function intList(v: string, flag: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  if (!parts.every((s) => /^\d+$/.test(s))) throw new UsageError(`${flag}: "${v}" is not a comma-separated list of integers`);
  return parts.map(Number);
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

async function trainAll(store: Store, dataDir: string, info: ExperimentInfo, isCancelled: () => boolean): Promise<void> {
  const spec = store.experiments.spec(info.id)!;
  const file = { name: info.name, baseline: spec.baseline, pretrain: spec.pretrain ?? undefined };
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
    const config = armRunConfig(file, arm, seed, preRun);
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

export async function main(argv: string[]): Promise<number> {
  const program = new Command('experiment')
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
    const seeds = o.seeds !== undefined ? intList(o.seeds, '--seeds') : undefined;
    const epochs = positive(o.epochs, '--epochs');
    const trainSubset = positive(o.trainSubset, '--train-subset');

    let plan: ExperimentPlan | null = null;
    let presetId: string | null = null;
    if (o.file || o.preset) {
      let source: ExperimentPlan;
      let where: string;
      if (o.file) {
        source = readExperimentFile(o.file);
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
      const r = planExperiment(raw);
      if (!r.ok) throw new UsageError(`${where}: ${r.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
      plan = r.plan;
    }

    const dataDir = resolveDataDir(o.dataDir);
    fs.mkdirSync(dataDir, { recursive: true });
    const store = openStoreFromEnv(dataDir);
    let cancelled = false;
    process.on('SIGINT', () => (cancelled = true));
    try {
      let info: ExperimentInfo;
      if (plan) {
        info = store.experiments.create(plan, presetId);
      } else {
        const id = positive(o.experiment, '--experiment')!;
        const found = store.experiments.get(id);
        if (!found) throw new UsageError(`--experiment: experiment ${id} does not exist in ${dataDir}`);
        if (epochs !== undefined || trainSubset !== undefined) throw new UsageError('--epochs and --train-subset apply to new experiments only (an experiment keeps its configs)');
        if (seeds) store.experiments.setSeeds(id, [...found.seeds, ...seeds.filter((s) => !found.seeds.includes(s))]);
        info = store.experiments.get(id)!;
      }
      process.stderr.write(`experiment ${info.id}: ${info.name} — ${info.arms.filter((a) => a.role !== 'pretrain').length} arms x ${info.seeds.length} seeds\n`);
      await trainAll(store, dataDir, info, () => cancelled);
      const s = summarize(store, { experimentId: info.id, metric: o.metric, rule: o.rule as SelectionRule | undefined });
      printTable(s);
      const arms = s.arms.map((a) => ({
        name: a.name,
        n: a.n,
        mean: a.mean,
        std: a.std,
        delta: a.paired?.delta ?? null,
        ci95: a.paired?.ci95 ?? null,
        pTTest: a.paired?.pTTest ?? null,
        pWilcoxon: a.paired?.pWilcoxon ?? null,
        betterIn: a.paired ? a.paired.betterIn : null,
        costRatio: a.costRatio,
      }));
      process.stdout.write(`${JSON.stringify({ experimentId: info.id, metric: s.metric, rule: s.rule, baseline: s.baseline, arms })}\n`);
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

function printTable(s: ReturnType<typeof summarize>): void {
  const head = ['arm', 'n', `${s.metric}`, `Δ vs ${s.baseline}`, '95% CI', 'p (t)', 'p (W)', 'better', 'cost'];
  const rows = s.arms.map((a) => {
    const p = a.paired;
    return [
      a.name,
      String(a.n),
      a.mean === null ? '—' : `${formatMetric(s.metric, a.mean)}${a.std === null ? '' : ` ± ${formatMetric(s.metric, a.std)}`}`,
      p ? formatMetric(s.metric, p.delta, true) : '',
      p?.ci95 ? `[${formatMetric(s.metric, p.ci95[0], true)}, ${formatMetric(s.metric, p.ci95[1], true)}]` : p ? '—' : '',
      p ? formatP(p.pTTest) : '',
      p ? formatP(p.pWilcoxon) : '',
      p ? `${p.betterIn}/${p.n}` : '',
      a.costRatio === null ? '—' : `${a.costRatio.toFixed(2)}x`,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const rule = s.rule === 'best-val' ? 'at the best val/acc epoch' : 'at the last epoch';
  process.stdout.write(`\n${s.title}: ${s.metric} ${rule}, mean ± SD over seeds; Δ paired with ${s.baseline}\n${line(head)}\n${rows.map(line).join('\n')}\n`);
  for (const a of s.arms) {
    for (const n of [a.paired?.tTestNote && `t-test: ${a.paired.tTestNote}`, a.paired?.wilcoxonNote && `Wilcoxon: ${a.paired.wilcoxonNote}`]) if (n) process.stdout.write(`  ${a.name}: ${n}\n`);
  }
  for (const p of s.pairing) process.stdout.write(`  warning: seed ${p.seed}, ${p.arm}: not a matched pair (${p.problem})\n`);
}

if (process.argv[1] && /experiment-cli\.[cm]?[jt]s$/.test(process.argv[1])) {
  main(process.argv.slice(2)).then((c) => process.exit(c));
}
