// An experiment's analysis plan and seed log in the store, and the sequential runner: seeds one at
// a time until the stopping rule says decided (or maxSeeds), never two at once, the same after a
// restart, with pre-training too; runUntilDecided and its API channel. Runs are fake (rows whose
// status the test sets) except in the last test, which trains tiny runs for real.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../src/shared/api';
import { parseRunConfig } from '../../src/shared/config';
import type { ExperimentInfo } from '../../src/shared/experiments';
import { createHandlers, dispatch } from '../../src/main/handlers';
import { ExperimentService } from '../../src/main/services/experiments';
import type { RunService } from '../../src/main/services/runs';
import { Store } from '../../src/store/store';
import { makeService, tinyConfig, waitFor } from '../helpers/trainer';
import { tmpDataDir } from '../helpers/tmp';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

/** What ExperimentService needs of a RunService: runs are rows; the test finishes them. */
class FakeRuns {
  private readonly followers = new Map<number, ((s: RunStatus) => void)[]>();
  constructor(readonly store: Store) {}
  datasetFacts() {
    return BUILTIN_FACTS;
  }
  start(input: unknown, experiment?: { experimentId: number; armId: number }) {
    const r = parseRunConfig(input, BUILTIN_FACTS);
    if (!r.ok) throw new Error(r.errors.map((e) => `${e.field}: ${e.message}`).join('; '));
    const run = this.store.createRun(r.config, 'queued', r.config.name);
    if (experiment) this.store.experiments.link(run.id, experiment.experimentId, experiment.armId);
    return run;
  }
  whenFinished(id: number, fn: (s: RunStatus) => void): void {
    this.followers.set(id, [...(this.followers.get(id) ?? []), fn]);
  }
  finish(id: number, status: RunStatus = 'completed'): void {
    expect(this.store.finishRun(id, status)).toBe(true);
    const f = this.followers.get(id) ?? [];
    this.followers.delete(id);
    for (const fn of f) fn(status);
  }
}

const tick = () => new Promise((r) => setImmediate(r));
const file = (over: Record<string, unknown> = {}) => ({
  name: 'seq',
  baseline: tinyConfig({ epochs: 1 }),
  arms: [{ name: 'smoothed', set: { 'tricks.labelSmoothing': { epsilon: 0.1 } } }],
  seeds: [11, 12, 13],
  ...over,
});

let tmp: ReturnType<typeof tmpDataDir>;
let store: Store;
let fake: FakeRuns;
let services: ExperimentService[];
/** A service over fake runs whose stopping verdict is `decide` (recorded in `asked`). */
function service(decide: (info: ExperimentInfo) => { done: boolean; reason: string } | null, runs = fake, sweepMs?: number) {
  const asked: number[][] = [];
  const s = new ExperimentService(runs as unknown as RunService, {
    sweepMs,
    decide: (id) => {
      const info = store.experiments.get(id)!;
      asked.push([...info.seeds]);
      return decide(info);
    },
  });
  services.push(s);
  return { s, asked };
}
const info = (id: number) => store.experiments.get(id)!;
const statusOf = (runId: number) => store.getRun(runId)!.status;
const unfinished = (id: number) => info(id).runs.filter((r) => ['queued', 'running'].includes(statusOf(r.runId)));
/** Finish every unfinished run of the experiment (the first `failing` of them fail), then let the runner react. */
async function finishAll(id: number, failing = 0, runs = fake) {
  unfinished(id).forEach((r, i) => runs.finish(r.runId, i < failing ? 'failed' : 'completed'));
  await tick();
}

beforeEach(() => {
  tmp = tmpDataDir();
  store = new Store(tmp.dir);
  fake = new FakeRuns(store);
  services = [];
});
afterEach(() => {
  for (const s of services) s.close();
  store.close();
  tmp.cleanup();
});

