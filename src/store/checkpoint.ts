// The checkpoint format: one safetensors file per checkpoint (`last.safetensors`,
// `best.safetensors`), readable by `safetensors.torch.load_file`, numpy or any tfjs backend:
//   8 bytes: N, the header's length (u64, little-endian)
//   N bytes: a UTF-8 JSON header `{"__metadata__": {...}, "<tensor>": {"dtype", "shape",
//            "data_offsets": [begin, end]}, ...}`, padded with spaces to a multiple of 8
//   the data: the tensors' little-endian values end to end, in offset order (offsets relative to
//            the data's start), no gap, no overlap.
// Tensor names say what each is: `param/<name>`, `buffer/<name>` (BatchNorm statistics) and
// `optimizer/<slot>/<param>`. `__metadata__` (strings only) holds our metadata, nested values
// JSON-encoded: see CheckpointMeta and META_KEYS.
// Written crash-safe: the whole file goes to a temp file (fsync) and is renamed over the previous
// one, so a crash at any point leaves either checkpoint complete. A checkpoint of format 1 (a JSON
// manifest `last.json` naming a binary `last-e0003-<hex>.bin`) still reads; the next write of that
// kind replaces it. No tfjs here: the host only needs the file names (src/store/paths.ts) and tests
// can check the format without a backend.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CheckpointKind } from '../shared/api';
import type { ModelConfig } from '../shared/config';
import { checkpointFileName, legacyManifestFileName, runDir } from './paths';
import { writeError, writeFileAtomic } from './safe-write';

export const CHECKPOINT_FORMAT = 'trickbench-checkpoint';
/** 1: JSON manifest + .bin (read only); 2: safetensors. */
export const CHECKPOINT_VERSION = 2;
/** A header longer than this is refused before it is read (the safetensors library's own limit). */
export const MAX_HEADER_BYTES = 100_000_000;

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
  /** Byte offset (from the start of the data) and length. */
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
  /** The format the file was written in (1: JSON + .bin, 2: safetensors). */
  version: number;
  createdAt: number;
  /** The file holding the tensors, in the checkpoint's folder: `last.safetensors`, or a format-1 binary. */
  weightsFile: string;
  /** Bytes of tensor data. */
  byteLength: number;
  /** sha256 of the tensor data, checked on read; null for a safetensors file written without one. */
  sha256: string | null;
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

/** The `__metadata__` keys of a checkpoint we write, each a string; JSON for the nested ones. */
export const META_KEYS = {
  format: 'format', // "trickbench-checkpoint"
  version: 'format_version', // "2"
  runId: 'run_id', // "12"
  kind: 'kind', // "last" | "best"
  createdAt: 'created_at_ms', // ms since 1970, "1796206648574"
  model: 'model', // JSON {config (the run's model config), inputShape [h,w,c], numClasses}
  optimizer: 'optimizer', // JSON {name, scalars: {t, ...}} or "null" (best: no optimizer state)
  position: 'position', // JSON {epoch, step, stepsPerEpoch, bestValAcc, bestEpoch}
  val: 'val', // JSON {loss, acc} or "null"
  sha256: 'data_sha256', // hex sha256 of the data section
} as const;

