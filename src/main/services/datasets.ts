// The dataset manager behind the Datasets page and `runs:start`'s dataset check: which datasets
// exist (built in, imported, found in the data dir or /usr/share/datasets, or downloadable), what
// is in them (class counts, samples before and after augmentation), importing (validated and
// indexed where it lies, or copied into the data dir when asked) and downloading the public ones.
// Reading and transforming pixels (inspecting, sample grids, augmentation previews, the mean
// pixel) happens in a worker thread (dataset-preview-worker.ts), so a large dataset's preview
// does not hold up other requests. Electron-free.
import fs from 'node:fs';
import path from 'node:path';
import { Piscina } from 'piscina';
import {
  ApiFailure,
  type DatasetDetail,
  type DatasetOrigin,
  type DatasetSummary,
  type DownloadProgress,
  type EventMap,
  type EventName,
  type ImportRequest,
  type SampleGrid,
  type SampleRequest,
} from '../../shared/api';
import { augmentSchema } from '../../shared/augment';
import { datasetSchema, datasetSchemaFor, type DatasetConfig } from '../../shared/config';
import { BUILTIN_DATASETS, BUILTIN_FACTS, DATASET_NAME, datasetFacts, isBuiltinDataset, type DatasetFacts, type DatasetInfo } from '../../shared/models/datasets';
import type { Store } from '../../store/store';
import { statPath } from '../../data/formats/folder';
import type { InspectResult } from '../../data/formats/read';
import { datasetRoots, discoverDatasets, fingerprint, locateDataset, SYSTEM_DATASETS, type DatasetLocation } from '../../data/locate';
import { workerEntry } from '../../data/worker-entry';
import type { PreviewResults, PreviewTaskOf, SampleSource } from './dataset-preview-worker';
import { infoFromInspection } from '../../data/facts';
import { CATALOG, type CatalogEntry } from './download-catalog';
import { datasetDownloadDir, DownloadManager } from './downloads';

const MAX_PER_CLASS = 16;
const MAX_SAMPLE_CLASSES = 100;
/** Previews resize at most to this (16 images x 100 classes x 256^2 x 3 = 300 MB at worst). */
const MAX_PREVIEW_SIZE = 256;
/** Worker threads for previews: two, so one slow dataset does not queue every other preview. */
const PREVIEW_THREADS = 2;

function checkLabels(v: unknown): 'fine' | 'coarse' {
  if (v === undefined || v === null) return 'fine';
  if (v !== 'fine' && v !== 'coarse') bad(`labels must be 'fine' or 'coarse'`, 'labels');
  return v;
}

export interface DatasetServiceOptions {
  store: Store;
  dataDir: string;
  systemDir?: string;
  /** The downloadable datasets; default: TRICKBENCH_DOWNLOAD_CATALOG (a JSON file of catalog
   * entries, e.g. pointing at a local mirror), else the official addresses. */
  catalog?: CatalogEntry[];
  downloads?: DownloadManager;
  /** Refresh the list when a download finishes (the app: yes; a one-shot CLI: no). */
  refreshOnDownload?: boolean;
  emit?: <E extends EventName>(event: E, payload: EventMap[E]) => void;
}

function bad(message: string, field?: string): never {
  throw new ApiFailure({ code: 'bad_request', message, field });
}

export class DatasetService {
  readonly downloads: DownloadManager;
  readonly catalog: CatalogEntry[];
  private readonly systemDir: string;
  /** Datasets on this machine, by name, as of the last refresh. */
  private found = new Map<string, DatasetLocation>();
  /** Imported datasets whose files cannot be found, and why; and public datasets in the data
   * dir whose download is incomplete (a .part left, or files missing). */
  private missing = new Map<string, string>();
  private incomplete = new Map<string, string>();
  /** Refreshes run one after another: two at once could each overwrite the other's list. */
  private chain: Promise<void> = Promise.resolve();
  /** What the config schema needs of each dataset found (shape, classes, sizes), as of the last
   * refresh: runs:start validates with these (facts()). */
  private known: DatasetFacts = BUILTIN_FACTS;
  /** The preview images of the last dataset sampled (not the dataset: a few per class). */
  private sampleCache: SampleSource | null = null;
  /** The preview worker threads, started on the first task (idle ones end after a while). */
  private pool: Piscina | null = null;

