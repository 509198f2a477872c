// The TensorBoard importer against event files written by an independent Python writer
// (tests/reference/tensorboard_write.py: hand-encoded protobuf and CRC-32C), and against damage
// made here by cutting and flipping bytes of those files.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compilePattern, parseKeyMap } from '../../src/import/common';
import { readTensorboardDir } from '../../src/import/tensorboard';
import { maskedCrc32c, readTfRecords } from '../../src/import/tfrecord';
import { ImportError } from '../../src/import/types';
import { tmpDataDir } from '../helpers/tmp';

const FIX = path.join(__dirname, '../fixtures/tensorboard');
const LOGS = path.join(FIX, 'logs');
interface Expected {
  points: { key: string; step: number; value: number; time: number }[];
  truncated?: { file: string; offset: number };
  corrupt?: { file: string; offset: number };
}
const ALL = JSON.parse(fs.readFileSync(path.join(FIX, 'expected.json'), 'utf8')) as Record<string, Expected>;
/** the folders under logs/ (keras/ is its own DIR) */
const EXPECTED = Object.fromEntries(Object.entries(ALL).filter(([k]) => !k.startsWith('keras:')));
const PATTERN = compilePattern('(?<arm>[^/]+)/seed(?<seed>\\d+)');

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));
function copyLogs(): string {
  const t = tmpDataDir('tb-import-');
  cleanups.push(t.cleanup);
  fs.cpSync(LOGS, path.join(t.dir, 'logs'), { recursive: true });
  return path.join(t.dir, 'logs');
}

describe('CRC-32C', () => {
  it('has the standard check value, masked as TFRecord masks it', () => {
    // crc32c("123456789") = 0xE3069283 (RFC 3720); the mask rotates right by 15 and adds 0xa282ead8
    const crc = 0xe3069283;
    const want = ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
    expect(maskedCrc32c(Buffer.from('123456789'))).toBe(want);
  });
});

describe('readTensorboardDir on the reference files', () => {
  const got = readTensorboardDir(LOGS, { pattern: PATTERN, experiment: 'tb', baseline: 'baseline' });
  const byName = new Map(got.runs.map((r) => [r.name, r]));

  it('makes one run per event folder, with arm and seed from the pattern', () => {
    expect([...byName.keys()].sort()).toEqual(Object.keys(EXPECTED).sort());
    const r = byName.get('mixup/seed2')!;
    expect(r.spec).toMatchObject({ experiment: 'tb', arm: 'mixup', seed: 2, baseline: 'baseline' });
    expect(r.spec.clientKey).toMatch(/^tensorboard:[0-9a-f]{64}$/);
    expect(new Set(got.runs.map((x) => x.spec.clientKey)).size).toBe(4);
  });

  it.each(Object.keys(EXPECTED))('%s: every scalar the writer wrote, value for value', (name) => {
    const r = byName.get(name)!;
    // values are compared exactly: float32 values widen to the same double in Python and here
    expect(r.metrics).toEqual(EXPECTED[name]!.points);
  });

  it('counts the histograms it skips (simple histo and a histograms-plugin tensor)', () => {
    expect(byName.get('baseline/seed1')!.warnings).toEqual(['baseline/seed1: skipped 5 histogram values (not scalars)']);
    expect(byName.get('baseline/seed2')!.warnings).toEqual(["baseline/seed2: skipped 4 'histograms' plugin values (not scalars)"]);
  });

  it('imports a truncated last record up to the last good one, naming file and offset', () => {
    const t = EXPECTED['mixup/seed1']!.truncated!;
    const w = byName.get('mixup/seed1')!.warnings;
    expect(w).toHaveLength(1);
    expect(w[0]).toContain(`mixup/seed1/${t.file}: truncated at byte ${t.offset}`);
  });

  it('stops a file at a data CRC mismatch in the middle, naming file and offset', () => {
    const c = EXPECTED['mixup/seed2']!.corrupt!;
    const w = byName.get('mixup/seed2')!.warnings;
    expect(w[0]).toContain(`mixup/seed2/${c.file}: damaged at byte ${c.offset}`);
    expect(w[0]).toContain('CRC-32C');
  });

  it('--strict refuses the damaged and the truncated file', () => {
    expect(() => readTensorboardDir(path.join(LOGS, 'mixup/seed2'), { strict: true })).toThrow(/damaged at byte \d+.*--strict/);
    expect(() => readTensorboardDir(path.join(LOGS, 'mixup/seed1'), { strict: true })).toThrow(/truncated at byte \d+/);
    expect(readTensorboardDir(path.join(LOGS, 'baseline'), { strict: true }).runs).toHaveLength(2);
  });
});

