// Validation has no hidden state: a config on a dataset found on disk or imported gets the same
// field errors from the app's runs:start (the host's dataset service's facts), from the trainer's
// check that `npm run train` makes (src/trainer/train-input.ts, and the CLI itself), from the
// trainer process's own check of a stored run (executeRun), and from parseRunConfig given that
// dataset's facts. Without its facts, parseRunConfig skips exactly the checks that need them (the
// list in parseRunConfig's comment) and nothing else.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiFailure } from '../../src/shared/api';
import { mustParseRunConfig, parseRunConfig, type FieldError } from '../../src/shared/config';
import { planExperiment } from '../../src/shared/experiments';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';
import { DatasetService } from '../../src/main/services/datasets';
import { ExperimentService } from '../../src/main/services/experiments';
import { RunService } from '../../src/main/services/runs';
import { Store } from '../../src/store/store';
import { locatedFacts, recheckReadDataset } from '../../src/data/facts';
import type { Dataset } from '../../src/data/types';
import { executeRun } from '../../src/trainer/run';
import { checkTrainInput } from '../../src/trainer/train-input';
import { writeIdxDir, writeImageFolder } from '../helpers/dataset-fixtures';
import { tmpDataDir } from '../helpers/tmp';
import { runCli } from '../helpers/trainer';

const tmp = tmpDataDir('tb-facts-');
const system = path.join(tmp.dir, 'system'); // no /usr/share/datasets of this machine in the test
let store: Store;
let datasets: DatasetService;
let runs: RunService;

beforeAll(async () => {
  fs.mkdirSync(system);
  // Found: an image folder in the data dir's datasets/ (3 classes, 4 images each, no test set).
  await writeImageFolder(path.join(tmp.dir, 'datasets', 'tiles'), { classes: { a: 4, b: 4, c: 4 }, size: 8 });
  store = new Store(tmp.dir);
  datasets = new DatasetService({ store, dataDir: tmp.dir, systemDir: system, emit: () => undefined });
  // Imported: IDX files anywhere (5 classes, 30 training images of 12x12x1).
  const idxDir = path.join(tmp.dir, 'elsewhere', 'digits');
  writeIdxDir(idxDir, { train: 30, test: 10, h: 12, w: 12, classes: 5 });
  await datasets.import({ path: idxDir, name: 'digits' });
  runs = new RunService({ store, dataDir: tmp.dir, datasets, trainerEntry: 'unused', concurrency: 0, emit: () => undefined });
  process.env.TRICKBENCH_SYSTEM_DATASETS = system;
});
afterAll(() => {
  delete process.env.TRICKBENCH_SYSTEM_DATASETS;
  store.close();
  tmp.cleanup();
});

const small = { model: { name: 'cnn3', width: 4 }, epochs: 6 };
/** Bad configs and the field errors the app gives them. tiles: 12 images, 2 test (testSplit
 * 0.2), then 10 -> 1 val + 9 train. digits: 30 -> 3 val + 27 train. */
const BAD: { what: string; config: Record<string, unknown>; errors: FieldError[] }[] = [
  {
    what: 'a class id out of range (found folder)',
    config: { ...small, dataset: { name: 'tiles', classes: [0, 5] }, batchSize: 2 },
    errors: [{ field: 'dataset.classes.1', message: 'class 5 does not exist: tiles has classes 0..2' }],
  },
  {
    what: 'a class id out of range (imported IDX)',
    config: { ...small, dataset: { name: 'digits', classes: [4, 7] }, batchSize: 2 },
    errors: [{ field: 'dataset.classes.1', message: 'class 7 does not exist: digits has classes 0..4' }],
  },
  {
    what: 'coarse labels on a dataset without them',
    config: { ...small, dataset: { name: 'digits', labels: 'coarse' }, batchSize: 2 },
    errors: [{ field: 'dataset.labels', message: 'digits has no coarse labels (CIFAR-100 has)' }],
  },
  {
    what: 'a batch larger than the training set',
    config: { ...small, dataset: { name: 'tiles' }, batchSize: 10 },
    errors: [{ field: 'batchSize', message: 'batch size 10 is larger than the training set (9 images after the subset and the validation split): use at most 9' }],
  },
  {
    what: 'a crop larger than the images',
    config: { ...small, dataset: { name: 'tiles' }, batchSize: 2, augment: [{ name: 'randomCrop', size: 16, padding: 0 }] },
    errors: [{ field: 'augment.0.size', message: expect.stringMatching(/^crop 16x16 is larger than/) as unknown as string }],
  },
  {
    what: 'a RIFLE layer the model lacks',
    config: { ...small, epochs: 40, dataset: { name: 'digits' }, batchSize: 2, tricks: { rifle: { layers: ['fc9'] } } },
    errors: [{ field: 'tricks.rifle.layers.0', message: expect.stringMatching(/^RIFLE: the model has no layer 'fc9' with weights \(its layers: conv1, .*head\)$/) as unknown as string }],
  },
  {
    what: 'RePr on a model without conv layers',
    config: { dataset: { name: 'tiles' }, model: { name: 'mlp' }, epochs: 40, batchSize: 2, tricks: { repr: {} } },
    errors: [{ field: 'tricks.repr', message: 'RePr prunes conv filters: model mlp has no conv layers' }],
  },
];

