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
import { pipeline } from 'node:stream';
import zlib from 'node:zlib';
import { BufferReader, NameRegistry, Parser } from 'pickleparser';
import tar from 'tar-stream';
import { gzipError, isGzip } from '../idx';
import { DataError, sharedBytes, type Dataset, type ImageSet } from '../types';

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

const stripDot = (name: string) => name.replace(/^\.\//, '');

/** The names of the first entries of a tar or tar.gz, from its first 256 KiB (no full read). */
export function peekTarNames(file: string, max = 8): string[] {
  const fd = fs.openSync(file, 'r');
  let head: Buffer;
  try {
    const buf = Buffer.alloc(256 * 1024);
    head = buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0));
  } finally {
    fs.closeSync(fd);
  }
  if (isGzip(head)) {
    try {
      // Sync flush: decompress what this prefix holds without requiring the end of the stream.
      head = zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch (e) {
      throw gzipError(file, e);
    }
  }
  const names: string[] = [];
  let off = 0;
  let longName: string | null = null;
  while (off + 512 <= head.length && names.length < max) {
    const h = head.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a: number, n: number) => h.toString('latin1', a, a + n).replace(/\0.*$/s, '');
    const size = parseInt(str(124, 12).trim() || '0', 8);
    const type = str(156, 1);
    const prefix = h.toString('latin1', 257, 262) === 'ustar' ? str(345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100));
    longName = null;
    const body = off + 512;
    if (type === 'L') longName = head.toString('latin1', body, Math.min(body + size, head.length)).replace(/\0.*$/s, '');
    else if (type !== 'x' && type !== 'g') names.push(stripDot(name));
    off = body + Math.ceil(size / 512) * 512;
  }
  return names;
}

/** Read the wanted entries of a tar or tar.gz in one streaming pass. */
async function readTarEntries(file: string, wanted: Set<string>): Promise<Map<string, Buffer>> {
  const head = Buffer.alloc(2);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, 2, 0);
  } finally {
    fs.closeSync(fd);
  }
  const gunzip = isGzip(head) ? zlib.createGunzip() : null;
  let gzErr: Error | null = null;
  gunzip?.on('error', (e) => (gzErr ??= e));
  const extract = tar.extract();
  const input = fs.createReadStream(file);
  const ignore = () => undefined; // errors are seen through the iterator below
  if (gunzip) pipeline(input, gunzip, extract, ignore);
  else pipeline(input, extract, ignore);
  const out = new Map<string, Buffer>();
  try {
    for await (const entry of extract) {
      const name = stripDot(entry.header.name);
      if (wanted.has(name) && (entry.header.type === 'file' || entry.header.type === 'contiguous-file')) {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        out.set(name, Buffer.concat(chunks));
      } else {
        entry.resume();
      }
    }
  } catch (e) {
    if (gzErr) throw gzipError(file, gzErr);
    const msg = (e as Error).message;
    throw new DataError(file, /unexpected end/i.test(msg) ? 'truncated tar archive (the file is incomplete)' : `corrupt tar archive: ${msg}`);
  }
  if (gzErr) throw gzipError(file, gzErr);
  return out;
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
// Python pickles. pickleparser decodes the opcodes; nothing is executed: numpy's reconstructor and
// dtype are registered as plain functions that only record the array's shape, type and bytes.

/** A numpy array as pickled: numpy.core.multiarray._reconstruct, then __setstate__ with
 * (version, shape, dtype, is_fortran, raw bytes). */
class NdArray {
  shape: number[] = [];
  dtype = '';
  fortran = false;
  raw: Uint8Array | null = null;
  __setstate__(state: unknown[]): void {
    // Old numpy wrote the state without the leading version number.
    const s = state.length === 5 ? state.slice(1) : state;
    this.shape = (s[0] as unknown[]).map(Number);
    this.dtype = s[1] instanceof DType ? s[1].name : pyStr(s[1]);
    this.fortran = Boolean(s[2]);
    this.raw = s[3] instanceof Uint8Array ? s[3] : typeof s[3] === 'string' ? latin1Bytes(s[3]) : null;
  }
}

class DType {
  order = '|';
  constructor(readonly name: string) {}
  __setstate__(state: unknown[]): void {
    if (state.length > 1) this.order = pyStr(state[1]);
  }
}

const latin1Bytes = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0) & 0xff);

/** A Python 2 str (kept as raw bytes by the reader below) or a unicode string, as text. */
function pyStr(v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
  if (typeof v === 'string') return v;
  throw new Error(`expected a string, found ${typeof v}`);
}

/** Python 2 str (BINSTRING) is bytes, and pickleparser would decode it as text; keep it as a
 * Uint8Array instead (the image data is one such string), and decode keys and names later. */
class RawStringReader extends BufferReader {
  constructor(private readonly buf: Uint8Array) {
    super(buf);
  }
  override string(size: number, encoding: 'ascii' | 'utf-8'): string {
    if (encoding === 'utf-8') return super.string(size, encoding);
    return this.bytes(size) as unknown as string;
  }
  override line(): string {
    const end = this.buf.indexOf(0x0a, this.position);
    if (end < 0) throw new Error('Could not find end of line.');
    const text = Buffer.from(this.bytes(end - this.position)).toString('latin1');
    this.skip(1);
    return text;
  }
}

function makeRegistry(): NameRegistry {
  const reg = new NameRegistry();
  for (const mod of ['numpy.core.multiarray', 'numpy._core.multiarray']) reg.register(mod, '_reconstruct', () => new NdArray());
  reg.register('numpy', 'dtype', (name: unknown) => new DType(pyStr(name)));
  // Python 3 writes bytes at protocol 2 as _codecs.encode(text, 'latin1').
  reg.register('_codecs', 'encode', (text: unknown) => latin1Bytes(pyStr(text)));
  return reg;
}

/** Parse a pickle of a dict into a Map with text keys (the file's keys may be bytes or str). */
export function parsePickleDict(buf: Uint8Array, fail: (message: string) => DataError): Map<string, unknown> {
  let obj: unknown;
  try {
    obj = new Parser({ nameResolver: makeRegistry(), unpicklingTypeOfDictionary: 'Map' }).read(new RawStringReader(buf));
  } catch (e) {
    throw fail(`not a readable Python pickle: ${(e as Error).message}`);
  }
  if (!(obj instanceof Map)) throw fail('expected a pickled dict');
  const out = new Map<string, unknown>();
  for (const [k, v] of obj) out.set(pyStr(k), v);
  return out;
}

function intsOf(v: unknown): number[] | null {
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'bigint' ? Number(x) : (x as number)));
  if (v instanceof NdArray && v.raw && v.shape.length === 1) {
    const m = /^[<|=]?([iu])([1248])$/.exec(v.dtype);
    if (!m) return null;
    const size = Number(m[2]);
    const view = new DataView(v.raw.buffer, v.raw.byteOffset, v.raw.byteLength);
    return Array.from({ length: v.shape[0]! }, (_, i) => {
      const o = i * size;
      if (size === 1) return m[1] === 'u' ? view.getUint8(o) : view.getInt8(o);
      if (size === 2) return m[1] === 'u' ? view.getUint16(o, true) : view.getInt16(o, true);
      if (size === 4) return m[1] === 'u' ? view.getUint32(o, true) : view.getInt32(o, true);
      return Number(view.getBigInt64(o, true));
    });
  }
  return null;
}

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
