// The IDX format of MNIST-style datasets (http://yann.lecun.com/exdb/mnist/ describes it): a
// 4-byte magic (0, 0, type code, number of dimensions), the dimension sizes as big-endian
// uint32, then the data. Files may be gzipped.
import fs from 'node:fs';
import zlib from 'node:zlib';
import { DataError } from './types';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;

export function readIdxFile(file: string): IdxArray {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch (e) {
    throw new DataError(file, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseIdx(isGzip(raw) ? gunzipChecked(raw, file) : raw, file);
}

export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** The error for a failed gunzip of `file`: zlib says "unexpected end of file" when the data
 * stops early (an interrupted download), anything else is corruption. */
export function gzipError(file: string, e: unknown): DataError {
  const msg = (e as Error).message;
  return new DataError(file, /unexpected end/i.test(msg) ? 'truncated gzip data (the file is incomplete)' : `corrupt gzip data: ${msg}`);
}

export function gunzipChecked(raw: Uint8Array, file: string): Buffer {
  try {
    return zlib.gunzipSync(raw);
  } catch (e) {
    throw gzipError(file, e);
  }
}

export function parseIdx(buf: Uint8Array, file: string): IdxArray {
  if (buf.length < 4) throw new DataError(file, `too short for an IDX header (${buf.length} bytes)`);
  if (buf[0] !== 0 || buf[1] !== 0) throw new DataError(file, `not an IDX file (bad magic number): 0x${Buffer.from(buf.subarray(0, 4)).toString('hex')} at offset 0, expected 0x0000 then the type and dimension count`);
  const type = buf[2]!;
  const ndim = buf[3]!;
  if (type !== UBYTE) throw new DataError(file, `unsupported IDX element type 0x${type.toString(16)} at offset 2 (only unsigned bytes, 0x08)`);
  if (ndim < 1 || ndim > 4) throw new DataError(file, `unexpected number of dimensions ${ndim} at offset 3`);
  const header = 4 + 4 * ndim;
  if (buf.length < header) throw new DataError(file, `truncated IDX header (${buf.length} of ${header} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const have = buf.length - header;
  if (have < expected) {
    throw new DataError(file, `truncated: header promises ${expected} bytes of data (${dims.join('x')}), found ${have} (ends at offset ${buf.length})`);
  }
  if (have > expected) throw new DataError(file, `${have - expected} unexpected trailing bytes after offset ${header + expected}`);
  return { dims, data: buf.subarray(header, header + expected) };
}