  constructor(private readonly o: DatasetServiceOptions) {
    this.systemDir = o.systemDir ?? process.env.TRICKBENCH_SYSTEM_DATASETS ?? SYSTEM_DATASETS;
    this.catalog = o.catalog ?? catalogFromEnv() ?? CATALOG;
    this.downloads = o.downloads ?? new DownloadManager({ dataDir: o.dataDir, catalog: this.catalog });
    this.downloads.on('progress', (p: DownloadProgress) => {
      o.emit?.('datasets:download', p);
      if (p.state === 'done' && o.refreshOnDownload !== false) {
        // A finished download is a dataset now: list it, then tell the pages.
        this.refresh()
          .catch(() => undefined)
          .finally(() => o.emit?.('datasets:changed', { name: p.id }));
      }
    });
  }

  /** Find what is on disk and in the store, and inspect each dataset for its facts (so a run on
   * it validates its classes, RIFLE's layers, ...: facts()). */
  refresh(): Promise<void> {
    this.chain = this.chain.then(
      () => this.doRefresh(),
      () => this.doRefresh(),
    );
    return this.chain;
  }

  private async doRefresh(): Promise<void> {
    const next = new Map<string, DatasetLocation>();
    const missing = new Map<string, string>();
    const incomplete = new Map<string, string>();
    for (const row of this.o.store.datasets.list()) {
      try {
        next.set(row.name, await locateDataset(row.name, this.o.dataDir, { imported: () => row, systemDir: this.systemDir }));
      } catch (e) {
        missing.set(row.name, (e as Error).message);
      }
    }
    for (const d of await discoverDatasets(this.o.dataDir, this.systemDir)) {
      if (next.has(d.name) || missing.has(d.name)) continue;
      if (d.origin === 'data-dir') {
        const why = this.incompleteDownload(d.name);
        if (why) {
          incomplete.set(d.name, why);
          continue;
        }
      }
      try {
        next.set(d.name, { ...d, fingerprint: fingerprint(d.path) });
      } catch {
        // a folder that vanished or cannot be read while listing: not listed
      }
    }
    this.found = next;
    this.missing = missing;
    this.incomplete = incomplete;
    const infos: [string, DatasetInfo][] = [];
    for (const loc of next.values()) {
      if (isBuiltinDataset(loc.name)) continue;
      const info = await this.infoOf(loc).catch(() => null);
      if (info) infos.push([loc.name, info]);
    }
    this.known = datasetFacts(infos);
  }

  /** The facts of the built-ins and of every dataset found and inspected by the last refresh:
   * what runs:start and experiments check configs against. */
  facts(): DatasetFacts {
    return this.known;
  }

  /** Why the data dir's folder of a public dataset is not a complete download, or null: a .part
   * is left, or some of the catalog's files are there and others are not. (A folder holding none
   * of them, such as an extracted CIFAR put there by hand, is judged by its contents.) */
  private incompleteDownload(name: string): string | null {
    const entry = this.catalog.find((c) => c.id === name);
    if (!entry) return null;
    const dir = datasetDownloadDir(this.o.dataDir, name);
    let files: string[];
    try {
      files = fs.readdirSync(dir);
    } catch {
      return null;
    }
    const have = entry.files.filter((f) => files.includes(f.name));
    if (files.some((f) => f.endsWith('.part')) || (have.length > 0 && have.length < entry.files.length)) {
      return `${entry.title}'s download is incomplete (${have.length} of ${entry.files.length} files): resume it on the Datasets page or with \`npm run dataset -- download ${name}\``;
    }
    return null;
  }

  /** Why a run cannot use this dataset now, or null. Between refreshes (a download finished or a
   * folder appeared a moment ago), a folder of that name on disk is given the benefit of the
   * doubt: the trainer reads and checks it. */
  problem(name: string): string | null {
    if (name === 'synthetic' || this.found.has(name)) return null;
    const gone = this.missing.get(name) ?? this.incomplete.get(name);
    if (gone) return gone;
    const onDisk = datasetRoots(this.o.dataDir, this.systemDir).some((r) => fs.existsSync(path.join(r.dir, name)));
    if (onDisk && !this.incompleteDownload(name)) return null;
    const entry = this.catalog.find((c) => c.id === name);
    if (entry) return `${entry.title} is not on this machine yet: download it on the Datasets page or with \`npm run dataset -- download ${name}\``;
    const known = ['synthetic', ...this.found.keys()];
    return `unknown dataset '${name}' (available: ${known.join(', ')}; import a file or folder on the Datasets page)`;
  }

