// Where a dataset named in a config lives. Three places, in this order: datasets the user imported
// (the store's dataset table: a file or folder anywhere, indexed where it is), folders in the data
// dir's datasets/ (downloads land there), and folders in /usr/share/datasets (Debian's dataset
// packages). A folder's name is the dataset's name; inside it, an official archive (CIFAR's
// tarballs, as downloaded) or anything the format readers recognise.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UnknownDatasetError } from '../shared/config';
import { DATASET_NAME, isBuiltinDataset } from '../shared/models/datasets';
import { detectFormat, type DatasetFormat } from './formats/read';

export const SYSTEM_DATASETS = '/usr/share/datasets';

export type DatasetOrigin = 'imported' | 'data-dir' | 'system';

export interface DatasetLocation {
  name: string;
  path: string;
  format: DatasetFormat;
  origin: DatasetOrigin;
  /** How an imported dataset is read (labels, strict, imageSize), as given at import. */
  options: Record<string, unknown>;
  /** The files read (relative paths, sizes, modification times), hashed: a key for caches. */
  fingerprint: string;
}

/** What may sit inside a dataset's folder, tried before generic detection: the official archives
 * as downloaded, then their extracted folders (python before binary: the seeds' code reads it). */
const KNOWN_ENTRIES = [
  'cifar-10-python.tar.gz',
  'cifar-100-python.tar.gz',
  'cifar-10-binary.tar.gz',
  'cifar-100-binary.tar.gz',
  'cifar-10-batches-py',
  'cifar-100-python',
  'cifar-10-batches-bin',
  'cifar-100-binary',
];

export function datasetRoots(dataDir: string, systemDir = SYSTEM_DATASETS): { dir: string; origin: DatasetOrigin }[] {
  return [
    { dir: path.join(dataDir, 'datasets'), origin: 'data-dir' },
    { dir: systemDir, origin: 'system' },
  ];
}

/** The dataset inside a folder of the data dir or the system dir, or null if nothing there is one. */
export async function probeFolder(dir: string): Promise<{ path: string; format: DatasetFormat } | null> {
  for (const entry of KNOWN_ENTRIES) {
    const p = path.join(dir, entry);
    if (fs.existsSync(p)) {
      try {
        return { path: p, format: await detectFormat(p) };
      } catch {
        // an unreadable archive here is reported when the dataset is read, not while listing
        return null;
      }
    }
  }
  try {
    return { path: dir, format: await detectFormat(dir) };
  } catch {
    return null;
  }
}

/** Hash of the files a dataset is read from: their paths below p, sizes and modification times. */
export function fingerprint(p: string): string {
  const h = crypto.createHash('sha1');
  // A dangling link or an unreadable entry is part of the fingerprint as such, not an error: the
  // readers skip or report it.
  const walk = (abs: string, rel: string, depth: number) => {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(abs, { throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    if (!st) {
      h.update(`${rel}:unreadable\n`);
      return;
    }
    if (st.isDirectory()) {
      if (depth > 4) return;
      let entries: string[] = [];
      try {
        entries = fs.readdirSync(abs).sort();
      } catch {
        h.update(`${rel}/:unreadable\n`);
      }
      for (const e of entries) if (!e.startsWith('.')) walk(path.join(abs, e), rel ? `${rel}/${e}` : e, depth + 1);
    } else {
      h.update(`${rel}:${st.size}:${Math.round(st.mtimeMs)}\n`);
    }
  };
  h.update(`${path.resolve(p)}\n`);
  walk(p, '', 0);
  return h.digest('hex').slice(0, 16);
}

/** Every dataset folder in the data dir and the system dir that holds a readable dataset. A name
 * found in both is the data dir's (a download shadows the system copy). */
export async function discoverDatasets(dataDir: string, systemDir = SYSTEM_DATASETS): Promise<Omit<DatasetLocation, 'fingerprint'>[]> {
  const out: Omit<DatasetLocation, 'fingerprint'>[] = [];
  const seen = new Set<string>();
  for (const root of datasetRoots(dataDir, systemDir)) {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(root.dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!e.isDirectory() || !DATASET_NAME.test(e.name) || seen.has(e.name)) continue;
      const found = await probeFolder(path.join(root.dir, e.name));
      if (!found) continue;
      seen.add(e.name);
      out.push({ name: e.name, path: found.path, format: found.format, origin: root.origin, options: {} });
    }
  }
  return out;
}

export interface LocateOptions {
  imported?: (name: string) => { path: string; format: string; options: Record<string, unknown> } | null;
  systemDir?: string;
}

export async function locateDataset(name: string, dataDir: string, opts: LocateOptions = {}): Promise<DatasetLocation> {
  const imp = opts.imported?.(name);
  if (imp) {
    if (!fs.existsSync(imp.path)) throw new Error(`dataset '${name}' was imported from ${imp.path}, which no longer exists`);
    return {
      name,
      path: imp.path,
      format: imp.format as DatasetFormat,
      origin: 'imported',
      options: imp.options,
      fingerprint: fingerprint(imp.path),
    };
  }
  for (const root of datasetRoots(dataDir, opts.systemDir)) {
    const dir = path.join(root.dir, name);
    if (!fs.existsSync(dir)) continue;
    const found = await probeFolder(dir);
    if (found) return { name, path: found.path, format: found.format, origin: root.origin, options: {}, fingerprint: fingerprint(found.path) };
  }
  const where = datasetRoots(dataDir, opts.systemDir).map((r) => path.join(r.dir, name));
  const err = new UnknownDatasetError(name);
  err.message = `dataset '${name}' not found: not imported, and no dataset in ${where.join(' or ')}${isBuiltinDataset(name) ? ` (download it on the Datasets page or with \`npm run dataset -- download ${name}\`)` : ''}`;
  throw err;
}
