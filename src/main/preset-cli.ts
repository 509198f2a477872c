// `npm run preset -- ID --data-dir DIR [--epochs N] [--train-subset N]` (or `--list`): train a
// preset's runs one after another in this process (pre-training first, then each arm), print a
// table of test/acc, best val/acc, wall time and images/s per arm, and as the LAST stdout line one
// JSON object {"preset", "runs": [{"name", "runId", "status", "testAcc", "valAccBest", "wallS",
// "imgPerSec", "error"}]}. --epochs / --train-subset shrink every run for a quick look.
import fs from 'node:fs';
import { Command } from 'commander';
import { mustParseRunConfig, type RunConfig } from '../shared/config';
import { withPretrain, type PresetRun } from '../shared/presets';
import { openStoreFromEnv } from '../store/open';
import { resolveDataDir } from '../store/paths';
import { executeRun } from '../trainer/run';
import { loadPresets } from './services/presets';

interface Row {
  name: string;
  runId: number;
  status: string;
  testAcc: number | null;
  valAccBest: number | null;
  wallS: number;
  imgPerSec: number | null;
  error: string | null;
}

async function main(): Promise<number> {
  const program = new Command('preset')
    .argument('[id]', 'preset id (file name in resources/presets without .json)')
    .option('--data-dir <dir>', 'data dir (default $TRICKBENCH_HOME or ~/.trickbench)')
    .option('--list', 'list the presets and their arms')
    .option('--epochs <n>', 'train every run for this many epochs instead (a quick look)')
    .option('--train-subset <n>', 'use this many training images in every run instead')
    .exitOverride();
  try {
    program.parse(process.argv.slice(2), { from: 'user' });
  } catch (e) {
    return (e as { exitCode?: number }).exitCode === 0 ? 0 : 2;
  }
  const o = program.opts<{ dataDir?: string; list?: boolean; epochs?: string; trainSubset?: string }>();
  const presets = loadPresets();
  if (o.list || !program.args[0]) {
    for (const p of presets) {
      process.stdout.write(`${p.id}: ${p.name}\n  ${p.question}\n`);
      for (const r of [...(p.pretrain ? [p.pretrain] : []), ...p.arms]) process.stdout.write(`  - ${r.name}${r === p.pretrain ? ' (pre-training)' : ''}\n`);
    }
    return o.list ? 0 : 2;
  }
  const preset = presets.find((p) => p.id === program.args[0]);
  if (!preset) {
    process.stderr.write(`no preset '${program.args[0]}' (have: ${presets.map((p) => p.id).join(', ')})\n`);
    return 2;
  }
  const override = (c: RunConfig): RunConfig => {
    const input: Record<string, unknown> = structuredClone(c);
    if (o.epochs) input.epochs = Number(o.epochs);
    if (o.trainSubset) (input.dataset as Record<string, unknown>).trainSubset = Number(o.trainSubset);
    return mustParseRunConfig(input);
  };
  const dataDir = resolveDataDir(o.dataDir);
  fs.mkdirSync(dataDir, { recursive: true });
  const store = openStoreFromEnv(dataDir);
  const rows: Row[] = [];
  let cancelled = false;
  process.on('SIGINT', () => (cancelled = true));
  const train = async (r: PresetRun, config: RunConfig): Promise<Row> => {
    const run = store.createRun(config, 'running', config.name);
    process.stderr.write(`run ${run.id}: ${r.name}\n`);
    const t0 = performance.now();
    const out = await executeRun({
      store,
      runId: run.id,
      dataDir,
      isCancelled: () => cancelled,
      hooks: {
        metrics(points) {
          const v = points.find((p) => p.key === 'val/acc');
          if (v) process.stderr.write(`  epoch ${v.epoch}: val/acc ${(100 * v.value).toFixed(2)}%\n`);
        },
      },
    });
    const s = store.summaries(run.id);
    const ips = store.history(run.id, ['throughput/img_s'])['throughput/img_s']?.map((p) => p.value) ?? [];
    return {
      name: r.name,
      runId: run.id,
      status: out.status,
      testAcc: s.final['test/acc'] ?? null,
      valAccBest: s.best['val/acc'] ?? null,
      wallS: (performance.now() - t0) / 1000,
      imgPerSec: ips.length ? ips.reduce((a, b) => a + b, 0) / ips.length : null,
      error: out.error,
    };
  };
  try {
    let pretrainId: number | null = null;
    if (preset.pretrain) {
      const row = await train(preset.pretrain, override(preset.pretrain.config));
      rows.push(row);
      if (row.status === 'completed') pretrainId = row.runId;
    }
    for (const arm of preset.arms) {
      if (arm.fromPretrain && pretrainId === null) {
        rows.push({ name: arm.name, runId: 0, status: 'skipped', testAcc: null, valAccBest: null, wallS: 0, imgPerSec: null, error: 'the pre-training run did not complete' });
        continue;
      }
      rows.push(await train(arm, override(arm.fromPretrain ? withPretrain(arm, pretrainId!) : arm.config)));
      if (cancelled) break;
    }
  } finally {
    store.close();
  }
  const pct = (v: number | null) => (v === null ? '-' : `${(100 * v).toFixed(2)}%`);
  process.stdout.write(`\n${preset.name}\n${'run'.padEnd(36)} ${'status'.padEnd(10)} ${'test/acc'.padStart(9)} ${'best val'.padStart(9)} ${'wall'.padStart(8)} ${'img/s'.padStart(7)}\n`);
  for (const r of rows) {
    process.stdout.write(
      `${r.name.slice(0, 36).padEnd(36)} ${r.status.padEnd(10)} ${pct(r.testAcc).padStart(9)} ${pct(r.valAccBest).padStart(9)} ${`${r.wallS.toFixed(0)} s`.padStart(8)} ${(r.imgPerSec === null ? '-' : r.imgPerSec.toFixed(0)).padStart(7)}\n`,
    );
  }
  process.stdout.write(`${JSON.stringify({ preset: preset.id, runs: rows })}\n`);
  return rows.every((r) => r.status === 'completed') ? 0 : 1;
}

main().then(
  (c) => process.exit(c),
  (e: unknown) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  },
);
