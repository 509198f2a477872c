// Small datasets in the real on-disk formats, valid and broken, for the format readers' tests.
// Pixels carry the label so a test can check that labels line up with images after reading:
// - IDX: every pixel is idxPixel(label), except pixel (0, 1) which is the image's index % 256.
// - CIFAR: R = cifarRed(label) (fine label for CIFAR-100), G = (y * 8 + x) % 256, B = (x * 8 + y) % 256
//   (the same rule as the committed python pickles in tests/fixtures/cifar-py).
// - image folders: solid classColour(k) for the k-th class in sorted order.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import sharp from 'sharp';
import tar from 'tar-stream';
import { idx } from './datasets';

export const FIXTURES_CIFAR_PY = fileURLToPath(new URL('../fixtures/cifar-py', import.meta.url));

export const idxPixel = (label: number) => (label * 25 + 3) & 255;
export const cifarRed = (label: number) => (label * 23 + 7) % 256;
export const cifarGreen = (y: number, x: number) => (y * 8 + x) % 256;
export const cifarBlue = (y: number, x: number) => (x * 8 + y) % 256;
export const classColour = (k: number): [number, number, number] => [(k * 60 + 20) % 256, (k * 100 + 40) % 256, (k * 150 + 80) % 256];

/** Labels of a generated split: cycling through the classes from an offset set by the seed. */
export const fixtureLabel = (i: number, classes: number, seed: number) => (i + seed) % classes;

function idxImages(n: number, h: number, w: number, classes: number, seed: number) {
  const labels = new Uint8Array(n).map((_, i) => fixtureLabel(i, classes, seed));
  const images = new Uint8Array(n * h * w);
  for (let i = 0; i < n; i++) {
    images.fill(idxPixel(labels[i]!), i * h * w, (i + 1) * h * w);
    if (h * w > 1) images[i * h * w + 1] = i % 256;
  }
  return { images, labels };
}

/** An MNIST-layout folder: the four IDX files (gzipped unless gz: false). */
export function writeIdxDir(dir: string, o: { train?: number; test?: number; gz?: boolean; h?: number; w?: number; classes?: number; seed?: number } = {}): void {
  const { train = 30, test = 10, gz = true, h = 28, w = 28, classes = 10, seed = 0 } = o;
  fs.mkdirSync(dir, { recursive: true });
  for (const [prefix, n, s] of [['train', train, seed], ['t10k', test, seed + 1]] as const) {
    const { images, labels } = idxImages(n, h, w, classes, s);
    const files: [string, Buffer][] = [
      [`${prefix}-images-idx3-ubyte`, idx([n, h, w], images)],
      [`${prefix}-labels-idx1-ubyte`, idx([n], labels)],
    ];
    for (const [name, buf] of files) fs.writeFileSync(path.join(dir, gz ? `${name}.gz` : name), gz ? zlib.gzipSync(buf) : buf);
  }
}

// --------------------------------------------------------------------------------------------- CIFAR

export interface TarEntry {
  name: string;
  data?: Buffer; // absent: a directory
}

/** A tar (gzipped unless gzip: false) of the given entries, in order. */
export async function writeTar(file: string, entries: TarEntry[], o: { gzip?: boolean } = {}): Promise<void> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c: unknown) => chunks.push(c as Buffer));
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const e of entries) {
    if (e.data) pack.entry({ name: e.name, size: e.data.length, mode: 0o644 }, e.data);
    else pack.entry({ name: e.name, type: 'directory', mode: 0o755 });
  }
  pack.finalize();
  await done;
  const raw = Buffer.concat(chunks);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, o.gzip === false ? raw : zlib.gzipSync(raw));
}

const CIFAR10_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
export const fineName = (k: number) => `fine_${String(k).padStart(3, '0')}`;
export const coarseName = (k: number) => `coarse_${String(k).padStart(2, '0')}`;
/** The coarse label generated for a fine label (not CIFAR-100's real grouping; any map will do). */
export const coarseOf = (fine: number) => fine % 20;