describe('damage made here', () => {
  it('a file cut at every byte imports its whole records before the cut and never throws', () => {
    const file = path.join(LOGS, 'baseline/seed1/events.out.tfevents.1700000000.host.1.0');
    const bytes = fs.readFileSync(file);
    const ends: number[] = [];
    readTfRecords(file, (data, offset) => void ends.push(offset + 12 + data.length + 4));
    const t = tmpDataDir('tb-cut-');
    cleanups.push(t.cleanup);
    const cut = path.join(t.dir, 'events.out.tfevents.cut');
    for (let n = 0; n < bytes.length; n++) {
      fs.writeFileSync(cut, bytes.subarray(0, n));
      const scan = readTfRecords(cut, () => {});
      const whole = ends.filter((e) => e <= n);
      expect(scan.records).toBe(whole.length);
      expect(scan.goodBytes).toBe(whole.at(-1) ?? 0);
      expect(scan.problem?.kind ?? null).toBe(whole.at(-1) === n || n === 0 ? null : 'truncated');
    }
  });

  it('a flipped length byte is a length-CRC mismatch at that record', () => {
    const logs = copyLogs();
    const file = path.join(logs, 'baseline/seed1/events.out.tfevents.1700000000.host.1.0');
    const offsets: number[] = [];
    readTfRecords(file, (_d, o) => void offsets.push(o));
    const bytes = fs.readFileSync(file);
    bytes.writeUInt8(bytes.readUInt8(offsets[2]!) ^ 0x40, offsets[2]!);
    fs.writeFileSync(file, bytes);
    const scan = readTfRecords(file, () => {});
    expect(scan.records).toBe(2);
    expect(scan.problem).toMatchObject({ kind: 'corrupt', offset: offsets[2] });
    expect(scan.problem!.message).toMatch(/length/);
    const run = readTensorboardDir(path.join(logs, 'baseline/seed1')).runs[0]!;
    expect(run.metrics.map((p) => p.step)).toEqual([0, 0]); // records 0 (file_version) and 1 (step 0)
    expect(run.warnings.join('\n')).toContain(`damaged at byte ${offsets[2]}`);
  });

  it('a record with good CRCs that is not an Event stops the file there', () => {
    const t = tmpDataDir('tb-junk-');
    cleanups.push(t.cleanup);
    const junk = Buffer.from([0xff, 0xff, 0xff]); // a varint that never ends
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(junk.length));
    const rec = Buffer.concat([head, u32(maskedCrc32c(head)), junk, u32(maskedCrc32c(junk))]);
    fs.writeFileSync(path.join(t.dir, 'events.out.tfevents.1'), rec);
    const run = readTensorboardDir(t.dir).runs[0]!;
    expect(run.metrics).toEqual([]);
    expect(run.warnings[0]).toMatch(/damaged at byte 0: the record is not an Event/);
  });
});

describe('--keras', () => {
  it("merges a Keras run's train/ and validation/ into one run, with our key names", () => {
    const got = readTensorboardDir(path.join(FIX, 'keras'), { keras: true, pattern: compilePattern('seed(?<seed>\\d+)') });
    expect(got.runs).toHaveLength(1);
    const r = got.runs[0]!;
    expect(r.name).toBe('seed3');
    expect(r.spec.seed).toBe(3);
    const order = (a: { key: string; step: number }, b: { key: string; step: number }) => a.key.localeCompare(b.key) || a.step - b.step;
    expect([...r.metrics].sort(order)).toEqual([...ALL['keras:seed3']!.points].sort(order));
    // without it: two runs, Keras' own tag names
    const plain = readTensorboardDir(path.join(FIX, 'keras'));
    expect(plain.runs.map((x) => x.name)).toEqual(['seed3/train', 'seed3/validation']);
    expect(new Set(plain.runs[1]!.metrics.map((p) => p.key))).toEqual(new Set(['epoch_loss', 'epoch_accuracy']));
  });
});