describe('analysis plan and seed log in the store', () => {
  it('keeps the file\'s plan (null without one) and logs every addition of seeds, with whether results could have been seen', () => {
    const { s } = service(() => null);
    const plain = s.create(file());
    expect(plain.analysis).toBeNull();
    expect(plain.sequentialStop).toBeNull();
    expect(plain.analysisSetLater).toBeNull();
    expect(plain.seeds).toEqual([11, 12, 13]);
    expect(plain.seedLog).toEqual([{ at: expect.any(Number), seeds: [11, 12, 13], by: 'create', afterResults: false }]);

    const planned = s.create(file({ name: 'planned', analysis: { margin: 0.5, maxSeeds: 8 } }));
    expect(planned.analysis).toEqual({ test: 't', alpha: 0.05, correction: 'holm', reference: 'baseline', margin: 0.5, maxSeeds: 8, sequential: false });
    expect(store.experiments.spec(planned.id)).toMatchObject({ analysis: planned.analysis, seedPool: [11, 12, 13], seedLog: planned.seedLog });

    // Before any run completed: seeds added blind. A failed run shows nothing either.
    fake.finish(info(planned.id).runs[0]!.runId, 'failed');
    s.addSeeds(planned.id, [20]);
    // After one completed: seeds added having seen results.
    fake.finish(info(planned.id).runs[1]!.runId);
    s.addSeeds(planned.id, [21, 22]);
    expect(info(planned.id).seedLog.map(({ seeds, by, afterResults }) => ({ seeds, by, afterResults }))).toEqual([
      { seeds: [11, 12, 13], by: 'create', afterResults: false },
      { seeds: [20], by: 'user', afterResults: false },
      { seeds: [21, 22], by: 'user', afterResults: true },
    ]);
    // setSeeds (as the CLI calls it) logs only what is new, by the user unless told otherwise.
    store.experiments.setSeeds(planned.id, [11, 12, 13, 20, 21, 22]);
    store.experiments.setSeeds(planned.id, [11, 12, 13, 20, 21, 22, 30], 'sequential');
    expect(info(planned.id).seedLog.slice(3)).toEqual([{ at: expect.any(Number), seeds: [30], by: 'sequential', afterResults: true }]);
    // Other experiments' runs do not count.
    expect(store.experiments.get(plain.id)!.seedLog).toHaveLength(1);
  });

  it('a completed pre-training shows nothing about the arms: seeds added after it are still blind', () => {
    const { s } = service(() => null);
    const e = s.create(file({ pretrain: { name: 'pre', set: { 'dataset.classes': [0, 1, 2, 3, 4] } }, baseline: tinyConfig({ epochs: 1, dataset: { name: 'synthetic', trainSubset: 160, valSplit: 0.2, classes: [5, 6, 7, 8, 9] } }) }));
    expect(info(e.id).runs).toHaveLength(3); // the pre-trainings
    fake.finish(info(e.id).runs[0]!.runId); // seed 11's: its two arms are queued
    expect(info(e.id).runs).toHaveLength(5);
    s.addSeeds(e.id, [14]);
    expect(info(e.id).seedLog[1]).toMatchObject({ seeds: [14], by: 'user', afterResults: false });
  });

  it('reads experiments stored before plans and logs existed: no plan, no log, not stopped', () => {
    const { s } = service(() => null);
    const e = s.create(file());
    const { analysis: _a, seedLog: _l, seedPool: _p, sequentialStop: _s, analysisSetLater: _t, ...old } = store.experiments.spec(e.id)!;
    store.db.prepare('UPDATE experiment SET spec = ? WHERE id = ?').run(JSON.stringify(old), e.id);
    expect(info(e.id)).toMatchObject({ analysis: null, seedLog: [], sequentialStop: null, analysisSetLater: null, seeds: [11, 12, 13] });
    expect(store.experiments.spec(e.id)).toMatchObject({ analysis: null, seedLog: [], seedPool: [11, 12, 13], sequentialStop: null, metric: 'test/acc' });
    s.addSeeds(e.id, [14]);
    expect(info(e.id).seedLog).toEqual([{ at: expect.any(Number), seeds: [14], by: 'user', afterResults: false }]);
    expect(s.list().map((x) => x.id)).toEqual([e.id]);
  });
});