  private async inspection(loc: DatasetLocation, labels: 'fine' | 'coarse' = 'fine'): Promise<InspectResult> {
    const imageSize = (loc.options.imageSize as number | null | undefined) ?? null;
    const key = `inspect:${loc.fingerprint}|${labels}|${imageSize}|${loc.options.strict === true}`;
    const hit = this.o.store.datasets.cached<InspectResult>(key);
    if (hit) return hit;
    const r = await this.preview({ kind: 'inspect', path: loc.path, options: { labels, imageSize, strict: loc.options.strict === true } });
    this.o.store.datasets.cache(key, r);
    return r;
  }

  private async infoOf(loc: DatasetLocation): Promise<DatasetInfo> {
    return infoFromInspection(await this.inspection(loc));
  }

  private summaryOf(name: string): DatasetSummary {
    const loc = this.found.get(name);
    const entry = this.catalog.find((c) => c.id === name);
    const info = this.known.info(name);
    const gone = this.missing.get(name);
    const origin: DatasetOrigin | null = name === 'synthetic' ? 'generated' : gone ? 'imported' : (loc?.origin ?? null);
    return {
      name,
      // titles of the public datasets from the official catalog, even when a mirror catalog is in use
      title: name === 'synthetic' ? 'Synthetic gratings (generated)' : (entry?.title ?? CATALOG.find((c) => c.id === name)?.title ?? name),
      origin,
      format: name === 'synthetic' ? 'generated' : (loc?.format ?? entry?.format ?? null),
      path: loc?.path ?? (gone ? (this.o.store.datasets.get(name)?.path ?? null) : null),
      shape: info?.shape ?? null,
      classes: info?.classes ?? null,
      coarseClasses: info?.coarseClasses,
      noTestSet: info?.noTestSet,
      trainImages: info?.trainImages,
      ownVal: info?.ownVal,
      downloadable: !!entry,
      download: this.downloads.status().find((p) => p.id === name) ?? null,
      homepage: entry?.homepage,
      problem: gone ?? this.incomplete.get(name) ?? null,
    };
  }

  async list(): Promise<DatasetSummary[]> {
    await this.refresh();
    const names = new Set<string>([...BUILTIN_DATASETS, ...this.found.keys(), ...this.missing.keys(), ...this.incomplete.keys()]);
    return [...names].map((n) => this.summaryOf(n));
  }

  private location(name: string): DatasetLocation {
    const loc = this.found.get(name);
    if (!loc) throw new ApiFailure({ code: 'not_found', message: this.problem(name) ?? `dataset '${name}' not found`, field: 'name' });
    return loc;
  }

  async get(name: string, labelsIn?: unknown): Promise<DatasetDetail> {
    if (typeof name !== 'string') bad('name must be a dataset name', 'name');
    const labels = checkLabels(labelsIn);
    if (name === 'synthetic') {
      const d = await this.preview({ kind: 'counts', config: datasetSchema.parse({ name }), dataDir: this.o.dataDir });
      return { ...this.summaryOf(name), classNames: d.classNames, counts: { train: d.train, test: d.test }, skipped: [] };
    }
    await this.refresh();
    const r = await this.inspection(this.location(name), labels);
    return {
      ...this.summaryOf(name),
      classNames: r.classNames,
      counts: { train: r.classCounts.train, test: r.classCounts.test },
      skipped: r.skipped,
    };
  }

