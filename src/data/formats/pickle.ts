// Python pickles. pickleparser decodes the opcodes; nothing is executed: numpy's reconstructor and
// dtype are registered as plain functions that only record the array's shape, type and bytes.
import { BufferReader, NameRegistry, Parser } from 'pickleparser';
import type { DataError } from '../types';

/** A numpy array as pickled: numpy.core.multiarray._reconstruct, then __setstate__ with
 * (version, shape, dtype, is_fortran, raw bytes). */
export class NdArray {
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
export function pyStr(v: unknown): string {
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

export function intsOf(v: unknown): number[] | null {
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
