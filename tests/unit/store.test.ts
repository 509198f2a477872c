import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultRunConfig } from '../../src/shared/config';
import { dbPath } from '../../src/store/db';
import { MIGRATIONS } from '../../src/store/migrations';
import { Store } from '../../src/store/store';
import { tmpDataDir } from '../helpers/tmp';

let tmp: ReturnType<typeof tmpDataDir>;
let store: Store;
beforeEach(() => {
  tmp = tmpDataDir();
  store = new Store(tmp.dir);
});
afterEach(() => {
  store.close();
  tmp.cleanup();
});

describe('store', () => {
  it('applies the migrations once, in WAL mode with a busy timeout', () => {
    expect(store.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('busy_timeout', { simple: true })).toBeGreaterThanOrEqual(5000);
    const again = new Store(tmp.dir); // re-opening does not re-apply
    expect(again.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    again.close();
  });

  it('refuses a store written by a newer version instead of corrupting it', () => {
    store.close();
    const raw = new Database(dbPath(tmp.dir));
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    expect(() => new Store(tmp.dir)).toThrow(/newer Trickbench/);
    store = new Store(tmpDataDir().dir);
  });

  it('keeps a run, its metrics (no duplicate points) and events; final/best summaries', () => {
    const run = store.createRun(defaultRunConfig(), 'running', 'r1');
    expect(run).toMatchObject({ id: 1, name: 'r1', status: 'running', seed: 1, pid: process.pid });
    const t = Date.now();
    store.addMetrics(run.id, [
      { key: 'val/acc', step: 10, epoch: 1, value: 0.5, time: t },
      { key: 'val/acc', step: 20, epoch: 2, value: 0.7, time: t },
      { key: 'val/acc', step: 30, epoch: 3, value: 0.6, time: t },
      { key: 'val/loss', step: 10, epoch: 1, value: 1.0, time: t },
      { key: 'val/loss', step: 20, epoch: 2, value: 0.8, time: t },
      { key: 'train/loss_step', step: 1, epoch: 0.1, value: 9, time: t },
    ]);
    store.addMetrics(run.id, [{ key: 'val/acc', step: 30, epoch: 3, value: 0.65, time: t }]); // re-written point
    expect(store.history(run.id)['val/acc']!.map((p) => p.value)).toEqual([0.5, 0.7, 0.65]);
    const s = store.summaries(run.id);
    expect(s.final).toEqual({ 'val/acc': 0.65, 'val/loss': 0.8 });
    expect(s.best).toEqual({ 'val/acc': 0.7, 'val/loss': 0.8 });
    store.addEvent(run.id, { epoch: 0, step: 0, kind: 'run.start', payload: { backend: 'wasm' }, time: t });
    expect(store.events(run.id)).toEqual([{ epoch: 0, step: 0, kind: 'run.start', payload: { backend: 'wasm' }, time: t }]);
  });

  it('claims a queued run once, and never overwrites a final status', () => {
    const run = store.createRun(defaultRunConfig(), 'queued');
    expect(store.claimRun(run.id)).toBe(true);
    expect(store.claimRun(run.id)).toBe(false);
    expect(store.finishRun(run.id, 'completed')).toBe(true);
    expect(store.finishRun(run.id, 'failed', 'late crash report')).toBe(false);
    expect(store.getRun(run.id)).toMatchObject({ status: 'completed', error: null, pid: null });
  });

  it('re-opens only a stopped run for resume; the claim keeps its first start time', () => {
    const run = store.createRun(defaultRunConfig(), 'running');
    expect(store.reopenForResume(run.id, 'queued')).toBe(false); // running
    store.finishRun(run.id, 'interrupted', 'gone');
    const started = store.getRun(run.id)!.startedAt;
    expect(store.reopenForResume(run.id, 'queued')).toBe(true);
    expect(store.getRun(run.id)).toMatchObject({ status: 'queued', resume: true, error: null, endedAt: null });
    expect(store.claimRun(run.id)).toBe(true);
    expect(store.getRun(run.id)).toMatchObject({ status: 'running', resume: false, startedAt: started });
    store.finishRun(run.id, 'completed');
    expect(store.reopenForResume(run.id, 'running')).toBe(false);
  });

  it('beginResume drops what came after the checkpoint and records the event, in one transaction', () => {
    const run = store.createRun(defaultRunConfig(), 'running');
    const pts = [5, 10, 11, 12].map((step) => ({ key: 'train/loss_step', step, epoch: step / 5, value: step, time: 0 }));
    store.addMetrics(run.id, [...pts, { key: 'val/acc', step: 10, epoch: 2, value: 0.5, time: 0 }]);
    store.evaluations.save(run.id, {
      evaluations: [{ checkpoint: 'last', epoch: 2, step: 10, n: 1, loss: 1, acc: 1, top5: null, confusion: [[1]], perClass: [1] }],
      classNames: ['a'],
      imageShape: [1, 1, 1],
      predictions: [{ index: 0, label: 0, pred: 0, confidence: 0.9, image: Uint8Array.of(7) }],
    });
    expect(store.evaluations.predictions(run.id, 'confidentRight', 10, 0).rows[0]!.image).toBe(Buffer.of(7).toString('base64'));
    const ev = { kind: 'run.resume', epoch: 2, step: 10, payload: { fromEpoch: 2, fromStep: 10 }, time: 1 };
    // A failing insert inside rolls everything back.
    expect(() => store.beginResume(run.id, 10, { ...ev, payload: { x: 1n } as never })).toThrow();
    expect(store.history(run.id)['train/loss_step']).toHaveLength(4);
    store.beginResume(run.id, 10, ev);
    expect(store.history(run.id)['train/loss_step']!.map((p) => p.step)).toEqual([5, 10]);
    expect(store.history(run.id)['val/acc']).toHaveLength(1);
    expect(store.evaluations.get(run.id)).toEqual({ best: null, last: null, classNames: [], imageShape: null });
    expect(store.events(run.id)).toEqual([ev]);
  });

  it('deleting a run removes its metrics and events', () => {
    const run = store.createRun(defaultRunConfig(), 'running');
    store.addMetrics(run.id, [{ key: 'val/acc', step: 1, epoch: 1, value: 1, time: 0 }]);
    store.addEvent(run.id, { epoch: 0, step: 0, kind: 'x', payload: {}, time: 0 });
    expect(store.deleteRun(run.id)).toBe(true);
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM metric').get()).toEqual({ n: 0 });
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM event').get()).toEqual({ n: 0 });
  });

  it('rejects a status the schema does not know', () => {
    const run = store.createRun(defaultRunConfig(), 'running');
    expect(() => store.db.prepare(`UPDATE run SET status = 'weird' WHERE id = ?`).run(run.id)).toThrow(/CHECK constraint/);
  });
});

describe('histories for comparisons and exports', () => {
  const pts = (key: string, n: number, perEpoch: number) =>
    Array.from({ length: n }, (_, i) => ({ key, step: i + 1, epoch: perEpoch === 1 ? i + 1 : (i + 1) / perEpoch, value: i / 7, time: 1_763_800_000_000 + i }));

  it('streams every row of a run once, in (key, step) order, across pages', () => {
    const r = store.createRun(defaultRunConfig(), 'running');
    store.addMetrics(r.id, [...pts('train/loss_step', 12_345, 100), ...pts('a/first', 3, 1), ...pts('val/acc', 40, 1)]);
    const rows = [...store.iterateHistory(r.id)];
    expect(rows).toHaveLength(12_345 + 3 + 40);
    expect(rows.slice(0, 4).map((x) => [x[0], x[1]])).toEqual([['a/first', 1], ['a/first', 2], ['a/first', 3], ['train/loss_step', 1]]);
    const loss = rows.filter((x) => x[0] === 'train/loss_step').map((x) => x[1]);
    expect(loss).toEqual(Array.from({ length: 12_345 }, (_, i) => i + 1)); // no row lost or repeated at a page boundary
    expect(rows[5000]).toEqual(['train/loss_step', 4998, 49.98, 4997 / 7, 1_763_800_000_000 + 4997]);
  });

  it('aligns runs on one epoch grid; a run with fewer epochs has NaN there; summaries skip per-step keys', () => {
    const a = store.createRun(defaultRunConfig(), 'running');
    const b = store.createRun(defaultRunConfig(), 'running');
    store.addMetrics(a.id, pts('val/acc', 5, 1));
    store.addMetrics(b.id, [...pts('val/acc', 3, 1), ...pts('train/loss_step', 30, 10)]);
    const h = store.alignedHistory([a.id, b.id], 'val/acc', { time: true });
    expect(h.epoch).toEqual([1, 2, 3, 4, 5]);
    expect(Array.from(h.values[1]!)).toEqual([0, 1 / 7, 2 / 7, NaN, NaN].map(Math.fround));
    expect(h.elapsed).not.toBeNull();
    // different grids (per-step, 10 a epoch vs whole epochs) merge into the union
    store.addMetrics(a.id, pts('train/loss_step', 2, 1));
    expect(store.alignedHistory([a.id, b.id], 'train/loss_step').epoch.slice(0, 3)).toEqual([0.1, 0.2, 0.3]);
    expect(store.alignedHistory([a.id, b.id], 'train/loss_step').epoch).toHaveLength(30);
    expect(Object.keys(store.summaries(b.id).final)).toEqual(['val/acc']);
    expect(store.summaries(a.id).best['val/acc']).toBe(4 / 7);
  });
});

describe('history CSV export', () => {
  it('round-trips names that need quoting, full-precision values and ISO times', async () => {
    const { writeHistoriesCsv } = await import('../../src/main/services/export');
    const { parse } = await import('csv-parse/sync');
    const { PassThrough } = await import('node:stream');
    const r = store.createRun(defaultRunConfig(), 'running', 'lr 0.1, "wide"\nnet');
    const values = [0.1 + 0.2, 1 / 3, -2.5e-12, 12345.678901234567];
    store.addMetrics(r.id, values.map((value, i) => ({ key: 'val/acc', step: i + 1, epoch: i + 1, value, time: 1_763_845_200_123 + i * 1001 })));
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await writeHistoriesCsv(store, [r.id], out);
    const rows = parse(Buffer.concat(chunks).toString(), { columns: true }) as Record<string, string>[];
    expect(rows.map((x) => Number(x.value))).toEqual(values); // shortest round-trip text: no digit lost
    expect(rows[0]).toMatchObject({ run_id: String(r.id), run_name: 'lr 0.1, "wide"\nnet', key: 'val/acc', step: '1', epoch: '1', wall_time: new Date(1_763_845_200_123).toISOString() });
    expect(rows[3]!.wall_time).toBe(new Date(1_763_845_200_123 + 3003).toISOString());
  });
});
