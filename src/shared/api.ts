// THE contract between the renderer and the back end. The Electron shell binds it to ipcMain
// (src/main/ipc.ts), web mode to HTTP + WebSocket (src/main/server.ts); the renderer sees one
// interface (src/renderer/src/api.ts) in both.
import { z } from 'zod';
import { unsafePathProblem, type FieldError, type RunConfig } from './config';
import { P_ADJUST_METHODS, SELECTION_RULES, TESTS } from './experiments';
import type { RunEvent } from './events';
import type { ComparisonSummary, ExperimentInfo, ExperimentPlan, PAdjustMethod, SelectionRule, TestName } from './experiments';
import { INGEST_ARGS, type ExternalRunSpec, type FinalStatus, type IngestCreated, type IngestEvent, type IngestPoint, type RunSource } from './ingest';
export type { RunSource } from './ingest';

export const RUN_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const FINAL_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'cancelled', 'interrupted'];
/** A run that stopped early can continue from its last checkpoint ('runs:resume'). */
export const RESUMABLE_STATUSES: readonly RunStatus[] = ['cancelled', 'failed', 'interrupted'];

/** `last`: the weights at the end of the latest epoch; `best`: those of the best val/acc so far. */
export type CheckpointKind = 'best' | 'last';

/** One stored metric value. `epoch` is fractional for per-step values (epoch e, batch i of n:
 * e + (i+1)/n) and the number of completed epochs for per-epoch values. */
export interface MetricPoint {
  key: string;
  step: number;
  epoch: number;
  value: number;
  time: number; // wall-clock, ms since the Unix epoch
}

/** One event of a run: a discriminated union on `kind` (src/shared/events.ts). */
export type { RunEvent };

export interface RunProgress {
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  phase: 'train' | 'eval';
}

export interface RunSummary {
  id: number;
  name: string;
  status: RunStatus;
  /** 'trickbench': our trainer's run (config is its RunConfig); 'external': logged by another
   * script or imported (config is null; params holds what the client gave). */
  source: RunSource;
  /** Our trainer's config; null for an external run. */
  config: RunConfig | null;
  /** An external run's free-form params (nested as the client sent them); null for ours. */
  params: Record<string, unknown> | null;
  /** Where it trains: this machine's queue, or a Slurm cluster (a job array task). */
  executor: 'local' | 'slurm';
  /** A cluster run's job (`1234_5`: array job 1234, task 5), null before submission or locally. */
  jobId: string | null;
  /** What the scheduler says of its job now (`PENDING (Resources)`, `RUNNING on node3`), or null. */
  executorState: string | null;
  /** The experiment the run belongs to (one arm, one seed), or null. */
  experimentId: number | null;
  /** That experiment's name and the run's arm's name (null for a run of no experiment). */
  experimentName: string | null;
  armName: string | null;
  seed: number;
  backend: string | null;
  device: string | null;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  error: string | null;
  /** Last value of every per-epoch and test metric (e.g. `val/acc`, `test/acc`). */
  final: Record<string, number>;
  /** Best value over epochs: max for accuracies, min for losses. */
  best: Record<string, number>;
  /** Live progress, present while the run is running in this host. */
  progress: RunProgress | null;
  /** Checkpoints in the run's folder: `last` makes a stopped run resumable, either one lets other
   * runs start from its weights (config `init.fromRun`). */
  checkpoints: CheckpointKind[];
}

/** The test set evaluated with one checkpoint's weights. */
export interface Evaluation {
  checkpoint: CheckpointKind;
  /** Epoch (1-based, completed) and global step of the weights. */
  epoch: number;
  step: number;
  n: number;
  loss: number;
  acc: number;
  /** Top-5 accuracy; null when there are 5 classes or fewer. */
  top5: number | null;
  /** K x K counts, confusion[true][predicted]. */
  confusion: number[][];
  /** Accuracy of each true class; null for a class without test images. */
  perClass: (number | null)[];
}

