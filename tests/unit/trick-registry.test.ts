// The trick registry: the loop composes tricks by role and knows none by name (a trick it has never
// seen changes the loss and the gradients through its hooks alone), and every registered trick
// declares what the app derives from it: schema metadata for each option and its switch, a title and
// a label, drawable events and its metric specs.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { beforeAll, describe, expect, it } from 'vitest';
import type { MetricPoint, RunEvent } from '../../src/shared/api';
import { mustParseRunConfig, tricksSchema, type RunConfig } from '../../src/shared/config';
import { EVENT_SPECS, eventSpec, parseEvent } from '../../src/shared/events';
import { trickLabel } from '../../src/shared/labels';
import { FIELDS } from '../../src/shared/schema-meta';
import { defaultTrick, isTrickDiagnostic, TRICK_EVENTS, TRICK_NAMES, TRICKS } from '../../src/shared/tricks/registry';
import { defineEvent, defineTrick, type StepHooks } from '../../src/shared/tricks/types';
import { CONFIG_FLAGS } from '../../src/trainer/cli-config';
import { initBackend } from '../../src/trainer/backend';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';
import { loadDataset, makeSplits } from '../../src/data/index';
import { trainModel } from '../../src/trainer/loop';
import { buildModel } from '../../src/trainer/models/registry';
import { makeOptimizer } from '../../src/trainer/optim/optimizers';
import { eventMarkers } from '../../src/renderer/src/lib/markers';
import { TRICK_FIELDS } from '../../src/renderer/src/lib/configForm';

beforeAll(async () => {
  await initBackend('wasm');
});

/** A trick only this test knows: scales the loss by `loss` and the gradients by `grads`, and records
 * an event at every epoch start. */
const scaler = defineTrick({
  name: 'scaler',
  title: 'scaler',
  paper: 'none (a test)',
  schema: z.object({ loss: z.number(), grads: z.number() }).strict(),
  toggle: { label: 'Scaler', flag: null, noFlag: 'a test' },
  label: (o) => ({ main: `×${o.loss}` }),
  events: { 'scaler.epoch': defineEvent(z.object({ epoch: z.number() }), { label: 'scaler', color: '#000', detail: (p) => [`epoch ${p.epoch}`] }) },
  metrics: [],
  create({ options, env }) {
    const { tf: t } = env;
    const hooks: StepHooks = {
      wrapLoss: (l) => t.mul(l, options.loss) as typeof l,
      gradients: (g) => Object.fromEntries(Object.entries(g).map(([k, v]) => [k, t.mul(v, options.grads)])),
    };
    return { epochStart: ({ epoch }) => [{ kind: 'scaler.epoch' as const, payload: { epoch } }], step: () => hooks };
  },
});

async function run(scale: { loss: number; grads: number } | null) {
  const parsed = mustParseRunConfig({ dataset: { name: 'synthetic', trainSubset: 128, valSplit: 0.25 }, model: { name: 'cnn3', width: 4 }, epochs: 1, batchSize: 32 }, BUILTIN_FACTS);
  const config = { ...parsed, tricks: { ...parsed.tricks, scaler: scale } } as unknown as RunConfig;
  const splits = makeSplits(await loadDataset(config.dataset, '/nonexistent'), config.dataset);
  const model = buildModel(config.model, splits.dataset.shape, 10, config.seed);
  const opt = makeOptimizer(config.optimizer);
  const points: MetricPoint[] = [];
  const events: RunEvent[] = [];
  const initial = Array.from(await model.params[0]!.variable.data());
  const before = tf.memory().numTensors;
  await trainModel(config, splits, model, opt, { metrics: (p) => points.push(...p), event: (e) => events.push(e), progress: () => undefined, shouldStop: async () => false }, { registry: [scaler] });
  const weights = Array.from(await model.params[0]!.variable.data());
  model.dispose();
  opt.dispose();
  expect(tf.memory().numTensors).toBe(before - model.params.length - model.buffers.length);
  return { loss: points.filter((p) => p.key === 'train/loss_step').map((p) => p.value), initial, weights, events };
}

