// The checkpoint format: one JSON manifest (`last.json`, `best.json`) naming one binary file of
// little-endian float32/int32 tensors laid end to end, so any tfjs backend (or numpy) can read it.
// Written crash-safe: the binary goes to a fresh file name first (temp + fsync + rename), then the
// manifest is replaced the same way; the manifest rename is the commit, so a crash at any point
// leaves the previous manifest pointing at its own, untouched binary. No tfjs here: the host only
// needs the file names (src/store/paths.ts) and tests can check the format without a backend.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CheckpointKind } from '../shared/api';
import type { ModelConfig } from '../shared/config';
import { checkpointManifestPath } from './paths';
import { writeError, writeFileAtomic } from './safe-write';

export const CHECKPOINT_FORMAT = 'trickbench-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** What a tensor is: a model parameter, a buffer (BatchNorm statistics), or optimizer state. */
export type TensorGroup = 'param' | 'buffer' | 'optimizer';
export type StoredDtype = 'float32' | 'int32';

export interface NamedArray {
  group: TensorGroup;
  /** Param or buffer name (`conv1/kernel`); for optimizer state, the param it belongs to. */
  name: string;
  /** Optimizer slot (`momentum`, `m`, `v`); absent for params and buffers. */
  slot?: string;
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface TensorEntry extends Omit<NamedArray, 'data'> {
  dtype: StoredDtype;
  /** Byte offset and length in the binary file. */
  offset: number;
  byteLength: number;
}

/** Where training stands after the checkpointed epoch: enough to continue exactly. The data order
 * is a function of (seed, epoch) and dropout masks of (seed, step), so no RNG state is needed. */
export interface CheckpointPosition {
  /** Epochs completed. */
  epoch: number;
  /** Global optimisation steps done. */
  step: number;
  stepsPerEpoch: number;
  /** Best val/acc so far and the epoch (1-based) that reached it; null without validation. */
  bestValAcc: number | null;
  bestEpoch: number | null;
}

export interface CheckpointMeta {
  runId: number;
  kind: CheckpointKind;
  model: { config: ModelConfig; inputShape: number[]; numClasses: number };
  optimizer: { name: string; scalars: Record<string, number> } | null;
  position: CheckpointPosition;
  /** Validation metrics of the checkpointed weights, when there was a validation split. */
  val: { loss: number; acc: number } | null;
}

export interface CheckpointManifest extends CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  createdAt: number;
  /** The binary file, in the same folder. */
  weightsFile: string;
  byteLength: number;
  sha256: string;
  tensors: TensorEntry[];
}

export interface Checkpoint {
  manifest: CheckpointManifest;
  tensors: NamedArray[];
}

export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'CheckpointError';
  }
}

const LITTLE_ENDIAN = os.endianness() === 'LE';

/** Test hook: called after the binary is in place and before the manifest is committed. */
export interface WriteHooks {
  beforeCommit?(): void;
}

function fsyncDir(dir: string): void {
  // Makes the renames durable; directories cannot be opened on Windows, where rename is enough.
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // best effort
  }
}

/** Write `data` to `file` through a temp file: the final name only ever holds complete data. A
 * failed write (a full disk) removes its temp file and says "disk full (ENOSPC) writing FILE". */
function writeAtomic(file: string, data: Uint8Array | string): void {
  writeFileAtomic(file, `${file}.${process.pid}.tmp`, data, { fsync: true });
}

function toBytes(a: NamedArray['data']): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) {
    if (a instanceof Float32Array) dv.setFloat32(4 * i, a[i]!, true);
    else dv.setInt32(4 * i, a[i]!, true);
  }
  return out;
}

function fromBytes(bytes: Uint8Array, dtype: StoredDtype): NamedArray['data'] {
  const n = bytes.byteLength / 4;
  const out = dtype === 'float32' ? new Float32Array(n) : new Int32Array(n);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes); // a copy: aligned, and independent of the file buffer
    return out;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) out[i] = dtype === 'float32' ? dv.getFloat32(4 * i, true) : dv.getInt32(4 * i, true);
  return out;
}

