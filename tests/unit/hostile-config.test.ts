// Hostile run configs, experiment files and --set flags: prototype pollution through set paths,
// nesting deep enough to overflow the stack, and a batch size larger than the training set.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MAX_CONFIG_DEPTH, nestingProblem, parseRunConfig, setPath, trainImagesBound, UnsafePathError } from '../../src/shared/config';
import { experimentErrorField, formatExperimentErrors, planExperiment } from '../../src/shared/experiments';
import { BUILTIN_FACTS, datasetFacts } from '../../src/shared/models/datasets';
import { checkStartInput } from '../../src/main/services/run-input';
import { Store } from '../../src/store/store';
import { CliInputError, configFromOptions } from '../../src/trainer/cli-config';
import { SYNTHETIC_TRAIN } from '../../src/data/synthetic';
import { trainModel } from '../../src/trainer/loop';
import type { Splits } from '../../src/data/types';
import { tmpDataDir } from '../helpers/tmp';

const tmp = tmpDataDir('tb-hostile-');
afterAll(tmp.cleanup);
const storeIn = (name: string) => {
  const dir = path.join(tmp.dir, name);
  fs.mkdirSync(dir, { recursive: true });
  return new Store(dir);
};

const PROBES = ['x', 'polluted', 'lr'];
/** Whatever a failing (unfixed) run wrote to Object.prototype is removed, so one failure does not
 * break every later test. */
function cleanPrototype() {
  for (const k of PROBES) delete (Object.prototype as Record<string, unknown>)[k];
}
afterEach(cleanPrototype);

const pristine = () => PROBES.every((k) => !Object.hasOwn(Object.prototype, k)) && ({} as Record<string, unknown>).x === undefined;

const tiny = { dataset: { name: 'synthetic', trainSubset: 320, valSplit: 0.2 }, model: { name: 'cnn3', width: 8 }, epochs: 1, batchSize: 32 };
const experiment = (arms: { name: string; set: Record<string, unknown> }[], extra: Record<string, unknown> = {}) => ({ name: 'e', baseline: tiny, arms, seeds: [1], ...extra });

function errorsOf(r: { ok: true } | { ok: false; errors: { field: string; message: string }[] }) {
  if (r.ok) throw new Error('expected a refusal');
  return r.errors;
}

function cliError(opts: Record<string, unknown>): CliInputError {
  try {
    configFromOptions(opts);
  } catch (e) {
    expect(e).toBeInstanceOf(CliInputError);
    return e as CliInputError;
  }
  throw new Error('expected a CliInputError');
}

/** { a: { a: ... { a: 1 } } }, `levels` objects deep, built without recursion. */
function nested(levels: number, key = 'a'): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let cur = root;
  for (let i = 1; i < levels; i++) {
    const next: Record<string, unknown> = {};
    cur[key] = next;
    cur = next;
  }
  cur[key] = 1;
  return root;
}

describe('set paths that reach a prototype', () => {
  it('an experiment arm setting __proto__.x is refused naming the arm, Object.prototype stays clean and runs:start still works', () => {
    const errors = errorsOf(planExperiment(experiment([{ name: 'smoothing', set: { '__proto__.x': 1, 'optimizer.lr': 0.1 } }]), BUILTIN_FACTS));
    expect(errors).toEqual([{ field: 'arms.0.set', arm: 'smoothing', message: expect.stringMatching(/"__proto__\.x" is not a config path: "__proto__" is not allowed/) }]);
    expect(formatExperimentErrors(errors)).toMatch(/^arm "smoothing" \(arms\.0\.set\): "__proto__\.x" is not a config path/);
    expect(pristine()).toBe(true);
    // What the pollution broke: every later config was refused with "unknown option 'x'".
    expect(parseRunConfig(tiny, BUILTIN_FACTS).ok).toBe(true);
    const store = storeIn('store');
    try {
      expect(checkStartInput(store, tiny, { facts: BUILTIN_FACTS }).batchSize).toBe(32);
    } finally {
      store.close();
    }
    expect(planExperiment(experiment([{ name: 'smoothing', set: { 'tricks.labelSmoothing': { epsilon: 0.1 } } }]), BUILTIN_FACTS).ok).toBe(true);
  });

  it('refuses constructor and prototype segments too, in arms and the pre-training', () => {
    const errors = errorsOf(
      planExperiment(experiment([{ name: 'a', set: { 'constructor.prototype.polluted': 1 } }], { pretrain: { name: 'pre', set: { 'model.prototype': 1 } } }), BUILTIN_FACTS),
    );
    expect(errors.map(experimentErrorField).sort()).toEqual(['arm "a" (arms.0.set)', 'arm "pre" (pretrain.set)']);
    expect(errors.find((e) => e.field.startsWith('arms'))!.message).toMatch(/"constructor" is not allowed/);
    expect(errors.find((e) => e.field.startsWith('pretrain'))!.message).toMatch(/"prototype" is not allowed/);
    expect(pristine()).toBe(true);
  });

  it('--set __proto__.x=1 is a --set error, not a TypeError, and leaves Object.prototype alone', () => {
    const e = cliError({ set: ['__proto__.x=1'] });
    expect(e.errors).toEqual([{ field: '--set', message: expect.stringMatching(/"__proto__\.x" is not a config path/) }]);
    expect(cliError({ set: ['optimizer.__proto__.lr=5'] }).errors[0]!.field).toBe('--set');
    expect(pristine()).toBe(true);
    const r = parseRunConfig(configFromOptions({ set: ['optimizer.lr=0.1'] }), BUILTIN_FACTS);
    expect(r.ok && r.config.optimizer.lr).toBe(0.1);
  });

  it('setPath itself writes own properties only and throws before writing a prototype path', () => {
    const o: Record<string, unknown> = {};
    expect(() => setPath(o, '__proto__.x', 1)).toThrow(UnsafePathError);
    expect(() => setPath(o, 'a.constructor.prototype.x', 1)).toThrow(UnsafePathError);
    expect(o).toEqual({});
    expect(pristine()).toBe(true);
    // An inherited name (toString) is not walked into: an own object is made instead.
    setPath(o, 'toString.x', 1);
    expect(Object.hasOwn(o, 'toString')).toBe(true);
    expect(o.toString).toEqual({ x: 1 });
    expect(Object.prototype.toString).toBeTypeOf('function');
    setPath(o, 'a.b', 2);
    setPath(o, 'a.c', 3);
    expect(o.a).toEqual({ b: 2, c: 3 });
  });
});

