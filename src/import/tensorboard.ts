// TensorBoard event files -> ImportedRun: one run per folder holding event files
// (events.out.tfevents.*; several files in a folder are one run, read in name order), every scalar
// summary a metric point with its tag as the key. Scalars come as `simple_value` (TF1,
// tensorboardX, PyTorch's SummaryWriter) or as rank-0 DT_FLOAT/DT_DOUBLE tensors of the 'scalars'
// plugin (TF2's tf.summary.scalar, Keras' TensorBoard callback), whose plugin metadata is written
// with a tag's first value only. Other summaries (images, histograms, audio, text) are counted and
// skipped.
import fs from 'node:fs';
import path from 'node:path';
import { clientKey, mapKey, placeRun, runName, type PlacementOptions } from './common';
import { decodeEvent, DT_DOUBLE, DT_FLOAT, DT_HALF, int64, type TbTensor, type TbValue } from './tensorboard-proto';
import { readTfRecords, type TfRecordProblem } from './tfrecord';
import { ImportError, type ImportedPoint, type ImportedRun } from './types';

export const EVENT_FILE = /^events\.out\.tfevents\./;

export interface TensorboardOptions extends PlacementOptions {
  keyMap?: ReadonlyMap<string, string>;
  /** refuse a damaged or truncated file instead of importing up to its last good record */
  strict?: boolean;
  /** Keras' layout: a run folder's `train/` and `validation/` subfolders are one run, their tags
   * renamed as ours (kerasKey) */
  keras?: boolean;
  onProgress?: (message: string) => void;
}

/** Keras' TensorBoard callback writes `epoch_<metric>` (per epoch, step = epoch index) and
 * `batch_<metric>` (per batch) into `train/` and `validation/`; as our keys: `train/loss`,
 * `val/acc`, `train/loss_step` (accuracy becomes acc, as our trainer names it). Other tags are
 * prefixed with the subfolder: `validation/evaluation_loss_vs_iterations` -> `val/evaluation_loss_vs_iterations`. */
export function kerasKey(sub: 'train' | 'validation', tag: string): string {
  const side = sub === 'train' ? 'train' : 'val';
  const m = /^(epoch|batch)_(.+)$/.exec(tag);
  if (!m) return `${side}/${tag}`;
  const metric = m[2] === 'accuracy' ? 'acc' : m[2]!;
  return m[1] === 'epoch' ? `${side}/${metric}` : `${side}/${metric}_step`;
}

export interface EventFolder {
  /** absolute, real path */
  dir: string;
  /** relative to the imported DIR, '/'-separated ('' for DIR itself) */
  rel: string;
  /** event file names, in name order */
  files: string[];
}

/** Every folder under `root` (itself included) holding event files. Links to folders are not
 * followed (one to / would walk the whole disk); they are listed in `linkedDirs`. Links to event
 * files are read when they lead to a regular file. */
export function findEventFolders(root: string): { folders: EventFolder[]; linkedDirs: string[] } {
  let real: string;
  try {
    real = fs.realpathSync(root);
    if (!fs.statSync(real).isDirectory()) throw new ImportError(`${root}: not a folder`);
  } catch (e) {
    if (e instanceof ImportError) throw e;
    throw new ImportError(`${root}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (e as Error).message}`);
  }
  const out: EventFolder[] = [];
  const linkedDirs: string[] = [];
  const walk = (dir: string, rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // unreadable: nothing to import there
    }
    const files: string[] = [];
    const dirs: string[] = [];
    for (const e of entries) {
      const isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        try {
          const st = fs.statSync(path.join(dir, e.name));
          if (st.isDirectory()) linkedDirs.push(rel ? `${rel}/${e.name}` : e.name);
          isFile = st.isFile();
        } catch {
          continue; // a dangling link
        }
      }
      if (isFile && EVENT_FILE.test(e.name)) files.push(e.name);
      else if (isDir) dirs.push(e.name);
    }
    if (files.length) out.push({ dir, rel, files: files.sort() });
    for (const d of dirs.sort()) walk(path.join(dir, d), rel ? `${rel}/${d}` : d);
  };
  walk(real, '');
  return { folders: out, linkedDirs };
}

