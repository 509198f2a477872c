import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { FASHION_MNIST_CLASSES } from '../../src/data/formats/idx-dataset';
import { parsePickleDict } from '../../src/data/formats/pickle';
import { KMNIST_CLASSES } from '../../src/data/formats/idx-dataset';
import { detectFormat, inspectDataset, readDataset } from '../../src/data/formats/read';
import { DataError, type ImageSet } from '../../src/data/types';
import {
  CIFAR_PY_LABELS,
  FIXTURES_CIFAR_PY,
  cifarBinaryEntries,
  cifarBlue,
  cifarGreen,
  cifarPythonEntries,
  cifarRed,
  classColour,
  coarseName,
  coarseOf,
  editGzip,
  fineName,
  fixtureLabel,
  idxPixel,
  overwriteBytes,
  truncateFile,
  writeCifarBinaryTarGz,
  writeCifarPythonTarGz,
  writeEntries,
  writeIdxDir,
  writeImage,
  writeImageFolder,
  writeTar,
  writeUndecodable,
} from '../helpers/dataset-fixtures';
import { tmpDataDir } from '../helpers/tmp';

const tmp = tmpDataDir('tb-formats-');
afterAll(tmp.cleanup);
let seq = 0;
const fresh = (name: string) => path.join(tmp.dir, `${seq++}`, name);

/** The rejection of a promise (or the throw of a function), which must be a DataError. */
async function dataError(p: Promise<unknown> | (() => unknown)): Promise<DataError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error('expected a DataError, nothing was thrown');
}

const isShared = (set: ImageSet) => set.images.buffer instanceof SharedArrayBuffer && set.labels.buffer instanceof SharedArrayBuffer;

function pixel(set: ImageSet, shape: readonly number[], i: number, y: number, x: number): number[] {
  const [h, w, c] = shape as [number, number, number];
  const o = ((i * h + y) * w + x) * c;
  return Array.from(set.images.subarray(o, o + c));
}

