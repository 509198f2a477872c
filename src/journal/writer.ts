// Writing a run journal (format.ts), and a Store that mirrors the trainer's writes into one: the
// cluster task (task.ts) gives executeRun a JournaledStore over a store on node-local disk, so the
// trainer runs unchanged while every row it writes also goes to the journal on the shared folder.
import fs from 'node:fs';
import type { MetricPoint, RunEvent, RunStatus } from '../shared/api';
import type { EvaluationSet } from '../store/evaluation-repo';
import type { OpenOptions } from '../store/db';
import { Store } from '../store/store';
import { JOURNAL_VERSION, type JournalDraft, type JournalEvaluationSet, type JournalRecord } from './format';

/** fsync at most this long after an unsynced append. */
export const SYNC_INTERVAL_MS = 2000;

/**
 * Appends records to a journal, one JSON line each, in one write(2) per record on a descriptor
 * opened O_APPEND, so a line is never interleaved with another and a crash leaves at most the last
 * line torn (which the ingester does not read: it has no '\n').
 *
 * When the data is forced to disk (fsync), and why:
 * - at `start`, `resume` and `end`: the lifecycle records the server's state is decided from;
 * - on a metrics record that holds a point at a whole epoch: the epoch's end, right before the
 *   trainer writes that epoch's checkpoint. A checkpoint must never outlive the journal lines
 *   before it: a resume from it rewrites only the steps after it, so lines lost in a node crash
 *   before it would be lost for good;
 * - otherwise at most SYNC_INTERVAL_MS after an append (a timer): on NFS a client's writes reach
 *   the server (and become visible to the login node, the live curves) only when flushed, and a
 *   node crash loses at most those seconds, which the resume from the last checkpoint rewrites.
 * Syncing every line instead would cost a round trip to the file server per training step.
 */
export class JournalWriter {
  private fd: number | null;
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private lastSync = 0;

  constructor(readonly file: string) {
    try {
      // a+: O_APPEND (every write lands at the end), readable for the tail check.
      this.fd = fs.openSync(file, 'a+');
      this.repaired = this.repair();
    } catch (e) {
      throw new Error(`cannot open the run journal ${file} for appending: ${(e as Error).message}`);
    }
  }

  /** What the constructor cut from an earlier attempt's end (see repair), or null. */
  readonly repaired: { fromByte: number; bytes: number } | null = null;

  /** An earlier attempt that died can leave two kinds of garbage after its last good line: a last
   * line without '\n' (killed in the middle of a write), and, when its node died with writes in
   * flight over NFS, a range of NUL bytes (a later write reached the file server, an earlier one
   * never did). Appending after either would leave a line the ingester stops at for good, so the
   * file is cut at the start of the first such line. That never cuts what was ingested (the
   * ingester stops before such a line) and loses nothing a resume needs: everything up to each
   * epoch's end was synced before that epoch's checkpoint was written, so the garbage lies in the
   * part after the last checkpoint, which the resume trains again. */
  private repair(): { fromByte: number; bytes: number } | null {
    const fd = this.fd!;
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(size, 1 << 20));
    let pos = 0;
    let lineStart = 0; // after the last '\n' seen
    let cut = -1;
    while (pos < size) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      const nul = chunk.indexOf(0);
      const nl = (nul >= 0 ? chunk.subarray(0, nul) : chunk).lastIndexOf(0x0a);
      if (nl >= 0) lineStart = pos + nl + 1;
      if (nul >= 0) {
        cut = lineStart;
        break;
      }
      pos += n;
    }
    if (cut < 0) cut = lineStart; // a torn last line, or none
    if (cut === size) return null;
    fs.ftruncateSync(fd, cut);
    return { fromByte: cut, bytes: size - cut };
  }

  /** Append one record (stamped with the version and now); synced as the policy above says. */
  append(draft: JournalDraft): JournalRecord {
    if (this.fd === null) throw new Error(`the run journal ${this.file} is closed`);
    const rec = { v: JOURNAL_VERSION, at: Date.now(), ...draft } as JournalRecord;
    const buf = Buffer.from(`${JSON.stringify(rec)}\n`, 'utf8');
    let off = 0;
    // One write for the whole line; a short write (a signal, a full disk) continues where it stopped.
    while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off);
    this.dirty = true;
    if (mustSync(rec)) this.sync();
    else this.scheduleSync();
    return rec;
  }

  private scheduleSync(): void {
    if (this.timer) return;
    const wait = Math.max(0, SYNC_INTERVAL_MS - (Date.now() - this.lastSync));
    this.timer = setTimeout(() => {
      this.timer = null;
      try {
        this.sync();
      } catch {
        // the next append or sync reports a journal that cannot be written
      }
    }, wait);
    this.timer.unref();
  }

  sync(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.fd === null || !this.dirty) return;
    fs.fsyncSync(this.fd);
    this.dirty = false;
    this.lastSync = Date.now();
  }

  close(): void {
    if (this.fd === null) return;
    try {
      this.sync();
    } finally {
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }
}

