// A run's final status that the store could not record (a full disk: SQLITE_FULL), kept in a small
// file in the run's folder until someone can write it into the store: the host once the store is
// writable again, the next start's recovery, or a CLI --resume (src/store/orphans.ts). The file is
// reserved at full size when the run starts, so that on a full disk the note overwrites bytes the
// file already has instead of asking for new ones. A blank file is no note.
import fs from 'node:fs';
import path from 'node:path';
import { FINAL_STATUSES, type RunStatus } from '../shared/api';
import { runDir } from './paths';

export const FINAL_NOTE_FILE = 'final-status.json';
const NOTE_BYTES = 4096;
const MAX_ERROR_CHARS = 600; // <= 6 bytes a char in JSON (\u001b): the note always fits its bytes

export interface FinalNote {
  status: RunStatus;
  error: string | null;
}

export function finalNotePath(dataDir: string, runId: number): string {
  return path.join(runDir(dataDir, runId), FINAL_NOTE_FILE);
}

/** At a run's start: a blank note of full size (best effort: a disk already full gets none). */
export function reserveFinalNote(dataDir: string, runId: number): void {
  try {
    fs.mkdirSync(runDir(dataDir, runId), { recursive: true });
    fs.writeFileSync(finalNotePath(dataDir, runId), Buffer.alloc(NOTE_BYTES, ' '));
  } catch {
    // without a reserved note, writeFinalNote still tries to create one
  }
}

/** Record the final status the store refused; false when even that could not be written. */
export function writeFinalNote(dataDir: string, runId: number, note: FinalNote): boolean {
  const error = note.error && note.error.length > MAX_ERROR_CHARS ? `${note.error.slice(0, MAX_ERROR_CHARS)}…` : note.error;
  const buf = Buffer.alloc(NOTE_BYTES, ' ');
  buf.write(JSON.stringify({ status: note.status, error }));
  const file = finalNotePath(dataDir, runId);
  let fd: number;
  try {
    // In place (no truncation) over the reserved bytes; created when there was no reservation.
    fd = fs.openSync(file, fs.existsSync(file) ? 'r+' : 'w');
  } catch {
    return false;
  }
  try {
    fs.writeSync(fd, buf, 0, buf.length, 0);
    fs.fsyncSync(fd);
    return true;
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/** The noted final status of a run, or null (no note, a blank one, or one that cannot be read). */
export function readFinalNote(dataDir: string, runId: number): FinalNote | null {
  try {
    const text = fs.readFileSync(finalNotePath(dataDir, runId), 'utf8').trim();
    if (!text) return null;
    const n = JSON.parse(text) as Partial<FinalNote>;
    if (!n || !FINAL_STATUSES.includes(n.status as RunStatus)) return null;
    return { status: n.status as RunStatus, error: typeof n.error === 'string' ? n.error : null };
  } catch {
    return null;
  }
}

/** The store holds the final status now: the note (reserved or written) goes. */
export function clearFinalNote(dataDir: string, runId: number): void {
  try {
    fs.rmSync(finalNotePath(dataDir, runId), { force: true });
  } catch {
    // a leftover blank or stale note is ignored once the run is final
  }
}
