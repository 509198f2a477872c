// What is known of a dataset before it is read, as the config schema needs it (DatasetFacts): the
// dataset located by name (imported, data dir, system dir) and inspected, the inspection cached
// in the store under the located files' fingerprint. The host's dataset service lists datasets
// with it; the trainer and `npm run train` check a run's config with it before reading the data,
// so that both refuse what the app refuses (a class id out of range, a RIFLE layer the model
// lacks, RePr without conv layers, a batch larger than the training set).
import { mustParseRunConfig } from '../shared/config';
import { BUILTIN_FACTS, DATASET_NAME, datasetFacts, isBuiltinDataset, type DatasetFacts, type DatasetInfo } from '../shared/models/datasets';
import { inspectDataset, type InspectResult } from './formats/read';
import { locateDataset, type DatasetLocation, type LocateOptions } from './locate';
import type { Dataset } from './types';

/** Where inspections are kept between runs (the store's dataset cache). */
export interface InspectionCache {
  cached<T>(key: string): T | null;
  cache(key: string, value: unknown): void;
}

/** The store's dataset table: imported datasets by name, and the inspection cache. */
export type DatasetTable = InspectionCache & { get(name: string): { path: string; format: string; options: Record<string, unknown> } | null };

/** A located dataset's inspection (format, classes, shape, split sizes), read once per set of
 * files (the fingerprint), labels and import options, then taken from the cache. */
export async function inspectLocated(loc: DatasetLocation, cache: InspectionCache | null, labels: 'fine' | 'coarse' = 'fine'): Promise<InspectResult> {
  const imageSize = (loc.options.imageSize as number | null | undefined) ?? null;
  const key = `inspect:${loc.fingerprint}|${labels}|${imageSize}|${loc.options.strict === true}`;
  const hit = cache?.cached<InspectResult>(key);
  if (hit) return hit;
  const r = await inspectDataset(loc.path, { labels, imageSize, strict: loc.options.strict === true });
  cache?.cache(key, r);
  return r;
}

/** The facts of an inspected dataset. The sizes let a batch size too large for the training set
 * be refused before a run starts. */
export function infoFromInspection(r: InspectResult): DatasetInfo {
  const coarse = r.format.startsWith('cifar100') ? 20 : undefined;
  return { shape: r.shape, classes: r.classes, coarseClasses: coarse, noTestSet: r.test === 0, trainImages: r.train, ownVal: (r.val ?? 0) > 0 };
}

export interface LocatedFacts {
  /** The built-ins and, when it was found and could be inspected, the dataset named. */
  facts: DatasetFacts;
  /** The files the facts were read from (null: a built-in name not on disk, or not found). */
  fingerprint: string | null;
  /** Why the dataset cannot be used (not found), or null. */
  problem: string | null;
}

/** The facts a run on dataset `name` is checked with before its data is read. synthetic is
 * generated (built in); any other name is located as loadDataset locates it, so a download of
 * a built-in is checked by its files too. */
export async function locatedFacts(name: string, dataDir: string, opts: LocateOptions & { cache: InspectionCache | null }): Promise<LocatedFacts> {
  if (name === 'synthetic') return { facts: BUILTIN_FACTS, fingerprint: null, problem: null };
  let loc: DatasetLocation;
  try {
    loc = await locateDataset(name, dataDir, opts);
  } catch (e) {
    return { facts: BUILTIN_FACTS, fingerprint: null, problem: (e as Error).message };
  }
  // A built-in's shape and classes are fixed (datasetFacts keeps them whatever its files say).
  if (isBuiltinDataset(name)) return { facts: BUILTIN_FACTS, fingerprint: loc.fingerprint, problem: null };
  try {
    return { facts: datasetFacts([[name, infoFromInspection(await inspectLocated(loc, opts.cache))]]), fingerprint: loc.fingerprint, problem: null };
  } catch {
    // Unreadable: as in the app (whose list shows it without facts), the run reads it and fails
    // with the reader's message.
    return { facts: BUILTIN_FACTS, fingerprint: loc.fingerprint, problem: null };
  }
}

/** The facts of several datasets (an experiment's arms may name more than one), each located
 * and inspected as locatedFacts does; `problems`: why a dataset cannot be used, by name. */
export async function locatedFactsOf(names: Iterable<string>, dataDir: string, opts: LocateOptions & { cache: InspectionCache | null }): Promise<{ facts: DatasetFacts; problems: Map<string, string> }> {
  const infos: [string, DatasetInfo][] = [];
  const problems = new Map<string, string>();
  for (const name of new Set(names)) {
    const r = await locatedFacts(name, dataDir, opts);
    const info = r.facts.info(name);
    if (info && !isBuiltinDataset(name)) infos.push([name, info]);
    if (r.problem) problems.set(name, r.problem);
  }
  return { facts: infos.length ? datasetFacts(infos) : BUILTIN_FACTS, problems };
}

/** The facts a stored run's config is checked with by the trainer, before its data is read. */
export function runDatasetFacts(config: unknown, dataDir: string, store: { datasets: DatasetTable }, systemDir?: string): Promise<LocatedFacts> {
  const name = (config as { dataset?: { name?: unknown } } | null)?.dataset?.name;
  if (typeof name !== 'string' || !DATASET_NAME.test(name)) return Promise.resolve({ facts: BUILTIN_FACTS, fingerprint: null, problem: null });
  return locatedFacts(name, dataDir, { imported: (n) => store.datasets.get(n), systemDir: systemDir ?? process.env.TRICKBENCH_SYSTEM_DATASETS, cache: store.datasets });
}

/** Once the data is read: if its files are not those the facts were read from (they changed
 * since, or were not found then), check the config again with the facts of what was read.
 * Throws ConfigError as mustParseRunConfig does. */
export async function recheckReadDataset(
  config: unknown,
  read: Dataset,
  before: LocatedFacts,
  dataDir: string,
  store: { datasets: DatasetTable },
  systemDir?: string,
): Promise<void> {
  if (read.fingerprint === undefined || read.fingerprint === before.fingerprint) return;
  const now = await runDatasetFacts(config, dataDir, store, systemDir);
  mustParseRunConfig(config, now.facts);
}
