// The run journal's records (src/journal/format.ts) and its writer (src/journal/writer.ts).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JournalError, parseJournalLine } from '../../src/journal/format';
import { JournalWriter } from '../../src/journal/writer';
import { tmpDataDir } from '../helpers/tmp';

let tmp: ReturnType<typeof tmpDataDir>;
beforeEach(() => (tmp = tmpDataDir('tb-journal-')));
afterEach(() => tmp.cleanup());

describe('parseJournalLine', () => {
  it('reads each record kind of the design', () => {
    const ev = { kind: 'run.start', epoch: 0, step: 0, payload: { backend: 'wasm' }, time: 5 };
    const lines = [
      { v: 1, at: 1, kind: 'start', attempt: 0, jobId: '12_3', host: 'node1', pid: 42 },
      { v: 1, at: 2, kind: 'backend', backend: 'wasm', device: 'cpu' },
      { v: 1, at: 3, kind: 'metrics', points: [{ key: 'val/acc', step: 10, epoch: 1, value: 0.5, time: 3 }] },
      { v: 1, at: 4, kind: 'event', event: ev },
      { v: 1, at: 5, kind: 'resume', step: 10, event: { ...ev, kind: 'run.resume' } },
      { v: 1, at: 6, kind: 'heartbeat' },
      { v: 1, at: 7, kind: 'end', status: 'interrupted', error: 'time limit' },
    ];
    for (const [i, l] of lines.entries()) expect(parseJournalLine(JSON.stringify(l), i + 1, 'j.jsonl')).toEqual(l);
  });

  it.each([
    ['{"v":1,"at":1,"kind":"metrics"', 'j.jsonl:7: not JSON'],
    ['{"v":1,"at":1,"kind":"nope"}', 'j.jsonl:7: not a journal record (kind:'],
    ['{"v":1,"at":1,"kind":"end","status":"running","error":null}', 'j.jsonl:7: not a journal record (status:'],
    ['{"v":1,"at":1,"kind":"metrics","points":[{"key":"a","step":1.5,"epoch":1,"value":1,"time":1}]}', 'points.0.step'],
    ['{"v":2,"at":1,"kind":"heartbeat"}', 'j.jsonl:7: written by a newer Trickbench (journal version 2'],
  ])('refuses %s naming the file and line', (line, message) => {
    let err: unknown;
    try {
      parseJournalLine(line, 7, 'j.jsonl');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JournalError);
    expect((err as JournalError).line).toBe(7);
    expect((err as Error).message).toContain(message);
  });
});

describe('JournalWriter', () => {
  it('appends one line per record, stamped with v and at', () => {
    const file = path.join(tmp.dir, 'journal.jsonl');
    const w = new JournalWriter(file);
    w.append({ kind: 'heartbeat' });
    w.append({ kind: 'end', status: 'completed', error: null });
    w.close();
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(JSON.parse(lines[0]!)).toMatchObject({ v: 1, kind: 'heartbeat', at: expect.any(Number) });
    expect(() => w.append({ kind: 'heartbeat' })).toThrow(/closed/);
  });

  it('appends after what an earlier attempt wrote, dropping its torn last line', () => {
    const file = path.join(tmp.dir, 'journal.jsonl');
    fs.writeFileSync(file, '{"v":1,"at":1,"kind":"heartbeat"}\n{"v":1,"at":2,"ki');
    const w = new JournalWriter(file);
    expect(w.repaired).toEqual({ fromByte: 34, bytes: '{"v":1,"at":2,"ki'.length });
    w.append({ kind: 'heartbeat' });
    w.close();
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    lines.forEach((l, i) => expect(parseJournalLine(l, i + 1, file).kind).toBe('heartbeat'));
  });

  it("cuts an earlier attempt's NUL bytes (writes lost with its node) and what follows them", () => {
    const file = path.join(tmp.dir, 'journal.jsonl');
    const good = '{"v":1,"at":1,"kind":"heartbeat"}\n';
    fs.writeFileSync(file, `${good}{"v":1,"at":2,${'\0'.repeat(5000)}\n{"v":1,"at":3,"kind":"heartbeat"}\n`);
    const size = fs.statSync(file).size;
    const w = new JournalWriter(file);
    expect(w.repaired).toEqual({ fromByte: good.length, bytes: size - good.length });
    w.append({ kind: 'heartbeat' });
    w.close();
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    lines.forEach((l, i) => expect(parseJournalLine(l, i + 1, file).kind).toBe('heartbeat'));
    expect(new JournalWriter(file).repaired).toBeNull();
  });

  it('says which journal it cannot open', () => {
    expect(() => new JournalWriter(path.join(tmp.dir, 'missing', 'journal.jsonl'))).toThrow(/cannot open the run journal .*missing\/journal.jsonl/);
  });
});
