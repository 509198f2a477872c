// Ingesting a run journal (format.ts) into the store: the server (the Slurm executor's poll), and
// a cluster task replaying its own journal into its node-local store before it resumes.
//
// Idempotent: journal_offset holds how far the run's journal is in the store (bytes, complete
// lines), advanced in the same transaction as the rows those lines hold, so a host that stops
// mid-ingest, or ingests the same file again (a restart, a second poll), neither loses nor doubles
// a line. Only complete lines ('\n'-terminated) are read: a torn last line waits until it is done.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Statement } from 'better-sqlite3';
import type { Store } from '../store/store';
import { JournalError, parseJournalLine, type JournalEvaluationSet, type JournalRecord } from './format';

export type EndedStatus = Extract<JournalRecord, { kind: 'end' }>['status'];

export interface IngestResult {
  /** Lines applied by this call. */
  linesAdded: number;
  /** The current attempt's end: the last `end` record after the last `start` in the file (not
   * only in the lines this call read), else null (still running, or died without a word). */
  ended: null | { status: EndedStatus; error: string | null };
  /** The `at` of the file's last complete record (a heartbeat at least every 10 s while a task
   * trains), null for an empty journal. */
  lastAt: number | null;
  /** A complete line that cannot be read yet, why (NUL bytes: over NFS a reader can see a line's
   * '\n' before the bytes before it, which the node's client has not written back yet); the
   * ingest stopped before it, without an error, and reads it on a later call. Null otherwise. */
  waiting: string | null;
}

/** Lines per transaction: a long journal ingested for the first time holds the write lock in
 * short pieces, so trainers writing beside it are not kept waiting. */
export const INGEST_CHUNK_LINES = 5000;
const READ_BYTES = 4 << 20;

interface Offset {
  bytes: number;
  lines: number;
}

/** What this process knows of a journal it has ingested: the file's identity and first line (a
 * file rewritten under us is refused) and the ended/lastAt state of what is in the store. */
interface Known extends Offset {
  dev: number;
  ino: number;
  head: { len: number; hash: string } | null;
  ended: IngestResult['ended'];
  lastAt: number | null;
}

const knownByStore = new WeakMap<Store, Map<string, Known>>();
const stmtsByStore = new WeakMap<Store, ReturnType<typeof prepare>>();

function prepare(store: Store) {
  const db = store.db;
  return {
    offset: db.prepare(`SELECT bytes, lines FROM journal_offset WHERE run_id = ?`) as Statement<[number], Offset>,
    setOffset: db.prepare(
      `INSERT INTO journal_offset (run_id, bytes, lines) VALUES (@runId, @bytes, @lines)
       ON CONFLICT (run_id) DO UPDATE SET bytes = excluded.bytes, lines = excluded.lines`,
    ),
    exists: db.prepare(`SELECT 1 FROM run WHERE id = ?`).pluck(),
    // A task attempt began: running again (a requeue or a resume job after an interrupted end),
    // its first start time kept. No pid: the process is on another machine.
    start: db.prepare(
      // Not a run the host has ended meanwhile (cancelled while its job was starting): a resume
      // reopens one to queued first. The job id fills in one the host did not record (it stopped
      // between sbatch's answer and writing it down).
      `UPDATE run SET status = 'running', started_at = COALESCE(started_at, @at), ended_at = NULL, error = NULL,
         executor_state = NULL, host = @host, pid = NULL, resume = 0, heartbeat_at = @at, job_id = COALESCE(job_id, @jobId)
       WHERE id = @id AND status IN ('queued', 'running', 'interrupted')`,
    ),
    heartbeat: db.prepare(`UPDATE run SET heartbeat_at = @at WHERE id = @id`),
    // Store.finishRun's rule: a run already final is left alone.
    end: db.prepare(`UPDATE run SET status = @status, error = @error, ended_at = @at, pid = NULL WHERE id = @id AND status IN ('queued', 'running')`),
  };
}

function stmts(store: Store) {
  let s = stmtsByStore.get(store);
  if (!s) stmtsByStore.set(store, (s = prepare(store)));
  return s;
}

/** Apply a journal's lines after the ingested offset to run `runId`. Throws a JournalError naming
 * the file and line at a malformed line (the lines before it are applied, the offset stops
 * before it), and an Error when the file shrank or was rewritten since it was ingested. */
/** `onApplied`: each record once it is committed (the host pushes new points and events to the
 * pages, so that a cluster run's curves are live as a local run's). */
