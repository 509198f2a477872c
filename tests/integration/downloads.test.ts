// The dataset download manager against a local HTTP server (never the internet): full downloads
// with progress, resume after a dropped connection, servers that ignore ranges, checksum
// mismatches, cancel and resume, mirror fallback, files already present, parallel downloads.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../../src/main/services/download-catalog';
import { CATALOG } from '../../src/main/services/download-catalog';
import { DownloadManager, type DownloadProgress } from '../../src/main/services/downloads';
import { readIdxFile } from '../../src/data/idx';
import { cifarPythonEntries, writeTar } from '../helpers/dataset-fixtures';
import { writeFakeFashion } from '../helpers/datasets';
import { TestFileServer } from '../helpers/http-server';
import { tmpDataDir } from '../helpers/tmp';

const md5 = (b: Buffer): string => crypto.createHash('md5').update(b).digest('hex');

const IDX_NAMES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
const CIFAR = 'cifar-10-python.tar.gz';
const CIFAR_PATH = `/cifar/${CIFAR}`;

// Served bytes, made once: real gzipped IDX files (300 train + 100 test random images, ~320 KB)
// and a CIFAR-10 python tarball in the real layout (the committed fixture pickles) with an
// incompressible extra member, so that the transfer is long enough (~640 KB) to break off,
// cancel and resume at offsets well inside it.
const src = tmpDataDir('tb-dl-src-');
writeFakeFashion(src.dir, 300, 100);
const FASHION = new Map(IDX_NAMES.map((n) => [n, fs.readFileSync(path.join(src.dir, n))]));
let CIFAR_BYTES: Buffer;
beforeAll(async () => {
  const file = path.join(src.dir, CIFAR);
  await writeTar(file, [...cifarPythonEntries(10), { name: 'cifar-10-batches-py/padding.bin', data: crypto.randomBytes(600 * 1024) }]);
  CIFAR_BYTES = fs.readFileSync(file);
  src.cleanup();
});

/** The member names of a .tar.gz. */
async function tarMembers(file: string): Promise<string[]> {
  const names: string[] = [];
  const extract = tar.extract();
  extract.on('entry', (h, stream, next) => {
    names.push(h.name);
    stream.on('end', next);
    stream.resume();
  });
  const finished = new Promise<void>((resolve, reject) => {
    extract.on('finish', () => resolve());
    extract.on('error', reject);
  });
  fs.createReadStream(file).pipe(zlib.createGunzip()).pipe(extract);
  await finished;
  return names;
}

let tmp: ReturnType<typeof tmpDataDir>;
let server: TestFileServer;
let manager: DownloadManager;

function fashionEntry(): CatalogEntry {
  return {
    ...CATALOG.find((e) => e.id === 'fashion-mnist')!,
    files: IDX_NAMES.map((name) => ({ name, urls: [server.url(`/fashion/${name}`)], md5: md5(FASHION.get(name)!), bytes: FASHION.get(name)!.length })),
  };
}

function cifarEntry(urls = [server.url(CIFAR_PATH)], bytes: number | null = CIFAR_BYTES.length): CatalogEntry {
  return { ...CATALOG.find((e) => e.id === 'cifar10')!, files: [{ name: CIFAR, urls, md5: md5(CIFAR_BYTES), bytes }] };
}

function makeManager(catalog = [fashionEntry(), cifarEntry()], extra: Partial<ConstructorParameters<typeof DownloadManager>[0]> = {}): DownloadManager {
  return new DownloadManager({ dataDir: tmp.dir, catalog, ...extra });
}

/** Every progress event of one dataset, in order. */
function record(m: DownloadManager, id: string): DownloadProgress[] {
  const events: DownloadProgress[] = [];
  m.on('progress', (p: DownloadProgress) => {
    if (p.id === id) events.push(p);
  });
  return events;
}

const dsDir = (id: string): string => path.join(tmp.dir, 'datasets', id);
const cifarFile = (): string => path.join(dsDir('cifar10'), CIFAR);
const cifarPart = (): string => `${cifarFile()}.part`;

