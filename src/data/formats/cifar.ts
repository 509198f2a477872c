// CIFAR-10 and CIFAR-100 (Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html) in both
// published layouts, read from the official .tar.gz (streamed, never extracted) or from an
// extracted batches directory.
// - binary: records of <label byte><3072 pixel bytes> (CIFAR-100: <coarse><fine><3072 pixels>),
//   pixels planar R, G, B planes of 32x32 in row-major order; class names in text files.
// - python: pickles (protocol 2, written by Python 2) of dicts whose 'data' is a numpy uint8
//   N x 3072 array in the same planar order, with 'labels' or 'fine_labels' + 'coarse_labels'.
// Images come out as HWC uint8 in shared memory.
import fs from 'node:fs';
import path from 'node:path';
import { DataError, sharedBytes, type Dataset, type ImageSet } from '../types';
import { intsOf, NdArray, parsePickleDict, pyStr } from './pickle';
import { readTarEntries } from './tar';

export type CifarFormat = 'cifar10-binary' | 'cifar10-python' | 'cifar100-binary' | 'cifar100-python';
export type CifarLabels = 'fine' | 'coarse';

const PIXELS = 3072; // 32 * 32 * 3
const PLANE = 1024;

interface Layout {
  top: string; // the directory inside the official tarball
  train: string[];
  test: string[];
  meta: string[];
}

const batches = (suffix: string) => [1, 2, 3, 4, 5].map((i) => `data_batch_${i}${suffix}`);

export const CIFAR_LAYOUTS: Record<CifarFormat, Layout> = {
  'cifar10-binary': { top: 'cifar-10-batches-bin', train: batches('.bin'), test: ['test_batch.bin'], meta: ['batches.meta.txt'] },
  'cifar10-python': { top: 'cifar-10-batches-py', train: batches(''), test: ['test_batch'], meta: ['batches.meta'] },
  'cifar100-binary': { top: 'cifar-100-binary', train: ['train.bin'], test: ['test.bin'], meta: ['fine_label_names.txt', 'coarse_label_names.txt'] },
  'cifar100-python': { top: 'cifar-100-python', train: ['train'], test: ['test'], meta: ['meta'] },
};

// ---------------------------------------------------------------------------------------------
// Where the files come from: a tarball (all wanted entries read in one streaming pass) or a dir.

interface Source {
  read(name: string): Buffer;
  /** An error about one entry, naming the tarball and the entry, or the file. */
  fail(name: string, message: string): DataError;
}

async function tarSource(file: string, layout: Layout): Promise<Source> {
  const names = [...layout.train, ...layout.test, ...layout.meta].map((n) => `${layout.top}/${n}`);
  const entries = await readTarEntries(file, new Set(names));
  const missing = names.filter((n) => !entries.has(n));
  if (missing.length) {
    throw new DataError(file, `missing entr${missing.length > 1 ? 'ies' : 'y'} ${missing.join(', ')} (an incomplete or different archive)`);
  }
  return {
    read: (name) => entries.get(`${layout.top}/${name}`)!,
    fail: (name, message) => new DataError(file, `entry ${layout.top}/${name}: ${message}`),
  };
}

function dirSource(dir: string): Source {
  return {
    read(name) {
      const p = path.join(dir, name);
      try {
        return fs.readFileSync(p);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new DataError(p, code === 'ENOENT' ? `missing (expected in ${dir})` : `cannot read: ${code ?? (e as Error).message}`);
      }
    },
    fail: (name, message) => new DataError(path.join(dir, name), message),
  };
}

// ---------------------------------------------------------------------------------------------
// Batches: planar images somewhere in a buffer, and their labels.

interface Batch {
  n: number;
  src: Uint8Array;
  offset: (i: number) => number; // where image i's 3072 planar bytes start in src
  labels: Uint8Array;
}

function checkRange(src: Source, name: string, labels: ArrayLike<number>, k: number, what: (i: number) => string): void {
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (!Number.isInteger(l) || l < 0 || l >= k) throw src.fail(name, `label ${l} ${what(i)} is not a class 0-${k - 1}`);
  }
}

function binaryBatch(src: Source, name: string, cifar100: boolean, which: CifarLabels): Batch {
  const buf = src.read(name);
  const rec = PIXELS + (cifar100 ? 2 : 1);
  if (buf.length % rec !== 0) {
    throw src.fail(name, `size ${buf.length} bytes is not a multiple of the ${rec}-byte record (${Math.floor(buf.length / rec)} whole records and ${buf.length % rec} bytes left)`);
  }
  const n = buf.length / rec;
  const where = (j: number) => (i: number) => `of record ${i} (offset ${i * rec + j})`;
  const read = (j: number) => Uint8Array.from({ length: n }, (_, i) => buf[i * rec + j]!);
  let labels: Uint8Array;
  if (cifar100) {
    const coarse = read(0);
    const fine = read(1);
    checkRange(src, name, coarse, 20, where(0));
    checkRange(src, name, fine, 100, where(1));
    labels = which === 'coarse' ? coarse : fine;
  } else {
    labels = read(0);
    checkRange(src, name, labels, 10, where(0));
  }
  return { n, src: buf, offset: (i) => i * rec + rec - PIXELS, labels };
}

