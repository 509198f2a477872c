// Knowledge distillation through the run service's checks and executeRun (wasm, real store): a
// completed run teaches a new one; a teacher that does not exist, has not completed or was trained
// on other data is refused before the run row exists, naming tricks.distill.teacherRun.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiFailure } from '../../src/shared/api';
import { mustParseRunConfig } from '../../src/shared/config';
import { checkStartInput } from '../../src/main/services/run-input';
import { Store } from '../../src/store/store';
import { executeRun } from '../../src/trainer/run';
import { checkTrainInput } from '../../src/trainer/train-input';
import { tmpDataDir } from '../helpers/tmp';
import { tinyConfig } from '../helpers/trainer';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

const tmp = tmpDataDir();
let store: Store;
let teacher: number;
beforeAll(async () => {
  store = new Store(tmp.dir);
  const t = store.createRun(mustParseRunConfig(tinyConfig({ epochs: 2, backend: 'wasm', model: { name: 'cnn3', width: 16 } }), BUILTIN_FACTS), 'running');
  teacher = t.id;
  expect((await executeRun({ store, runId: t.id, dataDir: tmp.dir, isCancelled: () => false })).status).toBe('completed');
});
afterAll(() => {
  store.close();
  tmp.cleanup();
});

const refusal = (input: unknown): { field?: string; message: string } => {
  try {
    checkStartInput(store, input, { facts: BUILTIN_FACTS });
  } catch (e) {
    if (e instanceof ApiFailure) return { field: e.error.field, message: e.error.message };
    throw e;
  }
  throw new Error('accepted');
};

describe('knowledge distillation', () => {
  it('a student trains against the soft targets of the completed teacher, which is recorded', async () => {
    const input = tinyConfig({ epochs: 2, backend: 'wasm', tricks: { distill: { teacherRun: teacher, temperature: 4 } } });
    const config = checkStartInput(store, input, { facts: BUILTIN_FACTS });
    const plain = store.createRun(mustParseRunConfig(tinyConfig({ epochs: 2, backend: 'wasm' }), BUILTIN_FACTS), 'running');
    const kd = store.createRun(config, 'running');
    for (const r of [plain, kd]) expect((await executeRun({ store, runId: r.id, dataDir: tmp.dir, isCancelled: () => false })).status).toBe('completed');
    const ev = store.events(kd.id).find((e) => e.kind === 'distill.teacher')!;
    expect(ev.payload).toMatchObject({ teacherRun: teacher, checkpoint: 'best', model: 'cnn3' });
    // Same seed, data and init: the first step's loss differs only by the distillation term
    // (T^2 * CE against the teacher's softened predictions: positive).
    const first = (id: number) => store.history(id)['train/loss_step']![0]!.value;
    expect(first(kd.id)).toBeGreaterThan(first(plain.id));
  });

  it("records the teacher once, right after the run's start events, and not again on a resume", async () => {
    const config = checkStartInput(store, tinyConfig({ epochs: 2, backend: 'wasm', tricks: { distill: { teacherRun: teacher } } }), { facts: BUILTIN_FACTS });
    const r = store.createRun(config, 'running');
    let step = 0;
    // 256 training images / 32 = 8 steps per epoch: cancelled in the second epoch, resumed from the first's checkpoint.
    const cancelled = await executeRun({ store, runId: r.id, dataDir: tmp.dir, hooks: { progress: (p) => (step = p.step) }, isCancelled: () => step >= 11 });
    expect(cancelled.status).toBe('cancelled');
    const kinds = store.events(r.id).map((e) => e.kind);
    expect(kinds.slice(0, 3)).toEqual(['run.start', 'pairing', 'distill.teacher']);
    expect(store.reopenForResume(r.id, 'running')).toBe(true);
    expect((await executeRun({ store, runId: r.id, dataDir: tmp.dir, isCancelled: () => false, resume: true })).status).toBe('completed');
    const recorded = store.events(r.id).filter((e) => e.kind === 'distill.teacher');
    expect(recorded).toEqual([expect.objectContaining({ epoch: 0, step: 0, payload: { teacherRun: teacher, checkpoint: 'best', model: 'cnn3', params: expect.any(Number) } })]);
    expect(store.events(r.id).map((e) => e.kind)).toContain('run.resume');
  });

  it('refuses a missing, unfinished or mismatched teacher before anything is written', () => {
    const runs = store.listRuns().length;
    expect(refusal(tinyConfig({ tricks: { distill: { teacherRun: 999 } } }))).toEqual({ field: 'tricks.distill.teacherRun', message: 'tricks.distill.teacherRun: teacher run 999 does not exist' });
    const running = store.createRun(mustParseRunConfig(tinyConfig(), BUILTIN_FACTS), 'running');
    expect(refusal(tinyConfig({ tricks: { distill: { teacherRun: running.id } } })).message).toMatch(/teacher run \d+ is running; only a completed run's weights can be loaded/);
    store.finishRun(running.id, 'cancelled');
    const other = refusal({ ...tinyConfig({ tricks: { distill: { teacherRun: teacher } } }), dataset: { name: 'fashion-mnist' } });
    expect(other.message).toMatch(/teacher run \d+ takes 32x32x3 input with 10 classes; this run's data \(fashion-mnist\) is 28x28x1 with 10/);
    expect(store.listRuns().length).toBe(runs + 1); // only the row this test made itself
  });

  it('npm run train refuses a missing teacher at the same field, with or without a store', async () => {
    expect(await checkTrainInput(tinyConfig({ tricks: { distill: { teacherRun: 999 } } }), tmp.dir)).toEqual({ ok: false, errors: [{ field: 'tricks.distill.teacherRun', message: 'teacher run 999 does not exist' }] });
    const bare = tmpDataDir();
    try {
      expect(await checkTrainInput(tinyConfig({ tricks: { distill: { teacherRun: 5 } } }), bare.dir)).toEqual({
        ok: false,
        errors: [{ field: 'tricks.distill.teacherRun', message: `teacher run 5 does not exist (no store in ${bare.dir})` }],
      });
    } finally {
      bare.cleanup();
    }
    expect(await checkTrainInput(tinyConfig({ tricks: { distill: { teacherRun: teacher } } }), tmp.dir)).toMatchObject({ ok: true });
  });
});
