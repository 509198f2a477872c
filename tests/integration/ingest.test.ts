// Runs logged from outside (the ingest channels), through the real web server and handlers over a
// real store: what a script's client relies on — idempotent retries, all-or-nothing batches, clear
// 4xx refusals, a run that ends in a clear state when its client vanishes — and what the pages
// see (runs:list, live pushes, the experiment's arms and seeds).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHandlers } from '../../src/main/handlers';
import { RunService } from '../../src/main/services/runs';
import { startServer, type WebServer } from '../../src/main/server';
import type { EventName, RunSummary } from '../../src/shared/api';
import type { ExperimentInfo } from '../../src/shared/experiments';
import { Store } from '../../src/store/store';
import { tmpDataDir } from '../helpers/tmp';
import { tinyConfig } from '../helpers/trainer';

let tmp: ReturnType<typeof tmpDataDir>;
let store: Store;
let runs: RunService;
let server: WebServer;
let pushed: { event: EventName; payload: unknown }[];

beforeAll(async () => {
  tmp = tmpDataDir('tb-ingest-');
  store = new Store(tmp.dir);
  runs = new RunService({ store, dataDir: tmp.dir, trainerEntry: 'unused', concurrency: 0, emit: (event, payload) => pushed.push({ event, payload }) });
  const handlers = createHandlers(runs, { shell: 'web', dataDir: tmp.dir, version: 'test' }, () => ({ path: null }), () => ({ path: null }));
  const staticDir = path.join(tmp.dir, 'renderer');
  fs.mkdirSync(staticDir);
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html>');
  server = await startServer({ handlers, store, staticDir, port: 0 });
});

afterAll(async () => {
  await server.close();
  await runs.close();
  store.close();
  tmp.cleanup();
});

beforeEach(() => {
  pushed = [];
});

interface Reply {
  status: number;
  body: { ok: boolean; value?: unknown; error?: { code: string; message: string; field?: string } };
}

