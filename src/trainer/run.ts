// One run from start to final status; shared by the headless CLI and the forked trainer process.
// The run's status always ends final: completed, cancelled or failed (with the reason). Along the
// way it keeps checkpoints in the run's folder (last every epoch, best on a new best val/acc),
// continues from the last one when resumed, and can start from another run's weights.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { CheckpointKind, MetricPoint, RunEvent, RunProgress, RunStatus } from '../shared/api';
import type { EventKind, EventPayloads } from '../shared/events';
import { mustParseRunConfig, type BackendName, type RunConfig } from '../shared/config';
import { checkpointRoot, initCheckpoint } from '../store/run-checks';
import { runDir } from '../store/paths';
import { dbPath } from '../store/db';
import { clearFinalNote, reserveFinalNote, writeFinalNote } from '../store/final-note';
import { writeError, writeFileAtomic } from '../store/safe-write';
import type { Store } from '../store/store';
import { initBackend, type ResolvedBackend } from './backend';
import { readCheckpoint, writeCheckpoint, type Checkpoint, type CheckpointMeta } from '../store/checkpoint';
import { pipelineOutputShape } from '../shared/augment';
import { loadDataset, makeSplits } from '../data/index';
import type { Dataset, Splits } from '../data/types';
import { Cancelled, trainModel, type EpochEnd, type LoopPosition, type TrainResult } from './loop';
import type { Model } from './models/model';
import { recheckReadDataset, runDatasetFacts, type LocatedFacts } from '../data/facts';
import { buildModel } from './models/registry';
import { makeOptimizer, type Optimizer } from './optim/optimizers';
import { pairingFingerprint } from './pairing';
import { readAll } from './tf/read';
import { recordEvaluations } from './run-evaluation';
import type { TrickSources, TrickStateStore } from './tricks/index';
import { sourceRunsOf } from '../shared/tricks/registry';
import type { AnyTrick, SourceModel } from '../shared/tricks/types';
import { applyInit, captureState, restoreOptimizer, restoreWeights, type ModelWeights } from './train-state';

export interface RunHooks {
  started?(backend: string, device: string): void;
  progress?(p: RunProgress): void;
  metrics?(points: MetricPoint[]): void;
  event?(e: RunEvent): void;
}

export interface RunOutcome {
  runId: number;
  status: RunStatus;
  backend: string | null;
  device: string | null;
  metrics: Record<string, number>;
  error: string | null;
}

export interface RunOptions {
  store: Store;
  runId: number;
  dataDir: string;
  hooks?: RunHooks;
  isCancelled: () => boolean;
  /** Continue from the run's last checkpoint (its row was re-opened by runs:resume or --resume). */
  resume?: boolean;
  /** Where system-wide datasets are (default /usr/share/datasets; TRICKBENCH_SYSTEM_DATASETS). */
  systemDatasetsDir?: string;
  /** Train on this backend instead of the config's (a resume on another machine or backend:
   * checkpoints are plain float32, whatever wrote them). */
  backend?: BackendName;
  /** How a run stopped by isCancelled ends: `cancelled` by default (the user's cancel), or, for a
   * cluster task its scheduler stopped (a time limit, a preemption), `interrupted` with the reason:
   * resumable from its last checkpoint. */
  stopAs?: () => { status: 'cancelled' | 'interrupted'; error: string | null };
}

/** The phases of a run, in order: resolve its config and backend, load the data and make the
 * splits, build the model and optimizer, restore (resume) or initialise (fresh: init.fromRun's
 * weights, the pairing fingerprint), load the runs the tricks take weights from, train with
 * checkpoints, evaluate. Whatever happens, the run's end is recorded (recordEnd). */
