// A checkpoint we wrote, read by Python: by tests/reference/safetensors_read.py's own reader
// (struct + json + numpy.frombuffer) whenever /usr/bin/python3 has numpy, and by the `safetensors`
// package (safetensors.numpy.load_file, and safetensors.torch.load_file with torch) when it is
// importable. TRICKBENCH_PYTHON picks another interpreter (a venv that has safetensors).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeCheckpoint, type CheckpointMeta, type NamedArray } from '../../src/store/checkpoint';
import { tmpDataDir } from '../helpers/tmp';

const PYTHON = process.env.TRICKBENCH_PYTHON || '/usr/bin/python3';
const SCRIPT = path.join(__dirname, '../reference/safetensors_read.py');
const imports = (mod: string) => fs.existsSync(PYTHON) && spawnSync(PYTHON, ['-c', `import ${mod}`], { stdio: 'ignore' }).status === 0;
const HAS_NUMPY = imports('numpy');
const HAS_SAFETENSORS = HAS_NUMPY && imports('safetensors.numpy');

const tmp = tmpDataDir();
afterAll(() => tmp.cleanup());

const f32 = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.fround(Math.cos(k + i / 7) * (i % 5)));
const ARRAYS: NamedArray[] = [
  { group: 'param', name: 'conv1/kernel', shape: [3, 3, 3, 8], data: f32(216, 1) },
  { group: 'param', name: 'conv1/bias', shape: [8], data: f32(8, 2) },
  { group: 'param', name: 'head/kernel', shape: [32, 10], data: f32(320, 3) },
  { group: 'buffer', name: 'bn1/movingVariance', shape: [8], data: f32(8, 4) },
  { group: 'buffer', name: 'stepCount', shape: [], data: Int32Array.of(1234) },
  { group: 'optimizer', slot: 'momentum', name: 'conv1/kernel', shape: [3, 3, 3, 8], data: f32(216, 5) },
];
const META: CheckpointMeta = {
  runId: 3,
  kind: 'last',
  model: { config: { name: 'cnn3', width: 8 } as CheckpointMeta['model']['config'], inputShape: [32, 32, 3], numClasses: 10 },
  optimizer: { name: 'sgd', scalars: {} },
  position: { epoch: 2, step: 16, stepsPerEpoch: 8, bestValAcc: 0.25, bestEpoch: 2 },
  val: { loss: 2.1, acc: 0.25 },
};
const FILE = path.join(tmp.dir, 'last.safetensors');
writeCheckpoint(tmp.dir, META, ARRAYS);

interface Seen {
  dtype: string;
  shape: number[];
  sum: number;
  first?: number[];
}
function python(args: string[]): Record<string, unknown> {
  const r = spawnSync(PYTHON, [SCRIPT, ...args], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}
function expectTensors(seen: Record<string, Seen>, dtypes: { f32: string; i32: string }) {
  expect(Object.keys(seen).sort()).toEqual(['buffer/bn1/movingVariance', 'buffer/stepCount', 'optimizer/momentum/conv1/kernel', 'param/conv1/bias', 'param/conv1/kernel', 'param/head/kernel']);
  for (const a of ARRAYS) {
    const name = a.group === 'optimizer' ? `optimizer/${a.slot}/${a.name}` : `${a.group}/${a.name}`;
    const s = seen[name]!;
    expect(s.shape, name).toEqual(a.shape);
    expect(s.dtype, name).toBe(a.data instanceof Int32Array ? dtypes.i32 : dtypes.f32);
    // Both sides sum the same float32 values in float64, in different orders (numpy sums pairwise):
    // a few hundred values of magnitude < 5 differ by far less than 1e-9.
    expect(s.sum, name).toBeCloseTo(Array.from(a.data).reduce((x, y) => x + y, 0), 9);
    if (s.first) expect(s.first, name).toEqual(Array.from(a.data.subarray(0, 4))); // exact
  }
}

describe('a checkpoint read from Python', () => {
  it.skipIf(!HAS_NUMPY)(`by a stdlib + numpy reader (skipped where ${PYTHON} has no numpy)`, () => {
    const out = python([FILE]) as { header_length: number; metadata: Record<string, string>; tensors: Record<string, Seen> };
    expect(out.header_length % 8).toBe(0);
    expectTensors(out.tensors, { f32: 'float32', i32: 'int32' });
    expect(out.metadata).toMatchObject({ format: 'trickbench-checkpoint', format_version: '2', run_id: '3', kind: 'last' });
    expect(JSON.parse(out.metadata.position!)).toEqual(META.position);
    expect(JSON.parse(out.metadata.model!)).toEqual(META.model);
  });

  it.skipIf(!HAS_SAFETENSORS)(`by the safetensors package (skipped where ${PYTHON} cannot import it: Debian 12 does not package it)`, () => {
    const out = python([FILE, '--library']) as { metadata: Record<string, string>; tensors: Record<string, Seen>; torch: Record<string, Seen> | null };
    expectTensors(out.tensors, { f32: 'float32', i32: 'int32' });
    expect(out.metadata).toMatchObject({ format: 'trickbench-checkpoint', kind: 'last', optimizer: JSON.stringify(META.optimizer) });
    if (out.torch) expectTensors(out.torch, { f32: 'torch.float32', i32: 'torch.int32' });
  });
});