/** A call as a script makes it: JSON, the token as a Bearer header. */
async function call(channel: string, arg: unknown, token = server.token): Promise<Reply> {
  const res = await fetch(`http://127.0.0.1:${server.port}/api/invoke/${channel}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(arg),
  });
  const text = await res.text();
  let body: Reply['body'];
  try {
    body = JSON.parse(text) as Reply['body'];
  } catch {
    body = { ok: false, error: { code: 'not_json', message: text } };
  }
  return { status: res.status, body };
}
async function ok<T>(channel: string, arg: unknown): Promise<T> {
  const r = await call(channel, arg);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.value as T;
}
const rowsOf = (runId: number) => store.db.prepare(`SELECT key, step, epoch, value FROM metric WHERE run_id = ? ORDER BY key, step`).all(runId);

describe('a run logged from a script', () => {
  it('is created running, takes batches of points, events and summaries, and finishes', async () => {
    const made = await ok<{ runId: number; experimentId: number; armId: number; created: boolean }>('ingest:create', {
      seed: 3,
      params: { lr: 0.1, model: { name: 'resnet20', width: 16 }, tags: ['a', 'b'] },
      experiment: 'repr-vs-standard',
      arm: 'standard',
    });
    expect(made.created).toBe(true);
    const run = await ok<RunSummary>('runs:get', { id: made.runId });
    expect(run).toMatchObject({ status: 'running', source: 'external', config: null, seed: 3, experimentName: 'repr-vs-standard', armName: 'standard', name: 'standard seed 3' });
    expect(run.params).toEqual({ lr: 0.1, model: { name: 'resnet20', width: 16 }, tags: ['a', 'b'] });
    expect(pushed.some((p) => p.event === 'runs:changed' && (p.payload as RunSummary).id === made.runId)).toBe(true);

    const points = [
      { key: 'train/loss', step: 1, value: 2.3, time: 1_700_000_000_000 },
      { key: 'train/loss', step: 2, value: 2.1 },
      { key: 'val/acc', step: 2, epoch: 1, value: 0.4 },
      { key: 'val/acc', step: 4, epoch: 2, value: 0.55 },
    ];
    expect(await ok('ingest:metrics', { runId: made.runId, points })).toEqual({ written: 4 });
    // live: the pages hear the points as stored (epoch defaults to the step, time to now)
    const live = pushed.find((p) => p.event === 'runs:metrics')!.payload as { runId: number; points: { key: string; epoch: number; time: number }[] };
    expect(live.runId).toBe(made.runId);
    expect(live.points.map((p) => p.epoch)).toEqual([1, 2, 1, 2]);
    expect(live.points[0]!.time).toBe(1_700_000_000_000);

    expect(await ok('ingest:events', { runId: made.runId, events: [{ kind: 'lr.drop', step: 4, epoch: 2, payload: { lr: 0.01 } }] })).toEqual({ written: 1 });
    expect(await ok('ingest:summary', { runId: made.runId, values: { 'test/acc': 0.61 } })).toEqual({ written: 1 });
    const done = await ok<RunSummary>('ingest:finish', { runId: made.runId, status: 'completed' });
    expect(done.status).toBe('completed');
    expect(done.final).toMatchObject({ 'val/acc': 0.55, 'test/acc': 0.61 });
    expect(done.best['val/acc']).toBe(0.55);
    expect(await ok('runs:events', { id: made.runId })).toEqual([expect.objectContaining({ kind: 'lr.drop', step: 4, epoch: 2, payload: { lr: 0.01 } })]);

    const exp = await ok<ExperimentInfo>('experiments:get', { id: made.experimentId });
    expect(exp).toMatchObject({ source: 'external', name: 'repr-vs-standard', seeds: [3], metric: 'val/acc' });
    expect(exp.arms).toEqual([expect.objectContaining({ name: 'standard', role: 'baseline' })]);
  });

  it('a retried create (same clientKey) and a retried batch change nothing; the same point twice keeps one value', async () => {
    const spec = { seed: 1, clientKey: 'host-a:pid-42:1', experiment: 'retries', arm: 'repr', baseline: 'standard' };
    const a = await ok<{ runId: number; created: boolean }>('ingest:create', spec);
    const b = await ok<{ runId: number; created: boolean }>('ingest:create', spec);
    expect(b).toMatchObject({ runId: a.runId, created: false });
    expect(store.listRuns().filter((r) => r.name === 'repr seed 1')).toHaveLength(1);
    // another seed under the same key is a client's bug, not a retry
    expect((await call('ingest:create', { ...spec, seed: 2 })).status).toBe(409);

    const batch = { runId: a.runId, points: [{ key: 'val/acc', step: 10, epoch: 1, value: 0.5 }, { key: 'val/loss', step: 10, epoch: 1, value: 1.2 }] };
    await ok('ingest:metrics', batch);
    await ok('ingest:metrics', batch); // the answer was lost: the client sends it again
    expect(rowsOf(a.runId)).toHaveLength(2);
    // two clients log the same (run, key, step): one row, one value
    await Promise.all([
      ok('ingest:metrics', { runId: a.runId, points: [{ key: 'val/acc', step: 20, epoch: 2, value: 0.6 }] }),
      ok('ingest:metrics', { runId: a.runId, points: [{ key: 'val/acc', step: 20, epoch: 2, value: 0.6 }] }),
    ]);
    expect(rowsOf(a.runId).filter((r) => (r as { step: number }).step === 20)).toHaveLength(1);

    const ev = { runId: a.runId, events: [{ kind: 'repr.prune', step: 10, payload: { filters: 3 } }] };
    expect(await ok('ingest:events', ev)).toEqual({ written: 1 });
    expect(await ok('ingest:events', ev)).toEqual({ written: 0 });

    // the baseline named first is the experiment's; its arm becomes the baseline when it appears
    const base = await ok<{ experimentId: number }>('ingest:create', { seed: 1, experiment: 'retries', arm: 'standard' });
    const exp = await ok<ExperimentInfo>('experiments:get', { id: base.experimentId });
    expect(exp.arms.map((x) => [x.name, x.role])).toEqual([
      ['repr', 'arm'],
      ['standard', 'baseline'],
    ]);
    const other = await call('ingest:create', { seed: 2, experiment: 'retries', arm: 'repr', baseline: 'repr' });
    expect(other.status).toBe(409);
    expect(other.body.error!.message).toBe("experiment 'retries' has baseline arm 'standard', not 'repr'");
  });

  it('a malformed batch writes nothing: one bad point refuses the whole call with a 400 naming it', async () => {
    const { runId } = await ok<{ runId: number }>('ingest:create', { seed: 5 });
    const r = await call('ingest:metrics', { runId, points: [{ key: 'loss', step: 1, value: 1 }, { key: 'loss', step: 2, value: 'NaN' }] });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'bad_request', field: 'points.1.value' });
    expect(rowsOf(runId)).toEqual([]);
    const big = await call('ingest:metrics', { runId, points: Array.from({ length: 10_001 }, (_, i) => ({ key: 'l', step: i, value: 0 })) });
    expect([400, 413]).toContain(big.status); // over the point cap, or over the body cap first
    expect(rowsOf(runId)).toEqual([]);
    const control = await call('ingest:metrics', { runId, points: [{ key: 'bad\nkey', step: 1, value: 1 }] });
    expect(control.body.error!.message).toBe('ingest:metrics: points.0.key: a metric key must not contain control characters');
    const huge = await call('ingest:create', { seed: 1, params: { blob: 'x'.repeat(70_000) } });
    expect(huge.status).toBe(400);
    expect(huge.body.error!.message).toMatch(/^ingest:create: params: params must be at most 65536 bytes as JSON, got 7\d{4}$/);
    const armless = await call('ingest:create', { seed: 1, experiment: 'e' });
    expect(armless).toMatchObject({ status: 400, body: { error: { field: 'arm' } } });
  });

  it('refuses what would corrupt a run: points after finish, another status, our own runs, unknown runs, a wrong token', async () => {
    const { runId } = await ok<{ runId: number }>('ingest:create', { seed: 6 });
    await ok('ingest:finish', { runId, status: 'failed', error: 'CUDA out of memory' });
    expect(await ok<RunSummary>('ingest:finish', { runId, status: 'failed' })).toMatchObject({ status: 'failed', error: 'CUDA out of memory' });
    const late = await call('ingest:metrics', { runId, points: [{ key: 'loss', step: 1, value: 1 }] });
    expect(late.status).toBe(409);
    expect(late.body.error!.message).toBe(`run ${runId} is failed: it takes no more metrics`);
    expect((await call('ingest:finish', { runId, status: 'completed' })).status).toBe(409);
    expect((await call('ingest:heartbeat', { runId })).status).toBe(409);

    const ours = (await ok<RunSummary>('runs:start', { config: tinyConfig() })).id;
    const forged = await call('ingest:metrics', { runId: ours, points: [{ key: 'val/acc', step: 1, value: 1 }] });
    expect(forged.status).toBe(409);
    expect(forged.body.error!.message).toMatch(/is trained by Trickbench/);
    expect((await call('ingest:finish', { runId: ours, status: 'completed' })).status).toBe(409);
    expect((await ok<RunSummary>('runs:get', { id: ours })).status).toBe('queued');
    expect((await call('ingest:heartbeat', { runId: 99_999 })).status).toBe(404);
    expect((await call('ingest:heartbeat', { runId }, 'wrong')).status).toBe(401);

    // an external run is not ours to resume, and its experiment's name is not a file's
    expect((await call('runs:resume', { id: runId })).body.error!.message).toMatch(/logged by another script/);
  });

  it('a body over the size cap is a 413', async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/api/invoke/ingest:metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
      body: 'x'.repeat((1 << 20) + 1),
    });
    expect(res.status).toBe(413);
  });
});

describe('a run whose client is gone', () => {
  it('fails with "no heartbeat for N s" once silent past its timeout; a call within it keeps it alive', async () => {
    const { runId } = await ok<{ runId: number }>('ingest:create', { seed: 7, heartbeatTimeoutS: 10 });
    const t0 = Date.now();
    expect(store.external.reapStale(t0 + 5_000)).toEqual([]);
    await ok('ingest:heartbeat', { runId });
    expect(store.external.reapStale(Date.now() + 9_000)).toEqual([]);
    expect(store.external.reapStale(Date.now() + 11_000)).toEqual([runId]);
    const r = store.getRun(runId)!;
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/^no heartbeat for 10 s/);
    expect((await call('ingest:metrics', { runId, points: [{ key: 'l', step: 1, value: 1 }] })).status).toBe(409);
  });

  it('after a host restart each running external run gets a full timeout again', async () => {
    const { runId } = await ok<{ runId: number }>('ingest:create', { seed: 8, heartbeatTimeoutS: 10 });
    store.db.prepare(`UPDATE run SET heartbeat_at = ? WHERE id = ?`).run(Date.now() - 3_600_000, runId); // the host was down an hour
    store.external.graceAll();
    expect(store.external.reapStale(Date.now() + 5_000)).toEqual([]);
    expect(store.getRun(runId)!.status).toBe('running');
  });

  it('cancelled from the app: it ends cancelled, and its client is refused from then on', async () => {
    const { runId } = await ok<{ runId: number }>('ingest:create', { seed: 9 });
    expect((await ok<RunSummary>('runs:cancel', { id: runId })).status).toBe('cancelled');
    const r = await call('ingest:metrics', { runId, points: [{ key: 'l', step: 1, value: 1 }] });
    expect(r.status).toBe(409);
    expect(r.body.error!.message).toBe(`run ${runId} is cancelled: it takes no more metrics`);
  });
});

describe('an imported run', () => {
  it('is made once per clientKey; importing again adds only the rows it lacks', () => {
    const spec = { seed: 0, name: 'tb/run-0', clientKey: 'tensorboard:/logs/run-0', params: { source: 'tensorboard' } };
    const metrics = [
      { key: 'loss', step: 1, value: 1, time: 1000 },
      { key: 'loss', step: 2, value: 0.5, time: 3000 },
    ];
    const first = store.external.importRun({ spec, metrics, status: 'completed' });
    expect(first).toMatchObject({ created: true, pointsAdded: 2 });
    const again = store.external.importRun({ spec, metrics: [...metrics, { key: 'loss', step: 3, value: 0.25, time: 5000 }], status: 'completed' });
    expect(again).toMatchObject({ runId: first.runId, created: false, pointsAdded: 1 });
    const r = store.getRun(first.runId)!;
    expect(r).toMatchObject({ status: 'completed', source: 'external', startedAt: 1000 });
    expect(rowsOf(first.runId)).toHaveLength(3);
    // a bad row refuses the import, naming it, and writes nothing
    expect(() => store.external.importRun({ spec: { ...spec, clientKey: 'x' }, metrics: [{ key: 'loss', step: -2, value: 1 }], status: 'completed' })).toThrow(/^metrics\[0\]\.step: /);
    expect(store.listRuns().filter((x) => x.name === 'tb/run-0')).toHaveLength(1);
  });
});

describe("external runs' comparisons", () => {
  /** A finished external run of `experiment`/`arm`: val/acc per epoch, and a reported summary. */
  async function logged(experiment: string, arm: string, seed: number, accs: number[], o: { baseline?: string; summary?: Record<string, number>; params?: Record<string, unknown> } = {}): Promise<number> {
    const { runId } = await ok<{ runId: number }>('ingest:create', { experiment, arm, seed, baseline: o.baseline, params: o.params ?? { lr: 0.1, smoothing: arm === 'ls' ? 0.1 : 0, seed } });
    await ok('ingest:metrics', { runId, points: accs.map((value, i) => ({ key: 'val/acc', step: (i + 1) * 10, epoch: i + 1, value })) });
    if (o.summary) await ok('ingest:summary', { runId, values: o.summary });
    await ok('ingest:finish', { runId, status: 'completed' });
    return runId;
  }

  it('selected runs group into the arms their scripts named, compared on what they reported', async () => {
    const ids: number[] = [];
    for (const seed of [1, 2, 3]) {
      ids.push(await logged('cmp-a', 'base', seed, [0.5, 0.6 + seed / 100], { summary: { 'test/acc': 0.6 + seed / 100 } }));
      ids.push(await logged('cmp-a', 'ls', seed, [0.5, 0.62 + seed / 100], { summary: { 'test/acc': 0.63 + seed / 100 } }));
    }
    const s = await ok<{ arms: { name: string; role: string; n: number; mean: number | null; paired: { delta: number } | null }[] }>('compare:summary', { runIds: ids });
    // one arm per named arm (their params differ by seed: they are not what groups them)
    expect(s.arms.map((a) => [a.name, a.role, a.n])).toEqual([
      ['base', 'baseline', 3],
      ['ls', 'arm', 3],
    ]);
    // test/acc is what each script reported (ingest:summary), whatever the rule: +3 points per seed
    expect(s.arms[1]!.paired!.delta).toBeCloseTo(0.03, 12);
    const last = await ok<{ arms: { paired: { delta: number } | null }[] }>('compare:summary', { runIds: ids, rule: 'last' });
    expect(last.arms[1]!.paired!.delta).toBeCloseTo(0.03, 12);
    // val/acc: the per-epoch points under the rule (best epoch = last here): +2 points
    const val = await ok<{ arms: { paired: { delta: number } | null }[] }>('compare:summary', { runIds: ids, metric: 'val/acc' });
    expect(val.arms[1]!.paired!.delta).toBeCloseTo(0.02, 12);
  });

  it("external runs outside an experiment are one arm per params (seed and name aside), named by what differs", async () => {
    const ids: number[] = [];
    for (const seed of [1, 2]) {
      for (const lr of [0.1, 0.01]) {
        const { runId } = await ok<{ runId: number }>('ingest:create', { seed, name: `sweep seed ${seed}`, params: { lr, seed, run_name: `lr${lr}-s${seed}` } });
        await ok('ingest:metrics', { runId, points: [{ key: 'val/acc', step: 1, epoch: 1, value: lr }] });
        await ok('ingest:finish', { runId, status: 'completed' });
        ids.push(runId);
      }
    }
    const s = await ok<{ arms: { name: string; n: number }[] }>('compare:summary', { runIds: ids, metric: 'val/acc' });
    expect(s.arms.map((a) => [a.name, a.n])).toEqual([
      ['sweep', 2],
      ['sweep (lr 0.01)', 2],
    ]);
  });

  it('an experiment whose declared baseline has not logged yet compares with it (nothing paired), not with another arm', async () => {
    const runId = await logged('cmp-b', 'trick', 1, [0.7], { baseline: 'standard' });
    const experimentId = store.getRun(runId)!.experimentId!;
    const s = await ok<{ arms: { name: string; role: string; n: number; paired: unknown }[] }>('compare:summary', { experimentId, metric: 'val/acc' });
    expect(s.arms.map((a) => [a.name, a.role, a.n])).toEqual([
      ['standard', 'baseline', 0],
      ['trick', 'arm', 1],
    ]);
  });

  it('refuses to launch anything for an external experiment: seeds, arms, resume and run-until-decided are its scripts\'', async () => {
    const runId = await logged('cmp-c', 'base', 1, [0.5]);
    const id = store.getRun(runId)!.experimentId!;
    const before = store.listRuns().length;
    for (const [channel, arg] of [
      ['experiments:addSeeds', { id, seeds: [9] }],
      ['experiments:addArm', { id, name: 'more', set: { 'optimizer.lr': 0.1 } }],
      ['experiments:resume', { id }],
      ['experiments:runUntilDecided', { id }],
    ] as const) {
      const r = await call(channel, arg);
      expect(r.status, channel).toBe(409);
      expect(r.body.error?.message, channel).toMatch(/holds runs logged by other scripts/);
    }
    expect(store.listRuns()).toHaveLength(before);
    expect(store.experiments.get(id)!.seeds).toEqual([1]);
  });
});
