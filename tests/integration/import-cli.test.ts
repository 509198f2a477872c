// `trickbench import` end to end, in process: the reference TensorBoard logs and CSVs into a temp
// store, the rows checked there; a second import adds nothing; files that grew add only their
// new points; our own histories export imports back to the same points, experiments, arms and seeds.
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/main/import-cli';
import { writeHistoriesCsv } from '../../src/main/services/export';
import { Store } from '../../src/store/store';
import { tmpDataDir } from '../helpers/tmp';

const TB = path.join(__dirname, '../fixtures/tensorboard');
const CSV = path.join(__dirname, '../fixtures/csv-import');
type Points = { key: string; step: number; value: number; time: number }[];
/** the folders under logs/ (keras/ is another DIR) */
const EXPECTED = Object.fromEntries(
  Object.entries(JSON.parse(fs.readFileSync(path.join(TB, 'expected.json'), 'utf8')) as Record<string, { points: Points }>).filter(([k]) => !k.startsWith('keras:')),
);

let data: { dir: string; cleanup: () => void };
beforeEach(() => {
  data = tmpDataDir('import-cli-');
  process.exitCode = undefined;
});
afterEach(() => {
  data.cleanup();
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

/** Runs the CLI; its stdout, stderr and exit code. */
async function run(...argv: string[]): Promise<{ out: string; err: string; code: number; json: Record<string, any> | null }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    await main(argv);
  } finally {
    vi.restoreAllMocks();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  const last = out.trim().split('\n').at(-1);
  let json = null;
  try {
    json = last ? JSON.parse(last) : null;
  } catch {
    json = null;
  }
  return { out, err, code, json };
}

function copyTree(src: string): string {
  const dst = path.join(data.dir, 'src', path.basename(src));
  fs.cpSync(src, dst, { recursive: true });
  return dst;
}

const PATTERN = '(?<arm>[^/]+)/seed(?<seed>\\d+)';

describe('import tensorboard', () => {
  it('imports every run into one experiment, idempotently', async () => {
    const logs = copyTree(path.join(TB, 'logs'));
    const first = await run('tensorboard', logs, '--data-dir', data.dir, '--pattern', PATTERN, '--experiment', 'tb', '--baseline', 'baseline');
    expect(first.code, first.err).toBe(0);
    const total = Object.values(EXPECTED).reduce((n, e) => n + e.points.length, 0);
    expect(first.json).toMatchObject({ runsCreated: 4, runsPresent: 0, pointsAdded: total });
    expect(first.json!.keysWithoutDirection).toEqual([]); // epoch_accuracy, epoch_loss, train/loss, val/acc all have one
    expect(first.json!.warnings.join('\n')).toMatch(/truncated at byte \d+/);
    expect(first.json!.warnings.join('\n')).toMatch(/damaged at byte \d+/);

    const store = new Store(data.dir);
    try {
      const runs = store.listRuns();
      expect(runs).toHaveLength(4);
      const exp = store.experiments.list().find((e) => e.name === 'tb')!;
      expect(exp).toBeDefined();
      for (const r of runs) {
        expect(r.source).toBe('external');
        expect(r.status).toBe('completed');
        expect(r.experimentId).toBe(exp.id);
        const want = EXPECTED[r.name]!.points;
        const h = store.history(r.id);
        const got = Object.values(h).flat().map((p) => ({ key: p.key, step: p.step, value: p.value, time: p.time }));
        const order = (a: { key: string; step: number }, b: { key: string; step: number }) => a.key.localeCompare(b.key) || a.step - b.step;
        expect(got.sort(order)).toEqual([...want].sort(order));
      }
      expect(runs.find((r) => r.name === 'mixup/seed2')!.seed).toBe(2);
    } finally {
      store.close();
    }

    const again = await run('tensorboard', logs, '--data-dir', data.dir, '--pattern', PATTERN, '--experiment', 'tb');
    expect(again.code, again.err).toBe(0);
    expect(again.json).toMatchObject({ runsCreated: 0, runsPresent: 4, pointsAdded: 0 });
    const s2 = new Store(data.dir);
    try {
      expect(s2.listRuns()).toHaveLength(4);
    } finally {
      s2.close();
    }
  });

  it('a file that grew adds only its new points', async () => {
    const logs = copyTree(path.join(TB, 'logs'));
    const folder = path.join(logs, 'baseline/seed1');
    const file = path.join(folder, fs.readdirSync(folder)[0]!);
    const whole = fs.readFileSync(file);
    // the first half of the records, as a live run would have written them so far
    const { readTfRecords } = await import('../../src/import/tfrecord');
    const ends: number[] = [];
    readTfRecords(file, (d, o) => void ends.push(o + 12 + d.length + 4));
    fs.writeFileSync(file, whole.subarray(0, ends[3]!)); // file_version + steps 0..2: 6 points
    const a = await run('tensorboard', folder, '--data-dir', data.dir);
    expect(a.json).toMatchObject({ runsCreated: 1, pointsAdded: 6 });
    fs.writeFileSync(file, whole);
    const b = await run('tensorboard', folder, '--data-dir', data.dir);
    expect(b.json).toMatchObject({ runsCreated: 0, runsPresent: 1, pointsAdded: 4 });
    const store = new Store(data.dir);
    try {
      const [r] = store.listRuns();
      expect(Object.values(store.history(r!.id)).flat()).toHaveLength(10);
    } finally {
      store.close();
    }
  });

  it('refuses bad input with exit 2 and writes nothing', async () => {
    const logs = copyTree(path.join(TB, 'logs'));
    const strict = await run('tensorboard', logs, '--data-dir', data.dir, '--strict');
    expect(strict.code).toBe(2);
    expect(strict.err).toMatch(/mixup\/seed1\/events\.out\.tfevents\.\S+: truncated at byte \d+/);
    const unmatched = await run('tensorboard', logs, '--data-dir', data.dir, '--pattern', '(?<arm>baseline)/seed(?<seed>\\d+)', '--experiment', 'x');
    expect(unmatched.code).toBe(2);
    expect(unmatched.err).toMatch(/does not match 2 run folders.*mixup\/seed1, mixup\/seed2/);
    expect((await run('tensorboard', path.join(data.dir, 'nope'), '--data-dir', data.dir)).code).toBe(2);
    expect((await run('csv', path.join(CSV, 'bad-step.csv'), '--data-dir', data.dir)).err).toMatch(/line 3, column "step"/);
    expect((await run('bogus')).code).toBe(2);
    const store = new Store(data.dir);
    try {
      expect(store.listRuns()).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('--help exits 0 and names the options', async () => {
    const h = await run('tensorboard', '--help');
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/--pattern/);
    expect(h.out).toMatch(/--strict/);
  });
});

describe('import csv', () => {
  it('our histories export imports back to the same points, experiments, arms and seeds', async () => {
    const logs = copyTree(path.join(TB, 'logs'));
    // an experiment name a spreadsheet would run as a formula (exported quoted, read back unquoted);
    // the baseline is not the first arm in the file, and not in the file at all: --baseline again below
    const tb = await run('tensorboard', logs, '--data-dir', data.dir, '--pattern', PATTERN, '--experiment', '=tb', '--baseline', 'mixup');
    expect(tb.code, tb.err).toBe(0);
    // two runs outside any experiment, seed 4
    const w = await run('csv', path.join(CSV, 'wandb-chart.csv'), '--data-dir', data.dir, '--seed', '4');
    expect(w.code, w.err).toBe(0);
    type Place = { experiment: string | null; arm: string | null; seed: number };
    const placeOf = (s: Store) => Object.fromEntries(s.listRuns().map((r): [string, Place] => {
      const n = s.experiments.namesOf(r.id);
      return [r.name, { experiment: n?.experimentName ?? null, arm: n?.armName ?? null, seed: r.seed }];
    }));
    const pointsOf = (s: Store) => Object.fromEntries(s.listRuns().map((r) => [r.name, Object.values(s.history(r.id)).flat().map((p) => [p.key, p.step, p.epoch, p.value, p.time])]));
    const first = new Store(data.dir);
    const csv = path.join(data.dir, 'histories.csv');
    let before: Record<string, unknown[]>;
    let placed: Record<string, Place>;
    try {
      const out = fs.createWriteStream(csv);
      await writeHistoriesCsv(first, [], out as unknown as PassThrough);
      before = pointsOf(first);
      placed = placeOf(first);
    } finally {
      first.close();
    }
    expect(placed['mixup/seed2']).toEqual({ experiment: '=tb', arm: 'mixup', seed: 2 });
    expect(placed['baseline-s1']).toEqual({ experiment: null, arm: null, seed: 4 });
    expect(fs.readFileSync(csv, 'utf8')).toContain(",'=tb,mixup,2\n");
    const other = tmpDataDir('import-csv-');
    try {
      const res = await run('csv', csv, '--data-dir', other.dir, '--baseline', 'mixup');
      expect(res.code, res.err).toBe(0);
      expect(res.json).toMatchObject({ format: 'long', runsCreated: 6 });
      const s = new Store(other.dir);
      try {
        expect(pointsOf(s)).toEqual(before);
        expect(placeOf(s)).toEqual(placed);
        const [exp, ...more] = s.experiments.list();
        expect(more).toEqual([]);
        expect(exp!.name).toBe('=tb');
        expect(exp!.arms.map((a) => [a.name, a.role])).toEqual([['baseline', 'arm'], ['mixup', 'baseline']]);
        // paired by seed: each arm has seeds 1 and 2
        for (const arm of ['baseline', 'mixup']) {
          const seeds = s.listRuns().filter((r) => r.experimentId === exp!.id && s.experiments.namesOf(r.id)!.armName === arm).map((r) => r.seed);
          expect(seeds.sort()).toEqual([1, 2]);
        }
      } finally {
        s.close();
      }
      const again = await run('csv', csv, '--data-dir', other.dir);
      expect(again.json).toMatchObject({ runsCreated: 0, runsPresent: 6, pointsAdded: 0 });
      // --baseline where no run of the file is in an experiment: refused, naming the file
      const nothing = await run('csv', path.join(CSV, 'histories.csv'), '--data-dir', other.dir, '--baseline', 'mixup');
      expect(nothing.code).toBe(2);
      expect(nothing.err).toMatch(/histories\.csv: --baseline mixup: no run of this file is in an experiment/);
    } finally {
      other.cleanup();
    }
  });

  it('an MLflow runs table lands as summary values and params; a W&B chart as histories', async () => {
    const m = await run('csv', path.join(CSV, 'mlflow-runs.csv'), '--data-dir', data.dir, '--pattern', '^(?<arm>[a-z]+)-\\d+$', '--experiment', 'mf', '--params', 'lr');
    // the pattern gives no seed here: refused, naming the run
    expect(m.code).toBe(2);
    expect(m.err).toMatch(/baseline-1: a run of experiment 'mf' needs an arm and a seed/);
    const ok = await run('csv', path.join(CSV, 'mlflow-runs.csv'), '--data-dir', data.dir, '--params', 'lr');
    expect(ok.code, ok.err).toBe(0);
    expect(ok.json).toMatchObject({ format: 'mlflow', runsCreated: 2, pointsAdded: 0 });
    expect(ok.json!.keysWithoutDirection).toEqual([]);
    const w = await run('csv', path.join(CSV, 'wandb-chart.csv'), '--data-dir', data.dir, '--key-map', 'val/acc=val/acc');
    expect(w.json).toMatchObject({ format: 'wandb', runsCreated: 2, pointsAdded: 5 });
    const s = new Store(data.dir);
    try {
      const byName = new Map(s.listRuns().map((r) => [r.name, r]));
      const failed = byName.get('mixup-1')!;
      expect(failed.status).toBe('failed');
      expect(failed.params).toEqual({ lr: 0.1, optimizer: '=cmd' });
      expect(failed.seed).toBe(2);
      // the table's metrics are the runs' final values
      expect(s.summaries(byName.get('baseline-1')!.id).final).toMatchObject({ test_acc: 0.91, val_loss: 0.3 });
      expect(s.summaries(failed.id).final).toMatchObject({ test_acc: 0.93 });
      expect(s.history(byName.get('baseline-s1')!.id)['val/acc']!.map((p) => p.value)).toEqual([0.5, 0.6, 0.7]);
    } finally {
      s.close();
    }
  });
});
