// Dataset previews are made off the host's main thread: while a preview is being made, the host
// answers other requests. No timings decide it: the preview's training images are a named pipe
// (FIFO) that only this test writes, so the preview provably cannot finish before the test lets
// it, and the test knows it has started when the pipe has a reader. A preview made on the main
// thread would block in that read, answer nothing, and fail below (a watchdog ends the block).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { SampleGrid } from '../../src/shared/api';
import type { Handlers } from '../../src/main/handlers';
import { startServer, type WebServer } from '../../src/main/server';
import { DatasetService } from '../../src/main/services/datasets';
import { Store } from '../../src/store/store';
import { idxPixel, writeIdxDir } from '../helpers/dataset-fixtures';
import { tmpDataDir } from '../helpers/tmp';

let tmp: ReturnType<typeof tmpDataDir>;
let store: Store;

beforeEach(() => {
  tmp = tmpDataDir('tb-preview-');
  store = new Store(tmp.dir);
});

afterEach(() => {
  store.close();
  tmp.cleanup();
});

function request(server: WebServer, method: string, at: string, headers: http.OutgoingHttpHeaders = {}, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, method, path: at, headers: { host: `127.0.0.1:${server.port}`, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A write end of the FIFO once a reader has it open (the preview has reached the read), or null
 * when `gaveUp()` says to stop looking. */
async function writerOnceRead(fifo: string, gaveUp: () => boolean): Promise<number | null> {
  for (;;) {
    try {
      return fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENXIO') throw e; // ENXIO: no reader yet
    }
    if (gaveUp()) return null;
    await sleep(20);
  }
}

it.skipIf(process.platform === 'win32')('answers runs:list and the dataset list while a preview is being made, then the preview shows the right images', async () => {
  const dir = path.join(tmp.dir, 'datasets', 'mnist');
  writeIdxDir(dir, { train: 200, test: 20, gz: false, h: 8, w: 8 });
  const fifo = path.join(dir, 'train-images-idx3-ubyte');
  const bytes = fs.readFileSync(fifo);
  expect(bytes.length).toBeLessThan(65536); // fits the pipe's buffer: written at once below
  fs.rmSync(fifo);
  await new Promise<void>((resolve, reject) => spawn('mkfifo', [fifo], { stdio: 'inherit' }).on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`mkfifo exited ${c}`)))));

  const ds = new DatasetService({ store, dataDir: tmp.dir, systemDir: path.join(tmp.dir, 'system') });
  const staticDir = path.join(tmp.dir, 'renderer');
  fs.mkdirSync(staticDir);
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>Trickbench</title>');
  const handlers = {
    'runs:list': () => store.listRuns(),
    'datasets:list': () => ds.list(),
    'datasets:samples': (a: never) => ds.samples(a),
  } as unknown as Handlers;
  const server = await startServer({ handlers, store, staticDir, port: 0 });
  // Should the preview block the host's thread, this ends the block after a minute (the test
  // then fails on its assertions instead of hanging).
  const watchdog: ChildProcess = spawn(process.execPath, ['-e', 'setTimeout(() => require("fs").writeFileSync(process.argv[1], "x"), 60000)', fifo], { stdio: 'ignore' });
  let writer: number | null = null;
  try {
    const page = await request(server, 'GET', `/?token=${server.token}`);
    const cookie = String(page.headers['set-cookie']![0]).split(';')[0]!;
    const invoke = (channel: string, arg: unknown) =>
      request(server, 'POST', `/api/invoke/${channel}`, { cookie, origin: `http://127.0.0.1:${server.port}`, 'content-type': 'application/json' }, JSON.stringify(arg)).then((r) => {
        expect(r.status).toBe(200);
        return JSON.parse(r.body) as { ok: boolean; value: unknown };
      });

    let previewDone = false;
    const preview = invoke('datasets:samples', { name: 'mnist', perClass: 2, augment: [{ name: 'hflip' }] }).finally(() => (previewDone = true));
    const opened = await writerOnceRead(fifo, () => previewDone);
    if (opened === null) throw new Error(`the preview ended without reading the dataset: ${JSON.stringify(await preview)}`);
    writer = opened;
    // The preview is inside its read now and cannot finish until the pipe is written.
    expect(await invoke('runs:list', null)).toEqual({ ok: true, value: [] });
    const list = (await invoke('datasets:list', null)) as { ok: boolean; value: { name: string; origin: string | null }[] };
    expect(list.value.find((d) => d.name === 'mnist')?.origin).toBe('data-dir');
    expect(previewDone).toBe(false);

    fs.writeSync(opened, bytes);
    fs.closeSync(opened);
    writer = null;
    const r = await preview;
    expect(r.ok).toBe(true);
    const grid = r.value as SampleGrid;
    expect(grid.shape).toEqual([8, 8, 1]);
    expect(grid.augmentedShape).toEqual([8, 8, 1]);
    expect(grid.samples.map((s) => s.label)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9]);
    for (const s of grid.samples) {
      const image = Buffer.from(s.image, 'base64');
      expect(image).toHaveLength(64);
      expect(image[0]).toBe(idxPixel(s.label)); // the fixture's pixels, read through the pipe
      expect(image[1]).toBe(s.index % 256);
    }
  } finally {
    // A preview still waiting on the pipe gets its end (and fails) rather than holding a thread.
    writer ??= await writerOnceRead(fifo, () => true);
    if (writer !== null) fs.closeSync(writer);
    watchdog.kill();
    await server.close();
    await ds.close();
  }
});