describe('options and refusals', () => {
  it('--key-map renames tags', () => {
    const r = readTensorboardDir(path.join(LOGS, 'baseline/seed2'), { keyMap: parseKeyMap(['epoch_accuracy=val/acc']) }).runs[0]!;
    expect(new Set(r.metrics.map((p) => p.key))).toEqual(new Set(['val/acc']));
    expect(() => parseKeyMap(['nokey'])).toThrow(/old=new/);
  });

  it('with --experiment, refuses the folders the pattern does not match, naming them', () => {
    const logs = copyLogs();
    fs.cpSync(path.join(logs, 'baseline/seed1'), path.join(logs, 'stray'), { recursive: true });
    expect(() => readTensorboardDir(logs, { pattern: PATTERN, experiment: 'tb' })).toThrow(/does not match 1 run folder.*: stray/);
    // without an experiment a folder the pattern misses is imported on its own, with a warning
    const loose = readTensorboardDir(logs, { pattern: compilePattern('seed(?<seed>\\d+)') });
    expect(loose.runs.find((r) => r.name === 'stray')!.spec.seed).toBe(0);
    expect(loose.runs.find((r) => r.name === 'mixup/seed2')!.spec.seed).toBe(2);
    expect(loose.warnings.join()).toMatch(/does not match stray/);
  });

  it('an arm without an experiment, a non-integer seed and an empty folder are refused', () => {
    expect(() => readTensorboardDir(LOGS, { pattern: compilePattern('(?<arm>[^/]+)/') })).toThrow(ImportError);
    expect(() => readTensorboardDir(LOGS, { pattern: compilePattern('(?<arm>[^/]+)/(?<seed>[a-z]+)'), experiment: 'x' })).toThrow(/seed "seed" is not an integer/);
    const t = tmpDataDir('tb-empty-');
    cleanups.push(t.cleanup);
    expect(() => readTensorboardDir(t.dir)).toThrow(/no event files/);
    expect(() => readTensorboardDir(path.join(t.dir, 'nope'))).toThrow(/no such folder/);
    expect(() => compilePattern('(')).toThrow(/--pattern/);
    expect(() => compilePattern('seed\\d+')).toThrow(/named groups/);
  });
});

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

it('does not follow links to folders, and says so', () => {
  const t = tmpDataDir('tb-link-');
  cleanups.push(t.cleanup);
  fs.cpSync(path.join(LOGS, 'baseline/seed1'), path.join(t.dir, 'real'), { recursive: true });
  fs.symlinkSync(path.join(LOGS, 'mixup'), path.join(t.dir, 'elsewhere'));
  const got = readTensorboardDir(t.dir);
  expect(got.runs.map((r) => r.name)).toEqual(['real']);
  expect(got.warnings).toEqual(['links to folders are not followed: elsewhere (import them by their own path)']);
});

it('reads a run of 200,000 points (more than a function call takes as arguments)', async () => {
  const { default: protobuf } = await import('protobufjs');
  const t = tmpDataDir('tb-big-');
  cleanups.push(t.cleanup);
  const parts: Buffer[] = [];
  const n = 200_000;
  for (let s = 0; s < n; s++) {
    // Event{wall_time=1, step=2, summary=5{value=1{tag=1, simple_value=2}}}, written with protobufjs' Writer
    const w = protobuf.Writer.create();
    w.uint32(9).double(1.7e9 + s).uint32(16).int64(s).uint32(42).fork().uint32(10).fork().uint32(10).string('train/loss_step').uint32(21).float(0.5).ldelim().ldelim();
    const data = Buffer.from(w.finish());
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(data.length));
    parts.push(head, u32(maskedCrc32c(head)), data, u32(maskedCrc32c(data)));
  }
  fs.writeFileSync(path.join(t.dir, 'events.out.tfevents.big'), Buffer.concat(parts));
  const r = readTensorboardDir(t.dir).runs[0]!;
  expect(r.metrics).toHaveLength(n);
  expect(r.metrics.at(-1)).toEqual({ key: 'train/loss_step', step: n - 1, value: 0.5, time: (1.7e9 + n - 1) * 1000 });
  expect(r.warnings).toEqual([]);
});