describe('IDX folders (MNIST family)', () => {
  it('reads gzipped and raw files, any H x W, labels aligned with the pixels', async () => {
    for (const gz of [true, false]) {
      const dir = fresh('mnist');
      writeIdxDir(dir, { train: 23, test: 9, gz, h: 7, w: 5, seed: 3 });
      expect(await detectFormat(dir)).toBe('idx');
      const { format, dataset: d } = await readDataset(dir);
      expect(format).toBe('idx');
      expect(d.shape).toEqual([7, 5, 1]);
      expect([d.train.n, d.test.n]).toEqual([23, 9]);
      expect(d.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      expect(isShared(d.train) && isShared(d.test)).toBe(true);
      for (let i = 0; i < 23; i++) {
        expect(d.train.labels[i]).toBe(fixtureLabel(i, 10, 3));
        expect(pixel(d.train, d.shape, i, 0, 0)).toEqual([idxPixel(d.train.labels[i]!)]);
        expect(pixel(d.train, d.shape, i, 0, 1)).toEqual([i]);
        expect(pixel(d.train, d.shape, i, 6, 4)).toEqual([idxPixel(d.train.labels[i]!)]);
      }
      expect(Array.from(d.test.labels)).toEqual(Array.from({ length: 9 }, (_, i) => fixtureLabel(i, 10, 4)));
    }
  });

  it('names the classes from the kind hint or the folder name; a generic set gets 0..K-1', async () => {
    const k = fresh('kmnist');
    writeIdxDir(k, { train: 10, test: 10 });
    expect((await readDataset(k)).dataset.classNames).toEqual(KMNIST_CLASSES);
    expect(KMNIST_CLASSES.join('')).toBe('おきすつなはまやれを');
    const f = fresh('Fashion-MNIST');
    writeIdxDir(f, { train: 10, test: 10 });
    expect((await readDataset(f)).dataset.classNames).toEqual(FASHION_MNIST_CLASSES);
    expect((await readDataset(f, { kind: 'kmnist' })).dataset.classNames).toEqual(KMNIST_CLASSES);
    const g = fresh('letters');
    writeIdxDir(g, { train: 8, test: 4, classes: 4 });
    const d = (await readDataset(g)).dataset;
    expect(d.classNames).toEqual(['0', '1', '2', '3']);
    expect(d.numClasses).toBe(4);
  });

  it('refuses a wrong magic number, naming the file and offset', async () => {
    const dir = fresh('mnist');
    writeIdxDir(dir, { gz: false });
    const f = path.join(dir, 't10k-images-idx3-ubyte');
    overwriteBytes(f, 0, [0x1f, 0x0f]);
    const e = await dataError(readDataset(dir));
    expect(e.message).toContain(`${f}: not an IDX file (bad magic number): 0x1f0f0803 at offset 0`);
  });

  it('refuses a label count that differs from the image count, naming the labels file and both counts', async () => {
    const dir = fresh('mnist');
    writeIdxDir(dir, { train: 12, test: 5 });
    const f = path.join(dir, 'train-labels-idx1-ubyte.gz');
    // 11 labels: rewrite the count and drop the last byte.
    editGzip(f, (raw) => {
      const b = Buffer.from(raw.subarray(0, raw.length - 1));
      b.writeUInt32BE(11, 4);
      return b;
    });
    const e = await dataError(readDataset(dir));
    expect(e.message).toBe(`${f}: 11 labels for 12 images in train-images-idx3-ubyte.gz`);
  });

  it('refuses a label beyond the classes of the kind, naming the file and index', async () => {
    const dir = fresh('mnist');
    writeIdxDir(dir, { train: 12, test: 5 });
    const f = path.join(dir, 't10k-labels-idx1-ubyte.gz');
    editGzip(f, (raw) => {
      raw[8 + 3] = 12;
      return raw;
    });
    const e = await dataError(readDataset(dir));
    expect(e.message).toMatch(new RegExp(`^${f}: label 12 at index 3 \\(offset 11 .*\\) is not a class 0-9`));
  });

  it('reports truncated gzip data and truncated raw data with the offset where it ends', async () => {
    const dir = fresh('mnist');
    writeIdxDir(dir, { train: 50 });
    const f = path.join(dir, 'train-images-idx3-ubyte.gz');
    truncateFile(f, 0.5);
    expect((await dataError(readDataset(dir))).message).toBe(`${f}: truncated gzip data (the file is incomplete)`);
    const raw = fresh('mnist');
    writeIdxDir(raw, { train: 50, gz: false });
    const r = path.join(raw, 'train-images-idx3-ubyte');
    truncateFile(r, 16 + 1000);
    expect((await dataError(readDataset(raw))).message).toBe(`${r}: truncated: header promises 39200 bytes of data (50x28x28), found 1000 (ends at offset 1016)`);
  });

  it('reports corrupt gzip bytes', async () => {
    const dir = fresh('mnist');
    writeIdxDir(dir, { train: 50 });
    const f = path.join(dir, 't10k-labels-idx1-ubyte.gz');
    overwriteBytes(f, -8, [1, 2, 3, 4]); // the CRC-32 in the gzip trailer
    expect((await dataError(readDataset(dir))).message).toMatch(new RegExp(`^${f}: corrupt gzip data: `));
  });
});

/** CIFAR planar pixels came out as HWC: check pixel (y, x) of every image against its label. */
function expectCifarPixels(set: ImageSet, redOf: (i: number) => number): void {
  for (let i = 0; i < set.n; i++) {
    for (const [y, x] of [[0, 0], [3, 5], [31, 30]] as const) {
      expect(pixel(set, [32, 32, 3], i, y, x)).toEqual([redOf(i), cifarGreen(y, x), cifarBlue(y, x)]);
    }
  }
}

describe('CIFAR binary version', () => {
  it('reads CIFAR-10 from the tarball and from the extracted folder', async () => {
    const tgz = fresh('cifar-10-binary.tar.gz');
    await writeCifarBinaryTarGz(tgz, { kind: 10, train: 23, test: 7, seed: 2 });
    const dir = fresh('extracted');
    writeEntries(dir, cifarBinaryEntries({ kind: 10, train: 23, test: 7, seed: 2 }));
    for (const p of [tgz, dir, path.join(dir, 'cifar-10-batches-bin')]) {
      expect(await detectFormat(p)).toBe('cifar10-binary');
      const { dataset: d } = await readDataset(p);
      expect(d.shape).toEqual([32, 32, 3]);
      expect([d.train.n, d.test.n]).toEqual([23, 7]);
      expect(d.classNames).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
      expect(isShared(d.train) && isShared(d.test)).toBe(true);
      expect(Array.from(d.train.labels)).toEqual(Array.from({ length: 23 }, (_, i) => fixtureLabel(i, 10, 2)));
      expectCifarPixels(d.train, (i) => cifarRed(d.train.labels[i]!));
      expectCifarPixels(d.test, (i) => cifarRed(d.test.labels[i]!));
    }
  });

  it('reads CIFAR-100 with fine (default) or coarse labels', async () => {
    const tgz = fresh('cifar-100-binary.tar.gz');
    await writeCifarBinaryTarGz(tgz, { kind: 100, train: 130, test: 10 });
    expect(await detectFormat(tgz)).toBe('cifar100-binary');
    const fine = (await readDataset(tgz)).dataset;
    expect(fine.numClasses).toBe(100);
    expect(fine.classNames[42]).toBe(fineName(42));
    expect(Array.from(fine.train.labels)).toEqual(Array.from({ length: 130 }, (_, i) => fixtureLabel(i, 100, 0)));
    expectCifarPixels(fine.train, (i) => cifarRed(fine.train.labels[i]!));
    const coarse = (await readDataset(tgz, { labels: 'coarse' })).dataset;
    expect(coarse.numClasses).toBe(20);
    expect(coarse.classNames).toEqual(Array.from({ length: 20 }, (_, k) => coarseName(k)));
    expect(Array.from(coarse.train.labels)).toEqual(Array.from(fine.train.labels, coarseOf));
    expectCifarPixels(coarse.test, (i) => cifarRed(fine.test.labels[i]!));
  });

  it('reports a truncated gzip, a truncated tar and a missing entry, naming the tarball (and entry)', async () => {
    const tgz = fresh('cifar-10-binary.tar.gz');
    await writeCifarBinaryTarGz(tgz, { kind: 10, train: 40, test: 10 });
    truncateFile(tgz, 0.6);
    expect((await dataError(readDataset(tgz))).message).toBe(`${tgz}: truncated gzip data (the file is incomplete)`);

    const plain = fresh('cifar-10-binary.tar');
    await writeTar(plain, cifarBinaryEntries({ kind: 10 }), { gzip: false });
    truncateFile(plain, 0.5);
    expect((await dataError(readDataset(plain))).message).toMatch(new RegExp(`^${plain}: truncated tar archive`));

    const missing = fresh('cifar-10-binary.tar.gz');
    await writeTar(missing, cifarBinaryEntries({ kind: 10 }).filter((e) => !e.name.endsWith('data_batch_3.bin')));
    expect((await dataError(readDataset(missing))).message).toBe(`${missing}: missing entry cifar-10-batches-bin/data_batch_3.bin (an incomplete or different archive)`);
  });

  it('reports corrupt bytes in the compressed stream', async () => {
    const tgz = fresh('cifar-10-binary.tar.gz');
    await writeCifarBinaryTarGz(tgz, { kind: 10 });
    const size = fs.statSync(tgz).size;
    overwriteBytes(tgz, Math.floor(size / 2), Array.from({ length: 64 }, (_, i) => (i * 37) & 255));
    expect((await dataError(readDataset(tgz))).message).toMatch(new RegExp(`^${tgz}: corrupt gzip data: `));
  });

  it('refuses a record file whose size is not a multiple of the record, naming entry and size', async () => {
    const entries = cifarBinaryEntries({ kind: 100, train: 5 });
    const train = entries.find((e) => e.name.endsWith('train.bin'))!;
    train.data = Buffer.concat([train.data!, Buffer.alloc(100)]);
    const tgz = fresh('cifar-100-binary.tar.gz');
    await writeTar(tgz, entries);
    expect((await dataError(readDataset(tgz))).message).toBe(
      `${tgz}: entry cifar-100-binary/train.bin: size 15470 bytes is not a multiple of the 3074-byte record (5 whole records and 100 bytes left)`,
    );
    // The same in an extracted folder names the file.
    const dir = fresh('x');
    writeEntries(dir, entries);
    const f = path.join(dir, 'cifar-100-binary', 'train.bin');
    expect((await dataError(readDataset(dir))).message).toMatch(new RegExp(`^${f}: size 15470 bytes`));
  });

  it('refuses a label out of range, naming the entry, record and offset', async () => {
    const entries = cifarBinaryEntries({ kind: 10, train: 10 });
    const b2 = entries.find((e) => e.name.endsWith('data_batch_2.bin'))!;
    b2.data![3073] = 10; // record 1's label byte
    const tgz = fresh('cifar-10-binary.tar.gz');
    await writeTar(tgz, entries);
    expect((await dataError(readDataset(tgz))).message).toBe(`${tgz}: entry cifar-10-batches-bin/data_batch_2.bin: label 10 of record 1 (offset 3073) is not a class 0-9`);
  });
});

describe('CIFAR python version (pickles)', () => {
  it('reads CIFAR-10 from the tarball and from the folder, with bytes keys', async () => {
    const tgz = fresh('cifar-10-python.tar.gz');
    await writeCifarPythonTarGz(tgz, { kind: 10 });
    for (const p of [tgz, FIXTURES_CIFAR_PY]) {
      expect(await detectFormat(p)).toBe('cifar10-python');
      const { dataset: d } = await readDataset(p);
      expect(d.name).toBe('cifar10');
      expect([d.train.n, d.test.n]).toEqual([20, 4]);
      expect(d.classNames[9]).toBe('truck');
      expect(Array.from(d.train.labels)).toEqual(CIFAR_PY_LABELS.c10Train);
      expect(Array.from(d.test.labels)).toEqual(CIFAR_PY_LABELS.c10Test);
      expect(isShared(d.train)).toBe(true);
      expectCifarPixels(d.train, (i) => cifarRed(d.train.labels[i]!));
      expectCifarPixels(d.test, (i) => cifarRed(d.test.labels[i]!));
    }
  });

  it('reads a batch pickled by Python 3 (str keys, bytes through _codecs.encode) the same', async () => {
    const dir = fresh('cifar-10-batches-py');
    writeEntries(path.dirname(dir), cifarPythonEntries(10));
    fs.copyFileSync(path.join(FIXTURES_CIFAR_PY, 'variants', 'test_batch_py3'), path.join(dir, 'test_batch'));
    const d = (await readDataset(dir)).dataset;
    expect(Array.from(d.test.labels)).toEqual(CIFAR_PY_LABELS.c10Test);
    expectCifarPixels(d.test, (i) => cifarRed(d.test.labels[i]!));
    const dict = parsePickleDict(fs.readFileSync(path.join(dir, 'test_batch')), (m) => new DataError('x', m));
    expect(dict.get('batch_label')).toBe('testing batch 1 of 1');
  });

  it('reads CIFAR-100 fine and coarse', async () => {
    const tgz = fresh('cifar-100-python.tar.gz');
    await writeCifarPythonTarGz(tgz, { kind: 100 });
    expect(await detectFormat(tgz)).toBe('cifar100-python');
    const fine = (await readDataset(tgz)).dataset;
    expect([fine.numClasses, fine.train.n, fine.test.n]).toEqual([100, 8, 4]);
    expect(fine.classNames[7]).toBe('fine_007');
    expect(Array.from(fine.train.labels)).toEqual(CIFAR_PY_LABELS.c100TrainFine);
    expect(Array.from(fine.test.labels)).toEqual(CIFAR_PY_LABELS.c100TestFine);
    expectCifarPixels(fine.train, (i) => cifarRed(CIFAR_PY_LABELS.c100TrainFine[i]!));
    const coarse = (await readDataset(path.join(FIXTURES_CIFAR_PY, 'cifar-100-python'), { labels: 'coarse' })).dataset;
    expect([coarse.numClasses, coarse.classNames[19]]).toEqual([20, 'coarse_19']);
    expect(Array.from(coarse.train.labels)).toEqual(CIFAR_PY_LABELS.c100TrainCoarse);
    expect(Array.from(coarse.test.labels)).toEqual(CIFAR_PY_LABELS.c100TestCoarse);
    expectCifarPixels(coarse.test, (i) => cifarRed(CIFAR_PY_LABELS.c100TestFine[i]!));
  });

  /** data_batch_1 with its labels list edited: `]q\x04(K\x00K\x01K\x02K\x03e` in the pickle. */
  async function withLabels(edit: (labels: Buffer) => Buffer): Promise<string> {
    const entries = cifarPythonEntries(10);
    const b1 = entries.find((e) => e.name.endsWith('data_batch_1'))!;
    const list = Buffer.from([0x28, 0x4b, 0, 0x4b, 1, 0x4b, 2, 0x4b, 3, 0x65]); // MARK, 4 x BININT1, APPENDS
    const at = b1.data!.indexOf(list);
    expect(at).toBeGreaterThan(0);
    b1.data = Buffer.concat([b1.data!.subarray(0, at), edit(list), b1.data!.subarray(at + list.length)]);
    const tgz = fresh('cifar-10-python.tar.gz');
    await writeTar(tgz, entries);
    return tgz;
  }

  it('refuses a label count that differs from the image count, naming the entry and both counts', async () => {
    const tgz = await withLabels((l) => Buffer.concat([l.subarray(0, 7), l.subarray(9)])); // drop the last label
    expect((await dataError(readDataset(tgz))).message).toBe(`${tgz}: entry cifar-10-batches-py/data_batch_1: 3 'labels' for 4 images`);
  });

  it('refuses a label out of range, naming the entry and index', async () => {
    const tgz = await withLabels((l) => Buffer.from(l).fill(42, 8, 9));
    expect((await dataError(readDataset(tgz))).message).toBe(`${tgz}: entry cifar-10-batches-py/data_batch_1: label 42 at labels[3] is not a class 0-9`);
  });

  it('refuses a pickle that does not parse, naming the entry', async () => {
    const entries = cifarPythonEntries(10);
    const b3 = entries.find((e) => e.name.endsWith('data_batch_3'))!;
    b3.data = b3.data!.subarray(0, 5000);
    const tgz = fresh('cifar-10-python.tar.gz');
    await writeTar(tgz, entries);
    expect((await dataError(readDataset(tgz))).message).toMatch(new RegExp(`^${tgz}: entry cifar-10-batches-py/data_batch_3: not a readable Python pickle: `));
    const dir = fresh('py');
    writeEntries(dir, entries);
    const f = path.join(dir, 'cifar-10-batches-py', 'data_batch_3');
    expect((await dataError(readDataset(dir))).message).toMatch(new RegExp(`^${f}: not a readable Python pickle`));
  });
});

describe('image folders', () => {
  it('reads root/<class>/ images (png, jpg, webp), train = all, test empty; other files ignored', async () => {
    const root = fresh('pets');
    await writeImageFolder(root, { classes: { dog: 4, cat: 5, bird: 3 }, size: 12, formats: ['png', 'jpg', 'webp'] });
    await writeImage(path.join(root, 'cat', 'UPPER.PNG'), { w: 12, h: 12, rgb: classColour(1) });
    fs.writeFileSync(path.join(root, 'cat', 'notes.txt'), 'not an image');
    writeUndecodable(path.join(root, 'dog', '.hidden.png'));
    fs.mkdirSync(path.join(root, '.cache'));
    expect(await detectFormat(root)).toBe('image-folder');
    const { dataset: d, skipped } = await readDataset(root);
    expect(skipped).toEqual([]);
    expect(d.classNames).toEqual(['bird', 'cat', 'dog']);
    expect(d.shape).toEqual([12, 12, 3]);
    expect([d.train.n, d.test.n]).toEqual([13, 0]);
    expect(d.val).toBeUndefined();
    expect(isShared(d.train)).toBe(true);
    expect(Array.from(d.train.labels)).toEqual([0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2]);
    for (let i = 0; i < d.train.n; i++) {
      const want = classColour(d.train.labels[i]!);
      // JPEG (quality 95, solid colour) is lossy: within 3 levels; png and lossless webp are exact.
      for (const [y, x] of [[0, 0], [5, 7], [11, 11]] as const) {
        pixel(d.train, d.shape, i, y, x).forEach((v, c) => expect(Math.abs(v - want[c]!)).toBeLessThanOrEqual(3));
      }
    }
  });

  it('reads train/test/val split folders with one class list', async () => {
    const root = fresh('split');
    await writeImageFolder(root, { classes: { a: 4, b: 2 }, size: 8, splits: true });
    await writeImageFolder(path.join(root, 'val'), { classes: { b: 1 }, size: 8 });
    const { dataset: d } = await readDataset(root);
    expect(d.classNames).toEqual(['a', 'b']);
    expect([d.train.n, d.test.n, d.val?.n]).toEqual([6, 3, 1]);
    expect(Array.from(d.test.labels)).toEqual([0, 0, 1]);
    expect(Array.from(d.val!.labels)).toEqual([1]); // 'b' is class 1 of the training list
    expect(pixel(d.val!, d.shape, 0, 3, 3)).toEqual(classColour(0)); // written as class 0 of its own folder list
    const info = await inspectDataset(root);
    expect(info).toMatchObject({ format: 'image-folder', classes: 2, train: 6, test: 3, val: 1, shape: [8, 8, 3], classCounts: { train: [4, 2], test: [2, 1] } });
  });

  it('refuses a class that is not in the training split, and an empty class folder, naming the folder', async () => {
    const root = fresh('split');
    await writeImageFolder(root, { classes: { a: 2, b: 2 }, size: 8, splits: true });
    await writeImageFolder(path.join(root, 'test'), { classes: { zebra: 1 }, size: 8 });
    expect((await dataError(readDataset(root))).message).toMatch(new RegExp(`^${path.join(root, 'test', 'zebra')}: class "zebra" has no folder in the training split`));
    const flat = fresh('flat');
    await writeImageFolder(flat, { classes: { a: 2 }, size: 8 });
    fs.mkdirSync(path.join(flat, 'empty'));
    fs.writeFileSync(path.join(flat, 'empty', 'readme.txt'), 'no images here');
    expect((await dataError(readDataset(flat))).message).toBe(`${path.join(flat, 'empty')}: empty class folder: no .png, .jpg, .jpeg or .webp images`);
  });

  it('resizes to imageSize, and mixed sizes to 32 by default; greyscale becomes RGB, alpha is flattened onto white', async () => {
    const root = fresh('mixed');
    await writeImage(path.join(root, 'red', 'wide.png'), { w: 40, h: 20, rgb: [200, 10, 10] });
    await writeImage(path.join(root, 'red', 'tall.jpg'), { w: 10, h: 30, rgb: [200, 10, 10], format: 'jpg' });
    fs.mkdirSync(path.join(root, 'grey'));
    await sharp(Buffer.alloc(16 * 16, 90), { raw: { width: 16, height: 16, channels: 1 } }).toColourspace('b-w').png().toFile(path.join(root, 'grey', 'g.png'));
    await sharp({ create: { width: 16, height: 16, channels: 4, background: { r: 10, g: 220, b: 30, alpha: 0.5 } } }).png().toFile(path.join(root, 'grey', 'rgba.png'));
    const grey = await sharp(path.join(root, 'grey', 'g.png')).metadata();
    expect(grey.channels).toBe(1); // the fixture really is single-channel
    const auto = (await readDataset(root)).dataset;
    expect(auto.shape).toEqual([32, 32, 3]);
    expect(pixel(auto.train, auto.shape, 0, 16, 16)).toEqual([90, 90, 90]);
    // Half-transparent (alpha 128/255) over white: c * 128/255 + 255 * 127/255; within 1 level for
    // libvips' rounding.
    pixel(auto.train, auto.shape, 1, 0, 0).forEach((v, c) => expect(Math.abs(v - ([10, 220, 30][c]! * 128 + 255 * 127) / 255)).toBeLessThanOrEqual(1));
    const sized = (await readDataset(root, { imageSize: 8 })).dataset;
    expect(sized.shape).toEqual([8, 8, 3]);
    expect(sized.train.images.length).toBe(4 * 8 * 8 * 3);
    // 'red' is class 1 (sorted after 'grey'); JPEG within 3 levels.
    expect(Array.from(sized.train.labels)).toEqual([0, 0, 1, 1]);
    pixel(sized.train, sized.shape, 3, 4, 4).forEach((v, c) => expect(Math.abs(v - [200, 10, 10][c]!)).toBeLessThanOrEqual(3));
  });

  it('skips and reports an undecodable image; strict refuses it, naming the file', async () => {
    const root = fresh('broken');
    await writeImageFolder(root, { classes: { a: 3, b: 3 }, size: 8 });
    const bad = path.join(root, 'b', '1.png');
    writeUndecodable(bad);
    const cut = path.join(root, 'a', '2.png');
    truncateFile(cut, 40);
    const { dataset: d, skipped } = await readDataset(root);
    expect(skipped.map((s) => s.file)).toEqual([cut, bad]);
    expect(skipped.every((s) => s.reason.length > 0)).toBe(true);
    expect([d.train.n, Array.from(d.train.labels)]).toEqual([4, [0, 0, 1, 1]]);
    expect(d.train.images.length).toBe(4 * 8 * 8 * 3);
    expect(pixel(d.train, d.shape, 3, 2, 2)).toEqual(classColour(1));
    const info = await inspectDataset(root);
    expect([info.train, info.classCounts.train, info.skipped.length]).toEqual([4, [2, 2], 2]);
    const e = await dataError(readDataset(root, { strict: true }));
    expect(e.message).toMatch(/: cannot decode image: /);
    expect([cut, bad]).toContain(e.file);
  });
});

describe('format detection', () => {
  it('names the path and what was expected for a missing or unknown path', async () => {
    const nowhere = path.join(tmp.dir, 'does-not-exist');
    expect((await dataError(detectFormat(nowhere))).message).toMatch(new RegExp(`^${nowhere}: no such file or folder \\(expected a folder of MNIST-style IDX files`));
    const file = fresh('notes.txt');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'hello');
    expect((await dataError(readDataset(file))).message).toMatch(new RegExp(`^${file}: not a recognised dataset file \\(expected`));
    const other = fresh('other.tar.gz');
    await writeTar(other, [{ name: 'something/else.bin', data: Buffer.alloc(10) }]);
    expect((await dataError(detectFormat(other))).message).toMatch(new RegExp(`^${other}: not a recognised dataset file`));
    const empty = fresh('empty');
    fs.mkdirSync(empty, { recursive: true });
    fs.writeFileSync(path.join(empty, 'x.txt'), '');
    expect((await dataError(detectFormat(empty))).message).toMatch(new RegExp(`^${empty}: not a recognised dataset folder`));
  });
});
