// The run form's messages: an empty numeric input is "required", bad augmentation JSON says where
// and what in words, schema errors in the augmentation name the step, and the data options warn
// where the run will use something other than what they say (a train subset above the dataset).
import { describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../src/shared/config';
import { BUILTIN_FACTS, datasetFacts, type DatasetInfo } from '../../src/shared/models/datasets';
import { describeAugmentError } from '../../src/shared/augment';
import {
  DATASET_FIELDS,
  GENERAL_FIELDS,
  INIT_FIELDS,
  MODEL_FIELDS,
  OPTIMIZER_FIELDS,
  TRICK_FIELDS,
  configToValues,
  configWarnings,
  datasetWarnings,
  fieldMessages,
  groupErrors,
  scheduleFields,
  trickWarnings,
  valuesToInput,
} from '../../src/renderer/src/lib/configForm';
import type { FieldSpec, FormValues } from '../../src/renderer/src/lib/configForm';
import { jsonProblem, jsonProblemText } from '../../src/renderer/src/lib/jsonError';
import { defaultRunConfig } from '../../src/shared/config';

/** What the form shows at `spec` for these values: validate, group, then fieldMessages. */
function shownAt(values: FormValues, spec: FieldSpec): string[] {
  const r = parseRunConfig(valuesToInput(values), BUILTIN_FACTS);
  const errors = r.ok ? [] : r.errors;
  const { byField } = groupErrors(errors, [spec.path]);
  return fieldMessages(spec, values[spec.path], byField[spec.path]).map((e) => e.message);
}

const base = (): FormValues => configToValues(defaultRunConfig());
const spec = (path: string): FieldSpec => {
  const all = [
    ...GENERAL_FIELDS,
    ...DATASET_FIELDS,
    ...Object.values(MODEL_FIELDS).flat(),
    ...Object.values(OPTIMIZER_FIELDS).flat(),
    ...scheduleFields('step'),
    ...INIT_FIELDS,
    ...Object.values(TRICK_FIELDS).flatMap((t) => [t.toggle, ...t.options]),
  ];
  return all.find((f) => f.path === path)!;
};

describe('empty numeric inputs', () => {
  it('say "required" for every numeric field of the form, trick options included', () => {
    const paths = ['epochs', 'batchSize', 'seed', 'dataset.valSplit', 'optimizer.lr', 'optimizer.momentum', 'model.width', 'schedule.warmupEpochs'];
    for (const p of paths) expect(shownAt({ ...base(), [p]: '  ' }, spec(p)), p).toEqual(['required']);
    const mixup = { ...base(), 'tricks.mixup': true, 'tricks.mixup.alpha': '' };
    expect(shownAt(mixup, spec('tricks.mixup.alpha'))).toEqual(['required']);
    // A teacher run is optional in the form's terms (blank = none) but the trick needs one.
    const distill = { ...base(), 'tricks.distill': true, 'tricks.distill.teacherRun': '' };
    expect(shownAt(distill, spec('tricks.distill.teacherRun'))).toEqual(['required']);
  });

  it('say "required" for an empty list that needs items', () => {
    const mlp = { ...base(), 'model.name': 'mlp', 'model.hidden': '', 'model.dropout': '0' };
    expect(shownAt(mlp, spec('model.hidden'))).toEqual(['required: one or more, comma separated']);
  });

  it('keep the schema message for a value that is there but wrong', () => {
    expect(shownAt({ ...base(), 'optimizer.lr': 'abc' }, spec('optimizer.lr'))).toEqual(['expected a number, got "abc"']);
    expect(shownAt({ ...base(), epochs: '0' }, spec('epochs'))).toEqual(['must be >= 1, got 0']);
  });

  it('leave a blank optional number alone (train subset blank = all)', () => {
    expect(shownAt({ ...base(), 'dataset.trainSubset': '' }, spec('dataset.trainSubset'))).toEqual([]);
  });
});

describe('JSON problems in words', () => {
  it('say the line, the column and what is missing', () => {
    expect(jsonProblemText('[{"name":"hflip","p":}]')).toBe("line 1, column 22: a value is missing before '}'");
    expect(jsonProblemText('[{"name":"hflip",}]')).toBe("line 1, column 18: a comma before '}' ends the list of options: remove it");
    expect(jsonProblemText('[{"name":"hflip"},]')).toBe("line 1, column 19: a comma before ']' ends the list: remove it");
    expect(jsonProblemText("[{'name':'hflip'}]")).toBe('line 1, column 3: option names must be in double quotes ("name"), not single quotes');
    expect(jsonProblemText('[{name:"hflip"}]')).toBe('line 1, column 3: option names must be in double quotes: "name"');
    expect(jsonProblemText('[{"name":"hflip" "p":1}]')).toBe("line 1, column 18: a ',' or '}' is missing before '\"'");
    expect(jsonProblemText('[{"name":hflip}]')).toBe('line 1, column 10: hflip is not a value: text must be in double quotes ("hflip")');
    expect(jsonProblemText('[{"name":"hflip"}')).toBe("line 1, column 1: this '[' is never closed: a ']' is missing");
    expect(jsonProblemText('[{"name":"hflip"}] x')).toMatch(/^line 1, column 20: 'x' comes after the end/);
    expect(jsonProblemText('[\n  {"name": "cutout",\n   "size": 16,,\n  }\n]')).toBe('line 3, column 15: one comma too many: an option name in double quotes is expected here');
    expect(jsonProblemText('')).toBe('line 1, column 1: the text ends where a value should be (at the start)');
  });

  it('are null for JSON, and found for everything JSON.parse refuses', () => {
    expect(jsonProblem('[{"name":"hflip","p":0.5}]')).toBeNull();
    expect(jsonProblem(' {"a": [1, -2.5e3, true, null, "x\\"y"]} ')).toBeNull();
    for (const bad of ['[1 2]', '{"a" 1}', '[01]', '"abc', '[1.]', 'tru', '{"a":1}}', '[\\x]', '"a\\qb"']) {
      const p = jsonProblem(bad);
      expect(p, bad).not.toBeNull();
      expect(p!.message, bad).not.toMatch(/JSON at position|Unexpected token/);
    }
  });

  it('replace the schema message at the augmentation input', () => {
    const v = { ...base(), augment: '[{"name":"randomCrop","padding":4},]' };
    expect(shownAt(v, spec('augment'))).toEqual(["not JSON: line 1, column 36: a comma before ']' ends the list: remove it"]);
  });
});

describe('augmentation schema errors', () => {
  it('name the step, its transform and the option', () => {
    expect(shownAt({ ...base(), augment: '[{"name":"hflip"},{"name":"randomCrop","padding":-1}]' }, spec('augment'))).toContain('step 2 (randomCrop), padding: must be >= 0, got -1');
    expect(shownAt({ ...base(), augment: '[{"name":"flip"}]' }, spec('augment'))).toEqual([
      'step 1: "flip" is not a transform; the transforms are randomCrop, hflip, randomResizedCrop, colorJitter, rotation, cutout, resize',
    ]);
    expect(shownAt({ ...base(), augment: '[{"name":"hflip","prob":0.5}]' }, spec('augment'))).toEqual(["step 1 (hflip): unknown option 'prob'; hflip takes p"]);
    expect(shownAt({ ...base(), augment: '[{"padding":4}]' }, spec('augment'))[0]).toMatch(/^step 1: has no "name"; the transforms are randomCrop/);
    expect(shownAt({ ...base(), augment: '{"name":"hflip"}' }, spec('augment'))).toEqual(['a list of steps is expected, e.g. [{"name":"hflip"}] (got an object)']);
    expect(shownAt({ ...base(), augment: '[{"name":"randomResizedCrop"}]' }, spec('augment'))).toEqual(['step 1 (randomResizedCrop), size: expected a number, got nothing']);
  });

  it('describeAugmentError works on the raw schema paths (the dataset page)', () => {
    expect(describeAugmentError(['0', 'size'], 'crop 64x64 is larger than the padded image 40x40', [{ name: 'randomCrop', size: 64 }])).toBe(
      'step 1 (randomCrop), size: crop 64x64 is larger than the padded image 40x40',
    );
    expect(describeAugmentError(['1'], 'expected a object, got 3', [{ name: 'hflip' }, 3])).toBe('step 2: each step is an object such as {"name":"hflip"} (got 3)');
  });
});

describe('datasetWarnings: what the run will really use', () => {
  const tiny = (info: DatasetInfo) => datasetFacts([['tiny-folder', info]]);
  const warn = (dataset: Record<string, unknown>, facts = BUILTIN_FACTS) => datasetWarnings({ dataset }, facts, (n) => (n === 'fashion-mnist' ? 'Fashion-MNIST' : n));

  it('a train subset above the dataset trains on all of it less the validation split', () => {
    expect(warn({ name: 'fashion-mnist', trainSubset: 100000, valSplit: 0.1 })).toEqual([
      { field: 'dataset.trainSubset', message: 'Fashion-MNIST has 60,000 training images; with valSplit 0.1 this trains on 54,000 and validates on 6,000' },
    ]);
    expect(warn({ name: 'fashion-mnist', trainSubset: 60000, valSplit: 0.2 })).toEqual([]); // exactly all: nothing adjusted
    expect(warn({ name: 'fashion-mnist', trainSubset: 5000 })).toEqual([]);
    expect(warn({ name: 'cifar10', trainSubset: 50001, classes: [0, 1] })[0]!.message).toBe(
      'cifar10 has 50,000 training images (fewer in classes 0, 1); with valSplit 0.1 this trains on at most 45,000 and validates on at most 5,000',
    );
  });

  it('through the form values, as the form computes it', () => {
    const v = { ...base(), 'dataset.name': 'fashion-mnist', 'dataset.trainSubset': '100000' };
    expect(datasetWarnings(valuesToInput(v), BUILTIN_FACTS).map((w) => w.field)).toEqual(['dataset.trainSubset']);
  });

  it('splits that leave no validation or no training image', () => {
    expect(warn({ name: 'mnist', trainSubset: 4, valSplit: 0.1 })).toEqual([{ field: 'dataset.valSplit', message: '0.1 of 4 images rounds to no validation image: nothing is validated' }]);
    expect(warn({ name: 'mnist', trainSubset: 1, valSplit: 0.5 })).toEqual([
      { field: 'dataset.trainSubset', message: 'valSplit 0.5 of 1 image leaves none for training: the run would stop at its start' },
    ]);
    expect(warn({ name: 'mnist', valSplit: 0 })).toEqual([]);
  });

  it('a dataset without a test set: the test split comes first; one with a validation set ignores valSplit', () => {
    expect(warn({ name: 'tiny-folder', testSplit: 0.1 }, tiny({ shape: [8, 8, 3], classes: 2, noTestSet: true, trainImages: 3 }))).toEqual([
      { field: 'dataset.testSplit', message: '0.1 of 3 images leaves no test image: the run would stop at its start' },
    ]);
    expect(warn({ name: 'tiny-folder', trainSubset: 2000, testSplit: 0.2, valSplit: 0.1 }, tiny({ shape: [8, 8, 3], classes: 2, noTestSet: true, trainImages: 1000 }))).toEqual([
      { field: 'dataset.trainSubset', message: 'tiny-folder has 1,000 images, 800 after the test split (testSplit 0.2); with valSplit 0.1 this trains on 720 and validates on 80' },
    ]);
    expect(warn({ name: 'tiny-folder', trainSubset: 800 }, tiny({ shape: [8, 8, 3], classes: 2, trainImages: 500, ownVal: true }))).toEqual([
      { field: 'dataset.valSplit', message: 'not used: tiny-folder has a validation set of its own' },
      { field: 'dataset.trainSubset', message: 'tiny-folder has 500 training images; this trains on 500' },
    ]);
  });

  it('say nothing where the size is not known', () => {
    expect(warn({ name: 'tiny-folder', trainSubset: 10 ** 9 }, tiny({ shape: [8, 8, 3], classes: 2 }))).toEqual([]);
    expect(warn({ name: 'no-such-set', trainSubset: 10 ** 9 })).toEqual([]);
  });
});

describe('trickWarnings: RePr cycles the epochs do not hold', () => {
  const repr = (epochs: number, o: Record<string, unknown> = {}) => ({ epochs, model: { name: 'cnn3' }, tricks: { repr: { s1: 20, s2: 10, cycles: 3, ...o } } });

  it('say how many cycles fit and when it prunes, and when the run ends pruned', () => {
    expect(trickWarnings(repr(100))).toEqual([]); // 20+10, 50+60, 80+90: all three fit
    expect(trickWarnings(repr(60))).toEqual([
      { field: 'tricks.repr.cycles', message: '60 epochs fit 2 of 3 cycles: pruning after epochs 20, 50' },
      { field: 'tricks.repr.s2', message: 'the last pruning (after epoch 50) is not re-initialised within 60 epochs: the run ends pruned' },
    ]);
    expect(trickWarnings(repr(31, { cycles: 1 }))).toEqual([]);
    expect(trickWarnings(repr(10))).toEqual([]); // never prunes: the schema's s1 error says so
  });

  it('come with the dataset warnings from the form values', () => {
    const v = { ...base(), 'dataset.name': 'mnist', 'dataset.trainSubset': '70000', epochs: '60', 'tricks.repr': true };
    expect(configWarnings(valuesToInput(v), BUILTIN_FACTS).map((w) => w.field)).toEqual(['dataset.trainSubset', 'tricks.repr.cycles', 'tricks.repr.s2']);
  });
});