/** The scalar a tensor holds, or null when it is not a rank-0 float/double (a histogram, an image). */
function tensorScalar(t: TbTensor): number | null {
  const dims = t.tensor_shape?.dim ?? [];
  if (t.tensor_shape?.unknown_rank || dims.some((d) => int64(d.size) !== 1)) return null;
  const content = t.tensor_content;
  if (t.dtype === DT_FLOAT) {
    if (content && content.length === 4) return Buffer.from(content).readFloatLE(0);
    if (t.float_val?.length === 1) return t.float_val[0]!;
  } else if (t.dtype === DT_DOUBLE) {
    if (content && content.length === 8) return Buffer.from(content).readDoubleLE(0);
    if (t.double_val?.length === 1) return t.double_val[0]!;
  } else if (t.dtype === DT_HALF) {
    if (content && content.length === 2) return halfToNumber(Buffer.from(content).readUInt16LE(0));
    if (t.half_val?.length === 1) return halfToNumber(t.half_val[0]!);
  }
  return null;
}

function halfToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

interface FolderRead {
  points: ImportedPoint[];
  warnings: string[];
}

/** The scalar points of one folder's event files (later values of a (tag, step) win, as TensorBoard
 * shows them). */
export function readEventFolder(folder: EventFolder, o: TensorboardOptions = {}, rename: (tag: string) => string = (t) => t): FolderRead {
  const keyMap = o.keyMap ?? new Map<string, string>();
  const byKeyStep = new Map<string, ImportedPoint>();
  const plugins = new Map<string, string>(); // tag -> plugin name, from its first value's metadata
  const skipped = new Map<string, number>(); // what -> count
  const warnings: string[] = [];
  let repeated = 0;
  let badSteps = 0;
  let notFinite = 0;
  const badKeys = new Set<string>();
  const skip = (what: string) => skipped.set(what, (skipped.get(what) ?? 0) + 1);
  for (const name of folder.files) {
    const file = path.join(folder.dir, name);
    const shown = folder.rel ? `${folder.rel}/${name}` : name;
    const scan = readTfRecords(file, (data) => {
      let ev;
      try {
        ev = decodeEvent(data);
      } catch (e) {
        return `the record is not an Event (${(e as Error).message})`;
      }
      if (ev.what !== 'summary') return;
      const step = int64(ev.step);
      const time = ev.wall_time ? Math.round(ev.wall_time * 1000) : undefined;
      for (const v of ev.summary?.value ?? []) {
        const tag = v.tag || v.node_name || '';
        const plugin = v.metadata?.plugin_data?.plugin_name;
        if (plugin && !plugins.has(tag)) plugins.set(tag, plugin);
        const value = scalarOf(v, plugins.get(tag));
        if (typeof value === 'string') {
          skip(value);
          continue;
        }
        if (!Number.isSafeInteger(step) || step < 0) {
          badSteps++;
          continue;
        }
        if (!Number.isFinite(value)) {
          notFinite++;
          continue;
        }
        const key = mapKey(rename(tag), keyMap);
        if (key === null) {
          badKeys.add(tag);
          continue;
        }
        const id = `${key}\0${step}`;
        if (byKeyStep.has(id)) {
          repeated++;
          byKeyStep.delete(id); // re-inserted below: the points stay in the order last written
        }
        byKeyStep.set(id, { key, step, value, ...(time !== undefined && time >= 0 ? { time } : {}) });
      }
    });
    if (scan.problem) {
      const p: TfRecordProblem = scan.problem;
      const what = `${shown}: ${p.kind === 'truncated' ? 'truncated' : 'damaged'} at byte ${p.offset}: ${p.message}`;
      if (o.strict) throw new ImportError(`${what} (--strict)`);
      warnings.push(`${what}; imported its ${scan.records} records before that`);
    }
  }
  for (const [what, n] of [...skipped].sort()) warnings.push(`${folder.rel || '.'}: skipped ${n} ${what} value${n === 1 ? '' : 's'} (not scalars)`);
  if (repeated) warnings.push(`${folder.rel || '.'}: ${repeated} values repeat a (tag, step) written before (a restarted run): the last one is kept`);
  if (badSteps) warnings.push(`${folder.rel || '.'}: skipped ${badSteps} values at a negative or too large step`);
  if (notFinite) warnings.push(`${folder.rel || '.'}: skipped ${notFinite} values that are NaN or infinite`);
  if (badKeys.size) warnings.push(`${folder.rel || '.'}: skipped the tags ${[...badKeys].map((k) => JSON.stringify(k)).join(', ')}: not usable as metric keys (empty, longer than 200 characters, control characters or outer spaces); rename them with --key-map`);
  return { points: [...byKeyStep.values()], warnings };
}