export function ingestJournal(store: Store, runId: number, file: string, onApplied?: (rec: JournalRecord) => void): IngestResult {
  const s = stmts(store);
  if (s.exists.get(runId) === undefined) throw new Error(`cannot ingest ${file}: run ${runId} does not exist in ${store.dataDir}`);
  let known = knownByStore.get(store);
  if (!known) knownByStore.set(store, (known = new Map()));
  const key = `${runId}\0${path.resolve(file)}`;
  const off: Offset = s.offset.get(runId) ?? { bytes: 0, lines: 0 };

  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && off.bytes === 0) return { linesAdded: 0, ended: null, lastAt: null, waiting: null };
    throw new Error(`cannot read the run journal ${file}${off.bytes ? ` (${off.bytes} bytes of it were ingested)` : ''}: ${(e as Error).message}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.size < off.bytes) {
      throw new Error(`the run journal ${file} is ${st.size} bytes, but its first ${off.bytes} bytes (${off.lines} lines) were ingested: it was truncated or rewritten, and a journal is append-only`);
    }
    let k = known.get(key);
    if (k && (k.dev !== st.dev || k.ino !== st.ino)) {
      known.delete(key);
      throw new Error(`the run journal ${file} was replaced by another file since it was ingested (a journal is append-only)`);
    }
    if (k && k.head && headOf(fd, k.head.len) !== k.head.hash) {
      known.delete(key);
      throw new Error(`the run journal ${file} was rewritten since it was ingested: its first line changed (a journal is append-only)`);
    }
    if (!k || k.bytes > off.bytes || k.lines > off.lines) {
      k = verifyPrefix(fd, file, off, st);
      known.set(key, k);
    } else if (k.bytes !== off.bytes || k.lines !== off.lines) {
      // another process (a second host on this store) ingested on from where this one was: only
      // its part is read, so two hosts following one journal read it once each, not once a look
      try {
        verifyPart(fd, file, k, off);
      } catch (e) {
        known.delete(key);
        throw e;
      }
    }
    const { added, waiting } = applyNew(store, s, runId, fd, file, st.size, k, onApplied);
    return { linesAdded: added, ended: k.ended, lastAt: k.lastAt, waiting };
  } finally {
    fs.closeSync(fd);
  }
}

/** The first line's hash (with its '\n'), to notice a journal rewritten under a running host. */
function lineHash(line: Buffer): string {
  return crypto.createHash('sha256').update(line).update('\n').digest('hex');
}

function headOf(fd: number, len: number): string {
  const b = Buffer.alloc(len);
  const n = fs.readSync(fd, b, 0, len, 0);
  return crypto.createHash('sha256').update(b.subarray(0, n)).digest('hex');
}

/** Complete lines of [from, to): calls `line(text, startByte, endByte)` for each (end after the
 * '\n'); returns the offset after the last complete line. */
function eachLine(fd: number, from: number, to: number, line: (buf: Buffer, start: number, end: number) => boolean | void): number {
  let pos = from;
  let carry: Buffer = Buffer.alloc(0);
  let carryStart = from;
  let done = from;
  while (pos < to) {
    const chunk = Buffer.alloc(Math.min(READ_BYTES, to - pos));
    const n = fs.readSync(fd, chunk, 0, chunk.length, pos);
    if (n === 0) break;
    pos += n;
    const buf = carry.length ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
    let i = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, i);
      if (nl < 0) break;
      const start = carryStart + i;
      const end = carryStart + nl + 1;
      if (line(buf.subarray(i, nl), start, end) === false) return done;
      done = end;
      i = nl + 1;
    }
    carry = Buffer.from(buf.subarray(i));
    carryStart += i;
  }
  return done;
}

/** The part of the file already in the store (after a restart, or when another process advanced
 * the offset), read once: it must hold exactly the recorded lines, ending at a line's end. */
function verifyPrefix(fd: number, file: string, off: Offset, st: fs.Stats): Known {
  const k: Known = { dev: st.dev, ino: st.ino, bytes: 0, lines: 0, head: null, ended: null, lastAt: null };
  verifyPart(fd, file, k, off);
  return k;
}

/** The ingested lines from where `k` is up to the store's offset `off` (k.bytes <= off.bytes): they
 * must be exactly off.lines - k.lines records ending at off.bytes; k is advanced over them. */
function verifyPart(fd: number, file: string, k: Known, off: Offset): void {
  let count = k.lines;
  const rewritten = (why: string) =>
    new Error(`the run journal ${file} was rewritten since it was ingested: ${why} (a journal is append-only; the store holds its first ${off.bytes} bytes, ${off.lines} lines)`);
  const end = eachLine(fd, k.bytes, off.bytes, (buf, start, endByte) => {
    count++;
    if (start === 0) k.head = { len: endByte, hash: lineHash(buf) };
    let rec: JournalRecord;
    try {
      rec = parseJournalLine(buf.toString('utf8'), count, file);
    } catch (e) {
      throw rewritten(`its line ${count} is no longer a record (${(e as Error).message})`);
    }
    track(k, rec);
  });
  if (end !== off.bytes) throw rewritten(`byte ${off.bytes} is not at a line's end`);
  if (count !== off.lines) throw rewritten(`its first ${off.bytes} bytes hold ${count} lines, not ${off.lines}`);
  k.bytes = off.bytes;
  k.lines = off.lines;
}

