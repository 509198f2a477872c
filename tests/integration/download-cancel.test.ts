// Cancelling a dataset download at each stage, against a fake source the test drives step by
// step (no network, no timing): before the transfer starts, while the request waits for an
// answer, between the answer and its first byte, in the middle of the body, while the checksum
// is computed. Every time the answer to cancel (what the page shows) is the final state,
// 'cancelled', the same as the last progress event before it, and no event follows: the
// browser test once saw 'downloading' stay after Cancel, because the answer was taken while
// the download was still stopping and could reach the page after the 'cancelled' event.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../../src/main/services/download-catalog';
import { DatasetService } from '../../src/main/services/datasets';
import { datasetDownloadDir, DownloadManager, type DownloadProgress } from '../../src/main/services/downloads';
import { Store } from '../../src/store/store';
import { tmpDataDir } from '../helpers/tmp';

const CHUNK = 1000;
const FILE = crypto.randomBytes(3 * CHUNK);
const NAME = 'data.bin';
const ID = 'kmnist'; // served by the fake source below, never the real mirrors
const ENTRY: CatalogEntry = {
  id: ID,
  title: 'Kuzushiji-MNIST (fake)',
  format: 'idx',
  homepage: '',
  citation: '',
  files: [{ name: NAME, urls: ['http://mirror.invalid/data.bin'], md5: crypto.createHash('md5').update(FILE).digest('hex'), bytes: FILE.length }],
};

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** One request to the fake source: the test answers it, then hands out the body one chunk per
 * read (pulled(): the reader asked for more, so everything before was written to disk). An abort
 * fails the pending fetch or the body, as fetch does. */
class Transfer {
  private answer = deferred<Response>();
  private pull: { done: () => void; controller: ReadableStreamDefaultController<Uint8Array> } | null = null;
  private pullWaiters: (() => void)[] = [];
  readonly response: Promise<Response>;

  constructor(readonly signal: AbortSignal) {
    this.response = new Promise<Response>((resolve, reject) => {
      void this.answer.promise.then(resolve);
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
    });
  }

  respond(): void {
    const body = new ReadableStream<Uint8Array>(
      {
        pull: (controller) =>
          new Promise<void>((done) => {
            this.pull = { done, controller };
            for (const w of this.pullWaiters.splice(0)) w();
          }),
      },
      { highWaterMark: 0 },
    );
    this.signal.addEventListener(
      'abort',
      () => {
        const p = this.pull;
        this.pull = null;
        try {
          p?.controller.error(this.signal.reason);
        } finally {
          p?.done();
        }
      },
      { once: true },
    );
    this.answer.resolve(new Response(body, { status: 200, headers: { 'content-length': String(FILE.length) } }));
  }

  /** Resolves once the reader waits for the next chunk. */
  pulled(): Promise<void> {
    if (this.pull) return Promise.resolve();
    return new Promise((r) => this.pullWaiters.push(r));
  }

  send(bytes: Uint8Array): void {
    const p = this.pull!;
    this.pull = null;
    p.controller.enqueue(bytes);
    p.done();
  }

  end(): void {
    const p = this.pull!;
    this.pull = null;
    p.controller.close();
    p.done();
  }
}

let tmp: ReturnType<typeof tmpDataDir>;
let store: Store;
let datasets: DatasetService;
let manager: DownloadManager;
let events: DownloadProgress[];
let transfers: Transfer[];
let nextTransfer: (() => void)[];
/** Called with each progress event as it is emitted (a cancel from inside a stage). */
let onEvent: (p: DownloadProgress) => void;

beforeEach(() => {
  tmp = tmpDataDir('tb-dl-cancel-');
  store = new Store(tmp.dir);
  events = [];
  transfers = [];
  nextTransfer = [];
  onEvent = () => {};
  const fakeFetch = ((_url: string, init: RequestInit) => {
    const t = new Transfer(init.signal!);
    transfers.push(t);
    for (const w of nextTransfer.splice(0)) w();
    return t.response;
  }) as unknown as typeof fetch;
  manager = new DownloadManager({ dataDir: tmp.dir, catalog: [ENTRY], fetch: fakeFetch });
  datasets = new DatasetService({
    store,
    dataDir: tmp.dir,
    systemDir: path.join(tmp.dir, 'no-system-datasets'),
    catalog: [ENTRY],
    downloads: manager,
    refreshOnDownload: false,
    emit: (event, payload) => {
      if (event !== 'datasets:download') return;
      events.push(payload as DownloadProgress);
      onEvent(payload as DownloadProgress);
    },
  });
});

