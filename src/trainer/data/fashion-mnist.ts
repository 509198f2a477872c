// Fashion-MNIST (Xiao et al. 2017): 60,000 + 10,000 28x28 grey images of 10 clothing classes.
// Read from the IDX files in the data dir's datasets/fashion-mnist or Debian's package.
import fs from 'node:fs';
import path from 'node:path';
import { readIdxFile } from './idx';
import { DataError, type Dataset, type ImageSet } from './types';

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export const SYSTEM_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';

export function fashionMnistDirs(dataDir: string, systemDir = SYSTEM_FASHION_MNIST): string[] {
  return [path.join(dataDir, 'datasets', 'fashion-mnist'), systemDir];
}

function findFile(dir: string, stem: string): string | null {
  for (const f of [`${stem}.gz`, stem]) {
    const p = path.join(dir, f);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

function readPair(dir: string, prefix: 'train' | 't10k'): ImageSet {
  const imgFile = findFile(dir, `${prefix}-images-idx3-ubyte`);
  const lblFile = findFile(dir, `${prefix}-labels-idx1-ubyte`);
  if (!imgFile || !lblFile) {
    throw new DataError(path.join(dir, `${prefix}-${imgFile ? 'labels-idx1' : 'images-idx3'}-ubyte.gz`), 'missing');
  }
  const images = readIdxFile(imgFile);
  const labels = readIdxFile(lblFile);
  if (images.dims.length !== 3 || images.dims[1] !== 28 || images.dims[2] !== 28) {
    throw new DataError(imgFile, `expected N x 28 x 28 images, found ${images.dims.join(' x ')}`);
  }
  if (labels.dims.length !== 1) throw new DataError(lblFile, `expected a 1-D label array, found ${labels.dims.join(' x ')}`);
  if (labels.dims[0] !== images.dims[0]) {
    throw new DataError(lblFile, `${labels.dims[0]} labels for ${images.dims[0]} images in ${path.basename(imgFile)}`);
  }
  const bad = labels.data.findIndex((l) => l > 9);
  if (bad >= 0) throw new DataError(lblFile, `label ${labels.data[bad]} at index ${bad} is not a class 0-9`);
  return { images: images.data, labels: labels.data, n: images.dims[0]! };
}

export function loadFashionMnist(dataDir: string, systemDir = SYSTEM_FASHION_MNIST): Dataset {
  const dirs = fashionMnistDirs(dataDir, systemDir);
  const dir = dirs.find((d) => fs.existsSync(d));
  if (!dir) {
    throw new Error(
      `dataset fashion-mnist not found: put its four IDX .gz files in ${dirs[0]} (or install Debian's dataset-fashion-mnist package, which puts them in ${dirs[1]})`,
    );
  }
  return {
    name: 'fashion-mnist',
    shape: [28, 28, 1],
    numClasses: 10,
    classNames: FASHION_MNIST_CLASSES,
    train: readPair(dir, 'train'),
    test: readPair(dir, 't10k'),
    source: dir,
  };
}
