// The dataset manager (main process) with real files: discovery in the data dir and the system
// dir, import in place with undecodable files reported, the dataset check before a run exists,
// a run on an imported image folder through the worker loader with augmentation, a run on a
// dataset broken after import (fails naming the file, the store stays consistent), samples before
// and after augmentation, and a download from a local mirror that becomes a usable dataset.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiFailure, type DownloadProgress } from '../../src/shared/api';
import { parseRunConfig } from '../../src/shared/config';
import type { CatalogEntry } from '../../src/main/services/download-catalog';
import { DatasetService } from '../../src/main/services/datasets';
import { Store } from '../../src/store/store';
import { truncateFile, writeIdxDir, writeImageFolder, writeUndecodable } from '../helpers/dataset-fixtures';
import { writeFakeFashion } from '../helpers/datasets';
import { TestFileServer } from '../helpers/http-server';
import { tmpDataDir } from '../helpers/tmp';
import { makeService, waitFor } from '../helpers/trainer';

let tmp: ReturnType<typeof tmpDataDir>;
let system: string;
let store: Store;
const events: { event: string; payload: unknown }[] = [];
const service = (over: Partial<ConstructorParameters<typeof DatasetService>[0]> = {}) =>
  new DatasetService({ store, dataDir: tmp.dir, systemDir: system, emit: (event, payload) => events.push({ event, payload }), ...over });

async function failure(p: Promise<unknown> | (() => unknown)): Promise<ApiFailure> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof ApiFailure) return e;
    throw e;
  }
  throw new Error('expected an ApiFailure');
}

beforeEach(() => {
  tmp = tmpDataDir('tb-ds-');
  system = path.join(tmp.dir, 'system');
  fs.mkdirSync(system);
  store = new Store(tmp.dir);
  events.length = 0;
});
afterEach(() => {
  store.close();
  tmp.cleanup();
});

