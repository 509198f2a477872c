import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

/** An IDX file of unsigned bytes with the given dimensions. */
export function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

/** A Fashion-MNIST-shaped dataset dir (gzipped IDX files) with n train and m test images of
 * random pixels and labels cycling through the 10 classes. */
export function writeFakeFashion(dir: string, n: number, m: number): void {
  fs.mkdirSync(dir, { recursive: true });
  const files: Record<string, Buffer> = {
    'train-images-idx3-ubyte': idx([n, 28, 28], crypto.randomBytes(n * 784)),
    'train-labels-idx1-ubyte': idx([n], new Uint8Array(n).map((_, i) => i % 10)),
    't10k-images-idx3-ubyte': idx([m, 28, 28], crypto.randomBytes(m * 784)),
    't10k-labels-idx1-ubyte': idx([m], new Uint8Array(m).map((_, i) => i % 10)),
  };
  for (const [name, buf] of Object.entries(files)) fs.writeFileSync(path.join(dir, `${name}.gz`), zlib.gzipSync(buf));
}
