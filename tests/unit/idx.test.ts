import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { mustParseRunConfig } from '../../src/shared/config';
import { loadDataset } from '../../src/data/index';
import { readIdxFile } from '../../src/data/idx';
import { tmpDataDir } from '../helpers/tmp';
import { idx, writeFakeFashion } from '../helpers/datasets';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

const tmp = tmpDataDir();
afterAll(tmp.cleanup);

describe('IDX files', () => {
  it('reads gzipped and raw IDX', () => {
    const f = path.join(tmp.dir, 'a.idx');
    fs.writeFileSync(f, idx([2, 3], new Uint8Array([1, 2, 3, 4, 5, 6])));
    const a = readIdxFile(f);
    expect(a.dims).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6]);
    fs.writeFileSync(`${f}.gz`, zlib.gzipSync(fs.readFileSync(f)));
    expect(readIdxFile(`${f}.gz`).dims).toEqual([2, 3]);
  });

  it('names the file and what is wrong: truncated gzip, short data, bad magic', () => {
    const f = path.join(tmp.dir, 'b.idx.gz');
    const gz = zlib.gzipSync(idx([100, 28, 28], new Uint8Array(78400)));
    fs.writeFileSync(f, gz.subarray(0, gz.length >> 1));
    expect(() => readIdxFile(f)).toThrow(`${f}: truncated gzip data`);
    const short = path.join(tmp.dir, 'c.idx');
    fs.writeFileSync(short, idx([100, 28, 28], new Uint8Array(1000)));
    expect(() => readIdxFile(short)).toThrow(new RegExp(`${short}: truncated: header promises 78400 bytes .* found 1000`));
    const magic = path.join(tmp.dir, 'd.idx');
    fs.writeFileSync(magic, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(() => readIdxFile(magic)).toThrow(`${magic}: not an IDX file (bad magic number)`);
  });

  const fashion = mustParseRunConfig({ dataset: { name: 'fashion-mnist' } }, BUILTIN_FACTS).dataset;
  const noSystem = { systemDir: path.join(tmp.dir, 'no-system-copy') };

  it('loads Fashion-MNIST from the data dir, checking labels against images', async () => {
    const dataDir = path.join(tmp.dir, 'home');
    writeFakeFashion(path.join(dataDir, 'datasets', 'fashion-mnist'), 30, 10);
    const ds = await loadDataset(fashion, dataDir, noSystem);
    expect(ds.train.n).toBe(30);
    expect(ds.test.n).toBe(10);
    expect(ds.shape).toEqual([28, 28, 1]);
    expect(ds.classNames[9]).toBe('Ankle boot');
    expect(Array.from(ds.train.labels.slice(0, 3))).toEqual([0, 1, 2]);

    const bad = path.join(tmp.dir, 'home2');
    const dir = path.join(bad, 'datasets', 'fashion-mnist');
    writeFakeFashion(dir, 30, 10);
    fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte.gz'), zlib.gzipSync(idx([29], new Uint8Array(29))));
    await expect(loadDataset(fashion, bad, noSystem)).rejects.toThrow(/train-labels-idx1-ubyte\.gz: .*29 .*30/);
  });

  it('says where to put Fashion-MNIST when it is nowhere, and how to download it', async () => {
    const home = path.join(tmp.dir, 'empty-home');
    await expect(loadDataset(fashion, home, noSystem)).rejects.toThrow(
      `dataset 'fashion-mnist' not found: not imported, and no dataset in ${path.join(home, 'datasets', 'fashion-mnist')} or ${path.join(tmp.dir, 'no-system-copy', 'fashion-mnist')} (download it on the Datasets page or with \`npm run dataset -- download fashion-mnist\`)`,
    );
  });
});