  /** The first images of each class of a dataset as stored (up to MAX_PER_CLASS), and the
   * training set's mean pixel (cutout's fill): what previews need, kept for the next request
   * instead of the whole dataset. */
  private async sampleSource(name: string, labels: 'fine' | 'coarse'): Promise<SampleSource> {
    const parsed = datasetSchemaFor(this.known).safeParse({ name, labels });
    if (!parsed.success) bad(`${parsed.error.issues[0]!.path.join('.') || 'name'}: ${parsed.error.issues[0]!.message}`, 'name');
    const c = parsed.data;
    const loc = c.name === 'synthetic' ? null : this.location(c.name);
    const key = `${c.name}|${loc?.fingerprint}|${c.labels}`;
    if (this.sampleCache?.key === key) return this.sampleCache;
    const row = this.o.store.datasets.get(c.name);
    const imported = row ? { path: row.path, format: row.format, options: row.options } : null;
    this.sampleCache = await this.preview({ kind: 'source', key, config: c, dataDir: this.o.dataDir, systemDir: this.systemDir, imported, perClass: MAX_PER_CLASS, maxClasses: MAX_SAMPLE_CLASSES });
    return this.sampleCache;
  }

  async samples(req: SampleRequest): Promise<SampleGrid> {
    if (!req || typeof req.name !== 'string') bad('name must be a dataset name', 'name');
    const perClass = req.perClass ?? 8;
    if (!Number.isInteger(perClass) || perClass < 1 || perClass > MAX_PER_CLASS) bad(`perClass must be an integer from 1 to ${MAX_PER_CLASS}`, 'perClass');
    const labels = checkLabels(req.labels);
    const seed = req.seed ?? 1;
    const epoch = req.epoch ?? 0;
    if (!Number.isInteger(seed) || seed < 0) bad('seed must be a whole number >= 0', 'seed');
    if (!Number.isInteger(epoch) || epoch < 0) bad('epoch must be a whole number >= 0', 'epoch');
    const size = req.imageSize ?? null;
    if (size !== null && (!Number.isInteger(size) || size < 4 || size > MAX_PREVIEW_SIZE)) bad(`imageSize must be an integer from 4 to ${MAX_PREVIEW_SIZE} for a preview`, 'imageSize');
    // The dataset page's get() refreshed the list when it opened: each "Show" need not walk the files again.
    if (req.name !== 'synthetic' && !this.found.has(req.name)) await this.refresh();
    const source = await this.sampleSource(req.name, labels);
    let augment = null;
    if (req.augment !== undefined && req.augment !== null) {
      const a = augmentSchema.safeParse(req.augment);
      if (!a.success) {
        const i = a.error.issues[0]!;
        bad(`augment.${i.path.join('.')}: ${i.message}`, `augment.${i.path.join('.')}`);
      }
      augment = a.data;
    }
    // As a run would see them: resized to dataset.imageSize, then augmented (in the worker).
    const grid = await this.preview({ kind: 'render', source, perClass, seed, epoch, imageSize: size, augment });
    if ('refused' in grid) bad(grid.refused.message, grid.refused.field);
    return grid;
  }

  /** Run a task on the preview worker threads. */
  private preview<K extends keyof PreviewResults>(task: PreviewTaskOf<K>): Promise<PreviewResults[K]> {
    this.pool ??= new Piscina({ ...workerEntry('dataset-preview-worker', import.meta.url), minThreads: 0, maxThreads: PREVIEW_THREADS, idleTimeout: 30_000 });
    return this.pool.run(task) as Promise<PreviewResults[K]>;
  }

