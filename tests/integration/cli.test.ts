// The headless CLIs as a user runs them: `npm run train` and `npm run export`.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store';
import { runCli } from '../helpers/trainer';
import { tmpDataDir } from '../helpers/tmp';

const tmp = tmpDataDir();
afterAll(tmp.cleanup);
const TRAIN = 'src/trainer/cli.ts';
const small = ['--dataset', 'synthetic', '--train-subset', '320', '--val-split', '0.2', '--width', '8', '--batch-size', '32', '--data-dir', tmp.dir];

describe('npm run train', () => {
  it('trains, records the run, and prints one JSON object as its last stdout line', async () => {
    const r = await runCli(TRAIN, [...small, '--epochs', '2', '--optimizer', 'sgd', '--lr', '0.05', '--momentum', '0.9', '--seed', '1', '--name', 'cli-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.last).toMatchObject({ runId: 1, status: 'completed', backend: 'wasm', error: null });
    const m = r.last!.metrics as Record<string, number>;
    for (const k of ['val/acc', 'val/loss', 'test/acc', 'test/loss', 'train/loss', 'test/acc_best', 'test/top5']) expect(typeof m[k], k).toBe('number');
    const store = new Store(tmp.dir);
    const run = store.getRun(1)!;
    expect(run).toMatchObject({ name: 'cli-run', status: 'completed', backend: 'wasm' });
    expect(run.config).toMatchObject({ optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9 }, model: { name: 'cnn3', width: 8 }, epochs: 2 });
    expect(store.summaries(1).final['test/acc']).toBe(m['test/acc']);
    store.close();
  });

  it.each([
    [['--epochs', '-1'], 'epochs: must be >= 1, got -1'],
    [['--model', 'vgg'], 'model.name: unknown model "vgg"; expected one of cnn3, mlp'],
    [['--lr', 'abc'], 'optimizer.lr: expected a number, got "abc"'],
    [['--backend', 'tpu'], 'backend: got "tpu"'],
    [['--dataset', 'cifar10'], "dataset.name: dataset 'cifar10' not found: not imported, and no dataset in"],
  ])('rejects %j naming the field, exit 2, nothing stored', async (args, message) => {
    const dir = path.join(tmp.dir, `bad-${args[0]!.slice(2)}`);
    const r = await runCli(TRAIN, [...args, '--data-dir', dir], { TRICKBENCH_SYSTEM_DATASETS: path.join(tmp.dir, 'no-system-datasets') });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(fs.existsSync(path.join(dir, 'trickbench.db'))).toBe(false);
  });
});

describe('npm run export', () => {
  it('writes the runs table and the full histories', async () => {
    const runsCsv = path.join(tmp.dir, 'runs.csv');
    const r1 = await runCli('src/main/export-cli.ts', ['--data-dir', tmp.dir, '--out', runsCsv, '--runs', '1']);
    expect(r1.code, r1.stderr).toBe(0);
    const rows = parse(fs.readFileSync(runsCsv), { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: '1', name: 'cli-run', status: 'completed', 'config.optimizer.lr': '0.05', 'config.model.width': '8', backend: 'wasm' });
    expect(Number(rows[0]!.best_val_acc)).toBeGreaterThanOrEqual(Number(rows[0]!.final_val_acc));
    expect(Number(rows[0]!.wall_time_s)).toBeGreaterThan(0);

    const histCsv = path.join(tmp.dir, 'hist.csv');
    const r2 = await runCli('src/main/export-cli.ts', ['--data-dir', tmp.dir, '--out', histCsv, '--histories']);
    expect(r2.code, r2.stderr).toBe(0);
    const hist = parse(fs.readFileSync(histCsv), { columns: true }) as Record<string, string>[];
    const store = new Store(tmp.dir);
    const n = (store.db.prepare('SELECT COUNT(*) AS n FROM metric').get() as { n: number }).n;
    store.close();
    expect(hist).toHaveLength(n); // every stored point, no downsampling
    expect(hist.filter((h) => h.key === 'train/loss_step')).toHaveLength(16);
    expect(Object.keys(hist[0]!)).toEqual(['run_id', 'run_name', 'key', 'step', 'epoch', 'value', 'wall_time', 'experiment', 'arm', 'seed']);
    // a run outside any experiment: no experiment or arm, and its seed (--seed 1)
    expect(hist.every((h) => h.run_id === '1' && h.experiment === '' && h.arm === '' && h.seed === '1')).toBe(true);
  });

  it('writes the events table (run, epoch, step, kind, JSON payload)', async () => {
    const out = path.join(tmp.dir, 'events.csv');
    const r = await runCli('src/main/export-cli.ts', ['--data-dir', tmp.dir, '--out', out, '--events']);
    expect(r.code, r.stderr).toBe(0);
    const rows = parse(fs.readFileSync(out), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual(['run_id', 'run_name', 'epoch', 'step', 'kind', 'payload', 'wall_time']);
    expect(rows.map((e) => e.kind)).toEqual(['run.start', 'pairing', 'run.end']);
    expect(JSON.parse(rows[0]!.payload!)).toMatchObject({ backend: 'wasm', dataset: 'synthetic' });
    const both = await runCli('src/main/export-cli.ts', ['--data-dir', tmp.dir, '--out', out, '--events', '--histories']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--histories and --events: choose one');
  });

  it('names a run id that does not exist and leaves no partial file', async () => {
    const out = path.join(tmp.dir, 'none.csv');
    const r = await runCli('src/main/export-cli.ts', ['--data-dir', tmp.dir, '--out', out, '--runs', '1,99']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no run with id 99');
    expect(fs.existsSync(out) || fs.existsSync(`${out}.partial`)).toBe(false);
  });
});
