// `npm run bench -- --suite loader`: how fast the training loader makes batches (augmentation +
// normalisation in worker threads, as src/data/loader.ts runs it for a run) for
// CIFAR-sized images, next to how fast the trainer consumes them (the real training step of the
// seeds' models, CIFAR-sized, batch 128), and how long a training loop fed by the loader waited
// for data. Target: the loader at least 10x the trainer's images/s on the same machine; the
// dataset held once as uint8 (the workers share it: the pool's memory cost is printed).
import os from 'node:os';
import type { AugmentInput } from '../src/shared/augment';
import { AUGMENT_RECIPES, augmentSchema } from '../src/shared/augment';
import type { ModelConfigInput } from '../src/shared/config';
import { BatchLoader, defaultWorkers } from '../src/data/loader';
import { sharedBytes } from '../src/data/types';
import { makeRng } from '../src/shared/rng';
import { benchTrainer, randomBatch } from './step';

const N = 20_000;
const BATCH = 128;
const PIPELINES: { name: string; stored: number; augment: AugmentInput }[] = [
  { name: 'CIFAR recipe: crop 32 pad 4, flip (stored 32x32)', stored: 32, augment: AUGMENT_RECIPES.cifar.augment },
  { name: "seeds' pipeline: jitter 0.2/0.2/0.2, resized crop 32 (0.6-1), flip, rotation 20 (stored 40x40)", stored: AUGMENT_RECIPES.seeds.imageSize!, augment: AUGMENT_RECIPES.seeds.augment },
];
const MODELS: ModelConfigInput[] = [{ name: 'cnn3', width: 32 }, { name: 'resnet20' }];

const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;

function makeImages(stored: number) {
  const rng = makeRng(1, 'bench-loader');
  const images = sharedBytes(N * stored * stored * 3);
  for (let i = 0; i < images.length; i++) images[i] = (rng.next() * 256) | 0;
  const labels = Uint8Array.from({ length: N }, () => rng.int(10));
  return { images, labels };
}

/** Images/s of the loader alone, over `batches` batches of one epoch (after its first batch: the
 * workers' start-up is not throughput). */
async function loaderRate(loader: BatchLoader, batches: number): Promise<number> {
  const order = Int32Array.from({ length: Math.min(N, (batches + 1) * BATCH) }, (_, i) => i);
  let t0 = 0;
  let n = 0;
  for await (const b of loader.epoch(0, order, BATCH)) {
    if (t0 === 0) {
      t0 = performance.now();
      continue;
    }
    n += b.n;
  }
  return n / ((performance.now() - t0) / 1000);
}

async function trainerRate(model: ModelConfigInput, steps: number): Promise<number> {
  const trainer = benchTrainer(model, [32, 32, 3]);
  const b = randomBatch([32, 32, 3], BATCH);
  try {
    await trainer.step(b);
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await trainer.step(b);
    return (steps * BATCH) / ((performance.now() - t0) / 1000);
  } finally {
    trainer.dispose();
  }
}

/** Training fed by the loader, as the loop does it: the share of the time spent waiting. */
async function fedTraining(loader: BatchLoader, model: ModelConfigInput, steps: number) {
  const trainer = benchTrainer(model, [32, 32, 3]);
  const order = Int32Array.from({ length: (steps + 1) * BATCH }, (_, i) => i);
  let i = 0;
  let t0 = 0;
  try {
    for await (const b of loader.epoch(1, order, BATCH)) {
      if (i === 0) {
        loader.waitMs = 0;
        t0 = performance.now();
      }
      await trainer.step(b);
      i++;
    }
    const total = performance.now() - t0;
    return { waitShare: loader.waitMs / total, imgPerSec: ((i - 1) * BATCH) / (total / 1000) };
  } finally {
    trainer.dispose();
  }
}

export async function benchLoader(o: { steps: number }): Promise<Record<string, unknown>> {
  const workers = defaultWorkers();
  console.log(`${N.toLocaleString('en-US')} random CIFAR-sized images, batch ${BATCH}; ${os.availableParallelism()} cores, loader workers ${workers} (default)`);
  const trainer: Record<string, number> = {};
  for (const m of MODELS) trainer[m.name!] = await trainerRate(m, Math.max(2, Math.round(o.steps / (m.name === 'resnet20' ? 3 : 1))));
  // The strictest comparison is with the fastest model (the ratio in the JSON).
  const fastest = Math.max(...Object.values(trainer));
  console.log(`trainer (training step alone, 32x32x3, b${BATCH}): ${Object.entries(trainer).map(([k, v]) => `${k} ${v.toFixed(0)} img/s`).join(', ')}`);
  const out: Record<string, unknown> = { trainer };
  for (const p of PIPELINES) {
    const { images, labels } = makeImages(p.stored);
    const augment = augmentSchema.parse(p.augment);
    const ctx = { images, labels, inShape: [p.stored, p.stored, 3] as [number, number, number], augment, norm: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }, seed: 1 };
    const rss0 = process.memoryUsage().rss;
    const rates: Record<string, number> = {};
    for (const w of [...new Set([0, workers, Math.min(2, os.availableParallelism())])].sort()) {
      const loader = new BatchLoader({ ...ctx, workers: w });
      try {
        rates[`workers${w}`] = await loaderRate(loader, 60);
      } finally {
        await loader.close();
      }
    }
    const pool = new BatchLoader({ ...ctx, workers });
    const rssPool = process.memoryUsage().rss - rss0;
    let fed: { waitShare: number; imgPerSec: number };
    try {
      fed = await fedTraining(pool, { name: 'cnn3', width: 32 }, o.steps);
    } finally {
      await pool.close();
    }
    const best = rates[`workers${workers}`]!;
    const ratio = best / fastest;
    const perModel = Object.entries(trainer).map(([k, v]) => `${k} ${(best / v).toFixed(1)}x ${best / v >= 10 ? '✓' : '✗'}`);
    console.log(`\n${p.name}`);
    console.log(`  loader: ${Object.entries(rates).map(([k, v]) => `${k.replace('workers', '')} worker${k === 'workers1' ? '' : 's'} ${v.toFixed(0)} img/s`).join(', ')}`);
    console.log(`  loader (${workers} worker${workers === 1 ? '' : 's'}) / trainer, target >= 10x: ${perModel.join(', ')}`);
    console.log(`  cnn3 trained from the loader: ${fed.imgPerSec.toFixed(0)} img/s, waiting for data ${(100 * fed.waitShare).toFixed(1)}% of the time`);
    console.log(`  dataset ${mb(images.byteLength)} uint8, held once; memory with the pool: RSS +${mb(Math.max(0, rssPool))} (workers' own heaps, no copy of the images)`);
    out[p.stored === 32 ? 'cifar' : 'seeds'] = { loader: rates, ratio: Math.round(ratio * 10) / 10, ratios: Object.fromEntries(Object.entries(trainer).map(([k, v]) => [k, Math.round((best / v) * 10) / 10])), fedImgPerSec: Math.round(fed.imgPerSec), waitShare: Math.round(fed.waitShare * 1000) / 1000, datasetBytes: images.byteLength, poolRssBytes: rssPool };
  }
  return out;
}