export async function executeRun(opts: RunOptions): Promise<RunOutcome> {
  const { store, runId, hooks = {} } = opts;
  const out: RunOutcome = { runId, status: 'failed', backend: null, device: null, metrics: {}, error: null };
  const log = new RunLog(store, runId, hooks);
  const disposers: (() => void)[] = [];
  try {
    const { config, raw, located } = await resolveConfig(opts);
    const backend = await startBackend(opts, config, out);
    const data = await loadData(opts, config, raw, located);
    const net = buildNet(config, data, disposers);
    const dir = runDir(opts.dataDir, runId);
    const start = opts.resume ? resumeFrom(opts, backend, net, dir, log) : await startFresh(opts, config, backend, data, net, log);
    const sources = loadSourceRuns(opts, config);
    disposers.push(() => sources.dispose());
    const result = await train(opts, config, data, net, dir, start, sources.byTrick, log);
    await finish(opts, config, data, net, dir, result, log, out);
  } catch (e) {
    if (e instanceof Cancelled) {
      const stop = opts.stopAs?.() ?? { status: 'cancelled', error: null };
      out.status = stop.status;
      out.error = stop.error;
    } else {
      out.status = 'failed';
      out.error = storeError(e, store);
    }
    try {
      log.emit('run.end', 0, { status: out.status, error: out.error });
    } catch {
      // the run row may be gone (deleted while running); the status update below says so
    }
  } finally {
    for (const d of disposers) d();
  }
  return recordEnd(store, runId, out);
}

/** The run's events, to the store and the hooks, stamped with the step training has reached. */
class RunLog {
  step = 0;
  constructor(
    private readonly store: Store,
    private readonly runId: number,
    readonly hooks: RunHooks,
  ) {}

  record(e: RunEvent): void {
    this.store.addEvent(this.runId, e);
    this.hooks.event?.(e);
  }

  /** An event of a kind we write, its payload typed by kind (shared/events.ts). */
  emit<K extends EventKind>(kind: K, epoch: number, payload: EventPayloads[K]): void {
    this.record({ kind, epoch, step: this.step, payload, time: Date.now() } as RunEvent);
  }
}

interface RunData {
  dataset: Dataset;
  /** The model's input shape: the stored images after the augmentation pipeline. */
  inputShape: [number, number, number];
  splits: Splits;
}

interface RunNet {
  model: Model;
  weights: ModelWeights;
  optimizer: Optimizer;
}

/** Where training starts: nothing for a fresh run, the last checkpoint's position on a resume. */
interface RunStart {
  start?: LoopPosition;
  startValAcc: number | null;
}

/** Phase 1: the run's stored config, validated; its final note reserved (see final-note.ts). */
async function resolveConfig(opts: RunOptions): Promise<{ config: RunConfig; raw: unknown; located: LocatedFacts }> {
  const { store, runId } = opts;
  const run = store.getRun(runId);
  if (!run) throw new Error(`run ${runId} does not exist in ${store.dataDir}`);
  reserveFinalNote(store.dataDir, runId);
  // Checked against the dataset as located and inspected on this machine (the app checks the same).
  const located = await runDatasetFacts(run.config, opts.dataDir, store, opts.systemDatasetsDir);
  return { config: mustParseRunConfig(run.config, located.facts), raw: run.config, located };
}

/** The backend it trains on (the config's, or the one a resume asks for), recorded and told. */
async function startBackend(opts: RunOptions, config: RunConfig, out: RunOutcome): Promise<ResolvedBackend> {
  const backend = await initBackend(opts.backend ?? config.backend);
  out.backend = backend.name;
  out.device = backend.device;
  opts.store.setBackend(opts.runId, backend.name, backend.device);
  opts.hooks?.started?.(backend.name, backend.device);
  return backend;
}

/** Phase 2: the dataset and the run's splits of it (normalisation statistics cached in the store). */
async function loadData(opts: RunOptions, config: RunConfig, raw: unknown, located: LocatedFacts): Promise<RunData> {
  const { store } = opts;
  const dataset = await loadDataset(config.dataset, opts.dataDir, { imported: (n) => store.datasets.get(n), systemDir: opts.systemDatasetsDir ?? process.env.TRICKBENCH_SYSTEM_DATASETS });
  // The files read may not be those inspected before: checked again against what was read.
  await recheckReadDataset(raw, dataset, located, opts.dataDir, store, opts.systemDatasetsDir);
  const inputShape = pipelineOutputShape(dataset.shape, config.augment);
  const splits = makeSplits(dataset, config.dataset, {
    inputShape,
    pixelMean: config.augment.some((s) => s.name === 'cutout'),
    normCache: { get: (k) => store.datasets.cached(k), put: (k, v) => store.datasets.cache(k, v) },
  });
  return { dataset, inputShape, splits };
}