function cifarPlanes(label: number): Buffer {
  const px = Buffer.alloc(3072);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      const p = y * 32 + x;
      px[p] = cifarRed(label);
      px[1024 + p] = cifarGreen(y, x);
      px[2048 + p] = cifarBlue(y, x);
    }
  }
  return px;
}

function cifarRecords(n: number, kind: 10 | 100, seed: number): Buffer {
  const recs: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const label = fixtureLabel(i, kind, seed);
    const head = kind === 10 ? Buffer.from([label]) : Buffer.from([coarseOf(label), label]);
    recs.push(head, cifarPlanes(label));
  }
  return Buffer.concat(recs);
}

/** The entries of a CIFAR binary-version tarball, in its real layout. `train` images in all (split
 * over CIFAR-10's five batches, the first ones taking the remainder), `test` in the test file;
 * train labels cycle from `seed`, test labels from seed + 1. */
export function cifarBinaryEntries(o: { kind: 10 | 100; train?: number; test?: number; seed?: number }): TarEntry[] {
  const { kind, train = 20, test = 10, seed = 0 } = o;
  if (kind === 10) {
    const top = 'cifar-10-batches-bin';
    const per = [0, 1, 2, 3, 4].map((b) => Math.floor(train / 5) + (b < train % 5 ? 1 : 0));
    let offset = seed;
    const batches = per.map((n, b) => {
      const e = { name: `${top}/data_batch_${b + 1}.bin`, data: cifarRecords(n, 10, offset) };
      offset += n;
      return e;
    });
    return [
      { name: `${top}/` },
      { name: `${top}/batches.meta.txt`, data: Buffer.from(`${CIFAR10_NAMES.join('\n')}\n\n`) },
      ...batches,
      { name: `${top}/readme.html`, data: Buffer.from('<html>fixture</html>\n') },
      { name: `${top}/test_batch.bin`, data: cifarRecords(test, 10, seed + 1) },
    ];
  }
  const top = 'cifar-100-binary';
  return [
    { name: `${top}/` },
    { name: `${top}/coarse_label_names.txt`, data: Buffer.from(`${Array.from({ length: 20 }, (_, k) => coarseName(k)).join('\n')}\n`) },
    { name: `${top}/fine_label_names.txt`, data: Buffer.from(`${Array.from({ length: 100 }, (_, k) => fineName(k)).join('\n')}\n`) },
    { name: `${top}/test.bin`, data: cifarRecords(test, 100, seed + 1) },
    { name: `${top}/train.bin`, data: cifarRecords(train, 100, seed) },
  ];
}

export async function writeCifarBinaryTarGz(file: string, o: { kind: 10 | 100; train?: number; test?: number; seed?: number }): Promise<void> {
  await writeTar(file, cifarBinaryEntries(o));
}

/** The entries as files under dir (dir/cifar-10-batches-bin/... : an extracted tarball). */
export function writeEntries(dir: string, entries: TarEntry[]): void {
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.data) {
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, e.data);
    } else fs.mkdirSync(p, { recursive: true });
  }
}

/** The committed python-version pickles (tests/reference/cifar_pickle_fixture.py) as tar entries
 * in the real layout: CIFAR-10 5 x 4 train + 4 test images, CIFAR-100 8 train + 4 test. */
export function cifarPythonEntries(kind: 10 | 100): TarEntry[] {
  const top = kind === 10 ? 'cifar-10-batches-py' : 'cifar-100-python';
  const names = kind === 10 ? ['batches.meta', 'data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch'] : ['meta', 'test', 'train'];
  return [
    { name: `${top}/` },
    ...names.map((n) => ({ name: `${top}/${n}`, data: fs.readFileSync(path.join(FIXTURES_CIFAR_PY, top, n)) })),
    ...(kind === 10 ? [{ name: `${top}/readme.html`, data: Buffer.from('<html>fixture</html>\n') }] : []),
  ];
}

export async function writeCifarPythonTarGz(file: string, o: { kind: 10 | 100 }): Promise<void> {
  await writeTar(file, cifarPythonEntries(o.kind));
}

