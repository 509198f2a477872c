// The dataset manager's facts give an imported dataset's training set size (so a batch size larger
// than it is a batchSize field error before a run starts), and it names a link loop given as the
// path to import.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiFailure } from '../../src/shared/api';
import { parseRunConfig } from '../../src/shared/config';
import { DatasetService } from '../../src/main/services/datasets';
import { Store } from '../../src/store/store';
import { writeImageFolder } from '../helpers/dataset-fixtures';
import { tmpDataDir } from '../helpers/tmp';

let tmp: ReturnType<typeof tmpDataDir>;
let store: Store;
const service = () => new DatasetService({ store, dataDir: tmp.dir, systemDir: path.join(tmp.dir, 'system'), emit: () => undefined });

beforeEach(() => {
  tmp = tmpDataDir('tb-ds-limits-');
  fs.mkdirSync(path.join(tmp.dir, 'system'));
  store = new Store(tmp.dir);
});
afterEach(() => {
  store.close();
  tmp.cleanup();
});

async function failure(p: Promise<unknown>): Promise<ApiFailure> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiFailure) return e;
    throw e;
  }
  throw new Error('expected an ApiFailure');
}

describe('dataset manager limits', () => {
  it('an imported folder of 12 images trains on 9: a batch of 10 is refused naming batchSize', async () => {
    const root = path.join(tmp.dir, 'folders', 'tiles');
    await writeImageFolder(root, { classes: { a: 4, b: 4, c: 4 }, size: 8 });
    const ds = service();
    await ds.import({ path: root, name: 'tiles' });
    // 12 images: round(2.4) = 2 test (testSplit 0.2), then 10 -> 1 val + 9 train
    const r = parseRunConfig({ dataset: { name: 'tiles' }, batchSize: 10 }, ds.facts());
    expect(r.ok ? null : r.errors).toEqual([{ field: 'batchSize', message: 'batch size 10 is larger than the training set (9 images after the subset and the validation split): use at most 9' }]);
    expect(parseRunConfig({ dataset: { name: 'tiles' }, batchSize: 9 }, ds.facts()).ok).toBe(true);
  });

  it('importing a path that is a symbolic link loop names the link', async () => {
    const loop = path.join(tmp.dir, 'loop');
    fs.symlinkSync('loop', loop);
    const e = await failure(service().import({ path: loop, name: 'tiles' }));
    expect(e.error).toMatchObject({ field: 'path', message: `path: ${loop}: symbolic link loop: following it leads back to itself` });
  });
});