beforeEach(async () => {
  tmp = tmpDataDir('tb-dl-');
  server = new TestFileServer();
  for (const [n, b] of FASHION) server.files.set(`/fashion/${n}`, b);
  server.files.set(CIFAR_PATH, CIFAR_BYTES);
  await server.listen();
  manager = makeManager();
});

afterEach(async () => {
  await manager.close();
  await server.close();
  tmp.cleanup();
});

describe('catalog', () => {
  it('lists the five public datasets with an MD5 and a URL for every file', () => {
    expect(CATALOG.map((e) => e.id)).toEqual(['mnist', 'fashion-mnist', 'kmnist', 'cifar10', 'cifar100']);
    for (const e of CATALOG) {
      expect(e.files.length).toBe(e.format === 'idx' ? 4 : 1);
      for (const f of e.files) {
        expect(f.md5).toMatch(/^[0-9a-f]{32}$/);
        expect(f.urls.length).toBeGreaterThan(0);
        for (const u of f.urls) expect(u.endsWith(`/${f.name}`)).toBe(true);
      }
    }
    expect(CATALOG.find((e) => e.id === 'mnist')!.files[0]!.urls).toHaveLength(2); // a mirror
  });
});

describe('download manager', () => {
  it('downloads a dataset with progress events and leaves only verified files', async () => {
    const events = record(manager, 'fashion-mnist');
    const first = manager.start('fashion-mnist');
    expect(first.state).toBe('queued');
    expect(first.dir).toBe(dsDir('fashion-mnist'));
    const end = await manager.wait('fashion-mnist');

    expect(end.error).toBeUndefined();
    expect(end.state).toBe('done');
    const total = [...FASHION.values()].reduce((a, b) => a + b.length, 0);
    expect(end.received).toBe(total);
    expect(events.every((e) => e.total === total)).toBe(true); // the catalog knows every size
    for (let i = 1; i < events.length; i++) expect(events[i]!.received).toBeGreaterThanOrEqual(events[i - 1]!.received);
    const states = events.map((e) => e.state).filter((s, i, a) => s !== a[i - 1]);
    expect(states[0]).toBe('queued');
    expect(states.at(-1)).toBe('done');
    expect(states).toContain('downloading');
    expect(states).toContain('verifying');

    const files = fs.readdirSync(dsDir('fashion-mnist'));
    expect(files.filter((f) => f.endsWith('.part'))).toEqual([]);
    for (const n of IDX_NAMES) expect(fs.readFileSync(path.join(dsDir('fashion-mnist'), n)).equals(FASHION.get(n)!)).toBe(true);
    expect(readIdxFile(path.join(dsDir('fashion-mnist'), 'train-images-idx3-ubyte.gz')).dims).toEqual([300, 28, 28]);
    const verified = JSON.parse(fs.readFileSync(path.join(dsDir('fashion-mnist'), '.verified.json'), 'utf8')) as Record<string, { md5: string }>;
    expect(Object.keys(verified).sort()).toEqual([...IDX_NAMES].sort());
    expect(manager.status()).toEqual([end]);
  });

  it('throttles progress events and reports a throughput', async () => {
    // 40 chunks of 16 KiB, at least 25 ms apart: about a second of transfer.
    server.misbehave(CIFAR_PATH, { chunkDelayMs: 25 });
    const events = record(manager, 'cifar10');
    manager.start('cifar10');
    const end = await manager.wait('cifar10');
    expect(end.state).toBe('done');
    const chunks = Math.ceil(CIFAR_BYTES.length / 16384);
    const downloading = events.filter((e) => e.state === 'downloading');
    // one event per 250 ms plus the state changes: far fewer than one per chunk
    expect(downloading.length).toBeLessThan(chunks / 2);
    const rates = downloading.map((e) => e.bytesPerSecond).filter((r): r is number => r !== null);
    expect(rates.length).toBeGreaterThan(0);
    // the server sends at most 16 KiB per 25 ms (655 KB/s); 1.5x leaves room for window edges
    for (const r of rates) expect(r).toBeGreaterThan(0);
    for (const r of rates) expect(r).toBeLessThan((16384 / 0.025) * 1.5);
    expect(end.bytesPerSecond).toBeNull();
  });

  it('fails an interrupted transfer naming the URL and bytes, keeps the part, and resumes it', async () => {
    server.misbehave(CIFAR_PATH, { dropAfter: 200_000 });
    manager.start('cifar10');
    const failed = await manager.wait('cifar10');
    expect(failed.state).toBe('failed');
    expect(failed.error).toContain(server.url(CIFAR_PATH));
    expect(failed.error).toContain(CIFAR);
    // What reached us before the drop is kept (the last bytes in flight may be lost with the
    // connection: at most the 200,000 sent), and the message says how much.
    const kept = fs.statSync(cifarPart()).size;
    expect(kept).toBeGreaterThan(100_000);
    expect(kept).toBeLessThanOrEqual(200_000);
    expect(failed.error).toContain(String(kept));
    expect(fs.existsSync(cifarFile())).toBe(false);

    server.misbehave(CIFAR_PATH, {});
    manager.start('cifar10');
    const done = await manager.wait('cifar10');
    expect(done.state).toBe('done');
    expect(done.error).toBeUndefined();
    const reqs = server.requestsFor(CIFAR_PATH);
    expect(reqs.map((r) => [r.range, r.status])).toEqual([
      [null, 200],
      [`bytes=${kept}-`, 206],
    ]);
    expect(fs.readFileSync(cifarFile()).equals(CIFAR_BYTES)).toBe(true);
    expect(fs.existsSync(cifarPart())).toBe(false);
    expect(await tarMembers(cifarFile())).toContain('cifar-10-batches-py/data_batch_1'); // a whole tarball
  });

  it('starts over when the server ignores the range, and still verifies', async () => {
    server.misbehave(CIFAR_PATH, { dropAfter: 150_000 });
    manager.start('cifar10');
    expect((await manager.wait('cifar10')).state).toBe('failed');
    const kept = fs.statSync(cifarPart()).size; // up to the 150,000 sent

    server.misbehave(CIFAR_PATH, { ignoreRange: true });
    const events = record(manager, 'cifar10');
    manager.start('cifar10');
    const done = await manager.wait('cifar10');
    expect(done.state).toBe('done');
    expect(server.requestsFor(CIFAR_PATH).at(-1)).toMatchObject({ range: `bytes=${kept}-`, status: 200 });
    expect(fs.readFileSync(cifarFile()).equals(CIFAR_BYTES)).toBe(true);
    expect(done.received).toBe(CIFAR_BYTES.length); // not the part plus the whole file
    expect(events.every((e) => e.received <= CIFAR_BYTES.length)).toBe(true);
  });

  it('fails a checksum mismatch naming the file, the URL and both MD5s, and deletes the part', async () => {
    server.misbehave(CIFAR_PATH, { corrupt: true });
    manager.start('cifar10');
    const failed = await manager.wait('cifar10');
    expect(failed.state).toBe('failed');
    const expected = md5(CIFAR_BYTES);
    expect(failed.error).toContain(CIFAR);
    expect(failed.error).toContain(server.url(CIFAR_PATH));
    expect(failed.error).toContain(`expected MD5 ${expected}`);
    const actual = /got ([0-9a-f]{32})/.exec(failed.error!)?.[1];
    expect(actual).toBeDefined();
    expect(actual).not.toBe(expected);
    expect(fs.existsSync(cifarPart())).toBe(false);
    expect(fs.existsSync(cifarFile())).toBe(false);

    // a resumed file that fails its checksum is deleted too (no endless retries on one part)
    server.misbehave(CIFAR_PATH, { dropAfter: 100_000 });
    manager.start('cifar10');
    await manager.wait('cifar10');
    const resumedAt = fs.statSync(cifarPart()).size;
    server.misbehave(CIFAR_PATH, { corrupt: true });
    manager.start('cifar10');
    const again = await manager.wait('cifar10');
    expect(again.state).toBe('failed');
    expect(again.error).toContain(`resumed at byte ${resumedAt}`);
    expect(fs.existsSync(cifarPart())).toBe(false);

    // a server sending more than the catalog's size is cut off rather than followed to the end
    server.misbehave(CIFAR_PATH, {});
    await manager.close();
    manager = makeManager([cifarEntry(undefined, 300_000)]);
    manager.start('cifar10');
    const long = await manager.wait('cifar10');
    expect(long.state).toBe('failed');
    expect(long.error).toContain(`${CIFAR}: ${server.url(CIFAR_PATH)} sent more than the file's 300000 bytes`);
    expect(fs.existsSync(cifarPart())).toBe(false);
  });

  it('cancels mid-way keeping the part, and a later start resumes it', async () => {
    server.misbehave(CIFAR_PATH, { chunkDelayMs: 20 });
    let cancelled: boolean | null = null;
    manager.on('progress', (p: DownloadProgress) => {
      if (p.id === 'cifar10' && p.state === 'downloading' && p.received > 100_000 && cancelled === null) cancelled = manager.cancel('cifar10');
    });
    manager.start('cifar10');
    const end = await manager.wait('cifar10');
    expect(cancelled).toBe(true);
    expect(end.state).toBe('cancelled');
    expect(end.error).toBeUndefined();
    const kept = fs.statSync(cifarPart()).size;
    expect(kept).toBeGreaterThan(100_000);
    expect(kept).toBeLessThan(CIFAR_BYTES.length);
    expect(fs.existsSync(cifarFile())).toBe(false);
    expect(manager.cancel('cifar10')).toBe(false); // nothing runs any more

    server.misbehave(CIFAR_PATH, {});
    manager.start('cifar10');
    expect((await manager.wait('cifar10')).state).toBe('done');
    expect(server.requestsFor(CIFAR_PATH).at(-1)).toMatchObject({ range: `bytes=${kept}-`, status: 206 });
    expect(fs.readFileSync(cifarFile()).equals(CIFAR_BYTES)).toBe(true);
  });

  it('falls back to the next mirror on an HTTP error or a refused connection', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const refused = `http://127.0.0.1:${deadPort}/cifar/${CIFAR}`;
    server.misbehave(`/gone/${CIFAR}`, { status: 404 });
    // no size in the catalog: the total comes from the server's Content-Length
    manager = makeManager([cifarEntry([refused, server.url(`/gone/${CIFAR}`), server.url(CIFAR_PATH)], null)]);
    const events = record(manager, 'cifar10');
    manager.start('cifar10');
    const end = await manager.wait('cifar10');
    expect(end.error).toBeUndefined();
    expect(end.state).toBe('done');
    expect(server.requests.map((r) => [r.path, r.status])).toEqual([
      [`/gone/${CIFAR}`, 404],
      [CIFAR_PATH, 200],
    ]);
    expect(events[0]!.total).toBeNull();
    expect(end.total).toBe(CIFAR_BYTES.length);
    expect(fs.readFileSync(cifarFile()).equals(CIFAR_BYTES)).toBe(true);

    // every mirror failing: the message names each URL and what went wrong there
    await manager.close();
    fs.rmSync(dsDir('cifar10'), { recursive: true });
    manager = makeManager([cifarEntry([refused, server.url(`/gone/${CIFAR}`)])]);
    manager.start('cifar10');
    const failed = await manager.wait('cifar10');
    expect(failed.state).toBe('failed');
    expect(failed.error).toContain(refused);
    expect(failed.error).toMatch(/ECONNREFUSED/);
    expect(failed.error).toContain(`${server.url(`/gone/${CIFAR}`)}: HTTP 404`);
  });

  it('does not download files that are already present and verified', async () => {
    manager.start('fashion-mnist');
    expect((await manager.wait('fashion-mnist')).state).toBe('done');
    const requests = server.requests.length;

    // a new session: the record of verified files spares even the checksum
    await manager.close();
    manager = makeManager();
    const events = record(manager, 'fashion-mnist');
    manager.start('fashion-mnist');
    const again = await manager.wait('fashion-mnist');
    expect(again.state).toBe('done');
    expect(server.requests.length).toBe(requests);
    expect(events.map((e) => e.state)).toEqual(['queued', 'done']);

    // without the record, files are checked once (no request) and recorded again
    fs.rmSync(path.join(dsDir('fashion-mnist'), '.verified.json'));
    const checked = record(manager, 'fashion-mnist');
    manager.start('fashion-mnist');
    expect((await manager.wait('fashion-mnist')).state).toBe('done');
    expect(server.requests.length).toBe(requests);
    expect(checked.some((e) => e.state === 'verifying')).toBe(true);
    expect(fs.existsSync(path.join(dsDir('fashion-mnist'), '.verified.json'))).toBe(true);

    // a file under the final name that is not the published one is fetched again
    const labels = path.join(dsDir('fashion-mnist'), 't10k-labels-idx1-ubyte.gz');
    fs.writeFileSync(labels, 'not the labels');
    manager.start('fashion-mnist');
    expect((await manager.wait('fashion-mnist')).state).toBe('done');
    expect(server.requests.slice(requests).map((r) => r.path)).toEqual(['/fashion/t10k-labels-idx1-ubyte.gz']);
    expect(fs.readFileSync(labels).equals(FASHION.get('t10k-labels-idx1-ubyte.gz')!)).toBe(true);
  });

  it('runs two datasets at once, one job per dataset', async () => {
    server.misbehave(CIFAR_PATH, { chunkDelayMs: 10 });
    for (const n of IDX_NAMES) server.misbehave(`/fashion/${n}`, { chunkDelayMs: 10 });
    let overlapped = false;
    manager.on('progress', () => {
      const s = manager.status();
      if (s.length === 2 && s.every((p) => p.state === 'downloading')) overlapped = true;
    });
    const a = manager.start('fashion-mnist');
    const b = manager.start('cifar10');
    expect(manager.start('cifar10')).toMatchObject({ id: 'cifar10', state: b.state }); // idempotent while running
    const [ea, eb] = await Promise.all([manager.wait(a.id), manager.wait(b.id)]);
    expect([ea.state, eb.state]).toEqual(['done', 'done']);
    expect(overlapped).toBe(true);
    expect(server.requestsFor(CIFAR_PATH)).toHaveLength(1);
    expect(fs.readFileSync(cifarFile()).equals(CIFAR_BYTES)).toBe(true);
    for (const n of IDX_NAMES) expect(fs.readFileSync(path.join(dsDir('fashion-mnist'), n)).equals(FASHION.get(n)!)).toBe(true);
  });

  it('refuses an unknown dataset by name', async () => {
    expect(() => manager.start('imagenet')).toThrow(/unknown dataset "imagenet"/);
    await expect(manager.wait('imagenet')).rejects.toThrow(/imagenet/);
    expect(manager.cancel('imagenet')).toBe(false);
  });

  it('fails a stalled transfer, and a throwing fetch, without an unhandled rejection', async () => {
    server.misbehave(CIFAR_PATH, { chunkDelayMs: 5_000 });
    manager = makeManager(undefined, { stallTimeoutMs: 300 });
    manager.start('cifar10');
    const stalled = await manager.wait('cifar10');
    expect(stalled.state).toBe('failed');
    expect(stalled.error).toMatch(/no data for 0\.3 s/);
    expect(stalled.error).toContain(server.url(CIFAR_PATH));

    await manager.close();
    manager = makeManager(undefined, {
      fetch: () => {
        throw new Error('boom');
      },
    });
    manager.start('fashion-mnist');
    const failed = await manager.wait('fashion-mnist');
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatch(/train-images-idx3-ubyte\.gz: could not download it .*boom/);
  });
});