/** Labels of the committed python fixtures (see cifar_pickle_fixture.py). */
export const CIFAR_PY_LABELS = {
  c10Train: Array.from({ length: 20 }, (_, i) => i % 10), // batch b image j: 4 * (b - 1) + j
  c10Test: Array.from({ length: 4 }, (_, i) => (i + 3) % 10),
  c100TrainFine: Array.from({ length: 8 }, (_, i) => (i * 13 + 5) % 100),
  c100TrainCoarse: Array.from({ length: 8 }, (_, i) => (i * 3 + 1) % 20),
  c100TestFine: Array.from({ length: 4 }, (_, i) => (i * 29 + 11) % 100),
  c100TestCoarse: Array.from({ length: 4 }, (_, i) => (i * 7 + 2) % 20),
};

// --------------------------------------------------------------------------------------------- image folders

type ImgFormat = 'png' | 'jpg' | 'webp';

async function writeSolid(file: string, size: number, rgb: [number, number, number], format: ImgFormat): Promise<void> {
  const img = sharp({ create: { width: size, height: size, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  const out = format === 'png' ? img.png() : format === 'jpg' ? img.jpeg({ quality: 95 }) : img.webp({ lossless: true });
  await out.toFile(file);
}

/** root/<class>/<i>.<ext> solid images of classColour(k) (k: the class's index in sorted order),
 * formats used in turn. splits: root/train/<class> with the given counts and root/test/<class>
 * with half as many (at least 1). */
export async function writeImageFolder(root: string, o: { classes: Record<string, number>; size?: number; formats?: ImgFormat[]; splits?: boolean; seed?: number }): Promise<void> {
  const { size = 16, formats = ['png'], splits = false } = o;
  const names = Object.keys(o.classes).sort((a, b) => (a < b ? -1 : 1));
  const jobs: Promise<void>[] = [];
  let turn = o.seed ?? 0;
  const write = (dir: string, n: number, k: number) => {
    fs.mkdirSync(dir, { recursive: true });
    for (let i = 0; i < n; i++) {
      const format = formats[turn++ % formats.length]!;
      jobs.push(writeSolid(path.join(dir, `${i}.${format}`), size, classColour(k), format));
    }
  };
  names.forEach((name, k) => {
    const n = o.classes[name]!;
    if (splits) {
      write(path.join(root, 'train', name), n, k);
      write(path.join(root, 'test', name), Math.max(1, Math.floor(n / 2)), k);
    } else write(path.join(root, name), n, k);
  });
  await Promise.all(jobs);
}

/** One solid-colour image file of the given size (for mixed-size folders). */
export async function writeImage(file: string, o: { w: number; h: number; rgb: [number, number, number]; format?: ImgFormat }): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const img = sharp({ create: { width: o.w, height: o.h, channels: 3, background: { r: o.rgb[0], g: o.rgb[1], b: o.rgb[2] } } });
  const f = o.format ?? 'png';
  await (f === 'png' ? img.png() : f === 'jpg' ? img.jpeg({ quality: 95 }) : img.webp({ lossless: true })).toFile(file);
}

// --------------------------------------------------------------------------------------------- breaking things

/** Keep only the first `keep` bytes (a fraction when < 1) of a file. Returns the new size. */
export function truncateFile(file: string, keep: number): number {
  const buf = fs.readFileSync(file);
  const n = keep < 1 ? Math.floor(buf.length * keep) : keep;
  fs.writeFileSync(file, buf.subarray(0, n));
  return n;
}

/** Overwrite bytes at an offset (negative: from the end). */
export function overwriteBytes(file: string, offset: number, bytes: number[]): void {
  const buf = fs.readFileSync(file);
  const at = offset < 0 ? buf.length + offset : offset;
  Buffer.from(bytes).copy(buf, at);
  fs.writeFileSync(file, buf);
}

/** Gunzip a file, let fn change the bytes, gzip it back. */
export function editGzip(file: string, fn: (raw: Buffer) => Buffer): void {
  fs.writeFileSync(file, zlib.gzipSync(fn(zlib.gunzipSync(fs.readFileSync(file)))));
}

/** A file with an image extension that is not an image. */
export function writeUndecodable(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, Buffer.from('this is not an image, only text pretending to be one\n'));
}
