// Resume, fine-tune validation and evaluation through the run service and the contract, with
// real forked trainers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiError, RunSummary } from '../../src/shared/api';
import { defaultRunConfig } from '../../src/shared/config';
import { createHandlers, dispatch } from '../../src/main/handlers';
import { makeService, tinyConfig, waitFor } from '../helpers/trainer';
import { tmpDataDir } from '../helpers/tmp';

const tmp = tmpDataDir();
let ctx: ReturnType<typeof makeService>;
let completed: RunSummary;
beforeAll(async () => {
  ctx = makeService(tmp.dir, { cancelGraceMs: 20_000 });
  completed = ctx.service.start(tinyConfig({ name: 'done' }));
  await waitFor(() => ctx.store.getRun(completed.id)?.status === 'completed', 'the first run to complete');
  await ctx.service.whenExited(completed.id);
});
afterAll(async () => {
  await ctx.service.close();
  ctx.store.close();
  tmp.cleanup();
});

const statusOf = (id: number) => ctx.store.getRun(id)?.status;
const failure = (fn: () => unknown): ApiError => {
  try {
    fn();
  } catch (e) {
    return (e as { error: ApiError }).error;
  }
  throw new Error('expected an ApiFailure');
};
/** Everything stored about the runs, to show that a refusal wrote nothing. */
const snapshot = () => JSON.stringify([ctx.store.listRuns(), ctx.store.listRuns().map((r) => ctx.store.events(r.id))]);