describe('dataset manager', () => {
  it('finds datasets in the data dir and the system dir (the data dir wins), lists the downloadable ones, and gives the config check their facts', async () => {
    writeIdxDir(path.join(tmp.dir, 'datasets', 'mnist'), { train: 30, test: 10 });
    writeIdxDir(path.join(system, 'mnist'), { train: 5, test: 5 });
    await writeImageFolder(path.join(system, 'flowers'), { classes: { daisy: 4, rose: 5, tulip: 3 }, size: 12 });
    fs.mkdirSync(path.join(system, 'not-a-dataset'));
    fs.writeFileSync(path.join(system, 'not-a-dataset', 'README'), 'nothing here');
    const ds = service();
    const list = await ds.list();
    const by = new Map(list.map((d) => [d.name, d]));
    expect(by.get('mnist')).toMatchObject({ origin: 'data-dir', format: 'idx', shape: [28, 28, 1], classes: 10 });
    expect(by.get('mnist')!.path).toBe(path.join(tmp.dir, 'datasets', 'mnist'));
    expect(by.get('flowers')).toMatchObject({ origin: 'system', format: 'image-folder', classes: 3, noTestSet: true, trainImages: 12, ownVal: false, downloadable: false });
    expect(by.has('not-a-dataset')).toBe(false);
    expect(by.get('cifar10')).toMatchObject({ origin: null, downloadable: true });
    expect(by.get('synthetic')).toMatchObject({ origin: 'generated', classes: 10 });

    // The service's facts know flowers has 3 classes.
    const r = parseRunConfig({ dataset: { name: 'flowers', classes: [0, 3] }, batchSize: 8 }, ds.facts());
    expect(!r.ok && r.errors).toEqual([{ field: 'dataset.classes.1', message: 'class 3 does not exist: flowers has classes 0..2' }]);
    expect(ds.problem('flowers')).toBeNull();
    expect(ds.problem('cifar10')).toMatch(/CIFAR-10 is not on this machine yet: download it .*npm run dataset -- download cifar10/);
    expect(ds.problem('nope')).toMatch(/unknown dataset 'nope' \(available: synthetic, mnist, flowers/);

    const detail = await ds.get('flowers');
    expect(detail.classNames).toEqual(['daisy', 'rose', 'tulip']);
    expect(detail.counts.train).toEqual([4, 5, 3]);
    expect(detail.counts.test).toEqual([0, 0, 0]);
  });

  it('imports a folder where it lies, reports undecodable images (or refuses them when strict), and names the field or file of bad input', async () => {
    const root = path.join(tmp.dir, 'elsewhere', 'shapes');
    await writeImageFolder(root, { classes: { circle: 6, square: 6 }, size: 10, splits: true, formats: ['png', 'jpg', 'webp'] });
    const broken = path.join(root, 'train', 'circle', 'broken.png');
    writeUndecodable(broken);
    const ds = service();

    const strict = await failure(ds.import({ path: root, name: 'shapes', strict: true }));
    expect(strict.error.field).toBe('path');
    expect(strict.message).toContain(broken);
    expect(store.datasets.list()).toEqual([]); // nothing indexed

    const s = await ds.import({ path: root, name: 'shapes', imageSize: 8 });
    expect(s).toMatchObject({ name: 'shapes', origin: 'imported', format: 'image-folder', shape: [8, 8, 3], classes: 2, path: root });
    expect(events.some((e) => e.event === 'datasets:changed')).toBe(true);
    const d = await ds.get('shapes');
    expect(d.skipped.map((x) => x.file)).toEqual([broken]);
    expect(d.counts.train).toEqual([6, 6]);
    expect(d.counts.test).toEqual([3, 3]);
    expect(fs.readdirSync(path.join(tmp.dir))).not.toContain('shapes'); // indexed, not copied

    expect((await failure(ds.import({ path: root, name: 'shapes' }))).error.field).toBe('name'); // exists
    expect((await failure(ds.import({ path: root, name: 'Bad Name' }))).error.field).toBe('name');
    expect((await failure(ds.import({ path: root, name: 'mnist' }))).message).toContain("'mnist' exists already");
    const missing = await failure(ds.import({ path: path.join(tmp.dir, 'nope'), name: 'nope' }));
    expect([missing.error.field, missing.message]).toEqual(['path', `path: ${path.join(tmp.dir, 'nope')} does not exist`]);
    const emptyRoot = path.join(tmp.dir, 'with-empty');
    await writeImageFolder(emptyRoot, { classes: { a: 2, b: 2 }, size: 8 });
    fs.mkdirSync(path.join(emptyRoot, 'c'));
    const empty = await failure(ds.import({ path: emptyRoot, name: 'with-empty' }));
    expect(empty.message).toContain(path.join(emptyRoot, 'c'));

    expect(await ds.remove('shapes')).toEqual({ removed: 'shapes' });
    expect(fs.existsSync(broken)).toBe(true); // its files stay

    // Asked to copy: the copy lives in the data dir, survives the original, and goes with Remove.
    const copied = await ds.import({ path: root, name: 'shapes-copy', copy: true });
    expect(copied.path).toBe(path.join(tmp.dir, 'imports', 'shapes-copy', 'shapes'));
    fs.rmSync(path.join(tmp.dir, 'elsewhere'), { recursive: true });
    expect((await ds.get('shapes-copy')).counts.train).toEqual([6, 6]);
    await ds.remove('shapes-copy');
    expect(fs.existsSync(path.join(tmp.dir, 'imports', 'shapes-copy'))).toBe(false);
    expect((await failure(ds.remove('mnist'))).error.code).toBe('not_found');
  });

  it('keeps listing an imported dataset whose files are gone (with why, and Remove); an incomplete download is not a dataset; a dangling link breaks nothing', async () => {
    const usb = path.join(tmp.dir, 'usb', 'flowers');
    await writeImageFolder(usb, { classes: { a: 3, b: 3 }, size: 8 });
    fs.symlinkSync(path.join(tmp.dir, 'nowhere.png'), path.join(usb, 'a', 'dangling.png'));
    const ds = service();
    await ds.import({ path: usb, name: 'flowers' });
    fs.rmSync(path.join(tmp.dir, 'usb'), { recursive: true });
    const gone = (await ds.list()).find((d) => d.name === 'flowers')!;
    expect(gone).toMatchObject({ origin: 'imported', path: usb });
    expect(gone.problem).toBe(`dataset 'flowers' was imported from ${usb}, which no longer exists`);
    expect(ds.problem('flowers')).toBe(gone.problem);
    const again = await failure(ds.import({ path: path.join(tmp.dir), name: 'flowers' }));
    expect([again.error.field, again.message]).toEqual(['name', "name: 'flowers' is imported already, from files that are missing now: remove it first"]);
    await ds.remove('flowers');
    expect((await ds.list()).some((d) => d.name === 'flowers')).toBe(false);

    // A public dataset's folder with one of its files and a .part: incomplete, not usable.
    const dir = path.join(tmp.dir, 'datasets', 'mnist');
    writeIdxDir(dir, { train: 10, test: 5 });
    fs.rmSync(path.join(dir, 't10k-labels-idx1-ubyte.gz'));
    fs.writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte.gz.part'), 'half');
    const mnist = (await ds.list()).find((d) => d.name === 'mnist')!;
    expect(mnist.origin).toBeNull();
    expect(mnist.problem).toMatch(/MNIST's download is incomplete \(3 of 4 files\): resume it/);
    expect(ds.problem('mnist')).toBe(mnist.problem);

    // A dangling link inside a found image folder: listed and readable, the link skipped.
    const sys = path.join(system, 'pets');
    await writeImageFolder(sys, { classes: { cat: 3, dog: 3 }, size: 8 });
    fs.symlinkSync(path.join(tmp.dir, 'nowhere.png'), path.join(sys, 'cat', 'dangling.png'));
    const pets = (await ds.list()).find((d) => d.name === 'pets')!;
    expect(pets).toMatchObject({ origin: 'system', classes: 2, problem: null });
    expect((await ds.get('pets')).counts.train).toEqual([3, 3]);
  });

  it('samples per class, augmented as a run would be (seeded by seed and epoch); a bad pipeline names its step', async () => {
    const ds = service();
    const req = { name: 'synthetic', perClass: 2, augment: [{ name: 'randomResizedCrop', size: 16, scale: [0.3, 1] }, { name: 'hflip' }], seed: 3 };
    const a = await ds.samples(req);
    expect(a.shape).toEqual([32, 32, 3]);
    expect(a.augmentedShape).toEqual([16, 16, 3]);
    expect(a.samples).toHaveLength(20);
    expect(a.samples.map((s) => s.label)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9]);
    expect(Buffer.from(a.samples[0]!.image, 'base64')).toHaveLength(32 * 32 * 3);
    expect(Buffer.from(a.samples[0]!.augmented!, 'base64')).toHaveLength(16 * 16 * 3);
    expect((await ds.samples(req)).samples).toEqual(a.samples); // same seed, same images
    const other = await ds.samples({ ...req, epoch: 1 });
    expect(other.samples.map((s) => s.image)).toEqual(a.samples.map((s) => s.image));
    expect(other.samples.filter((s, i) => s.augmented !== a.samples[i]!.augmented).length).toBeGreaterThan(15);
    expect((await ds.samples({ name: 'synthetic', perClass: 1 })).samples[0]!.augmented).toBeNull();

    const tooBig = await failure(ds.samples({ ...req, augment: [{ name: 'randomCrop', size: 64, padding: 0 }] }));
    expect(tooBig.message).toMatch(/augment.*crop 64x64 is larger than the padded image 32x32/);
    const unknown = await failure(ds.samples({ ...req, augment: [{ name: 'sharpen' }] }));
    expect(unknown.error.field).toMatch(/^augment\.0/);
    expect((await failure(ds.samples({ ...req, perClass: 0 }))).error.field).toBe('perClass');
    expect((await failure(ds.samples({ ...req, imageSize: 512 }))).error.field).toBe('imageSize'); // previews stay small
    expect((await failure(ds.samples({ ...req, labels: 'medium' as 'fine' }))).error.field).toBe('labels');
    const big = await ds.samples({ ...req, imageSize: 48, augment: [] });
    expect(big.shape).toEqual([48, 48, 3]); // resized per image, as a run with dataset.imageSize 48 would
    expect(Buffer.from(big.samples[0]!.image, 'base64')).toHaveLength(48 * 48 * 3);
  });

  it('downloads a public dataset from a mirror into the data dir, after which runs can use it', async () => {
    const src = path.join(tmp.dir, 'src');
    writeFakeFashion(src, 60, 20);
    const server = new TestFileServer();
    await server.listen();
    const names = fs.readdirSync(src).sort();
    for (const n of names) server.files.set(`/fm/${n}`, fs.readFileSync(path.join(src, n)));
    const catalog: CatalogEntry[] = [
      {
        id: 'fashion-mnist',
        title: 'Fashion-MNIST',
        format: 'idx',
        homepage: 'https://github.com/zalandoresearch/fashion-mnist',
        citation: '',
        files: names.map((n) => ({ name: n, urls: [server.url(`/fm/${n}`)], md5: crypto.createHash('md5').update(fs.readFileSync(path.join(src, n))).digest('hex'), bytes: null })),
      },
    ];
    try {
      const ds = service({ catalog });
      expect(ds.problem('fashion-mnist')).toMatch(/not on this machine yet/);
      ds.download('fashion-mnist');
      const end = await ds.downloads.wait('fashion-mnist');
      expect(end.state).toBe('done');
      await waitFor(() => events.some((e) => e.event === 'datasets:changed'), 'the list to change');
      const progress = events.filter((e) => e.event === 'datasets:download').map((e) => e.payload as DownloadProgress);
      expect(progress.at(-1)!.state).toBe('done');
      expect(ds.problem('fashion-mnist')).toBeNull();
      const fm = (await ds.list()).find((d) => d.name === 'fashion-mnist')!;
      expect(fm).toMatchObject({ origin: 'data-dir', format: 'idx', path: path.join(tmp.dir, 'datasets', 'fashion-mnist') });
      expect((await ds.get('fashion-mnist')).counts.train.reduce((a, b) => a + b, 0)).toBe(60);
      await ds.downloads.close();
    } finally {
      await server.close();
    }
  });
});

describe('runs on managed datasets', () => {
  it('trains on an imported image folder through the worker loader with augmentation; refuses a missing dataset before the run exists; a dataset broken later fails its run naming the file', async () => {
    const root = path.join(tmp.dir, 'folders', 'colours');
    await writeImageFolder(root, { classes: { red: 20, green: 20, blue: 20 }, size: 12 });
    const idxDir = path.join(tmp.dir, 'folders', 'digits');
    writeIdxDir(idxDir, { train: 40, test: 10, h: 12, w: 12 });
    const ds = service();
    await ds.import({ path: root, name: 'colours' });
    await ds.import({ path: idxDir, name: 'digits' });
    store.close();
    const { service: runs, store: runStore } = makeService(tmp.dir, { datasets: ds });
    store = runStore;
    try {
      const refused = await failure(() => runs.start({ dataset: { name: 'cifar10' } }));
      expect([refused.error.code, refused.error.field]).toEqual(['invalid_config', 'dataset.name']);
      expect(runStore.listRuns()).toEqual([]);

      const config = {
        dataset: { name: 'colours', imageSize: 12, valSplit: 0.2, testSplit: 0.25 },
        augment: [{ name: 'randomCrop', padding: 2 }, { name: 'hflip' }, { name: 'randomResizedCrop', size: 10, scale: [0.5, 1] }],
        model: { name: 'cnn3', width: 4 },
        epochs: 2,
        batchSize: 8,
      };
      const good = runs.start(config);
      const bad = runs.start({ ...config, augment: [], dataset: { name: 'digits' } });
      // Break the IDX dataset after it was imported: its run must fail and say which file.
      const images = path.join(idxDir, 'train-images-idx3-ubyte.gz');
      truncateFile(images, 0.5);
      await waitFor(() => [good.id, bad.id].every((id) => ['completed', 'failed'].includes(runStore.getRun(id)!.status)), 'both runs to end', 120_000);

      const g = runStore.getRun(good.id)!;
      expect(g.error).toBeNull();
      expect(g.status).toBe('completed');
      const start = runStore.events(good.id).find((e) => e.kind === 'run.start')!.payload as Record<string, unknown>;
      // 60 images: 15 test (testSplit 0.25), then 45 -> 9 val + 36 train; trained at 10x10 (the
      // pipeline's output), stored at 12x12.
      expect(start).toMatchObject({ train: 36, val: 9, test: 15, inputShape: [10, 10, 3], storedShape: [12, 12, 3], classes: 3 });
      const h = runStore.history(good.id, ['time/data_wait_s', 'test/acc']);
      expect(h['time/data_wait_s']).toHaveLength(2);
      expect(h['test/acc']).toHaveLength(1);

      const b = runStore.getRun(bad.id)!;
      expect(b.status).toBe('failed');
      expect(b.error).toContain(images);
      expect(b.error).toMatch(/truncated/);
    } finally {
      await runs.close();
    }
  });
});
