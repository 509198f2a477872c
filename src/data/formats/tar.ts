// Streaming reads of .tar and .tar.gz archives (tar-stream + zlib), never extracted to disk:
// the names of the first entries from the file's head, or the wanted entries in one pass.
import fs from 'node:fs';
import { pipeline } from 'node:stream';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { gzipError, isGzip } from '../idx';
import { DataError } from '../types';

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
export async function readTarEntries(file: string, wanted: Set<string>): Promise<Map<string, Buffer>> {
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
