// The Python client (clients/python): its unit tests (against an in-process fake server), then for
// real: a PyTorch script (tests/fixtures/python/train_two_arms.py: a CNN on Fashion-MNIST, 2 arms
// x 3 seeds) logs through it into a running serve, and the experiment's paired comparison and the
// exports work on those external runs as on Trickbench's own.
import { execFile, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Histories, RunSummary } from '../../src/shared/api';
import type { ComparisonSummary, ExperimentInfo } from '../../src/shared/experiments';
import { startServe, stopServe } from '../helpers/e2e';
import { ROOT } from '../helpers/trainer';
import { tmpDataDir } from '../helpers/tmp';
import { get, invoke, PYTHON, trainTwoArms, type LoggedRun } from '../fixtures/python/run-script';

const EXPERIMENT = 'label smoothing on Fashion-MNIST (PyTorch)';

describe('the Python client', () => {
  it('passes its unit tests (batching, retries, 4xx, discovery, exit)', async () => {
    const out = await new Promise<{ code: number; text: string }>((resolve) => {
      execFile(PYTHON, ['-m', 'unittest', 'discover', '-s', 'tests', '-v'], { cwd: path.join(ROOT, 'clients/python'), env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }, timeout: 300_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, text: stdout + stderr }),
      );
    });
    expect(out.code, out.text).toBe(0);
    expect(out.text).toMatch(/Ran \d+ tests/);
    expect(out.text).toMatch(/\nOK/);
  });
});

