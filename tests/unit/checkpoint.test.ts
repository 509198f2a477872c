// The checkpoint format: round trip, crash safety of the write, damage detection.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readCheckpoint, readManifest, writeCheckpoint, type CheckpointMeta, type NamedArray } from '../../src/store/checkpoint';
import { tmpDataDir } from '../helpers/tmp';

let tmp: ReturnType<typeof tmpDataDir>;
beforeEach(() => (tmp = tmpDataDir()));
afterEach(() => {
  vi.restoreAllMocks();
  tmp.cleanup();
});

function meta(epoch: number, kind: 'best' | 'last' = 'last'): CheckpointMeta {
  return {
    runId: 7,
    kind,
    model: { config: { name: 'cnn3', width: 2 } as CheckpointMeta['model']['config'], inputShape: [4, 4, 1], numClasses: 3 },
    optimizer: { name: 'adam', scalars: { t: epoch * 10 } },
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

describe('checkpoint format', () => {
  it('round-trips names, shapes, dtypes, values and metadata exactly', () => {
    const a = arrays(1);
    const m = writeCheckpoint(tmp.dir, meta(2), a);
    expect(m.weightsFile).toMatch(/^last-e0002-[0-9a-f]{8}\.bin$/);
    expect(m.byteLength).toBe(a.reduce((s, x) => s + 4 * x.data.length, 0));
    // One manifest plus one binary of little-endian values laid end to end.
    expect(fs.readdirSync(tmp.dir).sort()).toEqual([m.weightsFile, 'last.json'].sort());
    const bin = fs.readFileSync(path.join(tmp.dir, m.weightsFile));
    expect(bin.readFloatLE(m.tensors[1]!.offset)).toBe(a[1]!.data[0]);
    const back = readCheckpoint(tmp.dir, 'last')!;
    expect(back.manifest).toMatchObject({ runId: 7, kind: 'last', position: { epoch: 2, step: 20 }, optimizer: { scalars: { t: 20 } } });
    expect(back.tensors.map((t) => [t.group, t.slot, t.name, t.shape])).toEqual(a.map((t) => [t.group, t.slot, t.name, t.shape]));
    for (let i = 0; i < a.length; i++) {
      expect(back.tensors[i]!.data.constructor).toBe(a[i]!.data.constructor);
      expect(Array.from(back.tensors[i]!.data)).toEqual(Array.from(a[i]!.data));
    }
    expect(readCheckpoint(tmp.dir, 'best')).toBeNull();
  });

  it('a crash while writing leaves the previous checkpoint valid; the next write cleans up', () => {
    const a = arrays(1);
    writeCheckpoint(tmp.dir, meta(1), a);
    // The process dies after the new binary is in place, before the manifest is replaced.
    expect(() =>
      writeCheckpoint(tmp.dir, meta(2), arrays(2), {
        beforeCommit() {
          throw new Error('power cut');
        },
      }),
    ).toThrow('power cut');
    // ...and a half-written temp manifest from another crash lies around.
    fs.writeFileSync(path.join(tmp.dir, 'last.json.999.tmp'), '{"format": "trickb');
    const back = readCheckpoint(tmp.dir, 'last')!;
    expect(back.manifest.position.epoch).toBe(1);
    expect(Array.from(back.tensors[0]!.data)).toEqual(Array.from(a[0]!.data));

    const m3 = writeCheckpoint(tmp.dir, meta(3), arrays(3));
    expect(fs.readdirSync(tmp.dir).sort()).toEqual([m3.weightsFile, 'last.json'].sort());
    expect(readCheckpoint(tmp.dir, 'last')!.manifest.position.epoch).toBe(3);
  });

  it('keeps best and last apart; a write of either removes orphans of both', () => {
    const b1 = writeCheckpoint(tmp.dir, meta(1, 'best'), arrays(1));
    const crash = {
      beforeCommit() {
        throw new Error('crash');
      },
    };
    expect(() => writeCheckpoint(tmp.dir, meta(2, 'best'), arrays(2), crash)).toThrow('crash');
    const l2 = writeCheckpoint(tmp.dir, meta(2, 'last'), arrays(2));
    expect(fs.readdirSync(tmp.dir).sort()).toEqual([b1.weightsFile, 'best.json', l2.weightsFile, 'last.json'].sort());
    expect(readManifest(tmp.dir, 'best')!.position.epoch).toBe(1);
    expect(readManifest(tmp.dir, 'last')!.position.epoch).toBe(2);
  });

  it('refuses a damaged binary or manifest, naming the file', () => {
    const m = writeCheckpoint(tmp.dir, meta(1), arrays(1));
    const file = path.join(tmp.dir, m.weightsFile);
    const bin = fs.readFileSync(file);
    bin[5] = bin[5]! ^ 0xff;
    fs.writeFileSync(file, bin);
    expect(() => readCheckpoint(tmp.dir, 'last')).toThrow(`${file}: checksum mismatch`);
    fs.writeFileSync(file, bin.subarray(0, 10));
    expect(() => readCheckpoint(tmp.dir, 'last')).toThrow(/holds 10 bytes/);
    fs.writeFileSync(path.join(tmp.dir, 'last.json'), '{');
    expect(() => readCheckpoint(tmp.dir, 'last')).toThrow(/last\.json: not a checkpoint manifest/);
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

  it('a full disk while writing the binary: "disk full (ENOSPC) writing FILE", no temp file left, the previous checkpoint intact', () => {
    const m1 = writeCheckpoint(tmp.dir, meta(1), arrays(1));
    diskFullFor(/\.bin\.\d+\.tmp$/);
    expect(() => writeCheckpoint(tmp.dir, meta(2), arrays(2))).toThrow(new RegExp(`^disk full \\(ENOSPC\\) writing ${tmp.dir}/last-e0002-[0-9a-f]{8}\\.bin$`));
    expect(fs.readdirSync(tmp.dir).sort()).toEqual([m1.weightsFile, 'last.json'].sort());
    expect(readCheckpoint(tmp.dir, 'last')!.manifest.position.epoch).toBe(1);
  });

  it('a full disk while writing the manifest: neither its temp file nor the new binary is left', () => {
    const m1 = writeCheckpoint(tmp.dir, meta(1), arrays(1));
    diskFullFor(/last\.json\.\d+\.tmp$/);
    expect(() => writeCheckpoint(tmp.dir, meta(2), arrays(2))).toThrow(`disk full (ENOSPC) writing ${path.join(tmp.dir, 'last.json')}`);
    expect(fs.readdirSync(tmp.dir).sort()).toEqual([m1.weightsFile, 'last.json'].sort());
    expect(readCheckpoint(tmp.dir, 'last')!.manifest.position.epoch).toBe(1);
  });
});