/** The field errors runs:start answers with (none: it queued the run). */
function startErrors(config: unknown): FieldError[] {
  try {
    runs.start(config);
  } catch (e) {
    if (e instanceof ApiFailure && e.error.code === 'invalid_config') return e.error.fields ?? [];
    throw e;
  }
  return [];
}

async function trainErrors(config: unknown): Promise<FieldError[]> {
  const r = await checkTrainInput(config, tmp.dir, system);
  return r.ok ? [] : r.errors;
}

describe('an imported or found dataset is checked the same everywhere', () => {
  it.each(BAD)('$what: runs:start, the trainer CLI check and parseRunConfig with its facts give the same field errors', async ({ config, errors }) => {
    await datasets.refresh();
    expect(startErrors(config)).toEqual(errors);
    expect(await trainErrors(config)).toEqual(errors);
    const app = parseRunConfig(config, datasets.facts());
    expect(app.ok ? [] : app.errors).toEqual(errors);
    // The trainer's own facts (located and inspected as the trainer does) say the same.
    const name = (config.dataset as { name: string }).name;
    const trainer = parseRunConfig(config, (await locatedFacts(name, tmp.dir, { imported: (n) => store.datasets.get(n), systemDir: system, cache: null })).facts);
    expect(trainer.ok ? [] : trainer.errors).toEqual(errors);
    expect(store.listRuns()).toEqual([]); // refused before a run row exists
  });

  it('the same configs, fixed, are accepted by each (so the errors above are about the dataset)', async () => {
    const fixed = [
      { ...small, dataset: { name: 'tiles', classes: [0, 2] }, batchSize: 2 },
      { ...small, dataset: { name: 'tiles' }, batchSize: 9 },
      { ...small, epochs: 40, dataset: { name: 'digits' }, batchSize: 2, tricks: { rifle: { layers: ['head'] } } },
      { dataset: { name: 'tiles' }, model: { name: 'cnn3', width: 4 }, epochs: 40, batchSize: 2, tricks: { repr: {} } },
    ];
    for (const config of fixed) {
      expect(parseRunConfig(config, datasets.facts()).ok).toBe(true);
      expect(await trainErrors(config)).toEqual([]);
    }
  });

  it('npm run train refuses them before the run exists, with the same lines', async () => {
    const bad = BAD[0]!;
    const file = path.join(tmp.dir, 'bad.json');
    fs.writeFileSync(file, JSON.stringify(bad.config));
    const r = await runCli('src/trainer/cli.ts', ['--data-dir', tmp.dir, '--config', file, '--no-progress'], { TRICKBENCH_SYSTEM_DATASETS: system });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`invalid config:\n${bad.errors[0]!.field}: ${bad.errors[0]!.message}\n`);
    expect(store.listRuns()).toEqual([]);
  }, 60_000);

  it('a stored run with such a config (written without these facts) fails in the trainer before any training, naming the field', async () => {
    const config = mustParseRunConfig(BAD[0]!.config, BUILTIN_FACTS); // unknown here: the class check is skipped
    const run = store.createRun(config, 'running');
    const out = await executeRun({ store, runId: run.id, dataDir: tmp.dir, systemDatasetsDir: system, isCancelled: () => false });
    expect(out.status).toBe('failed');
    expect(out.error).toBe('dataset.classes.1: class 5 does not exist: tiles has classes 0..2');
    expect(out.backend).toBeNull(); // refused before a backend was even started
    store.deleteRun(run.id);
  });
});

