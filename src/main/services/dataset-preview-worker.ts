// The dataset service's worker thread (piscina): everything that reads or transforms a dataset's
// pixels for the Datasets page (inspecting a dataset, the first images of each class and the mean
// pixel, resized and augmented sample grids), so that a large dataset keeps the host's event loop
// free for every other request meanwhile. Tasks and results are plain data; the picked images
// come back in shared memory, so the service can keep them and hand them back without a copy.
import type { SampleGrid } from '../../shared/api';
import type { AugmentConfig } from '../../shared/augment';
import type { DatasetConfig } from '../../shared/config';
import { inspectDataset, type InspectResult, type ReadOptions } from '../../data/formats/read';
import { channelStats, loadDataset } from '../../data/index';
import { sampleRng } from '../../data/sample-rng';
import { compilePipeline, resizeImage } from '../../data/transforms';
import { sharedBytes } from '../../data/types';

/** The first images of each class of a dataset as stored, and the training set's mean pixel
 * (cutout's fill): what previews need, kept by the service instead of the whole dataset. */
export interface SampleSource {
  key: string;
  classNames: string[];
  shape: [number, number, number];
  picked: { label: number; index: number; pixels: Uint8Array }[];
  mean: number[];
}

/** An imported dataset's row, as the trainer's locate needs it. */
export interface ImportedDataset {
  path: string;
  format: string;
  options: Record<string, unknown>;
}

export type PreviewTask =
  | { kind: 'inspect'; path: string; options: Pick<ReadOptions, 'labels' | 'imageSize' | 'strict'> }
  | { kind: 'counts'; config: DatasetConfig; dataDir: string }
  | { kind: 'source'; key: string; config: DatasetConfig; dataDir: string; systemDir: string; imported: ImportedDataset | null; perClass: number; maxClasses: number }
  | { kind: 'render'; source: SampleSource; perClass: number; seed: number; epoch: number; imageSize: number | null; augment: AugmentConfig | null };

/** A request the worker refuses, to be answered as a bad request naming the field. */
export interface PreviewRefusal {
  refused: { message: string; field: string };
}

export interface PreviewResults {
  inspect: InspectResult;
  counts: { classNames: string[]; train: number[]; test: number[] };
  source: SampleSource;
  render: SampleGrid | PreviewRefusal;
}

export type PreviewTaskOf<K extends PreviewTask['kind']> = Extract<PreviewTask, { kind: K }>;

const b64 = (a: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

function classCounts(labels: Uint8Array, k: number): number[] {
  const c = new Array<number>(k).fill(0);
  for (const l of labels) c[l]!++;
  return c;
}

async function counts(t: PreviewTaskOf<'counts'>): Promise<PreviewResults['counts']> {
  const d = await loadDataset(t.config, t.dataDir);
  return { classNames: d.classNames, train: classCounts(d.train.labels, d.numClasses), test: classCounts(d.test.labels, d.numClasses) };
}

async function source(t: PreviewTaskOf<'source'>): Promise<SampleSource> {
  const data = await loadDataset(t.config, t.dataDir, { imported: (n) => (n === t.config.name ? t.imported : null), systemDir: t.systemDir });
  const per = data.shape[0] * data.shape[1] * data.shape[2];
  const taken = new Array<number>(data.numClasses).fill(0);
  const classes = Math.min(data.numClasses, t.maxClasses);
  const chosen: { label: number; index: number }[] = [];
  for (let i = 0; i < data.train.n && chosen.length < classes * t.perClass; i++) {
    const label = data.train.labels[i]!;
    if (label >= classes || taken[label]! >= t.perClass) continue;
    taken[label]!++;
    chosen.push({ label, index: i });
  }
  // One block of shared memory for all of them: the service keeps it and sends it back with
  // each render task without a copy.
  const pixels = sharedBytes(chosen.length * per);
  const picked = chosen.map((c, k) => {
    const at = pixels.subarray(k * per, (k + 1) * per);
    at.set(data.train.images.subarray(c.index * per, (c.index + 1) * per));
    return { ...c, pixels: at };
  });
  const all = Int32Array.from({ length: data.train.n }, (_, i) => i);
  const mean = channelStats(data.train, data.shape, all).mean.map((m) => m * 255);
  return { key: t.key, classNames: data.classNames, shape: data.shape, picked, mean };
}

/** The sample grid: up to perClass images per class, as a run would see them: resized to
 * dataset.imageSize (bilinear, per image), then augmented with the seed's draws for that epoch. */
function render(t: PreviewTaskOf<'render'>): PreviewResults['render'] {
  const src = t.source;
  const size = t.imageSize;
  const shape: [number, number, number] = size ? [size, size, src.shape[2]] : src.shape;
  const resized = size && (size !== src.shape[0] || size !== src.shape[1]);
  let pipeline = null;
  if (t.augment) {
    try {
      pipeline = t.augment.length ? compilePipeline(t.augment, shape, { mean: src.mean }) : null;
    } catch (e) {
      return { refused: { message: `augment: ${(e as Error).message}`, field: 'augment' } };
    }
  }
  const out = pipeline ? new Uint8Array(pipeline.outShape[0] * pipeline.outShape[1] * pipeline.outShape[2]) : null;
  const count = new Map<number, number>();
  const samples: SampleGrid['samples'] = [];
  for (const p of src.picked) {
    const n = count.get(p.label) ?? 0;
    if (n >= t.perClass) continue;
    count.set(p.label, n + 1);
    let image = p.pixels;
    if (resized) {
      image = new Uint8Array(shape[0] * shape[1] * shape[2]);
      resizeImage(p.pixels, src.shape, image, shape[0], shape[1]);
    }
    let augmented: string | null = null;
    if (pipeline && out) {
      pipeline.apply(image, out, sampleRng(t.seed, t.epoch, p.index));
      augmented = b64(out);
    }
    samples.push({ label: p.label, index: p.index, image: b64(image), augmented });
  }
  samples.sort((a, b) => a.label - b.label || a.index - b.index);
  return { classNames: src.classNames, shape, augmentedShape: pipeline ? pipeline.outShape : null, samples };
}

export default async function preview(task: PreviewTask): Promise<PreviewResults[PreviewTask['kind']]> {
  switch (task.kind) {
    case 'inspect':
      return inspectDataset(task.path, task.options);
    case 'counts':
      return counts(task);
    case 'source':
      return source(task);
    case 'render':
      return render(task);
  }
}