/** Save a checkpoint of `kind` into `dir` (the run's folder), replacing the previous one atomically. */
export function writeCheckpoint(dir: string, meta: CheckpointMeta, arrays: readonly NamedArray[], hooks: WriteHooks = {}): CheckpointManifest {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw writeError(e, dir);
  }
  const tensors: TensorEntry[] = [];
  let offset = 0;
  for (const a of arrays) {
    const size = a.shape.reduce((x, y) => x * y, 1);
    if (size !== a.data.length) throw new Error(`checkpoint tensor ${a.name}: shape [${a.shape.join(',')}] does not hold ${a.data.length} values`);
    const { data: _data, ...rest } = a;
    tensors.push({ ...rest, dtype: a.data instanceof Int32Array ? 'int32' : 'float32', offset, byteLength: a.data.byteLength });
    offset += a.data.byteLength;
  }
  const bin = new Uint8Array(offset);
  arrays.forEach((a, i) => bin.set(toBytes(a.data), tensors[i]!.offset));
  // A new name for every binary, so the committed manifest's binary is never overwritten.
  const weightsFile = `${meta.kind}-e${String(meta.position.epoch).padStart(4, '0')}-${crypto.randomBytes(4).toString('hex')}.bin`;
  writeAtomic(path.join(dir, weightsFile), bin);
  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    createdAt: Date.now(),
    ...meta,
    weightsFile,
    byteLength: offset,
    sha256: crypto.createHash('sha256').update(bin).digest('hex'),
    tensors,
  };
  hooks.beforeCommit?.();
  try {
    writeAtomic(manifestFile(dir, meta.kind), JSON.stringify(manifest, null, 1));
  } catch (e) {
    // Not committed: the new binary is nobody's, and on a full disk its space is needed.
    fs.rmSync(path.join(dir, weightsFile), { force: true });
    throw e;
  }
  fsyncDir(dir);
  removeStale(dir, meta.kind, weightsFile);
  return manifest;
}

function manifestFile(dir: string, kind: CheckpointKind): string {
  return path.join(dir, `${kind}.json`);
}

/** Binaries no manifest names any more and temp files, left by earlier writes or crashed ones. */
function removeStale(dir: string, kind: CheckpointKind, keep: string): void {
  const other: CheckpointKind = kind === 'best' ? 'last' : 'best';
  let otherFile: string | null = null;
  try {
    otherFile = readManifest(dir, other)?.weightsFile ?? null;
  } catch {
    otherFile = '*'; // unreadable: leave that kind's files alone
  }
  for (const f of fs.readdirSync(dir)) {
    const m = /^(best|last)-e\d+-[0-9a-f]{8}\.bin$/.exec(f);
    const orphan = m && f !== keep && (m[1] === kind || (otherFile !== '*' && f !== otherFile));
    if (orphan || ((f.startsWith('best') || f.startsWith('last')) && f.endsWith('.tmp'))) fs.rmSync(path.join(dir, f), { force: true });
  }
}

/** The manifest alone (cheap), or null when there is no checkpoint of that kind. */
export function readManifest(dir: string, kind: CheckpointKind): CheckpointManifest | null {
  const file = manifestFile(dir, kind);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CheckpointError(file, (e as Error).message);
  }
  let m: CheckpointManifest;
  try {
    m = JSON.parse(text) as CheckpointManifest;
  } catch (e) {
    throw new CheckpointError(file, `not a checkpoint manifest (${(e as Error).message})`);
  }
  if (m.format !== CHECKPOINT_FORMAT) throw new CheckpointError(file, 'not a Trickbench checkpoint manifest');
  if (m.version > CHECKPOINT_VERSION) throw new CheckpointError(file, `written by a newer Trickbench (format ${m.version}); upgrade the app`);
  return m;
}

/** Read a checkpoint with its tensors; null when there is none. A damaged one is an error naming the file. */
export function readCheckpoint(dir: string, kind: CheckpointKind): Checkpoint | null {
  const manifest = readManifest(dir, kind);
  if (!manifest) return null;
  const file = path.join(dir, manifest.weightsFile);
  let bin: Buffer;
  try {
    bin = fs.readFileSync(file);
  } catch (e) {
    throw new CheckpointError(file, `cannot read the weights of ${kind}.json (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (bin.byteLength !== manifest.byteLength) {
    throw new CheckpointError(file, `holds ${bin.byteLength} bytes, its manifest says ${manifest.byteLength}`);
  }
  if (crypto.createHash('sha256').update(bin).digest('hex') !== manifest.sha256) {
    throw new CheckpointError(file, 'checksum mismatch: the file is damaged');
  }
  const tensors = manifest.tensors.map(({ dtype, offset, byteLength, ...rest }) => ({
    ...rest,
    data: fromBytes(bin.subarray(offset, offset + byteLength), dtype),
  }));
  return { manifest, tensors };
}

/** The checkpoint of a run, by the run folder's conventional place. */
export function readRunCheckpoint(dataDir: string, runId: number, kind: CheckpointKind): Checkpoint | null {
  return readCheckpoint(path.dirname(checkpointManifestPath(dataDir, runId, kind)), kind);
}

/** Index a checkpoint's tensors by group, slot and name. */
export function tensorKey(group: TensorGroup, name: string, slot?: string): string {
  return slot ? `${group}:${slot}:${name}` : `${group}:${name}`;
}
export function indexTensors(ckpt: Checkpoint): Map<string, NamedArray> {
  return new Map(ckpt.tensors.map((t) => [tensorKey(t.group, t.name, t.slot), t]));
}