describe('once the data is read', () => {
  it('the trainer checks again when the files read are not those whose facts it checked with', async () => {
    const config = BAD[0]!.config;
    const before = { facts: BUILTIN_FACTS, fingerprint: 'inspected', problem: null };
    // the same files: nothing to check again
    await expect(recheckReadDataset(config, { fingerprint: 'inspected' } as Dataset, before, tmp.dir, store, system)).resolves.toBeUndefined();
    // other files (changed since): their facts refute the config
    await expect(recheckReadDataset(config, { fingerprint: 'changed' } as Dataset, before, tmp.dir, store, system)).rejects.toThrow(
      /^dataset\.classes\.1: class 5 does not exist: tiles has classes 0\.\.2$/,
    );
  });
});

describe('experiments on an imported or found dataset', () => {
  const experiment = { name: 'tiles exp', baseline: { ...small, dataset: { name: 'tiles' }, batchSize: 2 }, arms: [{ name: 'subset', set: { 'dataset.classes': [0, 5] } }], seeds: [1] };
  const armError = { field: 'arms.0.dataset.classes.1', message: 'class 5 does not exist: tiles has classes 0..2', arm: 'subset' };

  it('experiments:create refuses an arm whose config the dataset refutes, naming the arm and field', () => {
    const service = new ExperimentService(runs);
    try {
      let failure: ApiFailure | null = null;
      try {
        service.create(experiment);
      } catch (e) {
        if (!(e instanceof ApiFailure)) throw e;
        failure = e;
      }
      expect(failure?.error.fields).toEqual([armError]);
      expect(planExperiment(experiment, BUILTIN_FACTS).ok).toBe(true); // without the facts: not checked
    } finally {
      service.close();
    }
  });

  it('npm run experiment refuses it the same way before training anything', async () => {
    const file = path.join(tmp.dir, 'exp.json');
    fs.writeFileSync(file, JSON.stringify(experiment));
    const r = await runCli('src/main/experiment-cli.ts', ['--file', file, '--data-dir', tmp.dir], { TRICKBENCH_SYSTEM_DATASETS: system });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`exp.json: arm "subset" (${armError.field}): ${armError.message}`);
    expect(store.listRuns()).toEqual([]);
  }, 60_000);
});

describe('without the dataset\'s facts', () => {
  it('parseRunConfig skips only the checks that need them: classes, labels, the size bound, the augment shape, RIFLE and RePr', () => {
    for (const { config } of BAD) expect(parseRunConfig(config, BUILTIN_FACTS)).toMatchObject({ ok: true });
    // What needs no facts is still checked: a train subset bounds the batch, the schedule and mixup fit the epochs.
    const unknown = { dataset: { name: 'tiles', trainSubset: 10 }, batchSize: 11, epochs: 3, tricks: { mixup: { offLastEpochs: 3 } } };
    const r = parseRunConfig(unknown, BUILTIN_FACTS);
    expect(r.ok ? [] : r.errors.map((e) => e.field)).toEqual(['batchSize', 'tricks.mixup.offLastEpochs']);
  });

  it('a dataset that is on no disk is refused by name where it matters: runs:start and the trainer', async () => {
    const config = { dataset: { name: 'no-such-set', classes: [0, 9] } };
    expect(parseRunConfig(config, datasets.facts()).ok).toBe(true); // the schema does not say what exists
    expect(startErrors(config)).toEqual([{ field: 'dataset.name', message: expect.stringMatching(/^unknown dataset 'no-such-set'/) }]);
    expect(await trainErrors(config)).toEqual([{ field: 'dataset.name', message: expect.stringMatching(/^dataset 'no-such-set' not found/) }]);
  });
});