describe('run seeds until decided', () => {
  it('starts with two seeds, then queues one seed at a time when all runs have finished (failures too), until decided', async () => {
    const { s, asked } = service((i) => (i.seeds.length >= 4 ? { done: true, reason: 'every confirmatory arm is decided' } : { done: false, reason: 'smoothed is not decided' }));
    const e = s.create(file({ analysis: { sequential: true, maxSeeds: 6 } }));
    expect(e.seeds).toEqual([11, 12]);
    expect(e.runs.map((r) => r.seed)).toEqual([11, 11, 12, 12]);
    expect(e.seedLog).toEqual([{ at: expect.any(Number), seeds: [11, 12], by: 'create', afterResults: false }]);

    // Seed 11 done, seed 12 not yet: nothing happens.
    fake.finish(e.runs[0]!.runId);
    fake.finish(e.runs[1]!.runId, 'failed');
    await tick();
    expect(asked).toEqual([]);
    expect(info(e.id).seeds).toEqual([11, 12]);
    fake.finish(e.runs[2]!.runId, 'cancelled');
    await tick();
    expect(info(e.id).seeds).toEqual([11, 12]);

    // Every run finished (one failed, one cancelled): the next seed of the file's list, once.
    fake.finish(e.runs[3]!.runId);
    await tick();
    expect(asked).toEqual([[11, 12]]);
    expect(info(e.id).seeds).toEqual([11, 12, 13]);
    expect(unfinished(e.id).map((r) => r.seed)).toEqual([13, 13]);
    expect(info(e.id).seedLog[1]).toEqual({ at: expect.any(Number), seeds: [13], by: 'sequential', afterResults: true });
    // Asking again while it waits queues nothing more.
    s.runUntilDecided(e.id, 6);
    s.recover();
    expect(info(e.id).runs).toHaveLength(6);

    await finishAll(e.id);
    expect(info(e.id).seeds).toEqual([11, 12, 13, 14]); // the list is used up: above the largest
    await finishAll(e.id, 2); // both runs of seed 14 fail: still a finished seed
    expect(asked).toEqual([[11, 12], [11, 12, 13], [11, 12, 13, 14]]);
    expect(info(e.id).seeds).toEqual([11, 12, 13, 14]);
    expect(info(e.id).sequentialStop).toEqual({ at: expect.any(Number), reason: 'every confirmatory arm is decided' });
    expect(unfinished(e.id)).toEqual([]);
    // A stopped experiment stays stopped at restart.
    service(() => ({ done: false, reason: 'x' })).s.recover();
    expect(info(e.id).runs).toHaveLength(8);
  });

  it('stops at maxSeeds (default 20) when never decided', async () => {
    const { s, asked } = service(() => ({ done: false, reason: 'smoothed is not decided' }));
    const e = s.create(file({ analysis: { sequential: true, maxSeeds: 3 } }));
    await finishAll(e.id);
    await finishAll(e.id);
    expect(info(e.id).seeds).toEqual([11, 12, 13]);
    expect(asked).toHaveLength(2);
    expect(info(e.id).sequentialStop!.reason).toBe('smoothed is not decided; stopped at maxSeeds (3 seeds)');

    const d = s.create(file({ name: 'default cap', seeds: [1], analysis: { sequential: true } }));
    expect(d.seeds).toEqual([1, 2]);
    for (let i = 0; i < 25 && !info(d.id).sequentialStop; i++) await finishAll(d.id);
    expect(info(d.id).seeds).toHaveLength(20);
    expect(info(d.id).sequentialStop!.reason).toMatch(/maxSeeds \(20 seeds\)/);
  });

  it('goes on after a restart: waits for unfinished runs, queues the next seed once, never re-queues a seed with runs', async () => {
    const decide = (i: ExperimentInfo) => ({ done: i.seeds.length >= 5, reason: i.seeds.length >= 5 ? 'decided' : 'not decided' });
    const first = service(decide);
    const e = first.s.create(file({ analysis: { sequential: true } }));
    fake.finish(e.runs[0]!.runId);
    fake.finish(e.runs[1]!.runId);
    fake.finish(e.runs[2]!.runId);
    first.s.close(); // the app stops; one run of seed 12 is still queued

    // The next session: it waits for that run, and asks nothing yet.
    const runs2 = new FakeRuns(store);
    const second = service(decide, runs2);
    second.s.recover();
    second.s.recover(); // twice: still one waiter
    expect(second.asked).toEqual([]);
    expect(info(e.id).runs).toHaveLength(4);
    await finishAll(e.id, 0, runs2);
    expect(second.asked).toEqual([[11, 12]]);
    expect(info(e.id).seeds).toEqual([11, 12, 13]);
    expect(info(e.id).runs).toHaveLength(6);
    second.s.close();

    // Stopped after its seed's runs finished but before the next seed was chosen: chosen at start-up.
    const runs3 = new FakeRuns(store);
    unfinished(e.id).forEach((r) => runs3.finish(r.runId));
    const third = service(decide, runs3);
    third.s.recover();
    expect(third.asked).toEqual([[11, 12, 13]]);
    expect(info(e.id).seeds).toEqual([11, 12, 13, 14]);
    expect(unfinished(e.id).map((r) => r.seed)).toEqual([14, 14]);
    third.s.close();

    // Stopped between storing a seed and queueing its runs: that seed is queued, no other.
    unfinished(e.id).forEach((r) => runs3.finish(r.runId));
    store.experiments.setSeeds(e.id, [11, 12, 13, 14, 15], 'sequential');
    const fourth = service(decide, new FakeRuns(store));
    fourth.s.recover();
    expect(fourth.asked).toEqual([]);
    expect(info(e.id).seeds).toEqual([11, 12, 13, 14, 15]);
    expect(unfinished(e.id).map((r) => r.seed)).toEqual([15, 15]);
    expect(new Set(info(e.id).runs.map((r) => `${r.seed}:${r.armId}`)).size).toBe(info(e.id).runs.length); // no (seed, arm) twice
  });

  it('with pre-training: each new seed pre-trains first; a failed pre-training finishes its seed', async () => {
    const { s, asked } = service((i) => ({ done: i.seeds.length >= 4, reason: 'r' }));
    const e = s.create(
      file({
        baseline: tinyConfig({ epochs: 1, dataset: { name: 'synthetic', trainSubset: 160, valSplit: 0.2, classes: [5, 6, 7, 8, 9] } }),
        pretrain: { name: 'pre', set: { 'dataset.classes': [0, 1, 2, 3, 4] } },
        analysis: { sequential: true },
      }),
    );
    const pre = e.arms.find((a) => a.role === 'pretrain')!;
    const role = (armId: number) => (armId === pre.id ? 'pre' : 'arm');
    expect(e.runs.map((r) => `${r.seed}:${role(r.armId)}`)).toEqual(['11:pre', '12:pre']);
    await finishAll(e.id); // the pre-trainings: their arms follow
    expect(unfinished(e.id).map((r) => `${r.seed}:${role(r.armId)}`)).toEqual(['11:arm', '11:arm', '12:arm', '12:arm']);
    expect(asked).toEqual([]);
    await finishAll(e.id);
    expect(asked).toEqual([[11, 12]]);
    expect(unfinished(e.id).map((r) => `${r.seed}:${role(r.armId)}`)).toEqual(['13:pre']);
    const fromRun = (runId: number) => store.getRun(runId)!.config!.init?.fromRun;
    await finishAll(e.id);
    expect(unfinished(e.id).map((r) => fromRun(r.runId))).toEqual([unfinished(e.id)[0]!.runId - 1, unfinished(e.id)[0]!.runId - 1]); // seed 13's arms from seed 13's pre-training
    await finishAll(e.id);
    expect(unfinished(e.id).map((r) => `${r.seed}:${role(r.armId)}`)).toEqual(['14:pre']);
    await finishAll(e.id, 1); // seed 14's pre-training fails: no arms, the seed is finished
    expect(asked).toEqual([[11, 12], [11, 12, 13], [11, 12, 13, 14]]);
    expect(info(e.id).sequentialStop?.reason).toBe('r');
  });

  it('by default the comparison\'s stopping rule decides: runs that all fail decide nothing, up to maxSeeds', async () => {
    const s = new ExperimentService(fake as unknown as RunService);
    services.push(s);
    const e = s.create(file({ analysis: { sequential: true, maxSeeds: 3 } }));
    await finishAll(e.id, 4);
    expect(info(e.id).seeds).toEqual([11, 12, 13]);
    await finishAll(e.id, 2);
    expect(info(e.id).seeds).toEqual([11, 12, 13]);
    expect(info(e.id).sequentialStop?.reason).toMatch(/\b3 seeds\b/); // the comparison's or the runner's cap
    expect(unfinished(e.id)).toEqual([]);
  });

  it('a queued run deleted while the runner waits on it does not stall the runner', async () => {
    const { s, asked } = service(() => ({ done: false, reason: 'not decided' }), fake, 20);
    const e = s.create(file({ analysis: { sequential: true } }));
    e.runs.slice(0, 3).forEach((r) => fake.finish(r.runId));
    await tick();
    expect(store.deleteRun(e.runs[3]!.runId)).toBe(true); // never reports a final status
    await waitFor(() => asked.length === 1, 'the sweep to notice', 5000, 10);
    expect(info(e.id).seeds).toEqual([11, 12, 13]);
  });

  it('runUntilDecided turns an existing experiment sequential, from the default plan; its channel validates id and maxSeeds', async () => {
    const { s, asked } = service((i) => ({ done: i.seeds.length >= 4, reason: 'decided' }));
    const e = s.create(file({ seeds: [1, 2] }));
    const handlers = createHandlers(fake as unknown as RunService, { version: 'test' } as never, () => ({ path: null }), () => ({ path: null }), s);
    const call = (arg: unknown) => dispatch(handlers, 'experiments:runUntilDecided', arg);
    for (const [arg, field, message] of [
      [null, '(argument)', /^experiments:runUntilDecided: \(argument\): expected an object, got null$/],
      [{ id: '1', maxSeeds: 4 }, 'id', /^experiments:runUntilDecided: id: expected an integer, got "1"$/],
      [{ id: 999, maxSeeds: 4 }, 'id', /experiment 999 does not exist/],
      [{ id: e.id, maxSeeds: 1 }, 'maxSeeds', /maxSeeds must be an integer from 2 to 100/],
      [{ id: e.id, maxSeeds: 101 }, 'maxSeeds', /from 2 to 100/],
      [{ id: e.id, maxSeeds: 3.5 }, 'maxSeeds', /integer/],
      [{ id: e.id, maxSeeds: '4' }, 'maxSeeds', /integer/],
      [{ id: e.id, maxSeeds: { $gt: 1 } }, 'maxSeeds', /integer/],
    ] as const) {
      const r = await call(arg);
      expect(r.ok, JSON.stringify(arg)).toBe(false);
      if (!r.ok) expect(r.error, JSON.stringify(arg)).toMatchObject({ field, message: expect.stringMatching(message) });
    }
    expect(info(e.id).analysis).toBeNull(); // a refused call changed nothing
    // A channel is an own handler, never something inherited from Object.prototype.
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const r = await dispatch(handlers, name, {});
      expect(!r.ok && r.error, name).toMatchObject({ code: 'bad_request', message: `unknown channel ${name}` });
    }

    // Runs still going: recorded, and it waits for them.
    const r = await call({ id: e.id, maxSeeds: 5 });
    expect(r.ok).toBe(true);
    expect(r.ok && (r.value as ExperimentInfo).analysis).toEqual({ test: 't', alpha: 0.05, correction: 'holm', reference: 'baseline', maxSeeds: 5, sequential: true });
    expect(info(e.id).analysisSetLater).toEqual({ at: expect.any(Number), afterResults: false }); // set later, before any result
    expect(asked).toEqual([]);
    await finishAll(e.id);
    expect(info(e.id).seeds).toEqual([1, 2, 3]);
    await finishAll(e.id);
    await finishAll(e.id);
    expect(info(e.id).seeds).toEqual([1, 2, 3, 4]);
    expect(info(e.id).sequentialStop?.reason).toBe('decided');
    const below = await call({ id: e.id, maxSeeds: 3 });
    expect(!below.ok && below.error).toMatchObject({ field: 'maxSeeds', message: 'maxSeeds is 3 but the experiment already has 4 seeds' });

    // Called on a stopped experiment whose runs have all finished: it asks again at once.
    const more = service((i) => ({ done: i.seeds.length >= 5, reason: 'decided at 5' }));
    const again = more.s.runUntilDecided(e.id, 6);
    expect(more.asked).toEqual([[1, 2, 3, 4]]);
    expect(again.seeds).toEqual([1, 2, 3, 4, 5]);
    expect(again.sequentialStop).toBeNull();
    expect(again.analysis).toMatchObject({ maxSeeds: 6, sequential: true });
    expect(again.analysisSetLater).toEqual({ at: expect.any(Number), afterResults: true });
  });
});

