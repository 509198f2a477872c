// Image folders, torchvision ImageFolder style: root/<class>/<images>, or split into
// root/train/<class>/..., root/test/<class>/... and optionally root/val/<class>/....
// Class names are the sorted class folder names (code-point order, as Python's sorted()).
//
// Size: with `imageSize` every image is resized to imageSize x imageSize. Without it, when all
// images share one size of at most MAX_NATIVE pixels a side that size is kept (no resampling);
// otherwise they are resized to DEFAULT_SIZE x DEFAULT_SIZE. Resizing uses fit 'cover' (scale the
// shorter side to the target, centre-crop the rest, as Resize + CenterCrop do in torchvision): the
// aspect ratio is kept, so objects are not squashed. Every image becomes 3-channel RGB: greyscale
// is expanded, and transparency is flattened onto white (what an image viewer shows; PIL's
// convert('RGB') would instead expose whatever colour is stored under transparent pixels, and
// flattening before the resize keeps sharp from premultiplying colours by alpha).
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { DataError, sharedBytes, type Dataset, type ImageSet } from '../types';

export const DEFAULT_SIZE = 32;
export const MAX_NATIVE = 256;
const IN_FLIGHT = 8;
const ALPHA_BACKGROUND = { r: 255, g: 255, b: 255 };
const IMAGE_EXT = /\.(png|jpe?g|webp)$/i;
export const SPLIT_NAMES = ['train', 'test', 'val'] as const;
type SplitName = (typeof SPLIT_NAMES)[number];

export interface FolderOptions {
  imageSize?: number | null;
  strict?: boolean;
  /** false: decode every image (to validate it) but keep no pixels; the sets then have n and
   * labels but empty images (for inspect). */
  keepPixels?: boolean;
}

export interface Skipped {
  file: string;
  reason: string;
}

export interface FolderResult {
  dataset: Dataset & { val?: ImageSet };
  skipped: Skipped[];
}

const visible = (name: string) => !name.startsWith('.');

function readDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => visible(e.name));
  } catch (e) {
    throw new DataError(dir, `cannot read folder: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const LOOP = 'symbolic link loop: following it leads back to itself';

/** fs.stat through links: undefined for a missing entry or a dangling link; a link loop (or an
 * entry that cannot be looked at) is a DataError naming it, not a raw ELOOP. */
export function statPath(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p, { throwIfNoEntry: false });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(p, code === 'ELOOP' ? LOOP : `cannot read: ${code ?? (e as Error).message}`);
  }
}

function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(p, code === 'ELOOP' ? LOOP : `cannot resolve: ${code ?? (e as Error).message}`);
  }
}

function isDir(parent: string, e: fs.Dirent): boolean {
  return e.isDirectory() || (e.isSymbolicLink() && statPath(path.join(parent, e.name))?.isDirectory() === true);
}

/** `real` (a folder's real path) is one of the folders being walked, or holds one: walking it
 * would come back to where it started, forever. */
function loopsBack(real: string, walking: readonly string[]): boolean {
  const inside = real.endsWith(path.sep) ? real : real + path.sep;
  return walking.some((w) => w === real || w.startsWith(inside));
}

export function subfolders(dir: string): string[] {
  return readDir(dir)
    .filter((e) => isDir(dir, e))
    .map((e) => e.name)
    .sort(byCodePoint);
}

/** Image files under a class folder (nested folders included), sorted; hidden ones skipped.
 * `walking`: the real paths of the folders this one is inside (itself last). A linked folder that
 * leads back into them is a DataError naming the link, not an endless walk. */
function imageFiles(dir: string, walking: readonly string[]): string[] {
  const out: string[] = [];
  for (const e of readDir(dir)) {
    const p = path.join(dir, e.name);
    if (isDir(dir, e)) {
      const real = e.isSymbolicLink() ? realPath(p) : path.join(walking[walking.length - 1]!, e.name);
      if (loopsBack(real, walking)) throw new DataError(p, `symbolic link loop: it points to ${real}, a folder it is inside, so the folder would be read forever`);
      out.push(...imageFiles(p, [...walking, real]));
    } else if (IMAGE_EXT.test(e.name)) {
      out.push(p); // a link to a file is read through; a dangling one is left for the decoder to report
    }
  }
  return out.sort(byCodePoint);
}

/** The splits of an image folder: { train: root } when it has no split subfolders. */
export function folderSplits(root: string): Partial<Record<SplitName, string>> {
  const subs = subfolders(root);
  if (!subs.includes('train')) {
    if (subs.includes('test') || subs.includes('val')) throw new DataError(path.join(root, 'train'), 'missing: a folder with test/ or val/ split folders needs a train/ folder');
    return { train: root };
  }
  const out: Partial<Record<SplitName, string>> = {};
  for (const s of SPLIT_NAMES) if (subs.includes(s)) out[s] = path.join(root, s);
  return out;
}

interface Listed {
  files: string[];
  labels: number[];
}

function listSplit(dir: string, classNames: string[]): Listed {
  const files: string[] = [];
  const labels: number[] = [];
  const splitReal = realPath(dir);
  for (const name of subfolders(dir)) {
    const k = classNames.indexOf(name);
    const classDir = path.join(dir, name);
    if (k < 0) throw new DataError(classDir, `class "${name}" has no folder in the training split (classes: ${classNames.join(', ')})`);
    const classReal = realPath(classDir);
    if (loopsBack(classReal, [splitReal])) throw new DataError(classDir, `symbolic link loop: it points to ${classReal}, a folder it is inside, so the folder would be read forever`);
    const imgs = imageFiles(classDir, [splitReal, classReal]);
    if (imgs.length === 0) throw new DataError(classDir, 'empty class folder: no .png, .jpg, .jpeg or .webp images');
    for (const f of imgs) {
      files.push(f);
      labels.push(k);
    }
  }
  return { files, labels };
}

/** Run fn over items with at most `limit` promises in flight. */
async function pool<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function reasonOf(e: unknown): string {
  return ((e as Error).message || String(e)).split('\n')[0]!;
}

/** The common size of all images when there is one small enough to keep, else null. Reads
 * headers only. Files whose header cannot be read are left for the decoder to report. */
async function commonSize(files: string[]): Promise<{ h: number; w: number } | null> {
  let size: { h: number; w: number } | null = null;
  let same = true;
  await pool(files, IN_FLIGHT, async (f) => {
    if (!same) return;
    try {
      const m = await sharp(f).metadata();
      // EXIF orientation is not applied when decoding (as PIL does not), so the stored size counts.
      const h = m.height;
      const w = m.width;
      if (!size) size = { h, w };
      else if (size.h !== h || size.w !== w) same = false;
    } catch {
      /* reported by the decoder */
    }
  });
  const s = size as { h: number; w: number } | null;
  return same && s && s.h <= MAX_NATIVE && s.w <= MAX_NATIVE ? s : null;
}

/** Decode one image to h x w x 3 uint8, in one sharp pipeline (its per-image setup, not the
 * pixels, is most of the cost for small images). */
async function decode(file: string, h: number, w: number): Promise<Buffer> {
  let { data, info } = await sharp(file, { failOn: 'error' })
    .flatten({ background: ALPHA_BACKGROUND })
    .resize(w, h, { fit: 'cover', position: 'centre' })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.width !== w || info.height !== h) throw new Error(`decoded to ${info.width}x${info.height}, expected ${w}x${h}`);
  if (info.channels === 1) {
    // Guard: should the srgb conversion leave greyscale as one channel, repeat it.
    const rgb = Buffer.alloc(w * h * 3);
    for (let p = 0; p < w * h; p++) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = data[p]!;
    data = rgb;
  } else if (info.channels !== 3) {
    throw new Error(`decoded to ${info.channels} channels`);
  }
  return data;
}

async function decodeSplit(listed: Listed, h: number, w: number, opts: FolderOptions, skipped: Skipped[]): Promise<ImageSet> {
  const per = h * w * 3;
  const keep = opts.keepPixels !== false;
  const n = listed.files.length;
  let images = keep ? sharedBytes(n * per) : sharedBytes(0);
  const ok = new Uint8Array(n);
  let firstError: DataError | null = null;
  await pool(listed.files, IN_FLIGHT, async (file, i) => {
    if (firstError) return;
    try {
      const px = await decode(file, h, w);
      if (keep) images.set(px, i * per);
      ok[i] = 1;
    } catch (e) {
      if (opts.strict) firstError ??= new DataError(file, `cannot decode image: ${reasonOf(e)}`);
      else skipped.push({ file, reason: reasonOf(e) });
    }
  });
  if (firstError) throw firstError;
  const kept = ok.reduce((a, b) => a + b, 0);
  const labels = sharedBytes(kept);
  if (kept < n) {
    // Compact: the skipped images leave holes.
    const packed = keep ? sharedBytes(kept * per) : images;
    let j = 0;
    for (let i = 0; i < n; i++) {
      if (!ok[i]) continue;
      if (keep) packed.set(images.subarray(i * per, (i + 1) * per), j * per);
      labels[j++] = listed.labels[i]!;
    }
    images = packed;
  } else {
    labels.set(listed.labels);
  }
  return { images, labels, n: kept };
}

export async function readImageFolder(root: string, opts: FolderOptions = {}): Promise<FolderResult> {
  const splits = folderSplits(root);
  const trainDir = splits.train!;
  const classNames = subfolders(trainDir);
  if (classNames.length === 0) throw new DataError(trainDir, 'no class folders (expected <class>/<images> folders)');
  if (classNames.length > 256) throw new DataError(trainDir, `${classNames.length} class folders; at most 256 classes are supported`);
  const listed: Partial<Record<SplitName, Listed>> = {};
  for (const s of SPLIT_NAMES) if (splits[s]) listed[s] = listSplit(splits[s], classNames);
  const all = Object.values(listed).flatMap((l) => l.files);
  let h: number;
  let w: number;
  if (opts.imageSize != null) {
    if (!Number.isInteger(opts.imageSize) || opts.imageSize < 1) throw new Error(`imageSize must be a positive integer, got ${opts.imageSize}`);
    h = w = opts.imageSize;
  } else {
    const common = await commonSize(all);
    h = common?.h ?? DEFAULT_SIZE;
    w = common?.w ?? DEFAULT_SIZE;
  }
  const skipped: Skipped[] = [];
  const sets: Partial<Record<SplitName, ImageSet>> = {};
  for (const s of SPLIT_NAMES) if (listed[s]) sets[s] = await decodeSplit(listed[s], h, w, opts, skipped);
  skipped.sort((a, b) => byCodePoint(a.file, b.file));
  const empty: ImageSet = { images: sharedBytes(0), labels: sharedBytes(0), n: 0 };
  return {
    dataset: {
      name: path.basename(path.resolve(root)),
      shape: [h, w, 3],
      numClasses: classNames.length,
      classNames,
      train: sets.train!,
      test: sets.test ?? empty,
      ...(sets.val ? { val: sets.val } : {}),
      source: path.resolve(root),
    },
    skipped,
  };
}
