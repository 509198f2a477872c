// The CSV importer on the shapes it reads: our histories export, a W&B chart export, MLflow's
// runs table (the UI's and search_runs') and its metric-history export; and its refusals.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilePattern, parseKeyMap } from '../../src/import/common';
import { detectFormat, parseColumns, readCsvFile } from '../../src/import/csv';

const FIX = path.join(__dirname, '../fixtures/csv-import');
const f = (name: string) => path.join(FIX, name);

describe('long format', () => {
  it('reads our histories export: runs by id, names un-neutralised, epochs and ISO times', () => {
    const got = readCsvFile(f('histories.csv'));
    expect(got.format).toBe('long');
    expect(got.runs.map((r) => r.name)).toEqual(['baseline seed 1', '-x seed 2']);
    const r = got.runs[0]!;
    expect(r.metrics).toEqual([
      { key: 'val/acc', step: 100, epoch: 1, value: 0.5, time: Date.parse('2026-11-22T21:00:00.000Z') },
      { key: 'val/acc', step: 200, epoch: 2, value: 0.625, time: Date.parse('2026-11-22T21:00:10.500Z') },
      { key: 'train/loss_step', step: 1, epoch: 0.01, value: 2.25, time: Date.parse('2026-11-22T21:00:00.100Z') },
    ]);
    expect(r.spec.clientKey).not.toBe(got.runs[1]!.spec.clientKey);
    expect(r.spec.clientKey).toBe(readCsvFile(f('histories.csv')).runs[0]!.spec.clientKey);
  });

  it('reads MLflow metric-history exports (timestamps in ms) with a pattern on run names', () => {
    const got = readCsvFile(f('mlflow-history.csv'), { pattern: compilePattern('^(?<arm>[a-z]+)-(?<seed>\\d+)$'), experiment: 'mf' });
    expect(got.format).toBe('long');
    expect(got.runs.map((r) => [r.name, r.spec.arm, r.spec.seed])).toEqual([
      ['baseline-1', 'baseline', 1],
      ['mixup-1', 'mixup', 1],
    ]);
    expect(got.runs[0]!.metrics[1]).toEqual({ key: 'val_acc', step: 1, value: 0.6, time: 1763632860000 });
  });

  it('names the file, line and column of a bad cell, and of a short row', () => {
    expect(() => readCsvFile(f('bad-step.csv'))).toThrow(/bad-step\.csv: line 3, column "step": "-1" is not a step/);
    expect(() => readCsvFile(f('short-row.csv'))).toThrow(/short-row\.csv: .*line 3/);
    expect(() => readCsvFile(f('nope.csv'))).toThrow(/nope\.csv: no such file/);
  });

  it('--columns maps other headers; a missing column is named', () => {
    expect(() => readCsvFile(f('mlflow-history.csv'), { format: 'long', columns: parseColumns('value=score') })).toThrow(/--columns value=score: no such column/);
    expect(() => parseColumns('colour=x')).toThrow(/"colour" is none of/);
    const r = readCsvFile(f('mlflow-history.csv'), { columns: parseColumns('run=Run'), keyMap: parseKeyMap(['val_acc=val/acc']) }).runs;
    expect(r.map((x) => x.name)).toEqual(['baseline-1', 'mixup-1']);
    expect(r[0]!.metrics[0]!.key).toBe('val/acc');
  });

  it('with --experiment, refuses run names the pattern does not match', () => {
    expect(() => readCsvFile(f('histories.csv'), { pattern: compilePattern('^(?<arm>\\w+) seed (?<seed>\\d+)$'), experiment: 'e' })).toThrow(/does not match 1 run name.*-x seed 2/);
  });
});

describe('W&B chart export', () => {
  it('one run per "<run> - <metric>" column, __MIN/__MAX skipped, empty cells no point', () => {
    const got = readCsvFile(f('wandb-chart.csv'));
    expect(got.format).toBe('wandb');
    expect(got.runs.map((r) => r.name)).toEqual(['baseline-s1', 'mixup-s1']);
    expect(got.runs[0]!.metrics).toEqual([0.5, 0.6, 0.7].map((value, step) => ({ key: 'val/acc', step, value })));
    expect(got.runs[1]!.metrics.map((p) => p.step)).toEqual([0, 2]);
    expect(got.warnings.join()).toMatch(/skipped 4 __MIN\/__MAX columns/);
  });
});

describe('MLflow runs table', () => {
  it("the UI's CSV: numeric columns are summary values, the rest params, the seed column the run's seed", () => {
    const got = readCsvFile(f('mlflow-runs.csv'));
    expect(got.format).toBe('mlflow');
    const [a, b] = got.runs;
    expect(a!.name).toBe('baseline-1');
    expect(a!.summary).toEqual({ lr: 0.1, test_acc: 0.91, val_loss: 0.3 });
    expect(a!.spec.params).toEqual({ optimizer: 'sgd' });
    expect(a!.spec.seed).toBe(1);
    expect(a!.status).toBe('completed');
    expect(b!.status).toBe('failed');
    expect(b!.spec.params).toEqual({ optimizer: '=cmd' });
    const kept = readCsvFile(f('mlflow-runs.csv'), { params: ['lr'] }).runs[0]!;
    expect(kept.summary).toEqual({ test_acc: 0.91, val_loss: 0.3 });
    expect(kept.spec.params).toEqual({ lr: 0.1, optimizer: 'sgd' });
  });

  it('search_runs CSV: metrics.* and params.* by prefix', () => {
    const r = readCsvFile(f('mlflow-search.csv')).runs[0]!;
    expect(r.name).toBe('baseline-1');
    expect(r.summary).toEqual({ test_acc: 0.91 });
    expect(r.spec.params).toEqual({ lr: 0.1, seed: 1 });
    expect(r.spec.seed).toBe(1);
  });
});

it('detects the format from the header', () => {
  expect(detectFormat(['run', 'key', 'step', 'value'])).toBe('long');
  expect(detectFormat(['Step', 'a - loss'])).toBe('wandb');
  expect(detectFormat(['Start Time', 'Run ID', 'Status'])).toBe('mlflow');
});