describe('a PyTorch script logging 2 arms x 3 seeds into serve', () => {
  let tmp: ReturnType<typeof tmpDataDir>;
  let server: ChildProcess | undefined;
  let url: string;
  let logged: LoggedRun[];
  let runs: RunSummary[];

  beforeAll(async () => {
    tmp = tmpDataDir('tb-pyclient-');
    const s = await startServe(tmp.dir);
    server = s.child;
    url = s.url;
    ({ runs: logged } = await trainTwoArms(url, ['--experiment', EXPERIMENT, '--seeds', '0,1,2', '--epochs', '3']));
    const all = await invoke<RunSummary[]>(url, 'runs:list', null);
    runs = all.filter((r) => logged.some((l) => l.runId === r.id));
  }, 600_000);

  afterAll(async () => {
    await stopServe(server);
    tmp?.cleanup();
  });

  it('made 6 external runs, completed, in one experiment with 2 arms and 3 seeds', async () => {
    expect(logged).toHaveLength(6);
    expect(runs).toHaveLength(6);
    for (const r of runs) {
      const l = logged.find((x) => x.runId === r.id)!;
      expect(r).toMatchObject({ source: 'external', status: 'completed', config: null, experimentName: EXPERIMENT, armName: l.arm, seed: l.seed });
      expect(r.params).toMatchObject({ model: 'cnn-8-16', label_smoothing: l.arm === 'baseline' ? 0 : 0.1 });
    }
    const experimentId = runs[0]!.experimentId!;
    expect(new Set(runs.map((r) => r.experimentId))).toEqual(new Set([experimentId]));
    const exp = await invoke<ExperimentInfo>(url, 'experiments:get', { id: experimentId });
    expect(exp.arms.map((a) => a.name).sort()).toEqual(['baseline', 'label-smoothing']);
    expect([...new Set(exp.runs.map((r) => r.seed))].sort()).toEqual([0, 1, 2]);
    expect(exp.metric).toBe('val/acc');
  });

  it("stored every logged value: the histories are the script's", async () => {
    const history = await invoke<Histories>(url, 'runs:history', { ids: logged.map((l) => l.runId), keys: ['val/acc', 'val/loss', 'train/loss'] });
    for (const l of logged) {
      const h = history[l.runId]!;
      expect(h['val/acc']!.map((p) => [p.epoch, p.value]), `run ${l.runId}`).toEqual(l.valAcc.map((v, i) => [i + 1, v]));
      expect(h['val/loss']!.map((p) => p.value)).toEqual(l.valLoss);
      // one train/loss per step, at fractional epochs e + (i+1)/n, ending at the last epoch
      const train = h['train/loss']!;
      expect(train.map((p) => p.step)).toEqual(Array.from({ length: 90 }, (_, i) => i + 1));
      expect(train.at(-1)!.epoch).toBe(3);
      expect(train.every((p) => Number.isFinite(p.value) && p.value > 0)).toBe(true);
    }
  });

  it('the paired comparison pairs the 3 seeds and its difference is the logged values', async () => {
    const experimentId = runs[0]!.experimentId!;
    const summary = await invoke<ComparisonSummary>(url, 'compare:summary', { experimentId });
    expect(summary).toMatchObject({ metric: 'val/acc', rule: 'best-val', baseline: 'baseline' });
    const arm = summary.arms.find((a) => a.name === 'label-smoothing')!;
    const base = summary.arms.find((a) => a.name === 'baseline')!;
    expect(base.role).toBe('baseline');
    expect(arm.paired!.n).toBe(3);
    // best-val: each run's value is its best val/acc (the earliest epoch on ties).
    const best = (armName: string, seed: number) => Math.max(...logged.find((l) => l.arm === armName && l.seed === seed)!.valAcc);
    for (const [name, a] of [['label-smoothing', arm], ['baseline', base]] as const) {
      expect(a.runs.map((r) => [r.seed, r.value])).toEqual([0, 1, 2].map((seed) => [seed, best(name, seed)]));
    }
    const diffs = [0, 1, 2].map((seed) => best('label-smoothing', seed) - best('baseline', seed));
    // The same doubles (JSON round-trips them exactly); only the order of the sum may differ.
    expect(arm.paired!.delta).toBeCloseTo(diffs.reduce((a, b) => a + b, 0) / 3, 12);
    expect(arm.paired!.betterIn + arm.paired!.worseIn + arm.paired!.tiedIn).toBe(3);
  });

  it("the runs and histories CSV exports carry those runs' rows", async () => {
    const experimentId = runs[0]!.experimentId!;
    const runsCsv = await get(url, `/api/export?kind=runs&experiment=${experimentId}`);
    expect(runsCsv.status, runsCsv.text).toBe(200);
    const rows = parse(runsCsv.text, { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual(logged.map((l) => l.runId).sort((a, b) => a - b));
    for (const row of rows) {
      const l = logged.find((x) => x.runId === Number(row.id))!;
      expect(row.status).toBe('completed');
      expect(Number(row.seed)).toBe(l.seed);
      expect(Number(row.best_val_acc)).toBe(Math.max(...l.valAcc));
      expect(Number(row.final_val_loss)).toBe(l.valLoss.at(-1));
    }

    const hist = await get(url, `/api/export?kind=histories&experiment=${experimentId}`);
    expect(hist.status, hist.text).toBe(200);
    const points = parse(hist.text, { columns: true }) as Record<string, string>[];
    for (const l of logged) {
      const acc = points.filter((p) => Number(p.run_id) === l.runId && p.key === 'val/acc').sort((a, b) => Number(a.epoch) - Number(b.epoch));
      expect(acc.map((p) => [Number(p.epoch), Number(p.value)])).toEqual(l.valAcc.map((v, i) => [i + 1, v]));
      // 3 epochs of 30 steps (3000 images, batches of 100): one train/loss per step
      expect(points.filter((p) => Number(p.run_id) === l.runId && p.key === 'train/loss')).toHaveLength(90);
    }
  });

  it('the runs CSV has the params as columns (flattened, as a config is)', async () => {
    const experimentId = runs[0]!.experimentId!;
    const rows = parse((await get(url, `/api/export?kind=runs&experiment=${experimentId}`)).text, { columns: true }) as Record<string, string>[];
    // pandas or R group by a param without parsing anything
    const smoothing = Object.keys(rows[0]!).find((c) => /(^|\.)label_smoothing$/.test(c));
    expect(smoothing, `a label_smoothing column among ${Object.keys(rows[0]!).join(', ')}`).toBeDefined();
    for (const row of rows) expect(Number(row[smoothing!])).toBe(logged.find((x) => x.runId === Number(row.id))!.arm === 'baseline' ? 0 : 0.1);
  });
});