function mustSync(r: JournalRecord): boolean {
  if (r.kind === 'start' || r.kind === 'resume' || r.kind === 'end' || r.kind === 'evaluation') return true;
  return r.kind === 'metrics' && r.points.some((p) => Number.isInteger(p.epoch) && p.epoch > 0);
}

/** An evaluation set as a journal carries it (the pixels as base64). */
export function evaluationRecord(set: EvaluationSet): JournalEvaluationSet {
  return {
    ...set,
    imageShape: [...set.imageShape],
    predictions: set.predictions.map((p) => ({ ...p, image: p.image ? Buffer.from(p.image.buffer, p.image.byteOffset, p.image.byteLength).toString('base64') : null })),
  };
}

/**
 * The store a cluster task's trainer writes to: a store on node-local disk that also appends what
 * the trainer writes (metrics, events, backend, resume, evaluation, end) to the run's journal,
 * after the local store took it (so the journal never holds a row the store refused). Reads are
 * the local store's. Only the run `runId` is mirrored.
 */
export class JournaledStore extends Store {
  /** Whether this attempt's `end` record was written (task.ts writes one from the outcome if not). */
  ended = false;
  private mirrorEvents = true;

  constructor(
    dataDir: string,
    readonly journal: JournalWriter,
    readonly runId: number,
    opts: OpenOptions = {},
  ) {
    super(dataDir, opts);
    const repo = this.evaluations;
    const save = repo.save.bind(repo);
    repo.save = (id, set) => {
      save(id, set);
      if (id === this.runId) this.journal.append({ kind: 'evaluation', set: evaluationRecord(set) });
    };
  }

  override addMetrics(runId: number, points: readonly MetricPoint[]): void {
    super.addMetrics(runId, points);
    if (runId === this.runId && points.length) this.journal.append({ kind: 'metrics', points: [...points] });
  }

  override addEvent(runId: number, e: RunEvent): void {
    super.addEvent(runId, e);
    if (runId === this.runId && this.mirrorEvents) this.journal.append({ kind: 'event', event: e });
  }

  override setBackend(id: number, backend: string, device: string): void {
    super.setBackend(id, backend, device);
    if (id === this.runId) this.journal.append({ kind: 'backend', backend, device });
  }

  override beginResume(runId: number, fromStep: number, e: RunEvent): void {
    // Store.beginResume records its event through addEvent: not mirrored twice (the resume record
    // carries it).
    const mirror = this.mirrorEvents;
    this.mirrorEvents = false;
    try {
      super.beginResume(runId, fromStep, e);
    } finally {
      this.mirrorEvents = mirror;
    }
    if (runId === this.runId) this.journal.append({ kind: 'resume', step: fromStep, event: e });
  }

  override finishRun(id: number, status: RunStatus, error: string | null = null): boolean {
    const changed = super.finishRun(id, status, error);
    if (id === this.runId && changed) this.end(status, error);
    return changed;
  }

  /** This attempt's end record (once). */
  end(status: RunStatus, error: string | null): void {
    if (this.ended) return;
    if (status === 'queued' || status === 'running') throw new Error(`not a final status: ${status}`);
    this.journal.append({ kind: 'end', status, error });
    this.ended = true;
  }
}
