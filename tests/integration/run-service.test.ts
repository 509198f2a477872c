// The host's run lifecycle with a real SQLite file and real forked trainers.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultRunConfig } from '../../src/shared/config';
import { isAlive } from '../../src/main/services/runs';
import { makeService, tinyConfig, waitFor } from '../helpers/trainer';
import { tmpDataDir } from '../helpers/tmp';
import { writeFakeFashion } from '../helpers/datasets';

let tmp: ReturnType<typeof tmpDataDir>;
let ctx: ReturnType<typeof makeService>;
beforeEach(() => {
  tmp = tmpDataDir();
  ctx = makeService(tmp.dir, { cancelGraceMs: 20_000 });
});
afterEach(async () => {
  await ctx.service.close();
  ctx.store.close();
  tmp.cleanup();
});

const statusOf = (id: number) => ctx.store.getRun(id)?.status;

describe('run service with forked trainers', () => {
  it('queues, trains and records a run: status, backend, metrics, events, live messages', async () => {
    const run = ctx.service.start(tinyConfig({ name: 'first' }));
    expect(run.status).toBe('queued');
    await waitFor(() => ['completed', 'failed'].includes(statusOf(run.id) ?? ''), 'the run to finish');
    await ctx.service.whenExited(run.id);
    const r = ctx.store.getRun(run.id)!;
    expect(r.error).toBeNull();
    expect(r.status).toBe('completed');
    expect(r.backend).toBe('wasm'); // tfjs-node(-gpu) cannot install on our machines
    expect(r.device).toMatch(/wasm/);

    const h = ctx.store.history(run.id);
    // 256 training images / batch 32 = 8 steps per epoch, 2 epochs.
    expect(h['train/loss_step']!.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    for (const key of ['train/loss', 'train/acc', 'val/loss', 'val/acc', 'lr', 'time/epoch_s', 'time/cpu_s', 'throughput/img_s']) {
      expect(h[key]!.map((p) => p.epoch), key).toEqual([1, 2]);
    }
    expect(h['time/cpu_s']!.every((p) => p.value > 0 && Number.isFinite(p.value))).toBe(true); // the trainer's CPU seconds per epoch
    expect(h['test/acc']).toHaveLength(1);
    expect(ctx.store.events(run.id).map((e) => e.kind)).toEqual(['run.start', 'pairing', 'run.end']);

    // Live messages reached the host: progress and metrics while running, then the final status.
    expect(ctx.rec.of('runs:progress').length).toBeGreaterThan(0);
    expect(ctx.rec.of('runs:metrics').flatMap((m) => m.points).some((p) => p.key === 'val/acc')).toBe(true);
    const last = ctx.rec.of('runs:changed').filter((s) => s.id === run.id).at(-1)!;
    expect(last.status).toBe('completed');
    expect(last.final['test/acc']).toBeGreaterThanOrEqual(0);
  });

  it('runs one at a time by default, in order', async () => {
    const a = ctx.service.start(tinyConfig({ epochs: 1 }));
    const b = ctx.service.start(tinyConfig({ epochs: 1, seed: 2 }));
    await waitFor(() => statusOf(a.id) === 'running', 'a to run');
    expect(statusOf(b.id)).toBe('queued');
    await waitFor(() => statusOf(b.id) === 'completed', 'b to complete');
    expect(ctx.store.getRun(a.id)!.endedAt!).toBeLessThanOrEqual(ctx.store.getRun(b.id)!.startedAt!);
  });

  it('refuses an invalid config naming the field, and stores nothing', () => {
    expect(() => ctx.service.start({ epochs: -1 })).toThrow(/epochs: must be >= 1/);
    try {
      ctx.service.start({ optimizer: { lr: 'abc' } });
    } catch (e) {
      expect((e as { error: { field: string } }).error.field).toBe('optimizer.lr');
    }
    expect(ctx.store.listRuns()).toHaveLength(0);
  });

  it('cancels a running run: the trainer stops at the next step and records cancelled', async () => {
    const run = ctx.service.start(tinyConfig({ epochs: 50 }));
    await waitFor(() => ctx.rec.of('runs:progress').some((p) => p.runId === run.id && p.progress.step >= 2), 'training steps');
    ctx.service.cancel(run.id);
    await ctx.service.whenExited(run.id);
    expect(ctx.store.getRun(run.id)).toMatchObject({ status: 'cancelled', error: null });
    expect(ctx.store.events(run.id).at(-1)).toMatchObject({ kind: 'run.end', payload: { status: 'cancelled' } });
  });

  it('cancels a queued run without starting it', async () => {
    const a = ctx.service.start(tinyConfig({ epochs: 1 }));
    const b = ctx.service.start(tinyConfig({ epochs: 1 }));
    expect(ctx.service.cancel(b.id).status).toBe('cancelled');
    await waitFor(() => statusOf(a.id) === 'completed', 'a');
    expect(ctx.store.getRun(b.id)).toMatchObject({ status: 'cancelled', startedAt: null });
  });

  it('a trainer killed with SIGKILL leaves its run failed with the signal, never running', async () => {
    const run = ctx.service.start(tinyConfig({ epochs: 50 }));
    await waitFor(() => ctx.rec.of('runs:progress').some((p) => p.runId === run.id), 'training to start');
    const pid = ctx.store.getRun(run.id)!.pid!;
    process.kill(pid, 'SIGKILL');
    await ctx.service.whenExited(run.id);
    const r = ctx.store.getRun(run.id)!;
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/killed by SIGKILL/);
    expect(r.endedAt).not.toBeNull();
  });

  it('at start-up, runs left running by a dead process become interrupted; queued ones run', async () => {
    const orphan = ctx.store.createRun(defaultRunConfig(), 'running');
    // A pid that is certainly not alive: the highest possible one.
    ctx.store.db.prepare('UPDATE run SET pid = ? WHERE id = ?').run(4194304, orphan.id);
    expect(isAlive(4194304)).toBe(false);
    const alive = ctx.store.createRun(defaultRunConfig(), 'running'); // its pid is this (living) process
    const queued = ctx.store.createRun(defaultRunConfig() && ({ ...defaultRunConfig(), ...tinyConfig({ epochs: 1 }) } as never), 'queued');
    ctx.service.recover();
    expect(ctx.store.getRun(orphan.id)).toMatchObject({ status: 'interrupted' });
    expect(ctx.store.getRun(orphan.id)!.error).toMatch(/pid 4194304/);
    expect(statusOf(alive.id)).toBe('running');
    await waitFor(() => statusOf(queued.id) === 'completed', 'the re-queued run');
    ctx.store.finishRun(alive.id, 'cancelled');
  });

  it('a truncated dataset file fails the run with a message naming the file', async () => {
    const dir = path.join(tmp.dir, 'datasets', 'fashion-mnist');
    writeFakeFashion(dir, 1000, 100);
    // Random pixels do not compress, so cutting the file really loses most of the data.
    const file = path.join(dir, 'train-images-idx3-ubyte.gz');
    const full = fs.readFileSync(file);
    expect(full.length).toBeGreaterThan(100_000);
    fs.writeFileSync(file, full.subarray(0, full.length >> 1));
    const run = ctx.service.start(tinyConfig({ dataset: { name: 'fashion-mnist' } }));
    await waitFor(() => statusOf(run.id) === 'failed', 'the run to fail');
    expect(ctx.store.getRun(run.id)!.error).toBe(`${path.join(dir, 'train-images-idx3-ubyte.gz')}: truncated gzip data (the file is incomplete)`);
  });

  it('deletes finished runs with their files, refuses a running one', async () => {
    const run = ctx.service.start(tinyConfig({ epochs: 50 }));
    await waitFor(() => statusOf(run.id) === 'running', 'running');
    expect(() => ctx.service.delete([run.id])).toThrow(/cancel it before deleting/);
    ctx.service.cancel(run.id);
    await ctx.service.whenExited(run.id);
    const folder = path.join(tmp.dir, 'runs', String(run.id));
    fs.mkdirSync(folder, { recursive: true });
    expect(ctx.service.delete([run.id])).toEqual({ deleted: [run.id] });
    expect(fs.existsSync(folder)).toBe(false);
    expect(ctx.store.getRun(run.id)).toBeNull();
  });
});
