// The journal's round trip: what a JournaledStore mirrors, ingestJournal brings into another store,
// once, whatever happens to the ingester (a second call, a restart, a torn line, a concurrent
// append), and never past a bad line or from a rewritten file.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ingestJournal, INGEST_CHUNK_LINES } from '../../src/journal/ingest';
import { JournalError } from '../../src/journal/format';
import { JournalWriter, JournaledStore } from '../../src/journal/writer';
import type { MetricPoint, RunEvent } from '../../src/shared/api';
import { defaultRunConfig } from '../../src/shared/config';
import { Store } from '../../src/store/store';
import { ROOT } from '../helpers/trainer';
import { tmpDataDir } from '../helpers/tmp';

let tmp: ReturnType<typeof tmpDataDir>;
let server: Store;
let file: string;
const opened: Store[] = [];
const realRead = fs.readSync;
beforeEach(() => {
  tmp = tmpDataDir('tb-ingest-');
  server = new Store(path.join(tmp.dir, 'server'));
  opened.push(server);
  file = path.join(tmp.dir, 'journal.jsonl');
});
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
  tmp.cleanup();
});

const config = defaultRunConfig();
const pt = (key: string, step: number, value: number): MetricPoint => ({ key, step, epoch: step / 10, value, time: 1000 + step });
const ev = (kind: string, step: number, payload: Record<string, unknown> = {}): RunEvent => ({ kind, epoch: Math.floor(step / 10), step, payload, time: 2000 + step });
const offset = (s: Store, id: number) => s.db.prepare('SELECT bytes, lines FROM journal_offset WHERE run_id = ?').get(id) as { bytes: number; lines: number } | undefined;
const metricCount = (s: Store, id: number) => (s.db.prepare('SELECT COUNT(*) AS n FROM metric WHERE run_id = ?').get(id) as { n: number }).n;

/** A node-local store journaling run `id` (the same id as the server's). */
function local(id: number) {
  const writer = new JournalWriter(file);
  const store = new JournaledStore(path.join(tmp.dir, 'local'), writer, id);
  opened.push(store);
  store.createRunWithId(id, config, 'local');
  return { writer, store };
}