describe('deeply nested input', () => {
  it(`a 20,000-deep baseline is an invalid config naming where it got deeper than ${MAX_CONFIG_DEPTH}, not a stack overflow`, () => {
    const errors = errorsOf(planExperiment({ name: 'e', baseline: { ...tiny, model: nested(20_000) }, arms: [{ name: 'a', set: {} }], seeds: [1] }, BUILTIN_FACTS));
    expect(errors).toHaveLength(1);
    expect(errors[0]!.field).toMatch(/^baseline\.model(\.a)+$/);
    expect(errors[0]!.message).toMatch(/nested more than \d+ levels deep/);
  });

  it('a deep arm set value, a deep run config and a deep CLI --config / --set / --tricks are refused the same way', () => {
    const arm = errorsOf(planExperiment(experiment([{ name: 'deep', set: { model: nested(20_000) } }]), BUILTIN_FACTS));
    expect(arm[0]!.field).toMatch(/^arms\.0\.set\.model(\.a)+$/);

    const run = errorsOf(parseRunConfig({ ...tiny, tricks: nested(20_000) }, BUILTIN_FACTS));
    expect(run).toEqual([{ field: `tricks${'.a'.repeat(MAX_CONFIG_DEPTH - 1)}`, message: expect.stringMatching(new RegExp(`nested more than ${MAX_CONFIG_DEPTH} levels deep`)) }]);
    // An arm whose set path and value together nest too deep: refused once applied, naming the arm.
    const combined = errorsOf(planExperiment(experiment([{ name: 'long', set: { [`model${'.b'.repeat(20)}`]: nested(20) } }]), BUILTIN_FACTS));
    expect(combined[0]!.field).toMatch(/^arms\.0\.model(\.b){20}(\.a)+$/);

    const file = path.join(tmp.dir, 'deep.json');
    fs.writeFileSync(file, `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`);
    expect(cliError({ config: file }).errors).toEqual([{ field: '--config', message: expect.stringMatching(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: a(\\.a)+: nested more than`)) }]);
    expect(cliError({ set: [`model=${'['.repeat(20_000)}${']'.repeat(20_000)}`] }).errors[0]).toMatchObject({ field: '--set', message: expect.stringMatching(/^model\.0(\.0)+: nested more than/) });
    expect(cliError({ tricks: JSON.stringify(nested(100)) }).errors[0]).toMatchObject({ field: '--tricks', message: expect.stringMatching(/^tricks(\.a)+: nested more than/) });
  });

  it(`${MAX_CONFIG_DEPTH} levels are fine; the check itself is iterative`, () => {
    expect(nestingProblem(nested(MAX_CONFIG_DEPTH))).toBeNull();
    expect(nestingProblem(nested(MAX_CONFIG_DEPTH + 1))?.field).toBe(`a${'.a'.repeat(MAX_CONFIG_DEPTH - 1)}`);
    expect(nestingProblem(nested(1_000_000))).not.toBeNull();
    expect(nestingProblem([[1, [2]], { b: [{}] }], '', 3)).toEqual({ field: '1.b.0', message: expect.any(String) });
  });
});

describe('batch size larger than the training set', () => {
  it('is a batchSize field error when the dataset size is known: 90 training images, batch 4096 with linear scaling', () => {
    const input = { dataset: { name: 'synthetic', trainSubset: 100 }, batchSize: 4096, optimizer: { lr: 0.1, linearScaling: true } };
    const errors = errorsOf(parseRunConfig(input, BUILTIN_FACTS));
    expect(errors).toEqual([{ field: 'batchSize', message: 'batch size 4096 is larger than the training set (90 images after the subset and the validation split): use at most 90' }]);
    expect(parseRunConfig({ ...input, batchSize: 90 }, BUILTIN_FACTS).ok).toBe(true);
    // runs:start refuses it as a field error before the run exists
    const store = storeIn('store-batch');
    try {
      expect(() => checkStartInput(store, input, { facts: BUILTIN_FACTS })).toThrow(/batchSize: batch size 4096 is larger than the training set/);
      expect(store.listRuns()).toEqual([]);
    } finally {
      store.close();
    }
    // the whole built-in set: 10,000 images, 1,000 held out for validation
    expect(errorsOf(parseRunConfig({ batchSize: 9001 }, BUILTIN_FACTS))[0]!.message).toMatch(/\(9000 images/);
    expect(parseRunConfig({ batchSize: 9000 }, BUILTIN_FACTS).ok).toBe(true);
    expect(BUILTIN_FACTS.trainSetSize('synthetic')!.images).toBe(SYNTHETIC_TRAIN);
  });

  it('counts a dataset whose facts give its size: carved test split, own validation set, class subset as a bound', () => {
    const facts = datasetFacts([
      ['tiny-folder', { shape: [8, 8, 3], classes: 3, noTestSet: true, trainImages: 60 }],
      ['tiny-val', { shape: [8, 8, 3], classes: 3, trainImages: 40, ownVal: true }],
      ['tiny-unsized', { shape: [8, 8, 3], classes: 3 }],
    ]);
    // 60 images: 15 test (testSplit 0.25), then 45 -> 9 val + 36 train, as makeSplits splits them
    const folder = { name: 'tiny-folder', testSplit: 0.25, valSplit: 0.2 };
    expect(trainImagesBound({ ...folder, trainSubset: null, classes: null }, facts)).toEqual({ images: 36, exact: true });
    expect(errorsOf(parseRunConfig({ dataset: folder, batchSize: 37 }, facts))[0]).toMatchObject({ field: 'batchSize', message: expect.stringMatching(/\(36 images/) });
    expect(parseRunConfig({ dataset: folder, batchSize: 36 }, facts).ok).toBe(true);
    expect(errorsOf(parseRunConfig({ dataset: { ...folder, classes: [0, 1] }, batchSize: 37 }, facts))[0]!.message).toMatch(/\(at most 36 images/);
    // its own val/ set: the valSplit takes nothing
    expect(parseRunConfig({ dataset: { name: 'tiny-val' }, batchSize: 40 }, facts).ok).toBe(true);
    expect(errorsOf(parseRunConfig({ dataset: { name: 'tiny-val' }, batchSize: 41 }, facts))[0]!.field).toBe('batchSize');
    // size unknown: only the subset bounds it (and the trainer checks the exact count)
    expect(parseRunConfig({ dataset: { name: 'tiny-unsized' }, batchSize: 4096 }, facts).ok).toBe(true);
    expect(errorsOf(parseRunConfig({ dataset: { name: 'tiny-unsized', trainSubset: 50 }, batchSize: 51 }, facts))[0]!.message).toMatch(/\(at most 50 images/);
    // facts that do not know the dataset: its size bounds nothing (the trainer checks it)
    expect(parseRunConfig({ dataset: { name: 'tiny-folder' }, batchSize: 4096 }, BUILTIN_FACTS).ok).toBe(true);
  });

  it('fails the run before any step where only the loaded data shows it (a class subset)', async () => {
    const config = parseRunConfig({ dataset: { name: 'synthetic', classes: [0, 1] }, batchSize: 5000 }, BUILTIN_FACTS);
    expect(config.ok).toBe(true); // 9000 images bound it; the two classes have far fewer
    const splits = { dataset: { numClasses: 2 }, inputShape: [32, 32, 3], train: new Int32Array(1800) } as unknown as Splits;
    const never = new Proxy({}, { get: () => { throw new Error('the model was used'); } });
    await expect(trainModel(config.ok ? config.config : (null as never), splits, never as never, never as never, never as never)).rejects.toThrow(
      'batchSize: batch size 5000 is larger than the training set (1800 images after the subset and the validation split): use at most 1800',
    );
  });
});