const LITTLE_ENDIAN = os.endianness() === 'LE';
const DTYPE_CODE: Record<StoredDtype, string> = { float32: 'F32', int32: 'I32' };
const CODE_DTYPE: Record<string, StoredDtype> = { F32: 'float32', I32: 'int32' };
/** The safetensors dtypes we know of but do not read: named so in the error. */
const OTHER_DTYPES = new Set(['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'U32', 'F64', 'I64', 'U64']);
const LEGACY_BIN = /^(best|last)-e\d+-[0-9a-f]{8}\.bin$/;

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

/** The safetensors name of a tensor, and back. */
export function tensorName(t: Pick<NamedArray, 'group' | 'name' | 'slot'>): string {
  return t.group === 'optimizer' ? `optimizer/${t.slot}/${t.name}` : `${t.group}/${t.name}`;
}
function parseTensorName(key: string): Pick<NamedArray, 'group' | 'name' | 'slot'> | null {
  const m = /^(?:(param|buffer)|optimizer\/([^/]+))\/(.+)$/.exec(key);
  if (!m) return null;
  return m[1] ? { group: m[1] as TensorGroup, name: m[3]! } : { group: 'optimizer', slot: m[2]!, name: m[3]! };
}

const sizeOf = (shape: readonly number[]) => shape.reduce((x, y) => x * y, 1);

/** The whole safetensors file of a checkpoint: header length, header, data. */
function encode(meta: CheckpointMeta, arrays: readonly NamedArray[], createdAt: number): { file: Uint8Array; byteLength: number; sha256: string } {
  const header: Record<string, unknown> = {};
  const names = new Set<string>();
  let offset = 0;
  for (const a of arrays) {
    if (a.group === 'optimizer' ? !a.slot || a.slot.includes('/') : a.slot !== undefined) {
      throw new Error(`checkpoint tensor ${a.name}: optimizer state needs a slot without '/', params and buffers none (slot ${JSON.stringify(a.slot)})`);
    }
    if (!a.name) throw new Error(`checkpoint tensor of group ${a.group}: no name`);
    if (sizeOf(a.shape) !== a.data.length) throw new Error(`checkpoint tensor ${a.name}: shape [${a.shape.join(',')}] does not hold ${a.data.length} values`);
    const name = tensorName(a);
    if (names.has(name)) throw new Error(`checkpoint tensor ${name} is given twice`);
    names.add(name);
    header[name] = { dtype: DTYPE_CODE[a.data instanceof Int32Array ? 'int32' : 'float32'], shape: a.shape, data_offsets: [offset, offset + a.data.byteLength] };
    offset += a.data.byteLength;
  }
  const dataLength = offset;
  // The checksum first (it goes in the header), the bytes then straight into the file's buffer: one copy.
  const hash = crypto.createHash('sha256');
  for (const a of arrays) hash.update(toBytes(a.data));
  const sha256 = hash.digest('hex');
  const metadata: Record<string, string> = {
    [META_KEYS.format]: CHECKPOINT_FORMAT,
    [META_KEYS.version]: String(CHECKPOINT_VERSION),
    [META_KEYS.runId]: String(meta.runId),
    [META_KEYS.kind]: meta.kind,
    [META_KEYS.createdAt]: String(createdAt),
    [META_KEYS.model]: JSON.stringify(meta.model),
    [META_KEYS.optimizer]: JSON.stringify(meta.optimizer),
    [META_KEYS.position]: JSON.stringify(meta.position),
    [META_KEYS.val]: JSON.stringify(meta.val),
    [META_KEYS.sha256]: sha256,
  };
  let json = Buffer.from(JSON.stringify({ __metadata__: metadata, ...header }), 'utf8');
  const pad = (8 - (json.byteLength % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const file = new Uint8Array(8 + json.byteLength + dataLength);
  new DataView(file.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  file.set(json, 8);
  offset = 8 + json.byteLength;
  for (const a of arrays) {
    file.set(toBytes(a.data), offset);
    offset += a.data.byteLength;
  }
  return { file, byteLength: dataLength, sha256 };
}

/** Save a checkpoint of `kind` into `dir` (the run's folder), replacing the previous one atomically. */
export function writeCheckpoint(dir: string, meta: CheckpointMeta, arrays: readonly NamedArray[]): CheckpointManifest {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw writeError(e, dir);
  }
  const createdAt = Date.now();
  const { file: bytes, byteLength, sha256 } = encode(meta, arrays, createdAt);
  const weightsFile = checkpointFileName(meta.kind);
  const file = path.join(dir, weightsFile);
  // The temp file and the rename: the final name only ever holds a complete file; a failed write
  // (a full disk) removes its temp file and says "disk full (ENOSPC) writing FILE".
  writeFileAtomic(file, `${file}.${process.pid}.tmp`, bytes, { fsync: true });
  fsyncDir(dir);
  removeStale(dir, meta.kind);
  let offset = 0;
  const tensors: TensorEntry[] = arrays.map(({ data, ...rest }) => {
    const e = { ...rest, dtype: data instanceof Int32Array ? ('int32' as const) : ('float32' as const), offset, byteLength: data.byteLength };
    offset += data.byteLength;
    return e;
  });
  return { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, createdAt, ...meta, weightsFile, byteLength, sha256, tensors };
}

/** What the new file of `kind` supersedes: that kind's format-1 manifest and binaries, binaries no
 * format-1 manifest names any more, and temp files left by crashed writes. */
function removeStale(dir: string, kind: CheckpointKind): void {
  const other: CheckpointKind = kind === 'best' ? 'last' : 'best';
  let otherBin: string | null = null;
  try {
    otherBin = fs.existsSync(path.join(dir, checkpointFileName(other))) ? null : (readLegacyManifest(dir, other)?.weightsFile ?? null);
  } catch {
    otherBin = '*'; // unreadable: leave that kind's files alone
  }
  // The manifest first: once it is gone, nothing names this kind's old binaries.
  fs.rmSync(path.join(dir, legacyManifestFileName(kind)), { force: true });
  for (const f of fs.readdirSync(dir)) {
    const m = LEGACY_BIN.exec(f);
    const orphan = m && (m[1] === kind || (otherBin !== '*' && f !== otherBin));
    if (orphan || ((f.startsWith('best') || f.startsWith('last')) && f.endsWith('.tmp'))) fs.rmSync(path.join(dir, f), { force: true });
  }
}

// ---- reading: every field checked, every problem a CheckpointError naming the file ----

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isNum = (v: unknown): v is number => typeof v === 'number';
const numOrNull = (v: unknown): v is number | null => v === null || isNum(v);
const isShape = (v: unknown): v is number[] => Array.isArray(v) && v.every(isCount) && Number.isSafeInteger(sizeOf(v) * 4);
const shapeText = (s: readonly unknown[]) => `[${s.join(',')}]`;

/** The metadata fields, checked; `field(k)` names field k in messages (`__metadata__.position`). */
function checkMeta(file: string, get: (k: keyof typeof META_KEYS) => unknown, field: (k: keyof typeof META_KEYS) => string): CheckpointMeta & { createdAt: number } {
  const bad = (k: keyof typeof META_KEYS, what: string): never => {
    throw new CheckpointError(file, `${field(k)} ${what}`);
  };
  const runId = get('runId');
  if (!isCount(runId)) bad('runId', 'is not a run id');
  const kind = get('kind');
  if (kind !== 'best' && kind !== 'last') bad('kind', 'is neither "best" nor "last"');
  const createdAt = get('createdAt');
  if (!isNum(createdAt)) bad('createdAt', 'is not a time');
  const model = get('model');
  if (
    !isObj(model) ||
    !isObj(model.config) ||
    typeof model.config.name !== 'string' ||
    !Array.isArray(model.inputShape) ||
    !model.inputShape.every((d) => isCount(d) && d > 0) ||
    !isCount(model.numClasses) ||
    model.numClasses < 1
  ) {
    bad('model', 'is not {config: {name, ...}, inputShape, numClasses}');
  }
  const optimizer = get('optimizer');
  if (optimizer !== null && !(isObj(optimizer) && typeof optimizer.name === 'string' && isObj(optimizer.scalars) && Object.values(optimizer.scalars).every(isNum))) {
    bad('optimizer', 'is neither null nor {name, scalars: {name: number}}');
  }
  const p = get('position');
  if (!isObj(p) || !isCount(p.epoch) || !isCount(p.step) || !isCount(p.stepsPerEpoch) || !numOrNull(p.bestValAcc) || !(p.bestEpoch === null || isCount(p.bestEpoch))) {
    bad('position', 'is not {epoch, step, stepsPerEpoch, bestValAcc, bestEpoch}');
  }
  const val = get('val');
  // A NaN loss was written as null (JSON), so null passes where a number is expected.
  if (val !== null && !(isObj(val) && numOrNull(val.loss) && numOrNull(val.acc))) bad('val', 'is neither null nor {loss, acc}');
  return { runId, kind, createdAt, model, optimizer, position: p, val } as CheckpointMeta & { createdAt: number };
}

/** The header of a safetensors checkpoint, checked against the file's size. */
function parseHeader(file: string, fileSize: number, lengthBytes: Buffer, readHeader: (n: number) => Buffer): CheckpointManifest {
  if (fileSize < 8) throw new CheckpointError(file, `truncated: ${fileSize} bytes, not even the 8-byte header length`);
  const n = lengthBytes.readBigUInt64LE(0);
  if (n > BigInt(fileSize - 8)) throw new CheckpointError(file, `header length ${n} runs past the end of the file (${fileSize} bytes): truncated or not a safetensors file`);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new CheckpointError(file, `header length ${n} is over the ${MAX_HEADER_BYTES}-byte limit`);
  const headerLength = Number(n);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(readHeader(headerLength)));
  } catch (e) {
    throw new CheckpointError(file, `header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (!isObj(header)) throw new CheckpointError(file, 'header is not a JSON object');
  const dataLength = fileSize - 8 - headerLength;

  const raw = header.__metadata__;
  if (raw !== undefined && !(isObj(raw) && Object.values(raw).every((v) => typeof v === 'string'))) {
    throw new CheckpointError(file, '__metadata__ is not an object of strings');
  }
  const metadata = (raw ?? {}) as Record<string, string>;
  if (metadata[META_KEYS.format] !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(file, `a safetensors file but not a Trickbench checkpoint (__metadata__.${META_KEYS.format} is not "${CHECKPOINT_FORMAT}")`);
  }
  const version = Number(metadata[META_KEYS.version]);
  if (!Number.isSafeInteger(version) || version < 2) throw new CheckpointError(file, `__metadata__.${META_KEYS.version} is not a format version`);
  if (version > CHECKPOINT_VERSION) throw new CheckpointError(file, `written by a newer Trickbench (format ${version}); upgrade the app`);
  const get = (k: keyof typeof META_KEYS): unknown => {
    const s = metadata[META_KEYS[k]];
    if (s === undefined) throw new CheckpointError(file, `__metadata__ has no ${META_KEYS[k]}`);
    if (k === 'kind') return s;
    try {
      return JSON.parse(s);
    } catch {
      throw new CheckpointError(file, `__metadata__.${META_KEYS[k]} is not JSON`);
    }
  };
  const meta = checkMeta(file, get, (k) => `__metadata__.${META_KEYS[k]}`);
  const sha = metadata[META_KEYS.sha256];
  if (sha !== undefined && !/^[0-9a-f]{64}$/.test(sha)) throw new CheckpointError(file, `__metadata__.${META_KEYS.sha256} is not a sha256`);

  const tensors: TensorEntry[] = [];
  for (const [key, info] of Object.entries(header)) {
    if (key === '__metadata__') continue;
    const what = `tensor ${JSON.stringify(key)}`;
    if (!isObj(info)) throw new CheckpointError(file, `${what} is not {dtype, shape, data_offsets}`);
    const code = info.dtype;
    const dtype = typeof code === 'string' ? CODE_DTYPE[code] : undefined;
    if (!dtype) {
      const why = typeof code === 'string' && OTHER_DTYPES.has(code) ? `dtype ${code} is not one Trickbench reads (F32, I32)` : `unknown dtype ${JSON.stringify(code)}`;
      throw new CheckpointError(file, `${what}: ${why}`);
    }
    const shape = info.shape;
    if (!isShape(shape)) throw new CheckpointError(file, `${what}: shape ${JSON.stringify(shape)} is not a list of sizes`);
    const off = info.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !isCount(off[0]) || !isCount(off[1]) || off[1] < off[0]) {
      throw new CheckpointError(file, `${what}: data_offsets ${JSON.stringify(off)} is not [begin, end]`);
    }
    const [begin, end] = off as [number, number];
    if (end > dataLength) throw new CheckpointError(file, `${what}: data_offsets [${begin},${end}] run past the end of the data (${dataLength} bytes): truncated`);
    if (end - begin !== 4 * sizeOf(shape)) {
      throw new CheckpointError(file, `${what}: shape ${shapeText(shape)} of ${code} takes ${4 * sizeOf(shape)} bytes but data_offsets [${begin},${end}] hold ${end - begin}`);
    }
    const name = parseTensorName(key);
    if (!name) throw new CheckpointError(file, `${what}: not a param/…, buffer/… or optimizer/<slot>/… name`);
    tensors.push({ ...name, shape, dtype, offset: begin, byteLength: end - begin });
  }
  // The data in offset order: each tensor starts where the one before ends, the last ends the file.
  tensors.sort((a, b) => a.offset - b.offset || a.byteLength - b.byteLength);
  let at = 0;
  for (const t of tensors) {
    if (t.offset < at) throw new CheckpointError(file, `tensor ${JSON.stringify(tensorName(t))} (bytes ${t.offset}-${t.offset + t.byteLength}) overlaps the tensor before it (ending at ${at})`);
    if (t.offset > at) throw new CheckpointError(file, `a gap of ${t.offset - at} bytes in the data before tensor ${JSON.stringify(tensorName(t))}`);
    at = t.offset + t.byteLength;
  }
  if (at !== dataLength) throw new CheckpointError(file, `${dataLength - at} bytes after the last tensor's data`);
  const { createdAt, ...rest } = meta;
  return { format: CHECKPOINT_FORMAT, version, createdAt, ...rest, weightsFile: path.basename(file), byteLength: dataLength, sha256: sha ?? null, tensors };
}

function readError(file: string, e: unknown): CheckpointError {
  return new CheckpointError(file, `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
}

/** The header of `<kind>.safetensors` alone (cheap: the data is not read), or null when absent. */
function readSafetensorsManifest(dir: string, kind: CheckpointKind): CheckpointManifest | null {
  const file = path.join(dir, checkpointFileName(kind));
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw readError(file, e);
  }
  try {
    const read = (n: number, at: number) => {
      const b = Buffer.alloc(n);
      if (fs.readSync(fd, b, 0, n, at) !== n) throw new CheckpointError(file, 'changed while being read');
      return b;
    };
    const size = fs.fstatSync(fd).size;
    return parseHeader(file, size, size >= 8 ? read(8, 0) : Buffer.alloc(8), (n) => read(n, 8));
  } catch (e) {
    throw e instanceof CheckpointError ? e : readError(file, e);
  } finally {
    fs.closeSync(fd);
  }
}

/** A format-1 manifest (`<kind>.json`), checked, or null when absent. */
function readLegacyManifest(dir: string, kind: CheckpointKind): CheckpointManifest | null {
  const file = path.join(dir, legacyManifestFileName(kind));
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw readError(file, e);
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(file, `not a checkpoint manifest (${(e as Error).message})`);
  }
  if (!isObj(m) || m.format !== CHECKPOINT_FORMAT) throw new CheckpointError(file, 'not a Trickbench checkpoint manifest');
  if (m.version !== 1) throw new CheckpointError(file, isCount(m.version) && m.version > 1 ? `a format-${m.version} manifest: format 1 is the last kept in JSON` : 'version is not a format version');
  const meta = checkMeta(file, (k) => m[k], (k) => `field ${k}`);
  if (typeof m.weightsFile !== 'string' || !LEGACY_BIN.test(m.weightsFile)) throw new CheckpointError(file, 'field weightsFile is not a checkpoint binary in the same folder');
  if (!isCount(m.byteLength)) throw new CheckpointError(file, 'field byteLength is not a size');
  if (typeof m.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.sha256)) throw new CheckpointError(file, 'field sha256 is not a sha256');
  if (!Array.isArray(m.tensors)) throw new CheckpointError(file, 'field tensors is not a list');
  const byteLength = m.byteLength;
  const tensors = m.tensors.map((t: unknown, i): TensorEntry => {
    const bad = (what: string): never => {
      throw new CheckpointError(file, `tensors[${i}] ${what}`);
    };
    if (!isObj(t) || typeof t.name !== 'string' || !t.name) bad('has no name');
    const e = t as Obj;
    if (e.group !== 'param' && e.group !== 'buffer' && e.group !== 'optimizer') bad('has no group param, buffer or optimizer');
    if (e.group === 'optimizer' ? typeof e.slot !== 'string' || !e.slot || e.slot.includes('/') : e.slot !== undefined) bad('has a wrong slot');
    if (e.dtype !== 'float32' && e.dtype !== 'int32') bad(`has unknown dtype ${JSON.stringify(e.dtype)}`);
    if (!isShape(e.shape)) bad('has no shape');
    const shape = e.shape as number[];
    if (!isCount(e.offset) || !isCount(e.byteLength) || e.offset + e.byteLength > byteLength) bad(`bytes lie outside the ${byteLength}-byte binary`);
    if (e.byteLength !== 4 * sizeOf(shape)) bad(`shape ${shapeText(shape)} takes ${4 * sizeOf(shape)} bytes, not ${String(e.byteLength)}`);
    const entry: TensorEntry = { group: e.group as TensorGroup, name: e.name as string, shape, dtype: e.dtype as StoredDtype, offset: e.offset as number, byteLength: e.byteLength as number };
    if (e.group === 'optimizer') entry.slot = e.slot as string;
    return entry;
  });
  const { createdAt, ...rest } = meta;
  return { format: CHECKPOINT_FORMAT, version: 1, createdAt, ...rest, weightsFile: m.weightsFile, byteLength, sha256: m.sha256, tensors };
}

/** The manifest alone (cheap: no tensor data is read), or null when there is no checkpoint of
 * that kind: `<kind>.safetensors`, else a format-1 `<kind>.json`. */
export function readManifest(dir: string, kind: CheckpointKind): CheckpointManifest | null {
  return readSafetensorsManifest(dir, kind) ?? readLegacyManifest(dir, kind);
}

/** Read a checkpoint with its tensors; null when there is none. A damaged one is a CheckpointError naming the file. */
export function readCheckpoint(dir: string, kind: CheckpointKind): Checkpoint | null {
  const st = path.join(dir, checkpointFileName(kind));
  let bytes: Buffer | null;
  try {
    bytes = fs.readFileSync(st);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw readError(st, e);
    bytes = null;
  }
  let manifest: CheckpointManifest | null;
  let data: Buffer;
  let file: string;
  if (bytes) {
    file = st;
    const buf = bytes;
    manifest = parseHeader(st, buf.byteLength, buf.byteLength >= 8 ? buf.subarray(0, 8) : Buffer.alloc(8), (n) => buf.subarray(8, 8 + n));
    data = buf.subarray(buf.byteLength - manifest.byteLength);
  } else {
    manifest = readLegacyManifest(dir, kind);
    if (!manifest) return null;
    file = path.join(dir, manifest.weightsFile);
    try {
      data = fs.readFileSync(file);
    } catch (e) {
      throw new CheckpointError(file, `cannot read the weights of ${legacyManifestFileName(kind)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    if (data.byteLength !== manifest.byteLength) throw new CheckpointError(file, `holds ${data.byteLength} bytes, its manifest says ${manifest.byteLength}`);
  }
  if (manifest.sha256 !== null && crypto.createHash('sha256').update(data).digest('hex') !== manifest.sha256) {
    throw new CheckpointError(file, 'checksum mismatch: the file is damaged');
  }
  // Back in the order written (offset order), which is model order.
  const entries = [...manifest.tensors].sort((a, b) => a.offset - b.offset);
  const tensors = entries.map(({ dtype, offset, byteLength, ...rest }) => ({ ...rest, data: fromBytes(data.subarray(offset, offset + byteLength), dtype) }));
  return { manifest, tensors };
}

/** The checkpoint of a run, by the run folder's conventional place. */
export function readRunCheckpoint(dataDir: string, runId: number, kind: CheckpointKind): Checkpoint | null {
  return readCheckpoint(runDir(dataDir, runId), kind);
}

/** Index a checkpoint's tensors by group, slot and name. */
export function tensorKey(group: TensorGroup, name: string, slot?: string): string {
  return slot ? `${group}:${slot}:${name}` : `${group}:${name}`;
}
export function indexTensors(ckpt: Checkpoint): Map<string, NamedArray> {
  return new Map(ckpt.tensors.map((t) => [tensorKey(t.group, t.name, t.slot), t]));
}