/** Phase 3: the model (seeded) and its optimizer, disposed when the run ends. */
function buildNet(config: RunConfig, data: RunData, disposers: (() => void)[]): RunNet {
  const { dataset, inputShape } = data;
  const model = buildModel(config.model, inputShape, dataset.numClasses, config.seed);
  disposers.push(() => model.dispose());
  const weights: ModelWeights = { params: model.params, buffers: model.buffers, numClasses: dataset.numClasses };
  const optimizer = makeOptimizer(config.optimizer);
  disposers.push(() => optimizer.dispose());
  return { model, weights, optimizer };
}

/** Where runs' checkpoints are: the store and its data dir. */
type Runs = Pick<RunOptions, 'store' | 'dataDir'>;

/** A run's checkpoint, or an error saying `missing`: its `last` (a resume), or the checkpoint it
 * gives other runs (`source`: the best, else the last), whose weights start a fine-tuned run, make
 * a trick's source model (loadSourceRuns), or rebuild a fine-tuned run's epoch-0 weights. */
function checkpointOf(opts: Runs, run: number, which: 'last' | 'source', missing: string): { kind: CheckpointKind; ckpt: Checkpoint } {
  const kind = which === 'last' ? 'last' : initCheckpoint(opts.store, run);
  const ckpt = kind ? readCheckpoint(runDir(checkpointRoot(opts.store, run), run), kind) : null;
  if (!kind || !ckpt) throw new Error(missing);
  return { kind, ckpt };
}

/** Phase 4, resumed: weights, optimizer state and position from the run's last checkpoint. */
function resumeFrom(opts: RunOptions, backend: ResolvedBackend, net: RunNet, dir: string, log: RunLog): RunStart {
  const { store, runId } = opts;
  const { ckpt } = checkpointOf(opts, runId, 'last', `run ${runId} cannot be resumed: no checkpoint in ${dir}`);
  restoreWeights(net.weights, ckpt, `the last checkpoint of run ${runId}`);
  restoreOptimizer(net.optimizer, ckpt);
  const p = ckpt.manifest.position;
  const start = { epoch: p.epoch, step: p.step, bestValAcc: p.bestValAcc, bestEpoch: p.bestEpoch };
  const startValAcc = ckpt.manifest.val?.acc ?? null;
  log.step = p.step;
  const e: RunEvent = {
    kind: 'run.resume',
    epoch: p.epoch,
    step: p.step,
    payload: { fromEpoch: p.epoch, fromStep: p.step, backend: backend.name, device: backend.device, warnings: backend.warnings, ...(backend.adapter ? { adapter: backend.adapter } : {}) },
    time: Date.now(),
  };
  store.beginResume(runId, p.step, e);
  log.hooks.event?.(e);
  return { start, startValAcc };
}

/** Phase 4, fresh: the run's start told, init.fromRun's weights loaded, the pairing fingerprint. */
async function startFresh(opts: RunOptions, config: RunConfig, backend: ResolvedBackend, data: RunData, net: RunNet, log: RunLog): Promise<RunStart> {
  const { dataset, inputShape, splits } = data;
  const { model } = net;
  log.emit('run.start', 0, {
    backend: backend.name,
    device: backend.device,
    warnings: backend.warnings,
    ...(backend.adapter ? { adapter: backend.adapter } : {}),
    dataset: dataset.name,
    source: dataset.source,
    inputShape,
    storedShape: dataset.shape,
    classes: dataset.numClasses,
    train: splits.train.length,
    val: splits.val.length,
    test: splits.test.length,
    normalization: { mean: splits.norm.mean.map((v) => +v.toFixed(4)), std: splits.norm.std.map((v) => +v.toFixed(4)) },
    params: model.paramCount,
    flops: model.flops,
  });
  if (config.init) {
    const { fromRun } = config.init;
    const { ckpt } = checkpointOf(opts, fromRun, 'source', `init.fromRun: run ${fromRun} has no checkpoint to load weights from`);
    const report = applyInit(net.weights, ckpt, config.init);
    log.emit('init.loaded', 0, { ...report });
  }
  log.emit('pairing', 0, { ...(await pairingFingerprint(model, splits, config.seed)) });
  return { startValAcc: null };
}

