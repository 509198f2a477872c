// Downloads the public datasets of the catalog into <dataDir>/datasets/<id>/, electron-free (the
// desktop app and `npm run serve` both use it). Files are streamed to <name>.part and renamed to
// their final name only once their MD5 matches, so a reader never takes half a file for a dataset.
// A .part left by a dropped connection or a cancel is resumed with an HTTP Range request.
import { EventEmitter } from 'node:events';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { DownloadProgress, DownloadState } from '../../shared/api';
import { CATALOG, type CatalogEntry, type CatalogFile } from './download-catalog';
import { describe, discard, interrupted, md5File, readVerified, remember, responseSpan, StallGuard, statOrNull, type VerifiedRecord } from './download-file';

export type { DownloadProgress, DownloadState };

export interface DownloadManagerOptions {
  dataDir: string;
  catalog?: CatalogEntry[];
  fetch?: typeof fetch;
  /** A transfer that delivers no byte for this long fails (and can be resumed). */
  stallTimeoutMs?: number;
}

const RUNNING: readonly DownloadState[] = ['queued', 'downloading', 'verifying'];
const EMIT_EVERY_MS = 250; // a few progress events per second are enough for a progress bar
const RATE_WINDOW_MS = 3000;

/** The folder a catalog dataset is downloaded to (the trainer's readers look there). */
export function datasetDownloadDir(dataDir: string, id: string): string {
  return path.join(dataDir, 'datasets', id);
}

interface Job {
  entry: CatalogEntry;
  progress: DownloadProgress;
  abort: AbortController;
  done: Promise<DownloadProgress>;
  /** Each file's size once known: the catalog's, else the server's or the file on disk. */
  sizes: (number | null)[];
  /** Bytes of the files already complete, and of the current file on disk. */
  completeBytes: number;
  currentBytes: number;
  /** Bytes that came over the network in this job, sampled for the rate. */
  netBytes: number;
  samples: { t: number; bytes: number }[];
  lastEmit: number;
}

/** The outcome of fetching one file into its .part. */
interface Fetched {
  url: string | null;
  resumedFrom: number;
}

