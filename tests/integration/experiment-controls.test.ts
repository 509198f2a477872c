// Stop and resume a whole experiment in one call each: stop cancels every queued and running run
// (and a sequential runner), resume queues every stopped run again — from its checkpoint when it
// has one, afresh when it never got that far — and they finish.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExperimentService, STOPPED_BY_USER } from '../../src/main/services/experiments';
import { checkpointsOf } from '../../src/store/paths';
import { makeService, tinyConfig, waitFor } from '../helpers/trainer';
import { tmpDataDir } from '../helpers/tmp';

describe('experiment stop and resume', () => {
  let tmp: ReturnType<typeof tmpDataDir>;
  let ctx: ReturnType<typeof makeService>;
  let exps: ExperimentService;
  beforeEach(() => {
    tmp = tmpDataDir();
    ctx = makeService(tmp.dir, { cancelGraceMs: 20_000 });
    exps = new ExperimentService(ctx.service);
  });
  afterEach(async () => {
    exps.close();
    await ctx.service.close();
    ctx.store.close();
    tmp.cleanup();
  });

  const statuses = (id: number) => ctx.store.experiments.get(id)!.runs.map((r) => ctx.store.getRun(r.runId)!.status);
  const settle = (id: number) => Promise.all(ctx.store.experiments.get(id)!.runs.map((r) => ctx.service.whenExited(r.runId)));

  // 6 epochs: Stop comes after the first, so the trainer gets the cancel with five left (with 2, a
  // fast machine could finish the run before the cancel arrived and the test would see 'completed').
  it('stop leaves no run running or queued; resume continues the started run from its checkpoint, runs the others, and all complete', async () => {
    const file = { name: 'ctl', baseline: tinyConfig({ epochs: 6 }), arms: [{ name: 'smoothed', set: { 'tricks.labelSmoothing': { epsilon: 0.1 } } }], seeds: [1, 2] };
    const info = exps.create(file);
    const first = info.runs[0]!.runId;
    // Stop once the first run has finished an epoch (it has a checkpoint to continue from).
    await waitFor(() => checkpointsOf(tmp.dir, first).includes('last'), 'the first epoch of the first run', 90_000, 50);
    const stopped = exps.stopAll(info.id);
    expect(stopped.runs.sort()).toEqual(info.runs.map((r) => r.runId).sort());
    expect(stopped.skipped).toEqual([]);
    await settle(info.id);
    expect(statuses(info.id)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
    await new Promise((r) => setTimeout(r, 500));
    expect(ctx.service.list().filter((r) => r.status === 'running' || r.status === 'queued')).toEqual([]); // nothing starts after a stop
    expect(ctx.store.getRun(first)!.startedAt).not.toBeNull();
    const neverStarted = info.runs.slice(1).map((r) => r.runId);
    expect(neverStarted.every((id) => ctx.store.getRun(id)!.startedAt === null)).toBe(true);

    const resumed = exps.resumeAll(info.id);
    expect(resumed.skipped).toEqual([]);
    expect(resumed.runs).toHaveLength(4);
    expect(resumed.runs[0]).toBe(first); // the same run, from its checkpoint
    // Runs cancelled before they started are run afresh, in the experiment's order, and the empty
    // cancelled rows are gone: one run per arm and seed, as before.
    const after = ctx.store.experiments.get(info.id)!;
    expect(after.runs.map((r) => `${r.seed}:${r.armId}`)).toEqual(info.runs.map((r) => `${r.seed}:${r.armId}`));
    for (const id of neverStarted) expect(ctx.store.getRun(id)).toBeNull();
    expect(statuses(info.id).every((s) => s === 'queued' || s === 'running')).toBe(true);
    expect(exps.resumeAll(info.id).runs).toEqual([]); // nothing left to resume

    await waitFor(() => statuses(info.id).every((s) => s === 'completed'), 'the four runs', 240_000);
    expect(ctx.store.events(first).some((e) => e.kind === 'run.resume')).toBe(true);
    expect(ctx.store.summaries(first).final['train/loss']).toBeGreaterThan(0);
    expect(() => exps.stopAll(999)).toThrow(/experiment 999 does not exist/);
  }, 300_000);

  it('a sequential experiment: stop also stops its runner (no next seed); resume starts it again', async () => {
    const file = {
      name: 'seq',
      baseline: tinyConfig({ epochs: 1 }),
      arms: [{ name: 'smoothed', set: { 'tricks.labelSmoothing': { epsilon: 0.1 } } }],
      seeds: [1, 2, 3],
      analysis: { sequential: true, maxSeeds: 3 },
    };
    const info = exps.create(file);
    expect(info.runs).toHaveLength(4); // the first two seeds
    exps.stopAll(info.id);
    await settle(info.id);
    await new Promise((r) => setTimeout(r, 300));
    const stoppedInfo = ctx.store.experiments.get(info.id)!;
    expect(stoppedInfo.runs).toHaveLength(4); // no third seed was queued by the runner
    expect(stoppedInfo.sequentialStop?.reason).toBe(STOPPED_BY_USER);
    expect(statuses(info.id).every((s) => s === 'cancelled')).toBe(true);

    const r = exps.resumeAll(info.id);
    expect(r.runs).toHaveLength(4);
    expect(ctx.store.experiments.get(info.id)!.sequentialStop).toBeNull();
    // every arm and seed is queued again (a run cancelled mid-epoch, without a checkpoint, stays
    // as it was beside its fresh run)
    expect(statuses(info.id).filter((s) => s === 'queued' || s === 'running')).toHaveLength(4);
    exps.stopAll(info.id);
    await settle(info.id);
  }, 120_000);

  it('resume pressed while a stopped trainer is still exiting says so instead of losing that run; the next resume continues it, and the fresh run carries its experiment and arm from the start', async () => {
    const file = { name: 'quick', baseline: tinyConfig({ epochs: 6 }), arms: [{ name: 'smoothed', set: { 'tricks.labelSmoothing': { epsilon: 0.1 } } }], seeds: [1] };
    const info = exps.create(file);
    const [first, second] = info.runs.map((r) => r.runId) as [number, number];
    await waitFor(() => checkpointsOf(tmp.dir, first).includes('last'), 'the first epoch of the first run', 90_000, 50);
    exps.stopAll(info.id);
    const early = exps.resumeAll(info.id); // at once: the first trainer has not exited yet
    expect(early.skipped).toEqual([{ runId: first, reason: expect.stringContaining('still stopping') }]);
    // the second (queued, never started) is queued afresh, linked before it is first announced
    expect(early.runs).toHaveLength(1);
    const fresh = early.runs[0]!;
    expect(fresh).not.toBe(second);
    expect(ctx.rec.of('runs:changed').find((r) => r.id === fresh)?.experimentName).toBe('quick');
    await ctx.service.whenExited(first);
    expect(ctx.store.getRun(first)!.status).toBe('cancelled');
    const later = exps.resumeAll(info.id);
    expect(later.runs).toEqual([first]);
    await settle(info.id);
    await waitFor(() => [first, fresh].every((id) => ctx.store.getRun(id)!.status === 'completed'), 'both runs completed', 120_000);
  }, 300_000);

  it('deleting an experiment keeps its runs and tells the pages they belong to none any more', async () => {
    const info = exps.create({ name: 'gone', baseline: tinyConfig({ epochs: 1 }), arms: [{ name: 'smoothed', set: { 'tricks.labelSmoothing': { epsilon: 0.1 } } }], seeds: [1] });
    exps.stopAll(info.id);
    await settle(info.id);
    const ids = info.runs.map((r) => r.runId);
    const before = ctx.rec.events.length;
    exps.delete(info.id);
    const after = ctx.rec.events.slice(before).filter((e) => e.event === 'runs:changed').map((e) => e.payload as { id: number; experimentName: string | null; armName: string | null });
    expect(after.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(after.every((r) => r.experimentName === null && r.armName === null)).toBe(true);
    expect(ids.every((id) => ctx.store.getRun(id))).toBe(true);
  }, 120_000);
});
