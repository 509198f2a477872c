// What `serve` keeps in the data dir between starts so an open tab survives a restart: its access
// token (serve-token, mode 0600: the token is the only thing between other local users and the
// app) and the port it last listened on (serve-port, not secret).
//
// The token file is created with O_EXCL and mode 0600 from the first byte (through a temp file
// hard-linked into place, so the name never holds a partial token). A token file that is a
// symbolic link, not a regular file, someone else's, or open to group/others is refused, not
// repaired: a token others could read may have been read, and quietly replacing it would strand
// every tab. The error says which file and what to do. The token itself is never printed here.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { tokenProblem } from './security';
import { writeError, writeFileAtomic } from '../store/safe-write';

export const TOKEN_FILE = 'serve-token';
export const PORT_FILE = 'serve-port';
export const TOKEN_ENV = 'TRICKBENCH_TOKEN';

export type TokenSource = 'option' | 'env' | 'file' | 'new';

export interface TokenChoice {
  token: string;
  source: TokenSource;
  /** The token file (sources 'file' and 'new'). */
  file?: string;
}

const POSIX = process.platform !== 'win32';
const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL } = fs.constants;
// Not defined on Windows (where links need privileges and modes mean little).
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = fs.constants.O_NONBLOCK ?? 0; // a FIFO planted at the name must not hang serve

/** A new random token: 48 hex digits (192 bits). */
export function newToken(): string {
  return crypto.randomBytes(24).toString('hex');
}

/** serve's token: --token, else $TRICKBENCH_TOKEN (an empty value counts as unset), else the data
 * dir's token file, made on first use. A chosen token is checked (tokenProblem) and not saved. */
export function resolveToken(o: { option?: string; env?: string; dataDir: string }): TokenChoice {
  if (o.option !== undefined) {
    const problem = tokenProblem(o.option);
    if (problem) throw new Error(`--token: ${problem}`);
    return { token: o.option, source: 'option' };
  }
  if (o.env) {
    const problem = tokenProblem(o.env);
    if (problem) throw new Error(`${TOKEN_ENV}: ${problem}`);
    return { token: o.env, source: 'env' };
  }
  const file = path.join(o.dataDir, TOKEN_FILE);
  const kept = readTokenFile(file);
  if (kept !== null) return { token: kept, source: 'file', file };
  return { token: createTokenFile(file), source: 'new', file };
}

/** A token file serve will not use (the message says which and what to do). */
export class TokenFileError extends Error {}

function refuse(file: string, why: string): TokenFileError {
  return new TokenFileError(
    `${file} ${why}: serve keeps its access token there and will not use it. Fix it, or delete it and serve makes a new token ` +
      `(open tabs then need the new address), or choose one with --token / ${TOKEN_ENV}.`,
  );
}

/** The token kept in `file`, or null when there is none. Throws (naming the file) when the file is
 * a link, not a regular file, someone else's, open to others, or holds no valid token. */
export function readTokenFile(file: string): string | null {
  let link: fs.Stats;
  try {
    link = fs.lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw refuse(file, `cannot be checked (${(e as Error).message})`);
  }
  if (link.isSymbolicLink()) throw refuse(file, 'is a symbolic link');
  let fd: number;
  try {
    // O_NOFOLLOW: a link swapped in after the lstat is refused too (ELOOP).
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EMLINK') throw refuse(file, 'is a symbolic link');
    throw refuse(file, `cannot be read (${code ?? (e as Error).message})`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw refuse(file, 'is not a regular file');
    if (POSIX) {
      const uid = process.getuid?.();
      if (uid !== undefined && st.uid !== uid) throw refuse(file, `belongs to another user (uid ${st.uid}, serve runs as ${uid})`);
      if (st.mode & 0o077) {
        const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
        throw refuse(file, `is open to other users (mode ${mode}; run chmod 600 ${file} if nobody else can have read it)`);
      }
    }
    if (st.size > 4096) throw refuse(file, `is ${st.size} bytes, not a token`);
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    const token = buf.subarray(0, got).toString('utf8').trim();
    const problem = tokenProblem(token);
    if (problem) throw refuse(file, `does not hold a valid token (${problem})`);
    return token;
  } finally {
    fs.closeSync(fd);
  }
}

/** Make `file` with a new token, mode 0600 from the start; when another serve made it first
 * (the name exists), its token is read instead. */
export function createTokenFile(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const token = newToken();
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      if (POSIX) fs.fchmodSync(fd, 0o600); // exactly 0600, whatever the umask
      fs.writeSync(fd, `${token}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(tmp, file); // atomic, and never replaces an existing file
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        const theirs = readTokenFile(file);
        if (theirs !== null) return theirs;
        throw e;
      }
      // File systems without hard links (FAT, some network mounts): rename, if the name is free.
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
      const theirs = readTokenFile(file);
      if (theirs !== null) return theirs;
      fs.renameSync(tmp, file);
    }
    return token;
  } catch (e) {
    if (e instanceof TokenFileError) throw e;
    throw writeError(e, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** The port serve last listened on for this data dir, or null (none recorded, or not a port). */
export function readLastPort(dataDir: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dataDir, PORT_FILE), 'utf8').trim();
  } catch {
    return null;
  }
  if (!/^\d{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : null;
}

/** Record the port for the next start; a failure only costs that preference, so it is returned
 * (for a warning), not thrown. */
export function saveLastPort(dataDir: string, port: number): Error | null {
  const file = path.join(dataDir, PORT_FILE);
  try {
    writeFileAtomic(file, `${file}.${process.pid}.tmp`, `${port}\n`);
    return null;
  } catch (e) {
    return e as Error;
  }
}

/** The ports to try, in order. An explicit --port is the only one (a tab's address names it).
 * Otherwise the last port first (so an open tab's address still works after a restart), then the
 * default, then any free one. */
export function portCandidates(o: { explicit?: number; last: number | null; fallback: number }): number[] {
  if (o.explicit !== undefined) return [o.explicit];
  return [...new Set([o.last ?? o.fallback, o.fallback, 0])];
}

/** A --port value: an integer 0-65535 (0: any free port); throws naming the option. */
export function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value.trim()) || Number(value) > 65535) throw new Error(`--port: "${value}" is not a port (a whole number 0-65535; 0 takes any free port)`);
  return Number(value);
}