export class DownloadManager extends EventEmitter {
  private readonly catalog: CatalogEntry[];
  private readonly fetchFn: typeof fetch;
  private readonly stallTimeoutMs: number;
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly opts: DownloadManagerOptions) {
    super();
    this.catalog = opts.catalog ?? CATALOG;
    this.fetchFn = opts.fetch ?? fetch;
    this.stallTimeoutMs = opts.stallTimeoutMs ?? 60_000;
  }

  /** Starts (or resumes) the download of a dataset; while one runs, returns its progress. */
  start(id: string): DownloadProgress {
    const entry = this.catalog.find((e) => e.id === id);
    if (!entry) {
      throw new Error(`unknown dataset "${id}": the downloadable datasets are ${this.catalog.map((e) => e.id).join(', ')}`);
    }
    const running = this.jobs.get(id);
    if (running && RUNNING.includes(running.progress.state)) return { ...running.progress };
    let resolveDone!: (p: DownloadProgress) => void;
    const job: Job = {
      entry,
      progress: { id, state: 'queued', file: null, received: 0, total: null, bytesPerSecond: null, dir: datasetDownloadDir(this.opts.dataDir, id) },
      abort: new AbortController(),
      done: new Promise<DownloadProgress>((resolve) => (resolveDone = resolve)),
      sizes: entry.files.map((f) => f.bytes),
      completeBytes: 0,
      currentBytes: 0,
      netBytes: 0,
      samples: [],
      lastEmit: 0,
    };
    job.progress.total = totalOf(job.sizes);
    this.jobs.set(id, job);
    this.publish(job, true);
    // run() reports every failure in the job's state; the catch is a last guard so that nothing
    // can become an unhandled rejection and take the app down.
    void this.run(job)
      .catch((e: unknown) => this.finish(job, 'failed', `unexpected error: ${describe(e)}`))
      .then(() => resolveDone({ ...job.progress }));
    return { ...job.progress };
  }

  /** Stops a running download; its .part stays for a later start() to resume. The job stops a
   * moment later (its transfer or checksum sees the abort): until then its state is unchanged. */
  cancel(id: string): boolean {
    const job = this.jobs.get(id);
    if (!job || !RUNNING.includes(job.progress.state)) return false;
    job.abort.abort();
    return true;
  }

  /** cancel(), then the download's final progress once it has stopped (cancelled, or done or
   * failed when it ended first), its last 'progress' event already emitted; null when id was
   * never started. A caller that shows this answer beside the events shows no stale state:
   * the answer is never older than the events before it, and none follow. */
  async cancelAndWait(id: string): Promise<DownloadProgress | null> {
    const job = this.jobs.get(id);
    if (!job) return null;
    job.abort.abort(); // a finished job ignores it
    return job.done;
  }

  /** The downloads of this session, running or finished. */
  status(): DownloadProgress[] {
    return [...this.jobs.values()].map((j) => ({ ...j.progress }));
  }

  /** Resolves with the final progress (done, failed or cancelled) of the last start of id. */
  wait(id: string): Promise<DownloadProgress> {
    const job = this.jobs.get(id);
    if (!job) return Promise.reject(new Error(`no download of "${id}" was started`));
    return job.done;
  }

  /** Cancels what runs and waits for it to stop (at shutdown). */
  async close(): Promise<void> {
    const running = [...this.jobs.values()].filter((j) => RUNNING.includes(j.progress.state));
    for (const j of running) j.abort.abort();
    await Promise.all(running.map((j) => j.done));
  }

  private async run(job: Job): Promise<void> {
    const { entry, progress } = job;
    const signal = job.abort.signal;
    try {
      await fsp.mkdir(progress.dir, { recursive: true });
      const verified = await readVerified(progress.dir);
      for (const [i, f] of entry.files.entries()) {
        signal.throwIfAborted();
        const final = path.join(progress.dir, f.name);
        let size = await this.alreadyThere(job, i, f, final, verified);
        if (size === null) {
          const fetched = await this.fetchFile(job, i, f, final);
          size = await this.verifyPart(job, f, final, fetched, verified);
        }
        job.sizes[i] ??= size;
        job.completeBytes += size;
        job.currentBytes = 0;
      }
      progress.file = null;
      progress.received = job.completeBytes;
      progress.total = job.completeBytes;
      this.finish(job, 'done');
    } catch (e) {
      if (signal.aborted) this.finish(job, 'cancelled');
      else this.finish(job, 'failed', describe(e));
    }
  }

  /** The size of the final file when it is there and is the published one, else null (a file
   * under the final name that is not the published one is removed, to be downloaded again). */
  private async alreadyThere(job: Job, i: number, f: CatalogFile, final: string, verified: Record<string, VerifiedRecord>): Promise<number | null> {
    const st = await statOrNull(final);
    if (!st) return null;
    const rec = verified[f.name];
    if (rec && rec.md5 === f.md5 && rec.size === st.size && rec.mtimeMs === st.mtimeMs) return st.size;
    job.currentBytes = st.size;
    this.setState(job, 'verifying', f.name);
    const md5 = await md5File(final, job.abort.signal);
    if (md5 === f.md5) {
      job.sizes[i] ??= st.size;
      await remember(job.progress.dir, verified, f.name, { size: st.size, mtimeMs: st.mtimeMs, md5 });
      return st.size;
    }
    await fsp.rm(final, { force: true });
    job.currentBytes = 0;
    return null;
  }

  /** Fetches f into final + '.part', resuming what a previous attempt left there. Throws with a
   * message naming the file, the URLs tried and the bytes received when it cannot. */
  private async fetchFile(job: Job, i: number, f: CatalogFile, final: string): Promise<Fetched> {
    const part = `${final}.part`;
    let offset = (await statOrNull(part))?.size ?? 0;
    const known = job.sizes[i] ?? null;
    if (known !== null && offset === known) return { url: null, resumedFrom: offset }; // complete: verify it
    if (known !== null && offset > known) {
      await fsp.rm(part, { force: true }); // longer than the file: not a prefix of it
      offset = 0;
    }
    job.currentBytes = offset;
    this.setState(job, 'downloading', f.name);
    const errors: string[] = [];
    for (const url of f.urls) {
      const guard = new StallGuard(this.stallTimeoutMs);
      const signal = AbortSignal.any([job.abort.signal, guard.signal]);
      try {
        let res: Response;
        try {
          guard.arm();
          res = await this.fetchFn(url, { headers: offset > 0 ? { Range: `bytes=${offset}-` } : {}, signal });
        } catch (e) {
          if (job.abort.signal.aborted) throw e;
          // DNS, refused connection, TLS, a server that never answers: try the next mirror
          errors.push(`${url}: ${guard.stalled ? `no answer for ${this.stallTimeoutMs / 1000} s` : describe(e)}`);
          continue;
        }
        if (res.status === 416 && offset > 0) {
          await discard(res); // the part already holds the whole file: the checksum decides
          return { url, resumedFrom: offset };
        }
        if (res.status !== 200 && res.status !== 206) {
          await discard(res);
          errors.push(`${url}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
          continue;
        }
        const resumedFrom = await this.receive(job, i, f, url, res, part, offset, guard);
        return { url, resumedFrom };
      } finally {
        guard.stop();
      }
    }
    throw new Error(`${f.name}: could not download it (${errors.join('; ')})${offset > 0 ? `; ${offset} bytes from an earlier attempt are kept for a later resume` : ''}`);
  }

  /** Streams a 200 or 206 response into the part file; returns the offset it continued from. */
  private async receive(job: Job, i: number, f: CatalogFile, url: string, res: Response, part: string, offset: number, guard: StallGuard): Promise<number> {
    const span = responseSpan(res, offset);
    if (!span) {
      await discard(res);
      throw new Error(`${f.name}: ${url} answered a request for bytes ${offset}- with range "${res.headers.get('content-range') ?? ''}"; ${offset} bytes received so far are kept`);
    }
    const { from, end } = span;
    if (end !== null) job.sizes[i] ??= end;
    job.progress.total = totalOf(job.sizes);
    job.currentBytes = from;
    this.publish(job, true);

    const fh = await fsp.open(part, from > 0 ? 'a' : 'w');
    let got = from;
    try {
      guard.arm();
      if (res.body) {
        for await (const chunk of res.body) {
          guard.arm();
          await fh.write(chunk);
          got += chunk.byteLength;
          job.netBytes += chunk.byteLength;
          job.currentBytes = got;
          if (f.bytes !== null && got > f.bytes) break; // not the published file: no use taking more
          this.publish(job);
        }
      }
    } catch (e) {
      if (job.abort.signal.aborted) throw e;
      const why = guard.stalled ? `no data for ${this.stallTimeoutMs / 1000} s` : describe(e);
      throw interrupted(f, url, got, end, why);
    } finally {
      await fh.close();
    }
    if (f.bytes !== null && got > f.bytes) {
      await discard(res);
      await fsp.rm(part, { force: true });
      job.currentBytes = 0;
      throw new Error(`${f.name}: ${url} sent more than the file's ${f.bytes} bytes; the partial file was deleted`);
    }
    if (end !== null && got < end) throw interrupted(f, url, got, end, 'the body ended early');
    return from;
  }

  /** Checks the part's MD5 and gives it its final name; returns its size. */
  private async verifyPart(job: Job, f: CatalogFile, final: string, fetched: Fetched, verified: Record<string, VerifiedRecord>): Promise<number> {
    const part = `${final}.part`;
    this.setState(job, 'verifying', f.name);
    const md5 = await md5File(part, job.abort.signal);
    if (md5 !== f.md5) {
      await fsp.rm(part, { force: true });
      job.currentBytes = 0;
      const from = fetched.url ? ` from ${fetched.url}` : '';
      const resumed = fetched.resumedFrom > 0 ? ` (it was resumed at byte ${fetched.resumedFrom}; a new start downloads it from scratch)` : '';
      throw new Error(`${f.name}: checksum mismatch for the file downloaded${from}: expected MD5 ${f.md5}, got ${md5}${resumed}; the partial file was deleted`);
    }
    await fsp.rename(part, final);
    const st = await fsp.stat(final);
    await remember(job.progress.dir, verified, f.name, { size: st.size, mtimeMs: st.mtimeMs, md5 });
    return st.size;
  }

  private setState(job: Job, state: DownloadState, file: string | null): void {
    job.progress.state = state;
    job.progress.file = file;
    this.publish(job, true);
  }

  private finish(job: Job, state: 'done' | 'failed' | 'cancelled', error?: string): void {
    if (error === undefined) delete job.progress.error;
    else job.progress.error = error;
    job.progress.state = state;
    if (state !== 'done') job.progress.file = null;
    this.publish(job, true);
  }

  /** Emits 'progress': always when forced (state changes), else at most every EMIT_EVERY_MS. */
  private publish(job: Job, force = false): void {
    const now = performance.now();
    if (!force && now - job.lastEmit < EMIT_EVERY_MS) return;
    const p = job.progress;
    p.received = job.completeBytes + job.currentBytes;
    job.samples.push({ t: now, bytes: job.netBytes });
    // keep one sample at or before the window's start, so the rate spans the whole window
    while (job.samples.length > 2 && now - job.samples[1]!.t >= RATE_WINDOW_MS) job.samples.shift();
    const first = job.samples[0]!;
    p.bytesPerSecond = p.state === 'downloading' && now - first.t >= 200 ? Math.round(((job.netBytes - first.bytes) * 1000) / (now - first.t)) : null;
    job.lastEmit = now;
    try {
      this.emit('progress', { ...p });
    } catch (e) {
      // a listener's failure must not stop the download (nor be taken for its failure)
      process.stderr.write(`download progress listener failed: ${describe(e)}\n`);
    }
  }
}

function totalOf(sizes: (number | null)[]): number | null {
  return sizes.every((s) => s !== null) ? sizes.reduce<number>((a, s) => a + s!, 0) : null;
}