/** A value's scalar, or what kind of summary it is when it is not one. */
function scalarOf(v: TbValue, plugin: string | undefined): number | string {
  switch (v.value) {
    case 'simple_value':
      return v.simple_value ?? 0;
    case 'tensor': {
      if (plugin !== undefined && plugin !== 'scalars') return `'${plugin}' plugin`;
      const x = tensorScalar(v.tensor ?? {});
      return x === null ? (plugin ? `non-scalar '${plugin}' plugin` : 'non-scalar tensor') : x;
    }
    case 'histo':
    case 'obsolete_old_style_histogram':
      return 'histogram';
    case 'image':
      return 'image';
    case 'audio':
      return 'audio';
    default:
      return 'empty';
  }
}

export interface TensorboardImport {
  runs: ImportedRun[];
  warnings: string[];
}

/** Every run under `root`. A folder the pattern does not match is refused when the runs go to an
 * experiment (its arm and seed are needed), else imported on its own with a warning. */
export function readTensorboardDir(root: string, o: TensorboardOptions = {}): TensorboardImport {
  const { folders: found, linkedDirs } = findEventFolders(root);
  const linkNote = linkedDirs.length ? `links to folders are not followed: ${linkedDirs.join(', ')} (import them by their own path)` : '';
  if (!found.length) throw new ImportError(`${root}: no event files (events.out.tfevents.*) in it or below it${linkNote ? `; ${linkNote}` : ''}`);
  const warnings: string[] = linkNote ? [linkNote] : [];
  // one run per folder; with --keras, a folder's train/ and validation/ are parts of its run
  const groups = new Map<string, { f: EventFolder; parts: { folder: EventFolder; rename: (t: string) => string }[] }>();
  for (const folder of found) {
    const base = path.basename(folder.dir);
    const sub = o.keras && folder.rel && (base === 'train' || base === 'validation') ? base : null;
    const rel = sub ? folder.rel.split('/').slice(0, -1).join('/') : folder.rel;
    const dir = sub ? path.dirname(folder.dir) : folder.dir;
    let g = groups.get(dir);
    if (!g) groups.set(dir, (g = { f: { dir, rel, files: [] }, parts: [] }));
    g.parts.push({ folder, rename: sub ? (t) => kerasKey(sub, t) : (t) => t });
  }
  const placements = [...groups.values()].map((g) => {
    const name = g.f.rel || path.basename(g.f.dir);
    const p = placeRun(g.f.rel, o);
    return { f: g.f, parts: g.parts, name, p };
  });
  const unmatched = placements.filter((x) => x.p === null);
  if (unmatched.length && o.experiment !== undefined) {
    throw new ImportError(`--pattern does not match ${unmatched.length} run folder${unmatched.length === 1 ? '' : 's'} (their arm and seed are needed for experiment '${o.experiment}'): ${unmatched.map((x) => x.f.rel || '.').join(', ')}`);
  }
  if (unmatched.length) warnings.push(`--pattern does not match ${unmatched.map((x) => x.f.rel || '.').join(', ')}: imported as runs of no experiment`);
  const runs: ImportedRun[] = [];
  for (const { f, parts, name, p } of placements) {
    const nFiles = parts.reduce((n, x) => n + x.folder.files.length, 0);
    o.onProgress?.(`reading ${f.rel || '.'} (${nFiles} event file${nFiles === 1 ? '' : 's'})`);
    const place = p ?? { seed: o.seed ?? 0, params: {} };
    const read: FolderRead = { points: [], warnings: [] };
    for (const part of parts) {
      const got = readEventFolder(part.folder, o, part.rename);
      // concat, not push(...): a run has more points than a call has room for arguments
      read.points = read.points.length ? read.points.concat(got.points) : got.points;
      read.warnings.push(...got.warnings);
    }
    const n = runName(name, 'tensorboard run');
    runs.push({
      sourcePath: f.dir,
      name: n,
      spec: {
        name: n,
        seed: place.seed,
        params: place.params,
        ...(place.experiment !== undefined ? { experiment: place.experiment, arm: place.arm } : {}),
        ...(place.experiment !== undefined && o.baseline !== undefined ? { baseline: o.baseline } : {}),
        clientKey: clientKey('tensorboard', f.dir),
      },
      metrics: read.points,
      events: [],
      summary: {},
      warnings: read.warnings,
    });
  }
  return { runs, warnings };
}
