// MNIST-family datasets (MNIST, Fashion-MNIST, KMNIST, or any set shipped the same way): a
// directory with the four IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each gzipped (.gz) or raw.
import fs from 'node:fs';
import path from 'node:path';
import { readIdxFile } from '../idx';
import { DataError, sharedBytes, type Dataset, type ImageSet } from '../types';

export type IdxKind = 'mnist' | 'fashion-mnist' | 'kmnist';

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
/** KMNIST's classes in label order (its kmnist_classmap.csv): o, ki, su, tsu, na, ha, ma, ya, re, wo. */
/** Fashion-MNIST (Xiao et al. 2017): 10 clothing classes. */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export const KMNIST_CLASSES = ['お', 'き', 'す', 'つ', 'な', 'は', 'ま', 'や', 'れ', 'を'];

const KIND_CLASSES: Record<IdxKind, string[]> = { mnist: MNIST_CLASSES, 'fashion-mnist': FASHION_MNIST_CLASSES, kmnist: KMNIST_CLASSES };

export const IDX_STEMS = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** The path of an IDX file in dir, gzipped preferred, or null. */
export function findIdxFile(dir: string, stem: string): string | null {
  for (const f of [`${stem}.gz`, stem]) {
    const p = path.join(dir, f);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

/** Which MNIST-family set a directory holds, from its name (the hint wins when given); null when
 * the name says nothing, and the classes are then numbered. */
export function idxKind(dir: string, hint?: IdxKind): IdxKind | null {
  if (hint) return hint;
  const name = path.basename(path.resolve(dir)).toLowerCase();
  if (name.includes('fashion')) return 'fashion-mnist';
  if (name.includes('kmnist')) return 'kmnist';
  if (name.includes('mnist')) return 'mnist';
  return null;
}

interface RawSplit {
  set: ImageSet;
  h: number;
  w: number;
  imgFile: string;
  lblFile: string;
}

function readSplit(dir: string, imgStem: string, lblStem: string): RawSplit {
  const imgFile = findIdxFile(dir, imgStem);
  const lblFile = findIdxFile(dir, lblStem);
  if (!imgFile) throw new DataError(path.join(dir, `${imgStem}.gz`), `missing (neither ${imgStem}.gz nor ${imgStem} is in ${dir})`);
  if (!lblFile) throw new DataError(path.join(dir, `${lblStem}.gz`), `missing (neither ${lblStem}.gz nor ${lblStem} is in ${dir})`);
  const images = readIdxFile(imgFile);
  if (images.dims.length !== 3) throw new DataError(imgFile, `expected N x H x W images (3 dimensions), found ${images.dims.join(' x ')}`);
  const [n, h, w] = images.dims as [number, number, number];
  if (h < 1 || w < 1) throw new DataError(imgFile, `empty images (${h} x ${w})`);
  const labels = readIdxFile(lblFile);
  if (labels.dims.length !== 1) throw new DataError(lblFile, `expected a 1-D label array, found ${labels.dims.join(' x ')}`);
  if (labels.dims[0] !== n) throw new DataError(lblFile, `${labels.dims[0]} labels for ${n} images in ${path.basename(imgFile)}`);
  // The one copy kept, in shared memory (the decompressed buffer is dropped).
  const img = sharedBytes(images.data.length);
  img.set(images.data);
  const lbl = sharedBytes(n);
  lbl.set(labels.data);
  return { set: { images: img, labels: lbl, n }, h, w, imgFile, lblFile };
}

function checkLabels(s: RawSplit, numClasses: number, what: string): void {
  const bad = s.set.labels.findIndex((l) => l >= numClasses);
  if (bad >= 0) {
    // The label array starts after the 8-byte header of a 1-D IDX file.
    throw new DataError(s.lblFile, `label ${s.set.labels[bad]} at index ${bad} (offset ${8 + bad} of the decompressed data) is not a class 0-${numClasses - 1} (${what})`);
  }
}

export function readIdxDataset(dir: string, opts: { kind?: IdxKind } = {}): Dataset {
  const train = readSplit(dir, IDX_STEMS.trainImages, IDX_STEMS.trainLabels);
  const test = readSplit(dir, IDX_STEMS.testImages, IDX_STEMS.testLabels);
  if (test.h !== train.h || test.w !== train.w) {
    throw new DataError(test.imgFile, `images are ${test.h} x ${test.w} but the training images in ${path.basename(train.imgFile)} are ${train.h} x ${train.w}`);
  }
  const kind = idxKind(dir, opts.kind);
  let classNames: string[];
  if (kind) {
    classNames = KIND_CLASSES[kind];
    checkLabels(train, classNames.length, `${kind} has ${classNames.length} classes`);
    checkLabels(test, classNames.length, `${kind} has ${classNames.length} classes`);
  } else {
    // A generic IDX set: as many classes as the largest label says, named by number.
    let max = 0;
    for (const s of [train, test]) for (const l of s.set.labels) if (l > max) max = l;
    classNames = Array.from({ length: max + 1 }, (_, k) => String(k));
  }
  return {
    name: kind ?? path.basename(path.resolve(dir)),
    shape: [train.h, train.w, 1],
    numClasses: classNames.length,
    classNames,
    train: train.set,
    test: test.set,
    source: path.resolve(dir),
  };
}
