// The training loader: worker threads make exactly the batches the training thread would (same
// augmentation draws, same order, same normalisation), epochs differ, a partial last batch, an
// abandoned epoch closes cleanly, and a bad worker count is named.
import { afterEach, describe, expect, it } from 'vitest';
import { augmentSchema } from '../../src/shared/augment';
import { BatchLoader, defaultWorkers, type LoaderOptions } from '../../src/data/loader';
import { sharedBytes } from '../../src/data/types';
import { makeRng } from '../../src/shared/rng';

function options(over: Partial<LoaderOptions> = {}): LoaderOptions {
  const rng = makeRng(7, 'loader-test');
  const n = 100;
  const images = sharedBytes(n * 12 * 12 * 3);
  for (let i = 0; i < images.length; i++) images[i] = rng.int(256);
  return {
    images,
    labels: Uint8Array.from({ length: n }, (_, i) => i % 10),
    inShape: [12, 12, 3],
    augment: augmentSchema.parse([{ name: 'randomCrop', size: 10, padding: 2 }, { name: 'hflip' }, { name: 'colorJitter', brightness: 0.3, hue: 0.1 }, { name: 'cutout', size: 4 }]),
    norm: { mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3] },
    seed: 3,
    ...over,
  };
}

async function collect(loader: BatchLoader, epoch: number, order: Int32Array, batch: number) {
  const out: { x: number[]; y: number[]; n: number }[] = [];
  for await (const b of loader.epoch(epoch, order, batch)) out.push({ x: Array.from(b.x), y: Array.from(b.y), n: b.n });
  return out;
}

const loaders: BatchLoader[] = [];
const make = (o: LoaderOptions) => {
  const l = new BatchLoader(o);
  loaders.push(l);
  return l;
};
afterEach(async () => {
  await Promise.all(loaders.splice(0).map((l) => l.close()));
});

describe('BatchLoader', () => {
  it('makes the same batches in worker threads as on the training thread, in order, with a partial last batch', async () => {
    const o = options();
    const order = Int32Array.from({ length: 100 }, (_, i) => (i * 37) % 100);
    const inline = await collect(make({ ...o, workers: 0 }), 2, order, 32);
    const pool = make({ ...o, workers: 2, prefetch: 3 });
    const threaded = await collect(pool, 2, order, 32);
    expect(inline.map((b) => b.n)).toEqual([32, 32, 32, 4]);
    expect(threaded).toEqual(inline); // bit for bit: the draws depend on (seed, epoch, position) only
    // A consumer faster than the workers: the training thread made some batches itself, and one
    // worker with a 10-batch window mixes both kinds, still the same batches in the same order.
    const helped = make({ ...o, workers: 1, prefetch: 10 });
    expect(await collect(helped, 2, order, 8)).toEqual(await collect(make({ ...o, workers: 0 }), 2, order, 8));
    expect(helped.helped).toBeGreaterThan(0);
    expect(inline[0]!.y.slice(0, 3)).toEqual([0, 7, 4]); // labels of images 0, 37, 74
    expect(inline[0]!.x).toHaveLength(32 * 10 * 10 * 3); // the pipeline's 10x10 output
    const next = await collect(make({ ...o, workers: 0 }), 3, order, 32);
    expect(next[0]!.y).toEqual(inline[0]!.y);
    expect(next[0]!.x).not.toEqual(inline[0]!.x); // another epoch, other augmentation draws
  });

  it('without augmentation, standardises the stored pixels: x = (v/255 - mean) / std', async () => {
    const o = options({ augment: [] });
    const [b] = await collect(make({ ...o, workers: 1 }), 0, Int32Array.from([5]), 8);
    const v = o.images[5 * 432 + 1]!; // image 5, pixel 0, channel 1
    expect(b!.x[1]).toBeCloseTo((v / 255 - 0.4) / 0.25, 5);
  });

  it('closes cleanly with batches still in flight when an epoch is abandoned', async () => {
    const loader = make({ ...options(), workers: 1, prefetch: 4 });
    const order = Int32Array.from({ length: 100 }, (_, i) => i);
    for await (const b of loader.epoch(0, order, 8)) {
      expect(b.n).toBe(8);
      break;
    }
    await loader.close();
  });

  it('names a bad TRICKBENCH_LOADER_WORKERS', () => {
    const saved = process.env.TRICKBENCH_LOADER_WORKERS;
    process.env.TRICKBENCH_LOADER_WORKERS = 'many';
    try {
      expect(() => defaultWorkers()).toThrow("TRICKBENCH_LOADER_WORKERS: expected a whole number >= 0, got 'many'");
    } finally {
      if (saved === undefined) delete process.env.TRICKBENCH_LOADER_WORKERS;
      else process.env.TRICKBENCH_LOADER_WORKERS = saved;
    }
  });
});