/** The source runs' models, by trick and field, and how to dispose of them. */
export interface LoadedSources {
  byTrick: TrickSources;
  dispose(): void;
}

/** The models of the runs the tricks that are on take weights from (their `sourceRuns`,
 * src/shared/tricks/types.ts): each run's best (else last) checkpoint, in inference mode. The
 * trick records which one it got (an event of its own). */
export function loadSourceRuns(opts: Runs, config: { tricks: { readonly [name: string]: unknown } }, registry?: readonly AnyTrick[]): LoadedSources {
  const models: Model[] = [];
  const dispose = () => {
    for (const m of models.splice(0)) m.dispose();
  };
  const byTrick: Record<string, Record<string, SourceModel>> = {};
  try {
    for (const s of sourceRunsOf(config, registry)) {
      const { kind, ckpt } = checkpointOf(opts, s.runId, 'source', `${s.path}: run ${s.runId} has no checkpoint to load the ${s.role} from`);
      const m = ckpt.manifest.model;
      const model = buildModel(m.config, m.inputShape, m.numClasses, 0);
      models.push(model);
      restoreWeights({ params: model.params, buffers: model.buffers, numClasses: m.numClasses }, ckpt, `the ${kind} checkpoint of ${s.role} run ${s.runId}`);
      const inference = { params: model.params, apply: (x: tf.Tensor, ctx: { step: number }) => model.apply(x, { ...ctx, training: false }) };
      (byTrick[s.trick] ??= {})[s.field] = { model: inference, runId: s.runId, checkpoint: kind, modelName: m.config.name, params: model.paramCount };
    }
  } catch (e) {
    dispose();
    throw e;
  }
  return { byTrick, dispose };
}

/** Phase 5: the training loop, with metrics, events and progress recorded, and a `last` (and on
 * a new best, a `best`) checkpoint written at every epoch end. */
async function train(opts: RunOptions, config: RunConfig, data: RunData, net: RunNet, dir: string, from: RunStart, sources: TrickSources, log: RunLog): Promise<TrainResult> {
  const { store, runId, hooks = {} } = opts;
  const { dataset, inputShape, splits } = data;
  const { model, weights, optimizer } = net;
  const meta = (kind: 'best' | 'last', e: EpochEnd, optim: CheckpointMeta['optimizer']): CheckpointMeta => ({
    runId,
    kind,
    model: { config: config.model, inputShape: [...inputShape], numClasses: dataset.numClasses },
    optimizer: optim,
    position: { ...e.position, stepsPerEpoch: e.stepsPerEpoch },
    val: e.val,
  });
  const epochs = config.epochs;
  const result = await trainModel(
    config,
    splits,
    model,
    optimizer,
    {
      metrics(points) {
        store.addMetrics(runId, points);
        hooks.metrics?.(points);
      },
      event: (e) => log.record(e),
      progress(p) {
        log.step = p.step;
        hooks.progress?.({ ...p, epochs });
      },
      async shouldStop() {
        // Let queued I/O (a cancel message, a signal) run before the next step.
        await new Promise((r) => setImmediate(r));
        return opts.isCancelled();
      },
    },
    {
      start: from.start,
      startValAcc: from.startValAcc,
      trickState: fileTrickState(dir),
      sources,
      // The weights at epoch 0 (RIFLE's 'initial'), rebuilt as the run built them: same seed,
      // same fine-tuning source. Right after a resume as well as in a fresh run.
      initialValues: (names) => initialValues(opts, config, data, names),
      async epochEnd(e) {
        const state = await captureState(weights, optimizer);
        // Best first: a crash before `last` is written only makes the resume redo this epoch.
        // The best weights are for evaluation and fine-tuning: no optimizer state.
        if (e.improved) writeCheckpoint(dir, meta('best', e, null), state.arrays.filter((a) => a.group !== 'optimizer'));
        writeCheckpoint(dir, meta('last', e, state.optimizer), state.arrays);
      },
    },
  );
  log.step = result.steps;
  return result;
}