describe('run until decided with real trainers', () => {
  it('trains one seed at a time after the first two, until the stopping rule says decided', async () => {
    const rtmp = tmpDataDir();
    const ctx = makeService(rtmp.dir);
    const asked: number[][] = [];
    const exps = new ExperimentService(ctx.service, {
      decide: (id) => {
        const seeds = ctx.store.experiments.get(id)!.seeds;
        asked.push(seeds);
        return { done: seeds.length >= 3, reason: 'decided' };
      },
    });
    try {
      const e = exps.create(file({ baseline: tinyConfig({ epochs: 1, dataset: { name: 'synthetic', trainSubset: 160, valSplit: 0.2 } }), seeds: [1, 2], analysis: { sequential: true } }));
      await waitFor(() => ctx.store.experiments.get(e.id)!.sequentialStop, 'the runner to stop', 240_000);
      const done = ctx.store.experiments.get(e.id)!;
      expect(done.seeds).toEqual([1, 2, 3]);
      expect(asked).toEqual([[1, 2], [1, 2, 3]]);
      const runs = done.runs.map((r) => ctx.store.getRun(r.runId)!);
      expect(runs.map((r) => [r.seed, r.status])).toEqual([1, 1, 2, 2, 3, 3].map((s) => [s, 'completed']));
      // seed 3 was queued only after every run of seeds 1 and 2 had ended
      expect(Math.min(...runs.slice(4).map((r) => r.createdAt))).toBeGreaterThanOrEqual(Math.max(...runs.slice(0, 4).map((r) => r.endedAt!)));
      expect(ctx.store.sumOf(runs[0]!.id, 'time/cpu_s')).toBeGreaterThan(0);
    } finally {
      exps.close();
      await ctx.service.close();
      ctx.store.close();
      rtmp.cleanup();
    }
  }, 300_000);
});
