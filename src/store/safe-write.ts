// Writing on a disk that may be full. Node's message for a failed write ("ENOSPC: no space left on
// device, write") names no file and SQLite's ("database or disk is full") names no database, so
// these errors are said again with the file; and a write that fails removes its temp file, which
// would otherwise keep the disk full.
import fs from 'node:fs';

const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

function codeOf(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** A write failed for lack of space: ENOSPC or EDQUOT from the file system, SQLITE_FULL from the store. */
export function isDiskFull(e: unknown): boolean {
  const c = codeOf(e);
  return c !== undefined && FULL_CODES.has(c);
}

/** The error a failed write of `file` reports: "disk full (ENOSPC) writing FILE" for a full disk,
 * else the original message, with the file named when the message does not name it. */
export function writeError(e: unknown, file: string): Error {
  const message = (e as Error)?.message ?? String(e);
  const code = codeOf(e);
  const text = isDiskFull(e) ? `disk full (${code}) writing ${file}` : message.includes(file) ? message : `cannot write ${file}: ${message}`;
  return Object.assign(new Error(text), { code, file, cause: e });
}

/** Write `data` to `file` through `tmp`: the final name only ever holds complete data, and a
 * failure at any point removes the temp file and throws writeError. With `mode`, the temp file is
 * made new (never an existing file or a link: O_EXCL, O_NOFOLLOW) with exactly that mode from its
 * first byte, so a secret is never readable by others, not even for a moment. */
export function writeFileAtomic(file: string, tmp: string, data: Uint8Array | string, opts: { fsync?: boolean; mode?: number } = {}): void {
  try {
    if (opts.mode === undefined) fs.writeFileSync(tmp, data);
    else writeNew(tmp, data, opts.mode);
    if (opts.fsync) {
      const fd = fs.openSync(tmp, 'r+');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // nothing more to do: the error below is what matters
    }
    throw writeError(e, file);
  }
}

function writeNew(tmp: string, data: Uint8Array | string, mode: number): void {
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | (O_NOFOLLOW ?? 0), mode);
  try {
    if (process.platform !== 'win32') fs.fchmodSync(fd, mode); // exactly `mode`, whatever the umask
    fs.writeFileSync(fd, data);
  } finally {
    fs.closeSync(fd);
  }
}
