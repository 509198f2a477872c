// The checkpoint format: safetensors files others can read (checked here by a reader of the test's
// own, not ours), round trip, crash safety of the write, damage detection, format-1 checkpoints.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CheckpointError, readCheckpoint, readManifest, writeCheckpoint, type CheckpointMeta, type NamedArray } from '../../src/store/checkpoint';
import { checkpointsOf } from '../../src/store/paths';
import { tmpDataDir } from '../helpers/tmp';

let tmp: ReturnType<typeof tmpDataDir>;
beforeEach(() => (tmp = tmpDataDir()));
afterEach(() => {
  vi.restoreAllMocks();
  tmp.cleanup();
});

const FIXTURE = path.join(__dirname, '../fixtures/checkpoint-v1');
const notGitattributes = (src: string) => path.basename(src) !== '.gitattributes';

function meta(epoch: number, kind: 'best' | 'last' = 'last'): CheckpointMeta {
  return {
    runId: 7,
    kind,
    model: { config: { name: 'cnn3', width: 2 } as CheckpointMeta['model']['config'], inputShape: [4, 4, 1], numClasses: 3 },
    optimizer: { name: 'adam', scalars: { t: epoch * 10, beta1Power: 0.9 ** (epoch * 10) } },
    position: { epoch, step: epoch * 10, stepsPerEpoch: 10, bestValAcc: 0.5, bestEpoch: epoch },
    val: { loss: 1.25, acc: 0.5 },
  };
}

function arrays(seed: number): NamedArray[] {
  const f = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(seed * 100 + k * 10 + i) * 3));
  return [
    { group: 'param', name: 'conv1/kernel', shape: [3, 3, 1, 2], data: f(18, 1) },
    { group: 'param', name: 'conv1/bias', shape: [2], data: f(2, 2) },
    { group: 'buffer', name: 'bn1/movingMean', shape: [2], data: f(2, 3) },
    { group: 'buffer', name: 'steps', shape: [], data: Int32Array.of(-seed, seed).subarray(1, 2) },
    { group: 'optimizer', slot: 'm', name: 'conv1/kernel', shape: [3, 3, 1, 2], data: f(18, 4) },
    { group: 'optimizer', slot: 'v', name: 'conv1/kernel', shape: [3, 3, 1, 2], data: f(18, 5) },
  ];
}

/** A safetensors reader of this test's own, straight from the format's description, so that the
 * files are checked against the format and not against our reader. */
function independentRead(file: string) {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const headerText = buf.subarray(8, 8 + n).toString('utf8');
  const header = JSON.parse(headerText) as Record<string, unknown>;
  const dataStart = 8 + n;
  const tensors = new Map<string, { dtype: string; shape: number[]; offsets: [number, number]; values: number[] }>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const t = info as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const [b, e] = t.data_offsets;
    const values: number[] = [];
    for (let at = dataStart + b; at < dataStart + e; at += 4) values.push(t.dtype === 'F32' ? buf.readFloatLE(at) : buf.readInt32LE(at));
    tensors.set(name, { dtype: t.dtype, shape: t.shape, offsets: [b, e], values });
  }
  return { n, headerText, metadata: header.__metadata__ as Record<string, string>, tensors, dataLength: buf.byteLength - dataStart };
}

