// DATA_DIR/server.json: how local clients (the Python logging client, scripts) find a running
// `trickbench serve`: {"url": "http://127.0.0.1:PORT" (no token), "token", "pid"}. It holds the
// access token, so it is mode 0600 from its first byte, written atomically (a temp file renamed over
// it: a reader sees the old file or the new one, and a link at that name is replaced, never written
// through), after the server listens, and removed at stop only while it still names this process
// (a second serve on the same data dir may have written its own since).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../store/safe-write';

export const SERVER_FILE = 'server.json';

export interface ServerFile {
  url: string;
  token: string;
  pid: number;
}

export function serverFilePath(dataDir: string): string {
  return path.join(dataDir, SERVER_FILE);
}

/** Why serve will not write `file` (a link, a folder, ...), or null when it may. Checked before
 * serve starts, so a planted link stops it with a clear line instead of being replaced silently. */
export function serverFileProblem(file: string): string | null {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return `${file} cannot be checked (${(e as Error).message})`;
  }
  if (st.isSymbolicLink()) return `${file} is a symbolic link: serve writes its address and access token there and will not follow a link; delete it`;
  if (!st.isFile()) return `${file} is not a regular file: serve writes its address and access token there; remove it`;
  return null;
}

/** Write the file for this process (mode 0600, atomically). */
export function writeServerFile(file: string, entry: ServerFile): void {
  const problem = serverFileProblem(file);
  if (problem) throw new Error(problem);
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  writeFileAtomic(file, tmp, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
}

/** Remove the file if it is a regular file that still names `pid`; true when it was removed. */
export function removeServerFile(file: string, pid: number): boolean {
  const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  let fd: number;
  try {
    // O_NOFOLLOW: never read through a link; O_NONBLOCK: a FIFO planted there cannot hang the stop.
    fd = fs.openSync(file, O_RDONLY | (O_NOFOLLOW ?? 0) | (O_NONBLOCK ?? 0));
  } catch {
    return false; // gone, a link, or unreadable: not ours to remove
  }
  let entry: Partial<ServerFile> | null;
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size > 64 * 1024) return false; // ours is one short line
    entry = JSON.parse(fs.readFileSync(fd, 'utf8')) as Partial<ServerFile> | null;
  } catch {
    return false; // not JSON: not ours
  } finally {
    fs.closeSync(fd);
  }
  if (entry?.pid !== pid) return false;
  fs.rmSync(file, { force: true });
  return true;
}