describe('the loop composes tricks it does not know', () => {
  it('a test-only trick changes the loss and the updates through its hooks alone', async () => {
    const plain = await run(null);
    // Loss x2 and gradients x0.5: the reported loss doubles, the updates stay those of the plain run.
    const same = await run({ loss: 2, grads: 0.5 });
    expect(same.loss.length).toBe(plain.loss.length);
    same.loss.forEach((l, i) => expect(l).toBeCloseTo(2 * plain.loss[i]!, 4));
    same.weights.forEach((w, i) => expect(w).toBeCloseTo(plain.weights[i]!, 5));
    expect(plain.weights).not.toEqual(plain.initial);
    // Loss x1, gradients x0: nothing moves; the first step's loss is the plain one's.
    const frozen = await run({ loss: 1, grads: 0 });
    expect(frozen.loss[0]).toBe(plain.loss[0]);
    expect(frozen.weights).toEqual(frozen.initial);
    expect(frozen.events.filter((e) => e.kind === 'scaler.epoch')).toEqual([expect.objectContaining({ epoch: 0, step: 0, payload: { epoch: 0 } })]);
    expect(plain.events.some((e) => e.kind === 'scaler.epoch')).toBe(false);
  });

  it('loop.ts names no trick (their names, options and hook payloads live in the trick files)', () => {
    const src = fs.readFileSync(path.join(__dirname, '../../src/trainer/loop.ts'), 'utf8');
    const words = [...TRICK_NAMES, ...TRICKS.map((t) => t.title), 'smoothing', 'teacher', 'gradMasks', 'gradNorms', 'mixWith', 'rdropLoss', 'distillSoft', 'lr.phase', ...Object.keys(TRICK_EVENTS)];
    for (const w of words) expect(src.toLowerCase().includes(w.toLowerCase()), w).toBe(false);
  });
});

describe('the trick files stay importable by the renderer', () => {
  it('import TensorFlow.js (and the trainer) as types only: tfjs comes through the hook context', () => {
    const dir = path.join(__dirname, '../../src/shared/tricks');
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const imports = fs.readFileSync(path.join(dir, f), 'utf8').match(/^import [\s\S]*? from '[^']+';$/gm) ?? [];
      for (const line of imports) {
        if (/'@tensorflow\/|\/trainer\//.test(line)) expect(line.startsWith('import type '), `${f}: ${line}`).toBe(true);
      }
    }
  });
});

/** The innermost schema of a field (through default/nullable/optional). */
const leafKeys = (schema: z.ZodType): [string, z.ZodType][] => Object.entries((schema as z.ZodObject).shape as Record<string, z.ZodType>);