  /** Stop the preview threads (a later preview starts them again). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.destroy();
  }

  async import(req: ImportRequest): Promise<DatasetSummary> {
    if (!req || typeof req.path !== 'string' || !req.path.trim()) bad('path: pick the file or folder to import', 'path');
    if (typeof req.name !== 'string' || !DATASET_NAME.test(req.name)) bad('name: lower-case letters, digits, ".", "_" or "-", starting with a letter or digit', 'name');
    const p = path.resolve(req.path.trim());
    let exists: boolean;
    try {
      exists = statPath(p) !== undefined;
    } catch (e) {
      bad(`path: ${(e as Error).message}`, 'path'); // a link loop, named
    }
    if (!exists) bad(`path: ${p} does not exist`, 'path');
    await this.refresh();
    if (isBuiltinDataset(req.name) || this.found.has(req.name)) bad(`name: a dataset called '${req.name}' exists already`, 'name');
    if (this.o.store.datasets.get(req.name)) bad(`name: '${req.name}' is imported already, from files that are missing now: remove it first`, 'name');
    const labels = checkLabels(req.labels);
    if (req.imageSize !== undefined && req.imageSize !== null && (!Number.isInteger(req.imageSize) || req.imageSize < 4 || req.imageSize > 1024)) {
      bad('imageSize must be an integer from 4 to 1024', 'imageSize');
    }
    const options: Record<string, unknown> = {};
    if (req.imageSize) options.imageSize = req.imageSize;
    if (req.strict) options.strict = true;
    let r: InspectResult;
    try {
      r = await this.preview({ kind: 'inspect', path: p, options: { labels, imageSize: req.imageSize ?? null, strict: req.strict === true } });
    } catch (e) {
      bad((e as Error).message, 'path');
    }
    if (req.imageSize && r.format !== 'image-folder') {
      bad(`imageSize: applies to image folders; this is ${r.format} (set dataset.imageSize in a run's config to resize it)`, 'imageSize');
    }
    let at = p;
    if (req.copy) {
      // A copy in the data dir's imports/ (outside datasets/, which discovery scans): the dataset
      // then survives the original being moved or unmounted. Removing it deletes the copy.
      const dest = path.join(this.o.dataDir, 'imports', req.name);
      if (fs.existsSync(dest)) bad(`name: ${dest} exists already (a copy of another dataset?)`, 'name');
      at = path.join(dest, path.basename(p));
      try {
        await fs.promises.mkdir(dest, { recursive: true });
        await fs.promises.cp(p, at, { recursive: true, errorOnExist: true });
      } catch (e) {
        await fs.promises.rm(dest, { recursive: true, force: true });
        bad(`path: copying ${p} to ${dest} failed: ${(e as Error).message}`, 'path');
      }
      options.copiedFrom = p;
    }
    let row;
    try {
      row = this.o.store.datasets.add({ name: req.name, path: at, format: r.format, options, info: { ...r } });
    } catch (e) {
      if (req.copy) await fs.promises.rm(path.dirname(at), { recursive: true, force: true });
      throw e;
    }
    const loc = await locateDataset(row.name, this.o.dataDir, { imported: () => row, systemDir: this.systemDir });
    this.o.store.datasets.cache(`inspect:${loc.fingerprint}|${labels}|${req.imageSize ?? null}|${req.strict === true}`, r);
    await this.refresh();
    this.o.emit?.('datasets:changed', { name: row.name });
    return this.summaryOf(row.name);
  }

  async remove(name: string): Promise<{ removed: string }> {
    if (typeof name !== 'string') bad('name must be a dataset name', 'name');
    const row = this.o.store.datasets.get(name);
    if (!row || !this.o.store.datasets.delete(name)) {
      throw new ApiFailure({ code: 'not_found', message: `'${name}' is not an imported dataset (only imported datasets can be removed; their files stay where they are)`, field: 'name' });
    }
    // A copy made at import is ours to delete; an indexed original is left alone.
    if (row.options.copiedFrom) await fs.promises.rm(path.dirname(row.path), { recursive: true, force: true });
    if (this.sampleCache?.key.startsWith(`${name}|`)) this.sampleCache = null;
    await this.refresh();
    this.o.emit?.('datasets:changed', { name });
    return { removed: name };
  }

  private catalogEntry(name: string): CatalogEntry {
    const entry = this.catalog.find((c) => c.id === name);
    if (!entry) throw new ApiFailure({ code: 'not_found', message: `'${name}' is not a public dataset this app can download (${this.catalog.map((c) => c.id).join(', ')})`, field: 'name' });
    return entry;
  }

  download(name: string): DownloadProgress {
    this.catalogEntry(name);
    return this.downloads.start(name);
  }

  /** Resolves once the download has stopped, with its final state: an answer given while it was
   * still stopping ('downloading') could reach a page after the 'cancelled' event and stay. */
  async cancelDownload(name: string): Promise<DownloadProgress> {
    this.catalogEntry(name);
    const p = await this.downloads.cancelAndWait(name);
    if (!p) throw new ApiFailure({ code: 'not_found', message: `no download of '${name}' to cancel`, field: 'name' });
    return p;
  }
}

function catalogFromEnv(): CatalogEntry[] | null {
  const file = process.env.TRICKBENCH_DOWNLOAD_CATALOG;
  if (!file) return null;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as CatalogEntry[];
  } catch (e) {
    throw new Error(`TRICKBENCH_DOWNLOAD_CATALOG: cannot read ${file}: ${(e as Error).message}`);
  }
}