afterEach(async () => {
  await manager.close();
  store.close();
  tmp.cleanup();
});

function requested(): Promise<Transfer> {
  if (transfers.length) return Promise.resolve(transfers[0]!);
  return new Promise((r) => nextTransfer.push(() => r(transfers[0]!)));
}

const part = () => path.join(datasetDownloadDir(tmp.dir, ID), `${NAME}.part`);
const final = () => path.join(datasetDownloadDir(tmp.dir, ID), NAME);

/** Cancels as the page does and checks what it would show: the final state, equal to the last
 * event, with no event after it. */
async function cancelAsThePageDoes(): Promise<DownloadProgress> {
  const reply = await datasets.cancelDownload(ID);
  expect(reply.state).toBe('cancelled');
  expect(events.at(-1)).toEqual(reply);
  const n = events.length;
  expect(await manager.wait(ID)).toEqual(reply);
  expect(events.length).toBe(n);
  expect(manager.status()).toEqual([reply]);
  return reply;
}

describe('cancelling a download', () => {
  it('while queued, before anything was requested', async () => {
    expect(datasets.download(ID).state).toBe('queued');
    const reply = await cancelAsThePageDoes();
    expect(reply.received).toBe(0);
    expect(transfers).toHaveLength(0);
  });

  it('while the request waits for an answer', async () => {
    datasets.download(ID);
    const t = await requested();
    expect(events.at(-1)?.state).toBe('downloading');
    await cancelAsThePageDoes();
    expect(t.signal.aborted).toBe(true);
    expect(fs.existsSync(final())).toBe(false);
  });

  it('between the answer and its first byte', async () => {
    datasets.download(ID);
    const t = await requested();
    t.respond();
    await t.pulled();
    const reply = await cancelAsThePageDoes();
    expect(reply.received).toBe(0);
  });

  it('in the middle of the body: what came is kept for the resume', async () => {
    datasets.download(ID);
    const t = await requested();
    t.respond();
    await t.pulled();
    t.send(FILE.subarray(0, CHUNK));
    await t.pulled(); // the first chunk is on disk
    const reply = await cancelAsThePageDoes();
    expect(reply.received).toBe(CHUNK);
    expect(fs.statSync(part()).size).toBe(CHUNK);
    expect(fs.existsSync(final())).toBe(false);
  });

  it('while the checksum is computed: the complete .part stays unverified', async () => {
    let cancelled: Promise<DownloadProgress> | null = null;
    onEvent = (p) => {
      if (p.state === 'verifying' && !cancelled) cancelled = datasets.cancelDownload(ID);
    };
    datasets.download(ID);
    const t = await requested();
    t.respond();
    for (let at = 0; at < FILE.length; at += CHUNK) {
      await t.pulled();
      t.send(FILE.subarray(at, at + CHUNK));
    }
    await t.pulled();
    t.end();
    const reply = await manager.wait(ID);
    expect(cancelled).not.toBeNull();
    expect(await cancelled!).toEqual(reply);
    expect(reply.state).toBe('cancelled');
    expect(events.at(-1)).toEqual(reply);
    expect(fs.statSync(part()).size).toBe(FILE.length);
    expect(fs.existsSync(final())).toBe(false);
  });

  it('after it ended: the answer is how it ended', async () => {
    datasets.download(ID);
    const t = await requested();
    t.respond();
    for (let at = 0; at < FILE.length; at += CHUNK) {
      await t.pulled();
      t.send(FILE.subarray(at, at + CHUNK));
    }
    await t.pulled();
    t.end();
    const done = await manager.wait(ID);
    expect(done.state).toBe('done');
    expect(await datasets.cancelDownload(ID)).toEqual(done);
    expect(fs.readFileSync(final()).equals(FILE)).toBe(true);
  });
});