describe('every registered trick declares what the app derives from it', () => {
  it.each(TRICKS.map((t) => [t.name, t] as const))('%s: metadata on every option and on its switch, matching the form and the CLI of before', (name, t) => {
    const form = TRICK_FIELDS[name];
    const toggle = FIELDS.get(tricksSchema.shape[name]);
    expect(toggle, 'toggle').toEqual(t.toggle);
    expect(toggle!.label).toBe(form.toggle.label);
    expect(toggle!.hint).toBe(form.toggle.hint);
    const flags = CONFIG_FLAGS.filter((f) => f.path.startsWith(`tricks.${name}`));
    for (const [key, s] of leafKeys(t.schema)) {
      const meta = FIELDS.get(s);
      expect(meta, `${name}.${key}`).toBeDefined();
      const f = form.options.find((o) => o.path === `tricks.${name}.${key}`);
      expect(meta!.label, `${name}.${key} label`).toBe(f?.label);
      expect(meta!.hint, `${name}.${key} hint`).toBe(f?.hint);
      const flag = flags.find((x) => x.path === `tricks.${name}.${key}`);
      if (flag) {
        expect(meta!.flag, `${name}.${key} flag`).toBe(flag.flag);
        // --help adds the default (cli-config.ts flagHelp) to the trick's own text
        expect(flag.help.startsWith(meta!.help!), `${name}.${key} help`).toBe(true);
      } else expect(meta!.flag === null && !!meta!.noFlag, `${name}.${key}: no flag, and says why`).toBe(true);
    }
    const on = flags.find((x) => x.path === `tricks.${name}`);
    if (on) expect(toggle!.flag).toBe(on.flag);
    else expect(toggle!.flag === null && !!toggle!.noFlag).toBe(true);
  });

  it.each(TRICKS.map((t) => [t.name, t] as const))('%s: a title, a label starting with it, metric specs of its diagnostics', (name, t) => {
    expect(t.title.length).toBeGreaterThan(0);
    expect(t.paper.length).toBeGreaterThan(0);
    const options = name === 'distill' ? { ...defaultTrick(name), teacherRun: 3 } : defaultTrick(name);
    expect(trickLabel(name, t.schema.parse(options) as never).startsWith(t.title)).toBe(true);
    for (const m of t.metrics) {
      expect(m.diagnostic).toBe(true);
      expect(isTrickDiagnostic(m.key.replace('*', 'conv1'))).toBe(true);
    }
  });

  // One payload per declared kind, as the trainer writes them: a new kind must be added here.
  const samples: Record<string, Record<string, unknown>> = {
    'mixup.off': { epoch: 8, offLastEpochs: 2 },
    'cutmix.off': { epoch: 8, offLastEpochs: 2 },
    'rifle.reinit': { epoch: 5, layers: ['head'], weightNormBefore: { head: 3.14159 }, weightNormAfter: { head: 1.5 }, valAccBefore: 0.5, initializer: 'heNormal', resetOptimizerState: false, count: 1 },
    'distill.teacher': { teacherRun: 4, checkpoint: 'best', model: 'resnet20', params: 1000 },
    'repr.prune': { epoch: 2, cycle: 1, total: 3, of: 12, perLayer: { conv2: 2, conv3: 1 }, scope: 'global', pruneRatio: 0.3 },
    'repr.reinit': { epoch: 4, cycle: 1, total: 3, perLayer: { conv2: { count: 2, nullSpace: true, zeroNextLayer: 'off' }, conv3: { count: 1, nullSpace: false, zeroNextLayer: 'off' } } },
    'lr.phase': { phase: 'warmup end', next: 'cosine', lr: 0.1 },
    'run.resume': { fromEpoch: 3, fromStep: 30, backend: 'wasm', device: 'cpu', warnings: [] },
  };

  it('every trick event kind is declared with a marker that draws its payload', () => {
    const drawn = Object.keys(EVENT_SPECS).filter((k) => EVENT_SPECS[k]!.marker);
    expect(drawn.sort()).toEqual(Object.keys(samples).sort());
    for (const k of Object.keys(TRICK_EVENTS)) expect(eventSpec(k)?.marker, k).toBeDefined();
    const events: RunEvent[] = Object.entries(samples).map(([kind, payload], i) => ({ kind, epoch: i, step: 10 * i, payload, time: 0 }));
    const markers = eventMarkers(events, 'step');
    expect(markers.map((m) => m.kind)).toEqual(Object.keys(samples));
    for (const m of markers) expect(m.detail.length && m.detail.every((l) => l.length > 0 && !l.includes('undefined'))).toBeTruthy();
    expect(markers.find((m) => m.kind === 'rifle.reinit')!.detail).toEqual(['RIFLE re-initialised head (heNormal, #1)', 'weight norm head 3.14 → head 1.5', 'val/acc before 50.00%']);
    expect(markers.find((m) => m.kind === 'repr.reinit')!.detail).toEqual(['RePr cycle 1: re-initialised 3 filters', 'conv2: 2 in the null space', 'conv3: 1, null space exhausted (uniform)']);
  });

  it('declared kinds stored with payloads of another shape are not drawn and do not crash', () => {
    const events: RunEvent[] = [
      { kind: 'rifle.reinit', epoch: 1, step: 1, payload: { layers: 'head' }, time: 0 },
      { kind: 'mixup.off', epoch: 2, step: 20, payload: { epoch: 2, offLastEpochs: 1 }, time: 0 },
      { kind: 'run.start', epoch: 0, step: 0, payload: { backend: 'wasm' }, time: 0 },
    ];
    expect(eventMarkers(events, 'epoch').map((m) => [m.kind, m.x])).toEqual([['mixup.off', 2]]);
    expect(parseEvent(events[0]!)).toBeNull();
  });

  it("an external script's own event kinds are drawn as plain markers named by their kind, payload in the tooltip", () => {
    const long = 'x'.repeat(100);
    const events: RunEvent[] = [
      { kind: 'lr.drop', epoch: 3, step: 300, payload: { lr: 0.005, reason: long }, time: 0 },
      { kind: 'a.very.long.event.kind.name', epoch: 4, step: 400, payload: { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: { deep: true } }, time: 0 },
    ];
    expect(parseEvent(events[0]!)).toBeNull(); // not one of ours
    const m = eventMarkers(events, 'step');
    expect(m.map((x) => [x.kind, x.x, x.label])).toEqual([['lr.drop', 300, 'lr.drop'], ['a.very.long.event.kind.name', 400, 'a.very.long.event…']]);
    expect(m[0]!.detail).toEqual(['lr: 0.005', `reason: ${'x'.repeat(59)}…`]);
    // six payload entries at most, and a note of the rest
    expect(m[1]!.detail).toEqual(['a: 1', 'b: 2', 'c: 3', 'd: 4', 'e: 5', 'f: 6', '… 2 more (events list)']);
    expect(eventMarkers(events, 'epoch').map((x) => x.x)).toEqual([3, 4]);
  });

  it('a resume recorded before backend warnings were stored is still drawn', () => {
    const old: RunEvent = { kind: 'run.resume', epoch: 3, step: 30, payload: { fromEpoch: 3, fromStep: 30, backend: 'wasm', device: 'cpu' }, time: 0 };
    expect(eventMarkers([old], 'epoch').map((m) => [m.kind, m.x, m.label])).toEqual([['run.resume', 3, 'resumed']]);
  });
});