function track(k: Known, rec: JournalRecord): void {
  k.lastAt = rec.at;
  if (rec.kind === 'start') k.ended = null;
  else if (rec.kind === 'end') k.ended = { status: rec.status, error: rec.error };
}

/** The new complete lines, applied INGEST_CHUNK_LINES at a time, each chunk in one transaction
 * with the offset. */
function applyNew(store: Store, s: ReturnType<typeof prepare>, runId: number, fd: number, file: string, size: number, k: Known, onApplied?: (rec: JournalRecord) => void): { added: number; waiting: string | null } {
  let added = 0;
  let pending: { rec: JournalRecord; end: number }[] = [];
  const failure: { error: JournalError | null } = { error: null };
  const flush = (): boolean => {
    if (!pending.length) return true;
    const batch = pending;
    pending = [];
    const ok = store.db
      .transaction(() => {
        // Another process (a second host on the same store) may have ingested meanwhile.
        const now = s.offset.get(runId) ?? { bytes: 0, lines: 0 };
        if (now.bytes !== k.bytes || now.lines !== k.lines) return false;
        let line = k.lines;
        for (const { rec } of batch) {
          line++;
          try {
            apply(store, s, runId, rec);
          } catch (e) {
            throw new JournalError(file, line, `cannot apply the ${rec.kind} record to run ${runId}: ${(e as Error).message}`);
          }
        }
        s.setOffset.run({ runId, bytes: batch[batch.length - 1]!.end, lines: k.lines + batch.length });
        return true;
      })
      .immediate();
    if (!ok) return false; // k stays where this process was: the next call reads on from there
    for (const { rec } of batch) track(k, rec);
    if (onApplied) for (const { rec } of batch) onApplied(rec);
    if (k.lines === 0 && head) k.head = head;
    k.bytes = batch[batch.length - 1]!.end;
    k.lines += batch.length;
    added += batch.length;
    return true;
  };
  let lineNo = k.lines;
  let stopped = false;
  let head: Known['head'] = null;
  let waiting: string | null = null;
  eachLine(fd, k.bytes, size, (buf, start, end) => {
    lineNo++;
    // JSON.stringify never writes a NUL (it escapes one): these bytes are not written out yet
    if (buf.includes(0)) {
      waiting = `${file}:${lineNo}: holds NUL bytes, not yet written back by the node (NFS); read again later`;
      return false;
    }
    if (start === 0) head = { len: end, hash: lineHash(buf) };
    try {
      pending.push({ rec: parseJournalLine(buf.toString('utf8'), lineNo, file), end });
    } catch (e) {
      failure.error = e as JournalError;
      return false;
    }
    if (pending.length >= INGEST_CHUNK_LINES && !flush()) {
      stopped = true;
      return false;
    }
  });
  if (!stopped) flush();
  if (failure.error) throw failure.error;
  return { added, waiting };
}

function apply(store: Store, s: ReturnType<typeof prepare>, runId: number, rec: JournalRecord): void {
  switch (rec.kind) {
    case 'start':
      s.start.run({ id: runId, at: rec.at, host: rec.host, jobId: rec.jobId });
      return;
    case 'backend':
      store.setBackend(runId, rec.backend, rec.device);
      return;
    case 'metrics':
      // INSERT OR REPLACE on (run, key, step): one value per step, whatever is ingested twice
      store.addMetrics(runId, rec.points);
      return;
    case 'event':
      store.addEvent(runId, rec.event);
      return;
    case 'resume':
      store.beginResume(runId, rec.step, rec.event);
      return;
    case 'evaluation':
      store.evaluations.save(runId, fromJournal(rec.set));
      return;
    case 'heartbeat':
      s.heartbeat.run({ id: runId, at: rec.at });
      return;
    case 'reset':
      store.clearRunRows(runId);
      return;
    case 'end':
      s.end.run({ id: runId, status: rec.status, error: rec.error, at: rec.at });
      return;
  }
}

function fromJournal(set: JournalEvaluationSet) {
  return {
    ...set,
    predictions: set.predictions.map((p) => ({ ...p, image: p.image === null ? null : new Uint8Array(Buffer.from(p.image, 'base64')) })),
  };
}
