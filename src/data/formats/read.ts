// One entry point for dataset files on disk: detect the format of a file or folder, read it, or
// inspect it (read and validate everything, then report counts).
import fs from 'node:fs';
import path from 'node:path';
import { DataError, type Dataset, type ImageSet } from '../types';
import { CIFAR_LAYOUTS, readCifar, type CifarFormat } from './cifar';
import { readImageFolder, statPath, subfolders } from './folder';
import { findIdxFile, IDX_STEMS, readIdxDataset, type IdxKind } from './idx-dataset';
import { peekTarNames } from './tar';

export type DatasetFormat = 'idx' | 'cifar10-binary' | 'cifar10-python' | 'cifar100-binary' | 'cifar100-python' | 'image-folder';

export interface ReadOptions {
  /** CIFAR-100: the 100 fine classes (default) or the 20 coarse superclasses. */
  labels?: 'fine' | 'coarse';
  /** Image folders: the side images are resized to; null/undefined: see folder.ts. */
  imageSize?: number | null;
  /** Image folders: refuse an undecodable image instead of skipping it. */
  strict?: boolean;
  /** IDX: which MNIST-family set (class names); by default guessed from the folder name. */
  kind?: IdxKind;
}

export interface ReadResult {
  format: DatasetFormat;
  dataset: Dataset & { val?: ImageSet };
  skipped: { file: string; reason: string }[];
}

export interface InspectResult {
  format: DatasetFormat;
  classes: number;
  classNames: string[];
  train: number;
  test: number;
  val?: number;
  shape: [number, number, number];
  classCounts: { train: number[]; test: number[] };
  skipped: { file: string; reason: string }[];
}

const EXPECTED =
  'expected a folder of MNIST-style IDX files, a CIFAR-10/100 .tar.gz (binary or python version) or its extracted batches folder, or an image folder (<class>/<images>, optionally under train/ and test/)';

const CIFAR_FORMATS = Object.keys(CIFAR_LAYOUTS) as CifarFormat[];

function cifarByTop(top: string): CifarFormat | null {
  return CIFAR_FORMATS.find((f) => CIFAR_LAYOUTS[f].top === top) ?? null;
}

/** The format and the path to read it from (a CIFAR parent folder resolves to its batches folder). */
async function locate(p: string): Promise<{ format: DatasetFormat; at: string }> {
  const st = statPath(p); // a link loop is a DataError naming it
  if (!st) throw new DataError(p, `no such file or folder (${EXPECTED})`);
  if (st.isFile()) {
    let names: string[] = [];
    try {
      names = peekTarNames(p);
    } catch (e) {
      // A truncated or corrupt gzip is reported as such, anything else falls through to unknown.
      if (e instanceof DataError) throw e;
    }
    for (const n of names) {
      const f = cifarByTop(n.split('/')[0]!);
      if (f) return { format: f, at: p };
    }
    throw new DataError(p, `not a recognised dataset file (${EXPECTED})`);
  }
  if (!st.isDirectory()) throw new DataError(p, `not a file or folder (${EXPECTED})`);
  if (findIdxFile(p, IDX_STEMS.trainImages) || findIdxFile(p, IDX_STEMS.testImages)) return { format: 'idx', at: p };
  const has = (name: string) => fs.existsSync(path.join(p, name));
  // An extracted batches folder, recognised by its files (whatever its name) ...
  if (has('data_batch_1.bin') || has('test_batch.bin') || has('batches.meta.txt')) return { format: 'cifar10-binary', at: p };
  if (has('fine_label_names.txt') || (has('train.bin') && has('test.bin'))) return { format: 'cifar100-binary', at: p };
  if (has('data_batch_1') || has('test_batch') || has('batches.meta')) return { format: 'cifar10-python', at: p };
  const subs = subfolders(p);
  if (has('meta') && has('train') && !subs.includes('train')) return { format: 'cifar100-python', at: p };
  // ... or the folder it was extracted into.
  for (const f of CIFAR_FORMATS) if (subs.includes(CIFAR_LAYOUTS[f].top)) return locate(path.join(p, CIFAR_LAYOUTS[f].top));
  if (subs.length > 0) return { format: 'image-folder', at: p };
  throw new DataError(p, `not a recognised dataset folder (${EXPECTED})`);
}

export async function detectFormat(p: string): Promise<DatasetFormat> {
  return (await locate(p)).format;
}

async function read(p: string, opts: ReadOptions, keepPixels: boolean): Promise<ReadResult> {
  const { format, at } = await locate(p);
  if (format === 'idx') return { format, dataset: readIdxDataset(at, { kind: opts.kind }), skipped: [] };
  if (format === 'image-folder') {
    const r = await readImageFolder(at, { imageSize: opts.imageSize, strict: opts.strict, keepPixels });
    return { format, ...r };
  }
  return { format, dataset: await readCifar(at, format, { labels: opts.labels }), skipped: [] };
}

export async function readDataset(p: string, opts: ReadOptions = {}): Promise<ReadResult> {
  return read(p, opts, true);
}

function countPerClass(set: ImageSet, k: number): number[] {
  const c = new Array<number>(k).fill(0);
  for (const l of set.labels) c[l] = c[l]! + 1;
  return c;
}

/** Read and validate everything, report counts. Image folders are decoded (that is the check)
 * but their pixels are not kept. */
export async function inspectDataset(p: string, opts: ReadOptions = {}): Promise<InspectResult> {
  const { format, dataset: d, skipped } = await read(p, opts, false);
  return {
    format,
    classes: d.numClasses,
    classNames: d.classNames,
    train: d.train.n,
    test: d.test.n,
    ...(d.val ? { val: d.val.n } : {}),
    shape: d.shape,
    classCounts: { train: countPerClass(d.train, d.numClasses), test: countPerClass(d.test, d.numClasses) },
    skipped,
  };
}
