// Symbolic links in image folders: a loop is a DataError naming the link, not a raw ELOOP stack
// trace or an endless walk; links that do not loop are followed as before.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detectFormat, inspectDataset, readDataset } from '../../src/data/formats/read';
import { DataError } from '../../src/data/types';
import { writeImageFolder } from '../helpers/dataset-fixtures';
import { tmpDataDir } from '../helpers/tmp';

const tmp = tmpDataDir('tb-links-');
afterAll(tmp.cleanup);
let seq = 0;
const fresh = (name: string) => path.join(tmp.dir, `${seq++}`, name);

async function dataError(p: Promise<unknown>): Promise<DataError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error('expected a DataError, nothing was thrown');
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('symbolic link loops in image folders', () => {
  it('a link to itself, as a class folder or as an image, names the link', async () => {
    const root = fresh('pets');
    await writeImageFolder(root, { classes: { cat: 2, dog: 2 }, size: 8 });
    const self = path.join(root, 'cat', 'self.png');
    fs.symlinkSync('self.png', self);
    expect((await dataError(readDataset(root))).message).toBe(`${self}: symbolic link loop: following it leads back to itself`);
    fs.unlinkSync(self);

    const pair = path.join(root, 'bird');
    fs.symlinkSync('fish', pair);
    fs.symlinkSync('bird', path.join(root, 'fish'));
    const e = await dataError(readDataset(root));
    expect(e.message).toMatch(new RegExp(`^${escape(root)}/(bird|fish): symbolic link loop: following it leads back to itself$`));
  });

  it('a linked folder that leads back to a folder it is in names the link, whether it points up, at its split or around a cycle', async () => {
    const up = fresh('up');
    await writeImageFolder(up, { classes: { cat: 2, dog: 2 }, size: 8 });
    const link = path.join(up, 'cat', 'again');
    fs.symlinkSync('..', link);
    expect((await dataError(readDataset(up))).message).toBe(`${link}: symbolic link loop: it points to ${fs.realpathSync(up)}, a folder it is inside, so the folder would be read forever`);

    const split = fresh('split');
    await writeImageFolder(split, { classes: { cat: 2, dog: 2 }, size: 8, splits: true });
    const classLink = path.join(split, 'test', 'cat2');
    fs.symlinkSync('.', classLink);
    fs.mkdirSync(path.join(split, 'train', 'cat2'));
    fs.copyFileSync(path.join(split, 'train', 'cat', fs.readdirSync(path.join(split, 'train', 'cat'))[0]!), path.join(split, 'train', 'cat2', 'x.png'));
    expect((await dataError(readDataset(split))).message).toMatch(new RegExp(`^${escape(classLink)}: symbolic link loop: it points to ${escape(fs.realpathSync(path.join(split, 'test')))}`));

    const cycle = fresh('cycle');
    await writeImageFolder(cycle, { classes: { a: 1, b: 1 }, size: 8 });
    fs.symlinkSync(path.join('..', 'b'), path.join(cycle, 'a', 'to-b'));
    fs.symlinkSync(path.join('..', 'a'), path.join(cycle, 'b', 'to-a'));
    expect((await dataError(inspectDataset(cycle))).message).toMatch(/\/(a\/to-b\/to-a|b\/to-a\/to-b): symbolic link loop: it points to /);
  });

  it('the dataset path itself being a link loop names it', async () => {
    const dir = path.dirname(fresh('x'));
    fs.mkdirSync(dir, { recursive: true });
    const loop = path.join(dir, 'loop');
    fs.symlinkSync('loop', loop);
    expect((await dataError(detectFormat(loop))).message).toBe(`${loop}: symbolic link loop: following it leads back to itself`);
  });

  it('links that do not loop are still followed: a linked class folder, a linked image, a link to a sibling', async () => {
    const root = fresh('linked');
    await writeImageFolder(root, { classes: { cat: 2, dog: 3 }, size: 8 });
    const elsewhere = fresh('elsewhere');
    await writeImageFolder(elsewhere, { classes: { bird: 2 }, size: 8 });
    fs.symlinkSync(path.join(elsewhere, 'bird'), path.join(root, 'bird'));
    const dogImage = fs.readdirSync(path.join(root, 'dog'))[0]!;
    fs.symlinkSync(path.join('..', 'dog', dogImage), path.join(root, 'cat', 'linked.png'));
    fs.symlinkSync(path.join('..', 'dog'), path.join(root, 'cat', 'dogs-too'));
    const { dataset: d } = await readDataset(root);
    expect(d.classNames).toEqual(['bird', 'cat', 'dog']);
    expect(Array.from(d.train.labels)).toEqual([0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2]); // cat: 2 + the linked image + dog's 3
  });
});