function textNames(src: Source, name: string, k: number): string[] {
  const names = src
    .read(name)
    .toString('utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length !== k) throw src.fail(name, `expected ${k} class names (one a line), found ${names.length}`);
  return names;
}

// ---------------------------------------------------------------------------------------------
// Python pickles (decoded by ./pickle).

function pickleBatch(src: Source, name: string, cifar100: boolean, which: CifarLabels): Batch {
  const fail = (m: string) => src.fail(name, m);
  const d = parsePickleDict(src.read(name), fail);
  const data = d.get('data');
  if (!(data instanceof NdArray) || !data.raw) throw fail("no 'data' array");
  if (data.shape.length !== 2 || data.shape[1] !== PIXELS) throw fail(`'data' is ${data.shape.join(' x ')}, expected N x ${PIXELS}`);
  if (!/^[<|=]?u1$/.test(data.dtype)) throw fail(`'data' has dtype ${data.dtype}, expected uint8`);
  if (data.fortran) throw fail("'data' is in Fortran order (CIFAR's is row-major)");
  const n = data.shape[0]!;
  if (data.raw.length !== n * PIXELS) throw fail(`'data' holds ${data.raw.length} bytes, its shape ${n} x ${PIXELS} needs ${n * PIXELS}`);
  const key = cifar100 ? (which === 'coarse' ? 'coarse_labels' : 'fine_labels') : 'labels';
  const keys = cifar100 ? ['fine_labels', 'coarse_labels'] : ['labels'];
  let chosen: number[] = [];
  for (const k of keys) {
    const labels = intsOf(d.get(k));
    if (!labels) throw fail(`no '${k}' list`);
    if (labels.length !== n) throw fail(`${labels.length} '${k}' for ${n} images`);
    checkRange(src, name, labels, k === 'coarse_labels' ? 20 : cifar100 ? 100 : 10, (i) => `at ${k}[${i}]`);
    if (k === key) chosen = labels;
  }
  const raw = data.raw;
  return { n, src: raw, offset: (i) => i * PIXELS, labels: Uint8Array.from(chosen) };
}

function pickleNames(src: Source, name: string, key: string, k: number): string[] {
  const fail = (m: string) => src.fail(name, m);
  const v = parsePickleDict(src.read(name), fail).get(key);
  if (!Array.isArray(v)) throw fail(`no '${key}' list`);
  if (v.length !== k) throw fail(`'${key}' has ${v.length} names, expected ${k}`);
  return v.map((x) => pyStr(x));
}

// ---------------------------------------------------------------------------------------------

/** Planar CHW batches into one HWC ImageSet in shared memory. */
function assemble(batchList: Batch[]): ImageSet {
  const n = batchList.reduce((a, b) => a + b.n, 0);
  const images = sharedBytes(n * PIXELS);
  const labels = sharedBytes(n);
  let j = 0;
  for (const b of batchList) {
    const src = b.src;
    for (let i = 0; i < b.n; i++, j++) {
      const r = b.offset(i);
      const g = r + PLANE;
      const bl = g + PLANE;
      for (let p = 0, d = j * PIXELS; p < PLANE; p++, d += 3) {
        images[d] = src[r + p]!;
        images[d + 1] = src[g + p]!;
        images[d + 2] = src[bl + p]!;
      }
      labels[j] = b.labels[i]!;
    }
  }
  return { images, labels, n };
}

/** Read a CIFAR set from its official tarball (file) or its extracted batches directory. */
export async function readCifar(p: string, format: CifarFormat, opts: { labels?: CifarLabels } = {}): Promise<Dataset> {
  const layout = CIFAR_LAYOUTS[format];
  const src = fs.statSync(p).isDirectory() ? dirSource(p) : await tarSource(p, layout);
  const cifar100 = format.startsWith('cifar100');
  const which = opts.labels ?? 'fine';
  const binary = format.endsWith('binary');
  const batch = (name: string) => (binary ? binaryBatch : pickleBatch)(src, name, cifar100, which);
  let classNames: string[];
  if (!cifar100) classNames = binary ? textNames(src, 'batches.meta.txt', 10) : pickleNames(src, 'batches.meta', 'label_names', 10);
  else if (binary) classNames = which === 'coarse' ? textNames(src, 'coarse_label_names.txt', 20) : textNames(src, 'fine_label_names.txt', 100);
  else classNames = which === 'coarse' ? pickleNames(src, 'meta', 'coarse_label_names', 20) : pickleNames(src, 'meta', 'fine_label_names', 100);
  return {
    name: cifar100 ? (which === 'coarse' ? 'cifar100-coarse' : 'cifar100') : 'cifar10',
    shape: [32, 32, 3],
    numClasses: classNames.length,
    classNames,
    train: assemble(layout.train.map(batch)),
    test: assemble(layout.test.map(batch)),
    source: path.resolve(p),
  };
}