export interface RunEvaluation {
  best: Evaluation | null;
  last: Evaluation | null;
  classNames: string[];
  /** h, w, c of the stored test thumbnails; null before the run has been evaluated. */
  imageShape: [number, number, number] | null;
}

export const PREDICTION_ORDERS = ['confidentWrong', 'confidentRight', 'leastConfident'] as const;
export type PredictionOrder = (typeof PREDICTION_ORDERS)[number];

/** One test image as the best checkpoint classified it. */
export interface Prediction {
  index: number; // position in the test set
  label: number;
  pred: number;
  confidence: number; // softmax probability of `pred`
  /** The image as stored by the trainer: base64 of uint8 pixels, h*w*c (HWC), or null when only
   * the most telling few hundred images of a run keep their pixels. */
  image: string | null;
}

export interface PredictionPage {
  total: number; // rows of this order (all images for leastConfident)
  imageShape: [number, number, number] | null;
  rows: Prediction[];
}

/** Histories of several runs, keyed by run id then metric key, points ordered by step. */
export type Histories = Record<number, Record<string, MetricPoint[]>>;

export interface AppInfo {
  shell: 'electron' | 'web';
  dataDir: string;
  version: string;
  defaults: RunConfig;
}

export const EXPORT_KINDS = ['runs', 'histories', 'summary', 'summary-md', 'summary-tex'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

/** `runs`: one row per run; `histories`: every metric point (streamed, never downsampled);
 * `summary*`: the per-arm comparison table as CSV, Markdown or LaTeX — of an experiment, or of
 * the runs in `ids` grouped into arms. */
export interface ExportRequest {
  kind: ExportKind;
  ids: number[]; // empty = all runs (runs, histories) or the experiment's runs
  experimentId?: number;
  metric?: string;
  rule?: SelectionRule;
  /** Summary exports: the comparison's analysis overrides (see SummaryQuery). */
  test?: TestName;
  correction?: PAdjustMethod;
  reference?: string;
  margin?: number | null;
  alpha?: number;
}

/** A preset: an experiment file shipped in resources/presets, with a description and a question. */
export interface Preset {
  id: string;
  name: string;
  description: string;
  question: string;
  plan: ExperimentPlan;
}

/** One metric of several runs on a common epoch grid (see Store.alignedHistory), for drawing. */
export interface AlignedHistory {
  key: string;
  runIds: number[];
  /** The common x grid: epoch values, ascending, and the global step at each (of the first run
   * that has a point there). */
  epoch: number[];
  step: number[];
  /** values[j][k]: run runIds[j] at epoch[k] (float32: for drawing), NaN where it has no point. */
  values: Float32Array[];
  /** Seconds since run j started when it wrote that point (when asked for), NaN where missing. */
  elapsed: Float32Array[] | null;
}

/** AlignedHistory on the wire: each run's float32 array as base64 (little-endian), a fifth of
 * the size of JSON numbers and no parsing. */
export interface AlignedHistoryWire extends Omit<AlignedHistory, 'values' | 'elapsed'> {
  values: string[];
  elapsed: string[] | null;
}

export interface SummaryQuery {
  experimentId?: number;
  runIds?: number[];
  metric?: string;
  rule?: SelectionRule;
  /** Off the experiment's plan, these make the comparison exploratory (see AnalysisOverrides). */
  test?: TestName;
  correction?: PAdjustMethod;
  /** "baseline", "previous" (each arm against the one before it) or an arm name. */
  reference?: string;
  /** Equivalence margin in the table's units (points for accuracy-type metrics); null: none,
   * even where the plan declares one. */
  margin?: number | null;
  alpha?: number;
}

/** What experiments:stop / experiments:resume did: the runs stopped or queued again, and those
 * left as they are, with why. */
export interface ExperimentControl {
  experiment: ExperimentInfo;
  runs: number[];
  skipped: { runId: number; reason: string }[];
}

/** Request/response pairs: channel -> [argument, result]. */
/** Where a dataset comes from: built in (generated), imported by the user, or a folder found in
 * the data dir's datasets/ (downloads land there) or in /usr/share/datasets. */
export type DatasetOrigin = 'generated' | 'imported' | 'data-dir' | 'system';

export type DownloadState = 'queued' | 'downloading' | 'verifying' | 'done' | 'failed' | 'cancelled';

export interface DownloadProgress {
  id: string;
  state: DownloadState;
  /** The file being fetched or checked, null before the first and after the last. */
  file: string | null;
  /** Bytes of the dataset on disk so far (verified files and the current part), all files. */
  received: number;
  /** The dataset's size in bytes once every file's size is known, else null. */
  total: number | null;
  /** Network throughput over the last few seconds, null when not transferring. */
  bytesPerSecond: number | null;
  error?: string;
  /** Where the files land. */
  dir: string;
}

export interface DatasetSummary {
  name: string;
  title: string;
  /** null: a public dataset that is not on this machine yet (download it). */
  origin: DatasetOrigin | null;
  format: string | null;
  path: string | null;
  /** One image as stored, [h, w, c], and the class count; null until inspected. */
  shape: [number, number, number] | null;
  classes: number | null;
  coarseClasses?: number;
  noTestSet?: boolean;
  /** Images in its training set as stored, and whether it has a validation set of its own, when
   * known (built-ins; inspected datasets): the run form says what a train subset really gives. */
  trainImages?: number;
  ownVal?: boolean;
  /** A public dataset with official files this app can download. */
  downloadable: boolean;
  download: DownloadProgress | null;
  homepage?: string;
  /** Why runs cannot use it now: an imported dataset's files are gone, a download is incomplete. */
  problem: string | null;
}

export interface DatasetDetail extends DatasetSummary {
  classNames: string[];
  counts: { train: number[]; test: number[]; val?: number[] };
  skipped: { file: string; reason: string }[];
}

export interface SampleRequest {
  name: string;
  /** Images per class (at most 16). */
  perClass: number;
  labels?: 'fine' | 'coarse';
  imageSize?: number | null;
  /** Show these images again through this pipeline (the config's `augment`). */
  augment?: unknown;
  /** The run seed and epoch the augmentation draws from. */
  seed?: number;
  epoch?: number;
}

export interface SampleGrid {
  classNames: string[];
  /** Stored images, [h, w, c]; augmented ones may differ in size. */
  shape: [number, number, number];
  augmentedShape: [number, number, number] | null;
  /** Per sample: its class, dataset index, the stored pixels and (with augment) the augmented
   * ones, as base64 uint8 HWC. */
  samples: { label: number; index: number; image: string; augmented: string | null }[];
}

export interface ImportRequest {
  path: string;
  name: string;
  labels?: 'fine' | 'coarse';
  imageSize?: number | null;
  strict?: boolean;
  /** Copy it into the data dir (default: indexed where it is). */
  copy?: boolean;
}

export interface InvokeMap {
  'app:info': [void, AppInfo];
  'runs:list': [void, RunSummary[]];
  'runs:get': [{ id: number }, RunSummary];
  'runs:start': [{ config: unknown }, RunSummary];
  'runs:cancel': [{ id: number }, RunSummary];
  /** Continue a cancelled, failed or interrupted run from its last checkpoint (queued again). */
  'runs:resume': [{ id: number }, RunSummary];
  'runs:delete': [{ ids: number[] }, { deleted: number[] }];
  'runs:history': [{ ids: number[]; keys?: string[] }, Histories];
  'runs:events': [{ id: number }, RunEvent[]];
  'runs:evaluation': [{ id: number }, RunEvaluation];
  'runs:predictions': [{ id: number; order: PredictionOrder; limit: number; offset: number }, PredictionPage];
  /** The shipped presets (resources/presets), validated. */
  'presets:list': [void, Preset[]];
  /** Create the preset's experiment (its seeds, or `seeds`) and queue its runs. */
  'presets:start': [{ id: string; seeds?: number[] }, ExperimentInfo];
  'experiments:list': [void, ExperimentInfo[]];
  'experiments:get': [{ id: number }, ExperimentInfo];
  /** Validate an experiment file's content, store it and queue its runs (seed by seed). */
  'experiments:create': [{ file: unknown }, ExperimentInfo];
  'experiments:addSeeds': [{ id: number; seeds: number[] }, ExperimentInfo];
  'experiments:addArm': [{ id: number; name: string; set: Record<string, unknown> }, ExperimentInfo];
  /** Run the experiment's seeds one at a time until its confirmatory arms are decided (its
   * comparison's `stopping`) or it has maxSeeds seeds (2-100; absent: the plan's, else 20). The
   * plan is recorded as sequential; a stopped runner starts again. */
  'experiments:runUntilDecided': [{ id: number; maxSeeds?: number }, ExperimentInfo];
  /** Cancel every queued and running run of the experiment (and its sequential runner). */
  'experiments:stop': [{ id: number }, ExperimentControl];
  /** Queue again every stopped run of the experiment (cancelled, interrupted, or failed because
   * its trainer died): from its last checkpoint, or afresh when it has none. */
  'experiments:resume': [{ id: number }, ExperimentControl];
  /** The experiment goes; its runs stay (as plain runs). */
  'experiments:delete': [{ id: number }, { deleted: number }];
  /** The per-arm comparison of an experiment or of selected runs. */
  'compare:summary': [SummaryQuery, ComparisonSummary];
  /** Histories of the runs on a common epoch grid, per key. */
  'compare:aligned': [{ ids: number[]; keys: string[]; time?: boolean }, Record<string, AlignedHistoryWire>];
  /** Desktop: a save dialog for a file made in the renderer (a chart's PNG, as a data: URL).
   * Web mode downloads it in the page instead. */
  'export:file': [{ name: string; dataUrl: string }, { path: string | null }];
  /** Desktop: asks where to save and writes the file (path null when the user cancels). Web mode
   * implements this client-side as a download of GET /api/export. */
  'export:csv': [ExportRequest, { path: string | null }];
  /** Built-in, found and imported datasets, and the public ones that can be downloaded. */
  'datasets:list': [void, DatasetSummary[]];
  /** A dataset inspected: class names and counts per split, skipped files (cached per file set). */
  'datasets:get': [{ name: string; labels?: 'fine' | 'coarse' }, DatasetDetail];
  'datasets:samples': [SampleRequest, SampleGrid];
  /** Validate and index a file or folder under a name (not copied). */
  'datasets:import': [ImportRequest, DatasetSummary];
  /** Forget an imported dataset (its files are left alone). */
  'datasets:remove': [{ name: string }, { removed: string }];
  'datasets:download': [{ name: string }, DownloadProgress];
  'datasets:cancelDownload': [{ name: string }, DownloadProgress];
  /** Desktop: a native dialog to pick a file or folder to import (path null when cancelled). */
  'datasets:pick': [{ folder: boolean }, { path: string | null }];
  /** A run logged from outside (a script through the Python client, curl): created `running`, in an
   * experiment's arm when `experiment` and `arm` are given (made on first use). Idempotent on
   * `clientKey`. */
  'ingest:create': [ExternalRunSpec, IngestCreated];
  /** Metric points of a running external run, idempotent on (run, key, step): a retried batch
   * writes the same rows. All or nothing. Counts as a heartbeat. */
  'ingest:metrics': [{ runId: number; points: IngestPoint[] }, { written: number }];
  /** Events (markers on the run's charts); an event equal to one stored (kind, step, payload) is
   * not stored twice. */
  'ingest:events': [{ runId: number; events: IngestEvent[] }, { written: number }];
  /** Summary values set explicitly (they override the last logged value in tables). */
  'ingest:summary': [{ runId: number; values: Record<string, number> }, { written: number }];
  /** The run ends; afterwards it takes no more points. Finishing again with the same status is a no-op. */
  'ingest:finish': [{ runId: number; status: FinalStatus; error?: string }, RunSummary];
  /** The client is alive (every ingest call counts as one too). */
  'ingest:heartbeat': [{ runId: number }, { status: RunStatus }];
}
export type Channel = keyof InvokeMap;
export type ArgOf<C extends Channel> = InvokeMap[C][0];
export type ResultOf<C extends Channel> = InvokeMap[C][1];

/** Pushed to the renderer. */
export interface EventMap {
  'runs:changed': RunSummary; // created, status change, finished
  'runs:deleted': { ids: number[] };
  'runs:progress': { runId: number; progress: RunProgress };
  'runs:metrics': { runId: number; points: MetricPoint[] };
  'runs:event': { runId: number; event: RunEvent };
  'datasets:download': DownloadProgress;
  /** The dataset list changed (imported, removed, downloaded). */
  'datasets:changed': { name: string };
}
export type EventName = keyof EventMap;

export type ErrorCode = 'invalid_config' | 'not_found' | 'conflict' | 'bad_request' | 'internal';
export interface ApiError {
  code: ErrorCode;
  message: string;
  field?: string;
  fields?: FieldError[];
}
export type Result<T> = { ok: true; value: T } | { ok: false; error: ApiError };

/** What the renderer programs against, whichever shell it runs in. */
export interface Api {
  invoke<C extends Channel>(channel: C, arg: ArgOf<C>): Promise<Result<ResultOf<C>>>;
  on<E extends EventName>(event: E, listener: (payload: EventMap[E]) => void): () => void;
}

export class ApiFailure extends Error {
  constructor(public readonly error: ApiError) {
    super(error.message);
    this.name = 'ApiFailure';
  }
}

// ---------------------------------------------------------------------------------------------
// Arguments, validated. Every request is hostile until its schema has passed it: both shells
// check the argument against its channel's schema before any handler runs (src/main/handlers.ts
// dispatch; HTTP answers a refusal 400), so handlers get exactly InvokeMap's types. Objects are
// strict (an unknown field, "__proto__" included, is refused and named), strings and lists are
// bounded, ids are positive integers. What needs domain facts stays with the handlers: run
// configs and experiment files (z.unknown() here, parseRunConfig / planExperiment there), "run 7
// does not exist", ranges a service explains in its own words.

/** Ids of runs and experiments: SQLite row ids, so positive (safe) integers. */
const id = z.int().positive();
/** Run ids in one request (delete, histories, comparisons, exports). */
export const MAX_IDS = 100_000;
const ids = z.array(id).max(MAX_IDS);
/** Names (datasets, presets, arms, metric keys) and the like: short strings. */
const text = z.string().max(200);
/** Metric keys in one request. */
const keys = z.array(text).max(1000);
const labels = z.enum(['fine', 'coarse']);
/** Seeds in one request; their range is the experiment's to check. */
const seeds = z.array(z.int()).max(1000);
/** No argument: undefined over IPC, null over HTTP (JSON has no undefined). */
const none = z
  .null()
  .optional()
  .transform((): void => undefined);
/** An arm's config changes: dotted config paths, none of which may reach a prototype. Checked as
 * keys; a key that is "__proto__" itself (JSON.parse makes it an own key) zod's record would drop
 * silently, so it is refused on the input first. */
const configPath = z
  .string()
  .max(500)
  .check((ctx) => {
    const problem = unsafePathProblem(ctx.value);
    if (problem) ctx.issues.push({ code: 'custom', input: ctx.value, message: problem });
  });
const setPaths = z
  .unknown()
  .check((ctx) => {
    if (ctx.value !== null && typeof ctx.value === 'object' && Object.hasOwn(ctx.value, '__proto__')) {
      ctx.issues.push({ code: 'custom', input: ctx.value, path: ['__proto__'], message: unsafePathProblem('__proto__')! });
    }
  })
  .pipe(
    z.record(configPath, z.unknown()).check((ctx) => {
      const n = Object.keys(ctx.value).length;
      if (n > 1000) ctx.issues.push({ code: 'custom', input: ctx.value, message: `at most 1000 config paths, got ${n}` });
    }),
  );
/** The comparison's analysis overrides (SummaryQuery, ExportRequest). */
const overrides = {
  metric: text.optional(),
  rule: z.enum(SELECTION_RULES).optional(),
  test: z.enum(TESTS).optional(),
  correction: z.enum(P_ADJUST_METHODS).optional(),
  reference: text.optional(),
  margin: z.number().nullable().optional(),
  alpha: z.number().optional(),
};
/** A chart as a PNG data: URL can be a few MB; nothing legitimate is near this. */
const MAX_DATA_URL = 64 << 20;

/** Each channel's argument. The record is over Channel (a channel without a schema, or a schema
 * without a channel, does not compile), and ArgsMismatch below makes each schema's output type
 * equal to InvokeMap's argument type in both directions. */
export const ARG_SCHEMAS = {
  'app:info': none,
  'runs:list': none,
  'runs:get': z.strictObject({ id }),
  'runs:start': z.strictObject({ config: z.unknown() }),
  'runs:cancel': z.strictObject({ id }),
  'runs:resume': z.strictObject({ id }),
  'runs:delete': z.strictObject({ ids }),
  'runs:history': z.strictObject({ ids, keys: keys.optional() }),
  'runs:events': z.strictObject({ id }),
  'runs:evaluation': z.strictObject({ id }),
  'runs:predictions': z.strictObject({ id, order: z.enum(PREDICTION_ORDERS), limit: z.int().min(0).max(1000), offset: z.int().min(0).max(1e9) }),
  'presets:list': none,
  'presets:start': z.strictObject({ id: text, seeds: seeds.optional() }),
  'experiments:list': none,
  'experiments:get': z.strictObject({ id }),
  'experiments:create': z.strictObject({ file: z.unknown() }),
  'experiments:addSeeds': z.strictObject({ id, seeds }),
  'experiments:addArm': z.strictObject({ id, name: text, set: setPaths }),
  'experiments:runUntilDecided': z.strictObject({ id, maxSeeds: z.int().optional() }),
  'experiments:stop': z.strictObject({ id }),
  'experiments:resume': z.strictObject({ id }),
  'experiments:delete': z.strictObject({ id }),
  'compare:summary': z.strictObject({ experimentId: id.optional(), runIds: ids.optional(), ...overrides }),
  'compare:aligned': z.strictObject({ ids, keys, time: z.boolean().optional() }),
  'export:file': z.strictObject({ name: z.string().max(255), dataUrl: z.string().max(MAX_DATA_URL) }),
  'export:csv': z.strictObject({ kind: z.enum(EXPORT_KINDS), ids, experimentId: id.optional(), ...overrides }),
  'datasets:list': none,
  'datasets:get': z.strictObject({ name: text, labels: labels.optional() }),
  'datasets:samples': z.strictObject({
    name: text,
    perClass: z.int(),
    labels: labels.optional(),
    imageSize: z.int().nullable().optional(),
    augment: z.unknown().optional(), // the config's augment: validated by the preview as a run would
    seed: z.int().optional(),
    epoch: z.int().optional(),
  }),
  'datasets:import': z.strictObject({
    path: z.string().max(4096),
    name: text,
    labels: labels.optional(),
    imageSize: z.int().nullable().optional(),
    strict: z.boolean().optional(),
    copy: z.boolean().optional(),
  }),
  'datasets:remove': z.strictObject({ name: text }),
  'datasets:download': z.strictObject({ name: text }),
  'datasets:cancelDownload': z.strictObject({ name: text }),
  'datasets:pick': z.strictObject({ folder: z.boolean() }),
  ...INGEST_ARGS,
} satisfies { [C in Channel]: z.ZodType<ArgOf<C>> };

/** Mutual assignability: the schema's output is InvokeMap's argument and vice versa. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** The channels whose schema's output is not exactly their argument type (never, or it fails). */
type ArgsMismatch = { [C in Channel]: Same<z.output<(typeof ARG_SCHEMAS)[C]>, ArgOf<C>> extends true ? never : C }[Channel];
const argsMatch: [ArgsMismatch] extends [never] ? true : { mismatched: ArgsMismatch } = true;
void argsMatch;

/** Every channel, once: the keys of ARG_SCHEMAS, itself a record over InvokeMap's keys, so a
 * channel added to the contract and forgotten here (which only the desktop shell, not CI, would
 * notice) does not compile. */
export const CHANNELS = Object.keys(ARG_SCHEMAS) as readonly Channel[];

/** Whether a string names a channel (own keys only: "constructor" or "__proto__" are none). */
export function isChannel(name: string): name is Channel {
  return Object.hasOwn(ARG_SCHEMAS, name);
}

/** A value as an error message shows it: short, never the whole of a hostile string. */
function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** A key as a field name shows it: a hostile key of a megabyte is not echoed whole. */
const segment = (k: string) => (k.length > 80 ? `${k.slice(0, 80)}…` : k);

const EXPECTED: Record<string, string> = { object: 'an object', record: 'an object', array: 'a list', string: 'a string', number: 'a number', boolean: 'true or false', null: 'no argument (null)' };

/** zod's issues in this project's words: "expected an integer, got "abc"", "at most 200
 * characters, got 5000". */
const argErrorMap: z.core.$ZodErrorMap = (iss) => {
  const size = (origin: string | undefined, n: number | bigint) => (origin === 'string' ? `${n} characters` : origin === 'array' ? `${n} items` : String(n));
  const measured = (v: unknown) => (typeof v === 'string' || Array.isArray(v) ? String(v.length) : shown(v));
  switch (iss.code) {
    case 'invalid_type': {
      const isInt = (iss.inst as { _zod?: { def?: { format?: string } } } | undefined)?._zod?.def?.format === 'safeint';
      return `expected ${isInt ? 'an integer' : (EXPECTED[iss.expected] ?? `a ${iss.expected}`)}, got ${shown(iss.input)}`;
    }
    case 'too_small':
      return `must be ${iss.origin === 'string' || iss.origin === 'array' ? 'at least' : iss.inclusive ? '>=' : '>'} ${size(iss.origin, iss.minimum)}, got ${measured(iss.input)}`;
    case 'too_big':
      return `must be ${iss.origin === 'string' || iss.origin === 'array' ? 'at most' : iss.inclusive ? '<=' : '<'} ${size(iss.origin, iss.maximum)}, got ${measured(iss.input)}`;
    case 'invalid_key': // a record's key: what is wrong with it (the issue's path names it)
      return iss.issues.map((i) => i.message).join('; ');
    case 'invalid_value':
      return `expected one of ${iss.values.map((v) => JSON.stringify(v)).join(', ')}, got ${shown(iss.input)}`;
    default:
      return undefined;
  }
};

/** The argument of a call checked against its channel's schema: the parsed value (the handler's
 * argument), or a bad_request naming the channel and the field — `runs:get: id: expected an
 * integer, got "abc"` (field "id"; "(argument)" when the argument itself is wrong). */
export function parseArg<C extends Channel>(channel: C, arg: unknown): Result<ArgOf<C>> {
  const r = (ARG_SCHEMAS[channel] as z.ZodType).safeParse(arg, { reportInput: true, error: argErrorMap });
  if (r.success) return { ok: true, value: r.data as ArgOf<C> };
  const fields: FieldError[] = r.error.issues.flatMap((issue) => {
    const at = issue.path.map((k) => segment(String(k)));
    // An unknown field is the field's problem, named by its path (each key once).
    if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => ({ field: [...at, segment(k)].join('.'), message: 'unknown field' }));
    return [{ field: at.join('.') || '(argument)', message: issue.message }];
  });
  const message = `${channel}: ${fields
    .slice(0, 5)
    .map((f) => `${f.field}: ${f.message}`)
    .join('; ')}${fields.length > 5 ? ` (and ${fields.length - 5} more)` : ''}`;
  return { ok: false, error: { code: 'bad_request', message, field: fields[0]!.field, fields } };
}
