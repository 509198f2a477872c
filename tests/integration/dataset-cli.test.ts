import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { truncateFile, writeCifarBinaryTarGz, writeIdxDir, writeImageFolder, writeUndecodable } from '../helpers/dataset-fixtures';
import { tmpDataDir } from '../helpers/tmp';
import { runCli } from '../helpers/trainer';

const CLI = 'src/main/dataset-cli.ts';
const tmp = tmpDataDir('tb-dataset-cli-');
afterAll(tmp.cleanup);

describe('npm run dataset -- inspect', () => {
  it('summarises a good dataset and ends with the JSON line', async () => {
    const dir = path.join(tmp.dir, 'fashion-mnist');
    writeIdxDir(dir, { train: 30, test: 10 });
    const r = await runCli(CLI, ['inspect', dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.last).toEqual({ format: 'idx', classes: 10, train: 30, test: 10, shape: [28, 28, 1] });
    // Per-class counts: labels cycle through the 10 classes, 3 per class in train, 1 in test.
    expect(r.stdout).toMatch(/^\s+9\s+Ankle boot\s+3\s+1$/m);
  });

  it('reports CIFAR-100 coarse labels from a tarball, and skipped images of a folder', async () => {
    const tgz = path.join(tmp.dir, 'cifar-100-binary.tar.gz');
    await writeCifarBinaryTarGz(tgz, { kind: 100, train: 40, test: 20 });
    const c = await runCli(CLI, ['inspect', tgz, '--labels', 'coarse']);
    expect(c.code).toBe(0);
    expect(c.last).toEqual({ format: 'cifar100-binary', classes: 20, train: 40, test: 20, shape: [32, 32, 3] });

    const root = path.join(tmp.dir, 'folder');
    await writeImageFolder(root, { classes: { a: 2, b: 2 }, size: 10 });
    const bad = path.join(root, 'a', 'broken.jpg');
    writeUndecodable(bad);
    const f = await runCli(CLI, ['inspect', root, '--image-size', '6']);
    expect(f.code).toBe(0);
    expect(f.last).toEqual({ format: 'image-folder', classes: 2, train: 4, test: 0, shape: [6, 6, 3] });
    expect(f.stdout).toContain(`skipped 1 undecodable file:\n  ${bad}: `);
    const strict = await runCli(CLI, ['inspect', root, '--strict']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain(`${bad}: cannot decode image`);
  });

  it('fails with a non-zero exit and names the file on bad data or arguments', async () => {
    const dir = path.join(tmp.dir, 'broken-mnist');
    writeIdxDir(dir, { train: 40 });
    const f = path.join(dir, 'train-images-idx3-ubyte.gz');
    truncateFile(f, 0.5);
    const r = await runCli(CLI, ['inspect', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`${f}: truncated gzip data (the file is incomplete)`);
    expect(r.last).toBeNull();

    const missing = path.join(tmp.dir, 'nowhere');
    const m = await runCli(CLI, ['inspect', missing]);
    expect(m.code).toBe(1);
    expect(m.stderr).toContain(`${missing}: no such file or folder`);

    const usage = await runCli(CLI, ['inspect', dir, '--labels', 'medium']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('expected one of fine, coarse');
  });
});

describe('npm run dataset -- list / download', () => {
  it('downloads from a (local) mirror, is interrupted, resumes, and then lists the dataset as usable', async () => {
    const { TestFileServer } = await import('../helpers/http-server');
    const { writeFakeFashion } = await import('../helpers/datasets');
    const crypto = await import('node:crypto');
    const fs = await import('node:fs');
    const src = path.join(tmp.dir, 'mirror-src');
    writeFakeFashion(src, 2000, 200); // ~1.7 MB of incompressible pixels: long enough to cut
    const server = new TestFileServer();
    await server.listen();
    const names = fs.readdirSync(src).sort();
    for (const n of names) server.files.set(`/fm/${n}`, fs.readFileSync(path.join(src, n)));
    const big = 'train-images-idx3-ubyte.gz';
    server.misbehave(`/fm/${big}`, { dropAfter: 300_000 });
    const catalog = path.join(tmp.dir, 'catalog.json');
    fs.writeFileSync(
      catalog,
      JSON.stringify([
        {
          id: 'fashion-mnist',
          title: 'Fashion-MNIST',
          format: 'idx',
          homepage: '',
          citation: '',
          files: names.map((n) => ({ name: n, urls: [server.url(`/fm/${n}`)], md5: crypto.createHash('md5').update(fs.readFileSync(path.join(src, n))).digest('hex'), bytes: null })),
        },
      ]),
    );
    const dataDir = path.join(tmp.dir, 'data');
    const env = { TRICKBENCH_DOWNLOAD_CATALOG: catalog, TRICKBENCH_SYSTEM_DATASETS: path.join(tmp.dir, 'no-system') };
    try {
      const cut = await runCli(CLI, ['download', 'fashion-mnist', '--data-dir', dataDir, '--no-progress'], env);
      expect(cut.code).toBe(1);
      expect(cut.stderr).toContain(server.url(`/fm/${big}`));
      expect(cut.stderr).toContain('run the same command again to resume');
      expect(cut.last).toMatchObject({ id: 'fashion-mnist', state: 'failed' });

      const kept = fs.statSync(path.join(dataDir, 'datasets', 'fashion-mnist', `${big}.part`)).size; // up to the 300,000 sent
      expect(kept).toBeGreaterThan(0);
      server.misbehave(`/fm/${big}`, {});
      const again = await runCli(CLI, ['download', 'fashion-mnist', '--data-dir', dataDir, '--no-progress'], env);
      expect(again.code, again.stderr).toBe(0);
      expect(again.last).toMatchObject({ state: 'done' });
      expect(server.requestsFor(`/fm/${big}`).at(-1)!.range).toBe(`bytes=${kept}-`);

      const list = await runCli(CLI, ['list', '--data-dir', dataDir], env);
      expect(list.code, list.stderr).toBe(0);
      const all = JSON.parse(list.stdout.trim().split('\n').at(-1)!) as { name: string; origin: string | null; path: string | null }[];
      expect(all.find((d) => d.name === 'fashion-mnist')).toMatchObject({ origin: 'data-dir', path: path.join(dataDir, 'datasets', 'fashion-mnist') });
      expect(all.find((d) => d.name === 'cifar10')).toMatchObject({ origin: null, path: null }); // known by name, not on disk
      const inspect = await runCli(CLI, ['inspect', path.join(dataDir, 'datasets', 'fashion-mnist')]);
      expect(inspect.last).toEqual({ format: 'idx', classes: 10, train: 2000, test: 200, shape: [28, 28, 1] });

      const unknown = await runCli(CLI, ['download', 'imagenet', '--data-dir', dataDir], env);
      expect([unknown.code, unknown.stderr.trim()]).toEqual([2, "'imagenet' is not a public dataset this app can download (fashion-mnist)"]);
    } finally {
      await server.close();
    }
  });
});
