// The public datasets Trickbench can download, with their official files. Archives are kept as
// published (the trainer's readers read the IDX .gz files and the CIFAR python tarballs directly),
// so each file's MD5 is the one its publisher (or torchvision) lists for the archive itself.
//
// Sources, checked against public text rather than memory:
// - URLs and MD5s of MNIST, Fashion-MNIST and KMNIST: torchvision/datasets/mnist.py (pytorch/vision),
//   classes MNIST (mirrors: yann.lecun.com, then the ossci-datasets S3 bucket), FashionMNIST and
//   KMNIST. The Fashion-MNIST MD5s and links also match the table in zalandoresearch/fashion-mnist's
//   README; the KMNIST links match rois-codh/kmnist's README.
// - CIFAR URLs and MD5s: the download table of www.cs.toronto.edu/~kriz/cifar.html (https links)
//   and torchvision/datasets/cifar.py (tgz_md5 of CIFAR10 and CIFAR100).
// - Sizes in bytes: the lengths servers report in public download logs (TensorFlow's MNIST
//   tutorial output, torchvision and Keras progress bars: e.g. "9912422/9912422", "Length:
//   170498071"). The MD5 is what proves a file; a size only gives an early total for progress.
//
// The binary CIFAR tarballs (cifar-10-binary.tar.gz, MD5 c32a1d4ab5d03f1284b67883e8d87530,
// 170052171 bytes; cifar-100-binary.tar.gz, MD5 03b5dce01913d631647c71ecec9e9cb8, 168513733
// bytes) are not listed: the readers load the python variant, and one copy of 170 MB is enough.

export interface CatalogFile {
  name: string;
  /** Tried in order: the next one on a connect error or an HTTP error status. */
  urls: string[];
  md5: string;
  /** Size in bytes when a public source gives it, else null (the server's Content-Length). */
  bytes: number | null;
}

export type CatalogId = 'mnist' | 'fashion-mnist' | 'kmnist' | 'cifar10' | 'cifar100';

export interface CatalogEntry {
  id: CatalogId;
  title: string;
  format: 'idx' | 'cifar10-python' | 'cifar100-python';
  files: CatalogFile[];
  homepage: string;
  citation: string;
}

/** The four IDX archives of an MNIST-like dataset, each fetched from the given bases in order. */
function idxFiles(bases: string[], files: [name: string, md5: string, bytes: number][]): CatalogFile[] {
  return files.map(([name, md5, bytes]) => ({ name, urls: bases.map((b) => `${b}${name}`), md5, bytes }));
}

const KRIZ = 'https://www.cs.toronto.edu/~kriz/';
const CIFAR_CITATION =
  'Alex Krizhevsky. Learning Multiple Layers of Features from Tiny Images. Technical report, University of Toronto, 2009.';

export const CATALOG: CatalogEntry[] = [
  {
    id: 'mnist',
    title: 'MNIST',
    format: 'idx',
    // yann.lecun.com often refuses or times out (torchvision added the S3 mirror for that reason).
    files: idxFiles(
      ['http://yann.lecun.com/exdb/mnist/', 'https://ossci-datasets.s3.amazonaws.com/mnist/'],
      [
        ['train-images-idx3-ubyte.gz', 'f68b3c2dcbeaaa9fbdd348bbdeb94873', 9912422],
        ['train-labels-idx1-ubyte.gz', 'd53e105ee54ea40749a09fcbcd1e9432', 28881],
        ['t10k-images-idx3-ubyte.gz', '9fb629c4189551a2d022fa330f9573f3', 1648877],
        ['t10k-labels-idx1-ubyte.gz', 'ec29112dd5afa0611ce80d1b7f02629c', 4542],
      ],
    ),
    homepage: 'http://yann.lecun.com/exdb/mnist/',
    citation:
      'Yann LeCun, Léon Bottou, Yoshua Bengio and Patrick Haffner. Gradient-based learning applied to document recognition. Proceedings of the IEEE, 86(11):2278-2324, 1998.',
  },
  {
    id: 'fashion-mnist',
    title: 'Fashion-MNIST',
    format: 'idx',
    // An S3 website endpoint: plain http only (the MD5 is what guards the bytes).
    files: idxFiles(
      ['http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'],
      [
        ['train-images-idx3-ubyte.gz', '8d4fb7e6c68d591d4c3dfef9ec88bf0d', 26421880],
        ['train-labels-idx1-ubyte.gz', '25c81989df183df01b3e8a0aad5dffbe', 29515],
        ['t10k-images-idx3-ubyte.gz', 'bef4ecab320f06d8554ea6380940ec79', 4422102],
        ['t10k-labels-idx1-ubyte.gz', 'bb300cfdad3c16e7a12a480ee83cd310', 5148],
      ],
    ),
    homepage: 'https://github.com/zalandoresearch/fashion-mnist',
    citation:
      'Han Xiao, Kashif Rasul and Roland Vollgraf. Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms. arXiv:1708.07747, 2017.',
  },
  {
    id: 'kmnist',
    title: 'Kuzushiji-MNIST',
    format: 'idx',
    files: idxFiles(
      ['http://codh.rois.ac.jp/kmnist/dataset/kmnist/'],
      [
        ['train-images-idx3-ubyte.gz', 'bdb82020997e1d708af4cf47b453dcf7', 18165135],
        ['train-labels-idx1-ubyte.gz', 'e144d726b3acfaa3e44228e80efcd344', 29497],
        ['t10k-images-idx3-ubyte.gz', '5c965bf0a639b31b8f53240b1b52f4d7', 3041136],
        ['t10k-labels-idx1-ubyte.gz', '7320c461ea6c1c855c0b718fb2a4b134', 5120],
      ],
    ),
    homepage: 'https://github.com/rois-codh/kmnist',
    citation:
      'Tarin Clanuwat, Mikel Bober-Irizar, Asanobu Kitamoto, Alex Lamb, Kazuaki Yamamoto and David Ha. Deep Learning for Classical Japanese Literature. arXiv:1812.01718, 2018.',
  },
  {
    id: 'cifar10',
    title: 'CIFAR-10',
    format: 'cifar10-python',
    files: [
      {
        name: 'cifar-10-python.tar.gz',
        urls: [`${KRIZ}cifar-10-python.tar.gz`],
        md5: 'c58f30108f718f92721af3b95e74349a',
        bytes: 170498071,
      },
    ],
    homepage: 'https://www.cs.toronto.edu/~kriz/cifar.html',
    citation: CIFAR_CITATION,
  },
  {
    id: 'cifar100',
    title: 'CIFAR-100',
    format: 'cifar100-python',
    files: [
      {
        name: 'cifar-100-python.tar.gz',
        urls: [`${KRIZ}cifar-100-python.tar.gz`],
        md5: 'eb9058c3a382ffc7106e4002c42a8d85',
        bytes: 169001437,
      },
    ],
    homepage: 'https://www.cs.toronto.edu/~kriz/cifar.html',
    citation: CIFAR_CITATION,
  },
];