/** The named params' values at epoch 0: a model built again with the run's seed and init. */
async function initialValues(opts: RunOptions, config: RunConfig, data: RunData, names: readonly string[]): Promise<Map<string, Float32Array>> {
  const { dataset, inputShape } = data;
  const fresh = buildModel(config.model, inputShape, dataset.numClasses, config.seed);
  try {
    if (config.init) {
      const { fromRun } = config.init;
      const { ckpt: src } = checkpointOf(opts, fromRun, 'source', `RIFLE: run ${fromRun}'s checkpoint is gone; the epoch-0 weights cannot be rebuilt`);
      applyInit({ params: fresh.params, buffers: fresh.buffers, numClasses: dataset.numClasses }, src, config.init);
    }
    const wanted = fresh.params.filter((q) => names.includes(q.name));
    const values = await readAll(wanted.map((q) => q.variable));
    return new Map(wanted.map((q, i) => [q.name, values[i]!]));
  } finally {
    fresh.dispose();
  }
}

/** Phase 6: the test set evaluated (best and last weights), the run's metrics, its end told. */
async function finish(opts: RunOptions, config: RunConfig, data: RunData, net: RunNet, dir: string, result: TrainResult, log: RunLog, out: RunOutcome): Promise<void> {
  const { store, runId, hooks = {} } = opts;
  const epochs = config.epochs;
  const best = await recordEvaluations({ store, runId, dir, config, splits: data.splits, model: net.model, weights: net.weights, result, progress: (p) => hooks.progress?.({ ...p, epochs }) });
  hooks.metrics?.(best.points);
  out.metrics = { ...store.summaries(runId).final, ...result.final, ...Object.fromEntries(best.points.map((p) => [p.key, p.value])) };
  out.status = 'completed';
  log.emit('run.end', epochs, { status: 'completed', tensors: tf.memory().numTensors });
}

/** The run's final status into the store. When the store cannot take it (a full disk), the run
 * ends failed, saying why, and a note lets the host or the next start record it later. */
function recordEnd(store: Store, runId: number, out: RunOutcome): RunOutcome {
  let recorded: boolean;
  try {
    recorded = store.finishRun(runId, out.status, out.error);
    clearFinalNote(store.dataDir, runId);
  } catch (e) {
    // The store cannot take the final status (a full disk): the run ends failed, saying why, and
    // the note lets the host or the next start record that once the store can be written.
    const reason = storeError(e, store);
    const why = out.error === reason ? 'the store could not record its end either' : `the store could not record its end: ${reason}`;
    out.error = out.status === 'failed' && out.error ? `${out.error}; ${why}` : `the run ${out.status === 'completed' ? 'completed' : `was ${out.status}`}, but ${why}`;
    out.status = 'failed';
    writeFinalNote(store.dataDir, runId, { status: out.status, error: out.error });
    return out;
  }
  try {
    if (!recorded && out.status === 'completed') {
      // The host already marked it final (e.g. cancelled at the last moment): report what is stored.
      const now = store.getRun(runId);
      if (now) out.status = now.status;
    }
    if (out.status !== 'completed') out.metrics = { ...out.metrics, ...store.summaries(runId).final };
  } catch {
    // the status is recorded; the summary is only for the caller's report
  }
  return out;
}

/** An error's message, with a full store said plainly ("disk full (SQLITE_FULL) writing DB"). */
function storeError(e: unknown, store: Store): string {
  if ((e as { code?: unknown })?.code === 'SQLITE_FULL') return writeError(e, dbPath(store.dataDir)).message;
  return (e as Error)?.message || String(e);
}

/** Trick state as JSON files in the run folder (`trick-<key>.json`), written atomically. */
function fileTrickState(dir: string): TrickStateStore {
  const file = (key: string) => path.join(dir, `trick-${key}.json`);
  return {
    load(key) {
      try {
        return JSON.parse(fs.readFileSync(file(key), 'utf8')) as unknown;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new Error(`cannot read ${file(key)}: ${(e as Error).message}`);
      }
    },
    save(key, value) {
      try {
        fs.mkdirSync(dir, { recursive: true });
      } catch (e) {
        throw writeError(e, dir);
      }
      writeFileAtomic(file(key), `${file(key)}.partial`, JSON.stringify(value));
    },
  };
}