describe('resume through the run service', () => {
  it('continues a cancelled run from its last checkpoint: same id, queued -> running -> completed, no gap', async () => {
    const run = ctx.service.start(tinyConfig({ epochs: 6 }));
    // 8 steps per epoch: stop somewhere after the second epoch's checkpoint.
    await waitFor(() => ctx.rec.of('runs:progress').some((p) => p.runId === run.id && p.progress.step > 16), 'two epochs');
    ctx.service.cancel(run.id);
    await ctx.service.whenExited(run.id);
    const stopped = ctx.service.summary(run.id);
    expect(stopped.status).toBe('cancelled');
    expect(stopped.checkpoints).toContain('last');
    const seen = ctx.rec.events.length;
    expect(ctx.service.resume(run.id).status).toBe('queued');
    await waitFor(() => statusOf(run.id) === 'completed', 'the resumed run');
    await ctx.service.whenExited(run.id);
    const statuses = ctx.rec.events
      .slice(seen)
      .filter((e) => e.event === 'runs:changed' && (e.payload as RunSummary).id === run.id)
      .map((e) => (e.payload as RunSummary).status);
    expect(statuses[0]).toBe('queued');
    expect(statuses).toContain('running');
    expect(statuses.at(-1)).toBe('completed');
    const steps = ctx.store.history(run.id)['train/loss_step']!.map((p) => p.step);
    expect(steps).toEqual(Array.from({ length: 48 }, (_, i) => i + 1));
    expect(ctx.store.history(run.id)['val/acc']!.map((p) => p.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    const resume = ctx.store.events(run.id).find((e) => e.kind === 'run.resume')!;
    expect(resume.payload.fromEpoch).toBeGreaterThanOrEqual(2);
    expect(resume.payload.fromStep).toBe(8 * (resume.payload.fromEpoch as number));
  });

  it('refuses a completed, queued, running, checkpoint-less or missing run, naming it; writes nothing', () => {
    const running = ctx.store.createRun(defaultRunConfig(), 'running'); // pid: this living process
    const noCkpt = ctx.store.createRun(defaultRunConfig(), 'queued');
    ctx.store.finishRun(noCkpt.id, 'cancelled');
    const before = snapshot();
    expect(failure(() => ctx.service.resume(completed.id))).toMatchObject({
      code: 'conflict',
      field: 'id',
      message: `run ${completed.id} cannot be resumed: it has completed; only a cancelled, failed or interrupted run can be`,
    });
    expect(failure(() => ctx.service.resume(running.id)).message).toContain(`run ${running.id} cannot be resumed: it is running`);
    expect(failure(() => ctx.service.resume(noCkpt.id)).message).toContain('it has no checkpoint');
    expect(failure(() => ctx.service.resume(9999))).toMatchObject({ code: 'not_found', message: 'run 9999 does not exist' });
    expect(snapshot()).toBe(before);
    ctx.store.finishRun(running.id, 'cancelled');
  });
});

describe('init.fromRun through the run service', () => {
  it('refuses a missing, running or checkpoint-less source at the field, before creating the run', () => {
    const running = ctx.store.createRun(defaultRunConfig(), 'running');
    const noCkpt = ctx.store.createRun(defaultRunConfig(), 'running');
    ctx.store.finishRun(noCkpt.id, 'completed');
    const before = snapshot();
    for (const [from, message] of [
      [9999, 'init.fromRun: run 9999 does not exist'],
      [running.id, `init.fromRun: run ${running.id} is running; only a completed run's weights can be loaded`],
      [noCkpt.id, `init.fromRun: run ${noCkpt.id} has no checkpoint to load weights from`],
    ] as const) {
      expect(failure(() => ctx.service.start(tinyConfig({ init: { fromRun: from } })))).toMatchObject({ code: 'invalid_config', field: 'init.fromRun', message });
    }
    // A source whose layers do not fit this model: named before anything is written too.
    expect(failure(() => ctx.service.start(tinyConfig({ model: { name: 'cnn3', width: 4 }, init: { fromRun: completed.id } })))).toMatchObject({
      field: 'init.fromRun',
      message: `init.fromRun: layer conv1/kernel has shape [3,3,3,8] in run ${completed.id} but [3,3,3,4] here`,
    });
    expect(snapshot()).toBe(before);
    ctx.store.finishRun(running.id, 'cancelled');
  });
});

describe('evaluation through the contract', () => {
  const handlers = () => createHandlers(ctx.service, { shell: 'web', dataDir: tmp.dir, version: '' }, () => ({ path: null }), () => ({ path: null }));

  it('runs:evaluation gives both checkpoints, class names and the thumbnail shape', async () => {
    const r = await dispatch(handlers(), 'runs:evaluation', { id: completed.id });
    expect(r.ok).toBe(true);
    const ev = (r as { value: import('../../src/shared/api').RunEvaluation }).value;
    expect(ev.classNames).toHaveLength(10);
    expect(ev.imageShape).toEqual([32, 32, 3]);
    expect(ev.best!.confusion).toHaveLength(10);
    expect(ev.last!.perClass).toHaveLength(10);
    expect(ctx.service.summary(completed.id).final['test/acc_best']).toBe(ev.best!.acc);
    expect(await dispatch(handlers(), 'runs:evaluation', { id: 9999 })).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  it('runs:predictions pages through an order, with pixels; refuses a bad order or limit', async () => {
    const h = handlers();
    const r = (await dispatch(h, 'runs:predictions', { id: completed.id, order: 'confidentRight', limit: 5, offset: 2 })) as {
      ok: true;
      value: import('../../src/shared/api').PredictionPage;
    };
    expect(r.ok).toBe(true);
    expect(r.value.rows).toHaveLength(Math.min(5, Math.max(0, r.value.total - 2)));
    for (const p of r.value.rows) {
      expect(p.pred).toBe(p.label);
      expect(Buffer.from(p.image!, 'base64')).toHaveLength(32 * 32 * 3);
    }
    expect(await dispatch(h, 'runs:predictions', { id: completed.id, order: 'random', limit: 5, offset: 0 })).toMatchObject({ ok: false, error: { field: 'order' } });
    expect(await dispatch(h, 'runs:predictions', { id: completed.id, order: 'leastConfident', limit: -1, offset: 0 })).toMatchObject({ ok: false, error: { field: 'limit' } });
    expect(await dispatch(h, 'runs:resume', { id: completed.id })).toMatchObject({ ok: false, error: { code: 'conflict', field: 'id' } });
  });
});