describe('ingestJournal', () => {
  it('brings what the trainer wrote through a JournaledStore into the server store, once', () => {
    const run = server.createRun(config, 'queued');
    const { writer, store } = local(run.id);
    writer.append({ kind: 'start', attempt: 0, jobId: '7_0', host: 'node1', pid: 1 });
    store.setBackend(run.id, 'wasm', 'cpu');
    store.addEvent(run.id, ev('run.start', 0, { backend: 'wasm' }));
    store.addMetrics(run.id, [pt('train/loss_step', 1, 2.3), pt('train/loss_step', 2, 2.1)]);
    store.addMetrics(run.id, [pt('val/acc', 10, 0.4), pt('train/loss_step', 3, 2.0)]);
    // the checkpoint was at step 1: what came after it goes, and only step 2 is trained again
    store.beginResume(run.id, 1, ev('run.resume', 1, { fromEpoch: 0, fromStep: 1 }));
    store.addMetrics(run.id, [pt('train/loss_step', 2, 2.05), pt('val/acc', 10, 0.45)]);
    store.evaluations.save(run.id, {
      evaluations: [{ checkpoint: 'last', epoch: 1, step: 10, n: 2, loss: 1, acc: 0.5, top5: null, confusion: [[1, 0], [1, 0]], perClass: [1, 0] }],
      classNames: ['a', 'b'],
      imageShape: [1, 1, 1],
      predictions: [
        { index: 0, label: 0, pred: 0, confidence: 0.9, image: new Uint8Array([7]) },
        { index: 1, label: 1, pred: 0, confidence: 0.6, image: null },
      ],
    });
    store.finishRun(run.id, 'completed');
    writer.close();

    const r = ingestJournal(server, run.id, file);
    expect(r.ended).toEqual({ status: 'completed', error: null });
    expect(r.linesAdded).toBe(fs.readFileSync(file, 'utf8').trimEnd().split('\n').length);
    expect(r.lastAt).toBeGreaterThan(0);
    expect(server.history(run.id)).toEqual(store.history(run.id));
    expect(server.history(run.id)['train/loss_step']!.map((p) => [p.step, p.value])).toEqual([[1, 2.3], [2, 2.05]]);
    expect(server.events(run.id)).toEqual(store.events(run.id));
    expect(server.events(run.id).map((e) => e.kind)).toEqual(['run.start', 'run.resume']);
    expect(server.evaluations.get(run.id)).toEqual(store.evaluations.get(run.id));
    expect(server.evaluations.predictions(run.id, 'leastConfident', 10, 0).rows.map((p) => p.image)).toEqual([null, Buffer.from([7]).toString('base64')]);
    expect(server.getRun(run.id)).toMatchObject({ status: 'completed', backend: 'wasm', device: 'cpu', host: 'node1', pid: null, error: null });

    // again, and after a "restart" (a new Store on the same database): nothing more
    const n = metricCount(server, run.id);
    const events = server.events(run.id).length;
    expect(ingestJournal(server, run.id, file)).toEqual({ ...r, linesAdded: 0 });
    const restarted = new Store(server.dataDir);
    opened.push(restarted);
    expect(ingestJournal(restarted, run.id, file)).toEqual({ ...r, linesAdded: 0 });
    expect(metricCount(restarted, run.id)).toBe(n);
    expect(restarted.events(run.id)).toHaveLength(events);
  });

  it('ingests a torn last line only once it is complete', () => {
    const run = server.createRun(config, 'queued');
    fs.writeFileSync(file, `${JSON.stringify({ v: 1, at: 1, kind: 'start', attempt: 0, jobId: null, host: 'n', pid: 1 })}\n`);
    const line = JSON.stringify({ v: 1, at: 2, kind: 'metrics', points: [pt('train/loss', 1, 1.5)] });
    fs.appendFileSync(file, line.slice(0, 20));
    expect(ingestJournal(server, run.id, file)).toEqual({ linesAdded: 1, ended: null, lastAt: 1, waiting: null });
    expect(server.getRun(run.id)!.status).toBe('running');
    expect(metricCount(server, run.id)).toBe(0);
    fs.appendFileSync(file, `${line.slice(20)}\n`);
    expect(ingestJournal(server, run.id, file)).toEqual({ linesAdded: 1, ended: null, lastAt: 2, waiting: null });
    expect(ingestJournal(server, run.id, file).linesAdded).toBe(0);
    expect(server.history(run.id)['train/loss']).toEqual([pt('train/loss', 1, 1.5)]);
  });

  it('waits at a line whose bytes are not written back yet (NUL bytes over NFS), without an error', () => {
    const run = server.createRun(config, 'queued');
    const line = JSON.stringify({ v: 1, at: 5, kind: 'metrics', points: [pt('k', 1, 1)] });
    fs.writeFileSync(file, `${'\0'.repeat(line.length)}\n`);
    const r = ingestJournal(server, run.id, file);
    expect(r).toMatchObject({ linesAdded: 0, waiting: expect.stringContaining(`${file}:1: holds NUL bytes`) });
    expect(offset(server, run.id)).toBeUndefined();
    fs.writeFileSync(file, `${line}\n`);
    expect(ingestJournal(server, run.id, file)).toEqual({ linesAdded: 1, ended: null, lastAt: 5, waiting: null });
  });

  it('loses nothing while another process appends', async () => {
    const run = server.createRun(config, 'queued');
    const N = 3000;
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'tests/helpers/journal-append.ts'), file, String(N)], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    let done = false;
    void exited.then(() => (done = true));
    let total = 0;
    let calls = 0;
    while (!done) {
      total += ingestJournal(server, run.id, file).linesAdded;
      calls++;
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(await exited, stderr).toBe(0);
    total += ingestJournal(server, run.id, file).linesAdded;
    expect(calls).toBeGreaterThan(1);
    expect(total).toBe(N);
    const steps = server.history(run.id, ['train/loss_step'])['train/loss_step']!.map((p) => p.step);
    expect(steps).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(offset(server, run.id)).toEqual({ bytes: fs.statSync(file).size, lines: N });
  });

  it('applies a long journal in chunks, each with its offset', () => {
    const run = server.createRun(config, 'queued');
    const n = INGEST_CHUNK_LINES * 2 + 3;
    const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ v: 1, at: i, kind: 'metrics', points: [pt('k', i, i)] }));
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    expect(ingestJournal(server, run.id, file).linesAdded).toBe(n);
    expect(metricCount(server, run.id)).toBe(n);
    expect(offset(server, run.id)).toEqual({ bytes: fs.statSync(file).size, lines: n });
  });

  it('stops at a malformed line, naming the file and line; the lines before it are in, it is not passed', () => {
    const run = server.createRun(config, 'queued');
    const good = JSON.stringify({ v: 1, at: 1, kind: 'metrics', points: [pt('k', 1, 1)] });
    fs.writeFileSync(file, `${good}\n{"v":1,"at":2,"kind":"metrics","points":"x"}\n${JSON.stringify({ v: 1, at: 3, kind: 'heartbeat' })}\n`);
    for (let i = 0; i < 2; i++) {
      let err: unknown;
      try {
        ingestJournal(server, run.id, file);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(JournalError);
      expect((err as Error).message).toContain(`${file}:2: not a journal record (points:`);
    }
    expect(offset(server, run.id)).toEqual({ bytes: good.length + 1, lines: 1 });
    expect(metricCount(server, run.id)).toBe(1);
    expect(server.getRun(run.id)!).toMatchObject({ status: 'queued' });
  });

  it('refuses a journal that shrank or was rewritten since it was ingested, also after a restart', () => {
    const run = server.createRun(config, 'queued');
    const rec = (at: number) => JSON.stringify({ v: 1, at, kind: 'heartbeat' });
    fs.writeFileSync(file, `${rec(1000)}\n${rec(1001)}\n`);
    expect(ingestJournal(server, run.id, file).linesAdded).toBe(2);

    const size = fs.statSync(file).size;
    fs.writeFileSync(file, `${rec(1000)}\n`);
    expect(() => ingestJournal(server, run.id, file)).toThrow(`is ${size / 2} bytes, but its first ${size} bytes (2 lines) were ingested: it was truncated or rewritten`);

    // the same length, other content: the first line changed
    fs.writeFileSync(file, `${rec(2000)}\n${rec(1001)}\n${rec(1002)}\n`);
    expect(() => ingestJournal(server, run.id, file)).toThrow('was rewritten since it was ingested: its first line changed');
    // after a restart, the ingested part is read again: the same bytes split otherwise, the
    // offset is not after a complete record
    const restarted = new Store(server.dataDir);
    opened.push(restarted);
    fs.writeFileSync(file, `${rec(1000)}${rec(1001)}\n\n`);
    expect(() => ingestJournal(restarted, run.id, file)).toThrow('rewritten since it was ingested: its line 1 is no longer a record');
    expect(server.events(run.id)).toEqual([]);
    expect(offset(server, run.id)).toEqual({ bytes: size, lines: 2 });
  });

  it('two hosts on one store (serve and the CLI) following one journal each read it about once, not once a look', () => {
    const run = server.createRun(config, 'queued');
    const other = new Store(server.dataDir);
    opened.push(other);
    const line = (at: number) => `${JSON.stringify({ v: 1, at, kind: 'metrics', points: [pt('train/loss_step', at, 1 / at)] })}\n`;
    fs.writeFileSync(file, `${JSON.stringify({ v: 1, at: 1, kind: 'start', attempt: 0, jobId: '5_1', host: 'n', pid: 1 })}\n`);
    let read = 0;
    const spy = vi.spyOn(fs, 'readSync');
    spy.mockImplementation(((...a: Parameters<typeof fs.readSync>) => {
      const n = Reflect.apply(realRead, fs, a) as number;
      read += n;
      return n;
    }) as typeof fs.readSync);
    const looks = 300;
    try {
      for (let i = 2; i < looks + 2; i++) {
        fs.appendFileSync(file, line(i));
        ingestJournal(i % 2 ? server : other, run.id, file); // each advances the offset past the other
      }
    } finally {
      spy.mockRestore();
    }
    const size = fs.statSync(file).size;
    expect(metricCount(server, run.id)).toBe(looks);
    expect(offset(server, run.id)).toEqual({ bytes: size, lines: looks + 1 });
    // Each look reads the first line (is it the same file?) and what is new to it: the other's
    // line and its own, so about twice the file in all. Re-reading everything the other ingested,
    // at each look, would be looks / 2 times the file.
    const headLen = fs.readFileSync(file, 'utf8').indexOf('\n') + 1;
    expect(read).toBeLessThan(3 * size + looks * headLen);
  });

  it("`ended` is the current attempt's end: an end followed by a new start is no end", () => {
    const run = server.createRun(config, 'queued');
    const start = (at: number, attempt: number) => JSON.stringify({ v: 1, at, kind: 'start', attempt, jobId: '5_1', host: 'n', pid: 1 });
    fs.writeFileSync(file, `${start(1, 0)}\n${JSON.stringify({ v: 1, at: 2, kind: 'end', status: 'interrupted', error: 'time limit' })}\n`);
    expect(ingestJournal(server, run.id, file).ended).toEqual({ status: 'interrupted', error: 'time limit' });
    expect(server.getRun(run.id)).toMatchObject({ status: 'interrupted', error: 'time limit', endedAt: 2 });
    fs.appendFileSync(file, `${start(3, 1)}\n`);
    expect(ingestJournal(server, run.id, file)).toEqual({ linesAdded: 1, ended: null, lastAt: 3, waiting: null });
    expect(server.getRun(run.id)).toMatchObject({ status: 'running', error: null, endedAt: null, startedAt: server.getRun(run.id)!.startedAt });
    // known after a restart too (read from the file, not from this call's lines)
    const restarted = new Store(server.dataDir);
    opened.push(restarted);
    expect(ingestJournal(restarted, run.id, file)).toEqual({ linesAdded: 0, ended: null, lastAt: 3, waiting: null });
  });

  it('a reset (an attempt starting afresh) drops what earlier attempts wrote: events are not doubled', () => {
    const run = server.createRun(config, 'queued');
    const line = (o: Record<string, unknown>) => `${JSON.stringify({ v: 1, at: 1, ...o })}\n`;
    const start = (attempt: number) => line({ kind: 'start', attempt, jobId: '5_1', host: 'n', pid: 1 });
    fs.writeFileSync(file, start(0) + line({ kind: 'event', event: ev('run.start', 0) }) + line({ kind: 'metrics', points: [pt('train/loss_step', 1, 2), pt('train/loss_step', 2, 1.9)] }));
    ingestJournal(server, run.id, file);
    // died before its first checkpoint; the next attempt starts afresh
    fs.appendFileSync(file, start(1) + line({ kind: 'reset' }) + line({ kind: 'event', event: ev('run.start', 0) }) + line({ kind: 'metrics', points: [pt('train/loss_step', 1, 2)] }));
    ingestJournal(server, run.id, file);
    expect(server.events(run.id).map((e) => e.kind)).toEqual(['run.start']);
    expect(metricCount(server, run.id)).toBe(1);
  });

  it('a start does not bring back a run the host has ended (cancelled while its job was starting)', () => {
    const run = server.createRun(config, 'queued');
    server.finishRun(run.id, 'cancelled');
    fs.writeFileSync(file, `${JSON.stringify({ v: 1, at: 1, kind: 'start', attempt: 0, jobId: '5_1', host: 'n', pid: 1 })}\n`);
    ingestJournal(server, run.id, file);
    expect(server.getRun(run.id)!.status).toBe('cancelled');
  });

  it('a missing journal is an empty one until something was ingested; an unknown run is an error', () => {
    const run = server.createRun(config, 'queued');
    expect(ingestJournal(server, run.id, file)).toEqual({ linesAdded: 0, ended: null, lastAt: null, waiting: null });
    expect(() => ingestJournal(server, 999, file)).toThrow(/run 999 does not exist/);
  });
});