describe('checkpoint format: safetensors', () => {
  it('another reader gets names, shapes, dtypes, values and metadata from the file', () => {
    const a = arrays(1);
    writeCheckpoint(tmp.dir, meta(2), a);
    expect(fs.readdirSync(tmp.dir)).toEqual(['last.safetensors']);
    const r = independentRead(path.join(tmp.dir, 'last.safetensors'));
    expect(r.n % 8).toBe(0); // the header is padded (with spaces) to a multiple of 8
    expect(r.headerText).toMatch(/^\{.*\} *$/s);
    expect([...r.tensors.keys()]).toEqual(['param/conv1/kernel', 'param/conv1/bias', 'buffer/bn1/movingMean', 'buffer/steps', 'optimizer/m/conv1/kernel', 'optimizer/v/conv1/kernel']);
    const names = ['param/conv1/kernel', 'param/conv1/bias', 'buffer/bn1/movingMean', 'buffer/steps', 'optimizer/m/conv1/kernel', 'optimizer/v/conv1/kernel'];
    let end = 0;
    names.forEach((name, i) => {
      const t = r.tensors.get(name)!;
      expect(t.dtype).toBe(a[i]!.data instanceof Int32Array ? 'I32' : 'F32');
      expect(t.shape).toEqual(a[i]!.shape);
      expect(t.offsets[0]).toBe(end); // in offset order, no gap
      end = t.offsets[1];
      expect(t.values).toEqual(Array.from(a[i]!.data)); // exact: float32 in, float32 out
    });
    expect(end).toBe(r.dataLength); // the data ends the file
    const m = r.metadata;
    expect(Object.values(m).every((v) => typeof v === 'string')).toBe(true);
    expect(m).toMatchObject({ format: 'trickbench-checkpoint', format_version: '2', run_id: '7', kind: 'last' });
    expect(Number(m.created_at_ms)).toBeGreaterThan(0);
    expect(JSON.parse(m.model!)).toEqual(meta(2).model);
    expect(JSON.parse(m.optimizer!)).toEqual(meta(2).optimizer);
    expect(JSON.parse(m.position!)).toEqual(meta(2).position);
    expect(JSON.parse(m.val!)).toEqual({ loss: 1.25, acc: 0.5 });
    expect(m.data_sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('round-trips names, shapes, dtypes, values and metadata exactly through our reader', () => {
    const a = arrays(1);
    const written = writeCheckpoint(tmp.dir, meta(2), a);
    expect(written).toMatchObject({ version: 2, weightsFile: 'last.safetensors', byteLength: a.reduce((s, x) => s + 4 * x.data.length, 0) });
    const back = readCheckpoint(tmp.dir, 'last')!;
    expect(back.manifest).toEqual(written);
    expect(back.manifest.optimizer!.scalars.beta1Power).toBe(0.9 ** 20); // bit-exact through JSON
    expect(back.tensors.map((t) => [t.group, t.slot, t.name, t.shape])).toEqual(a.map((t) => [t.group, t.slot, t.name, t.shape]));
    for (let i = 0; i < a.length; i++) {
      expect(back.tensors[i]!.data.constructor).toBe(a[i]!.data.constructor);
      expect(Array.from(back.tensors[i]!.data)).toEqual(Array.from(a[i]!.data));
    }
    expect(readManifest(tmp.dir, 'last')).toEqual(written);
    expect(readCheckpoint(tmp.dir, 'best')).toBeNull();
    expect(readManifest(tmp.dir, 'best')).toBeNull();
  });

  it('a crash while writing leaves the previous checkpoint valid; the next write cleans up', () => {
    const a = arrays(1);
    writeCheckpoint(tmp.dir, meta(1), a);
    // A process died halfway through writing the next one: its temp file lies around.
    const whole = fs.readFileSync(path.join(tmp.dir, 'last.safetensors'));
    fs.writeFileSync(path.join(tmp.dir, 'last.safetensors.999.tmp'), whole.subarray(0, 100));
    const back = readCheckpoint(tmp.dir, 'last')!;
    expect(back.manifest.position.epoch).toBe(1);
    expect(Array.from(back.tensors[0]!.data)).toEqual(Array.from(a[0]!.data));
    writeCheckpoint(tmp.dir, meta(3), arrays(3));
    expect(fs.readdirSync(tmp.dir)).toEqual(['last.safetensors']);
    expect(readCheckpoint(tmp.dir, 'last')!.manifest.position.epoch).toBe(3);
  });

  it('keeps best and last apart', () => {
    writeCheckpoint(tmp.dir, meta(1, 'best'), arrays(1).filter((t) => t.group !== 'optimizer'));
    writeCheckpoint(tmp.dir, meta(2, 'last'), arrays(2));
    expect(fs.readdirSync(tmp.dir).sort()).toEqual(['best.safetensors', 'last.safetensors']);
    expect(readManifest(tmp.dir, 'best')!.position.epoch).toBe(1);
    expect(readManifest(tmp.dir, 'best')!.tensors.some((t) => t.group === 'optimizer')).toBe(false);
    expect(readManifest(tmp.dir, 'last')!.position.epoch).toBe(2);
  });

  it('refuses to write what it could not read back', () => {
    const twice = [arrays(1)[0]!, arrays(2)[0]!];
    expect(() => writeCheckpoint(tmp.dir, meta(1), twice)).toThrow('checkpoint tensor param/conv1/kernel is given twice');
    const slashed: NamedArray = { group: 'optimizer', slot: 'a/b', name: 'w', shape: [1], data: Float32Array.of(1) };
    expect(() => writeCheckpoint(tmp.dir, meta(1), [slashed])).toThrow(/optimizer state needs a slot without '\/'/);
    expect(fs.readdirSync(tmp.dir)).toEqual([]);
  });

  /** fs.writeFileSync as on a full disk for files matching `which`: part of the data, then ENOSPC. */
  function diskFullFor(which: RegExp) {
    const real = fs.writeFileSync;
    vi.spyOn(fs, 'writeFileSync').mockImplementation((file, data, options) => {
      if (which.test(String(file))) {
        real(file, typeof data === 'string' ? data.slice(0, data.length >> 1) : Buffer.from(data.buffer, data.byteOffset, data.byteLength >> 1));
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
      return real(file, data, options);
    });
  }

  it('a full disk: "disk full (ENOSPC) writing FILE", no temp file left, the previous checkpoint intact', () => {
    writeCheckpoint(tmp.dir, meta(1), arrays(1));
    diskFullFor(/last\.safetensors\.\d+\.tmp$/);
    expect(() => writeCheckpoint(tmp.dir, meta(2), arrays(2))).toThrow(`disk full (ENOSPC) writing ${path.join(tmp.dir, 'last.safetensors')}`);
    expect(fs.readdirSync(tmp.dir)).toEqual(['last.safetensors']);
    expect(readCheckpoint(tmp.dir, 'last')!.manifest.position.epoch).toBe(1);
  });
});

describe('checkpoint format 1 (JSON manifest + .bin), written before safetensors', () => {
  function copyFixture(): string {
    fs.cpSync(FIXTURE, tmp.dir, { recursive: true, filter: notGitattributes });
    return tmp.dir;
  }
  const bins = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.bin'));

  it('still reads, both kinds, with the values the old writer stored', () => {
    const dir = copyFixture();
    const last = readCheckpoint(dir, 'last')!;
    expect(last.manifest).toMatchObject({ version: 1, runId: 7, kind: 'last', position: { epoch: 2, step: 20 }, optimizer: { name: 'adam', scalars: { t: 20 } } });
    expect(last.manifest.weightsFile).toMatch(/^last-e0002-[0-9a-f]{8}\.bin$/);
    expect(last.tensors.map((t) => [t.group, t.slot, t.name, t.shape])).toEqual([
      ['param', undefined, 'conv1/kernel', [3, 3, 1, 2]],
      ['param', undefined, 'conv1/bias', [2]],
      ['buffer', undefined, 'bn1/movingMean', [2]],
      ['buffer', undefined, 'steps', []],
      ['optimizer', 'm', 'conv1/kernel', [3, 3, 1, 2]],
      ['optimizer', 'v', 'conv1/kernel', [3, 3, 1, 2]],
    ]);
    // The values the fixture's writer put in (tests/fixtures/checkpoint-v1: sin(10k + i) * 3 in float32).
    expect(Array.from(last.tensors[1]!.data)).toEqual([0, 1].map((i) => Math.fround(Math.sin(20 + i) * 3)));
    expect(last.tensors[3]!.data).toEqual(Int32Array.of(-7));
    const best = readManifest(dir, 'best')!;
    expect(best).toMatchObject({ version: 1, kind: 'best', optimizer: null, position: { epoch: 1 } });
    expect(best.tensors).toHaveLength(4);
  });

  it('a run folder with format-1 files has its last and best (checkpointsOf)', () => {
    const runDir = path.join(tmp.dir, 'runs', '5');
    fs.cpSync(FIXTURE, runDir, { recursive: true, filter: notGitattributes });
    expect(checkpointsOf(tmp.dir, 5)).toEqual(['last', 'best']);
    fs.rmSync(path.join(runDir, 'best.json'));
    expect(checkpointsOf(tmp.dir, 5)).toEqual(['last']);
  });

  it('the next write of a kind replaces its format-1 files and leaves the other kind readable', () => {
    const dir = copyFixture();
    const bestBin = bins(dir).find((f) => f.startsWith('best'))!;
    writeCheckpoint(dir, meta(3, 'last'), arrays(3));
    expect(fs.readdirSync(dir).sort()).toEqual([bestBin, 'best.json', 'last.safetensors']);
    expect(readCheckpoint(dir, 'last')!.manifest).toMatchObject({ version: 2, position: { epoch: 3 } });
    expect(readCheckpoint(dir, 'best')!.manifest).toMatchObject({ version: 1, position: { epoch: 1 } });
    writeCheckpoint(dir, meta(3, 'best'), arrays(3));
    expect(fs.readdirSync(dir).sort()).toEqual(['best.safetensors', 'last.safetensors']);
  });

  it('a damaged binary or manifest is refused, naming the file', () => {
    const dir = copyFixture();
    const file = path.join(dir, bins(dir).find((f) => f.startsWith('last'))!);
    const bin = fs.readFileSync(file);
    bin[5] = bin[5]! ^ 0xff;
    fs.writeFileSync(file, bin);
    expect(() => readCheckpoint(dir, 'last')).toThrow(`${file}: checksum mismatch`);
    fs.writeFileSync(file, bin.subarray(0, 10));
    expect(() => readCheckpoint(dir, 'last')).toThrow(`${file}: holds 10 bytes, its manifest says 236`);
    const manifestFile = path.join(dir, 'last.json');
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
    fs.writeFileSync(manifestFile, JSON.stringify({ ...manifest, weightsFile: '../../../etc/passwd' }));
    expect(() => readManifest(dir, 'last')).toThrow(`${manifestFile}: field weightsFile is not a checkpoint binary in the same folder`);
    manifest.tensors[1].offset = 1000;
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
    expect(() => readManifest(dir, 'last')).toThrow(`${manifestFile}: tensors[1] bytes lie outside the 236-byte binary`);
    fs.writeFileSync(manifestFile, '{');
    expect(() => readCheckpoint(dir, 'last')).toThrow(`${manifestFile}: not a checkpoint manifest`);
  });
});

describe('a damaged safetensors checkpoint is a clear error naming the file', () => {
  let file: string;
  let good: Buffer;
  beforeEach(() => {
    writeCheckpoint(tmp.dir, meta(1), arrays(1));
    file = path.join(tmp.dir, 'last.safetensors');
    good = fs.readFileSync(file);
  });
  const headerOf = (buf: Buffer) => JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8'));
  const dataOf = (buf: Buffer) => buf.subarray(8 + Number(buf.readBigUInt64LE(0)));
  /** The file again with its header changed by `edit` (padded as the format wants) and `data`. */
  function rewrite(edit: (h: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>) => void, data = dataOf(good)) {
    const h = headerOf(good);
    edit(h);
    let json = Buffer.from(JSON.stringify(h));
    json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    fs.writeFileSync(file, Buffer.concat([len, json, data]));
  }
  /** Both readers (the header alone, the whole checkpoint) refuse it with this message. */
  function refused(message: string | RegExp) {
    for (const read of [() => readManifest(tmp.dir, 'last'), () => readCheckpoint(tmp.dir, 'last')]) {
      let err: unknown;
      try {
        read();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CheckpointError);
      if (typeof message === 'string') expect((err as Error).message).toBe(`${file}: ${message}`);
      else expect((err as Error).message).toMatch(message);
    }
  }

  it('truncated to less than the header length', () => {
    fs.writeFileSync(file, good.subarray(0, 5));
    refused('truncated: 5 bytes, not even the 8-byte header length');
    fs.writeFileSync(file, Buffer.alloc(0));
    refused('truncated: 0 bytes, not even the 8-byte header length');
  });

  it('a header length beyond the file (truncated inside the header, or not safetensors at all)', () => {
    const n = Number(good.readBigUInt64LE(0));
    fs.writeFileSync(file, good.subarray(0, 8 + n - 3));
    refused(`header length ${n} runs past the end of the file (${8 + n - 3} bytes): truncated or not a safetensors file`);
    const huge = Buffer.from(good);
    huge.writeBigUInt64LE(2n ** 63n);
    fs.writeFileSync(file, huge);
    refused(`header length ${2n ** 63n} runs past the end of the file (${good.length} bytes): truncated or not a safetensors file`);
  });

  it('truncated inside the data', () => {
    fs.writeFileSync(file, good.subarray(0, good.length - 4));
    const dataLength = dataOf(good).length - 4;
    refused(`tensor "optimizer/v/conv1/kernel": data_offsets [${dataLength - 68},${dataLength + 4}] run past the end of the data (${dataLength} bytes): truncated`);
  });

  it('overlapping, out-of-range, gapped offsets and trailing bytes', () => {
    rewrite((h) => {
      h['param/conv1/bias']!.data_offsets = [68, 76]; // starts inside conv1/kernel [0,72]
    });
    refused('tensor "param/conv1/bias" (bytes 68-76) overlaps the tensor before it (ending at 72)');
    rewrite((h) => {
      h['param/conv1/bias']!.data_offsets = [100000, 100008];
    });
    refused(`tensor "param/conv1/bias": data_offsets [100000,100008] run past the end of the data (${dataOf(good).length} bytes): truncated`);
    rewrite((h) => {
      h['param/conv1/bias']!.data_offsets = [76, 84]; // where bn1/movingMean is, so [72,76] is not covered
      h['buffer/bn1/movingMean']!.data_offsets = [84, 92];
      h['buffer/steps']!.data_offsets = [92, 96];
      delete h['optimizer/v/conv1/kernel'];
      delete h['optimizer/m/conv1/kernel'];
    }, dataOf(good).subarray(0, 96));
    refused('a gap of 4 bytes in the data before tensor "param/conv1/bias"');
    rewrite(() => {}, Buffer.concat([dataOf(good), Buffer.alloc(8)]));
    refused('8 bytes after the last tensor\'s data');
    rewrite((h) => {
      h['param/conv1/bias']!.data_offsets = [80, 72];
    });
    refused('tensor "param/conv1/bias": data_offsets [80,72] is not [begin, end]');
  });

  it('an unknown or unsupported dtype', () => {
    rewrite((h) => {
      h['param/conv1/bias']!.dtype = 'Q7';
    });
    refused('tensor "param/conv1/bias": unknown dtype "Q7"');
    rewrite((h) => {
      h['param/conv1/bias']!.dtype = 'F16';
    });
    refused('tensor "param/conv1/bias": dtype F16 is not one Trickbench reads (F32, I32)');
  });

  it('a shape that does not match the byte count', () => {
    rewrite((h) => {
      h['param/conv1/kernel']!.shape = [3, 3, 1, 3];
    });
    refused('tensor "param/conv1/kernel": shape [3,3,1,3] of F32 takes 108 bytes but data_offsets [0,72] hold 72');
    rewrite((h) => {
      h['param/conv1/kernel']!.shape = [3, -3, 1, 2];
    });
    refused('tensor "param/conv1/kernel": shape [3,-3,1,2] is not a list of sizes');
  });

  it('damaged data, a header that is not JSON, a safetensors file that is not ours, bad metadata', () => {
    const flipped = Buffer.from(good);
    flipped[flipped.length - 1]! ^= 0x01;
    fs.writeFileSync(file, flipped);
    expect(() => readCheckpoint(tmp.dir, 'last')).toThrow(`${file}: checksum mismatch: the file is damaged`);
    const notJson = Buffer.from(good);
    notJson.write('!', 9);
    fs.writeFileSync(file, notJson);
    refused(new RegExp(`^${file}: header is not UTF-8 JSON \\(`));
  });

  it('a safetensors file of another program, or our metadata damaged', () => {
    rewrite((h) => {
      delete (h as Record<string, unknown>).__metadata__;
    });
    refused('a safetensors file but not a Trickbench checkpoint (__metadata__.format is not "trickbench-checkpoint")');
    rewrite((h) => {
      (h as unknown as { __metadata__: Record<string, unknown> }).__metadata__.position = { epoch: 1 };
    });
    refused('__metadata__ is not an object of strings');
    rewrite((h) => {
      (h as unknown as { __metadata__: Record<string, string> }).__metadata__.position = '{"epoch": 1}';
    });
    refused('__metadata__.position is not {epoch, step, stepsPerEpoch, bestValAcc, bestEpoch}');
    rewrite((h) => {
      (h as unknown as { __metadata__: Record<string, string> }).__metadata__.format_version = '3';
    });
    refused('written by a newer Trickbench (format 3); upgrade the app');
    rewrite((h) => {
      h['weights/conv1/kernel'] = h['param/conv1/kernel']!;
      delete h['param/conv1/kernel'];
    });
    refused('tensor "weights/conv1/kernel": not a param/…, buffer/… or optimizer/<slot>/… name');
  });
});
