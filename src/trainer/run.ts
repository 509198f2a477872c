// One run from start to final status; shared by the headless CLI and the forked trainer process.
// The run's status always ends final: completed, cancelled or failed (with the reason). Along the
// way it keeps checkpoints in the run's folder (last every epoch, best on a new best val/acc),
// continues from the last one when resumed, and can start from another run's weights.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { MetricPoint, RunEvent, RunProgress, RunStatus } from '../shared/api';
import type { EventKind, EventPayloads } from '../shared/events';
import { mustParseRunConfig, type BackendName, type RunConfig } from '../shared/config';
import { initCheckpoint } from '../store/run-checks';
import { runDir } from '../store/paths';
import { dbPath } from '../store/db';
import { clearFinalNote, reserveFinalNote, writeFinalNote } from '../store/final-note';
import { writeError, writeFileAtomic } from '../store/safe-write';
import type { Store } from '../store/store';
import { initBackend } from './backend';
import { readCheckpoint, writeCheckpoint, type CheckpointMeta } from './checkpoint';
import { pipelineOutputShape } from '../shared/augment';
import { loadDataset, makeSplits } from './data/index';
import { Cancelled, trainModel, type EpochEnd, type LoopPosition } from './loop';
import { buildModel } from './models/registry';
import { makeOptimizer } from './optim/optimizers';
import { pairingFingerprint } from './pairing';
import { readAll } from './tf/read';
import { recordEvaluations } from './run-evaluation';
import type { TrickStateStore } from './tricks/index';
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

export async function executeRun(opts: {
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
}): Promise<RunOutcome> {
  const { store, runId, hooks = {} } = opts;
  const out: RunOutcome = { runId, status: 'failed', backend: null, device: null, metrics: {}, error: null };
  let step = 0;
  const record = (e: RunEvent) => {
    store.addEvent(runId, e);
    hooks.event?.(e);
  };
  const emitEvent = <K extends EventKind>(kind: K, epoch: number, payload: EventPayloads[K]) => record({ kind, epoch, step, payload, time: Date.now() } as RunEvent);
  let config: RunConfig | null = null;
  const disposers: (() => void)[] = [];
  try {
    const run = store.getRun(runId);
    if (!run) throw new Error(`run ${runId} does not exist in ${store.dataDir}`);
    reserveFinalNote(store.dataDir, runId);
    config = mustParseRunConfig(run.config);
    const backend = await initBackend(opts.backend ?? config.backend);
    out.backend = backend.name;
    out.device = backend.device;
    store.setBackend(runId, backend.name, backend.device);
    hooks.started?.(backend.name, backend.device);

    const dataset = await loadDataset(config.dataset, opts.dataDir, { imported: (n) => store.datasets.get(n), systemDir: opts.systemDatasetsDir ?? process.env.TRICKBENCH_SYSTEM_DATASETS });
    const inputShape = pipelineOutputShape(dataset.shape, config.augment);
    const splits = makeSplits(dataset, config.dataset, {
      inputShape,
      pixelMean: config.augment.some((s) => s.name === 'cutout'),
      normCache: { get: (k) => store.datasets.cached(k), put: (k, v) => store.datasets.cache(k, v) },
    });
    const model = buildModel(config.model, inputShape, dataset.numClasses, config.seed);
    disposers.push(() => model.dispose());
    const weights: ModelWeights = { params: model.params, buffers: model.buffers, numClasses: dataset.numClasses };
    const optimizer = makeOptimizer(config.optimizer);
    disposers.push(() => optimizer.dispose());
    const dir = runDir(opts.dataDir, runId);

    let start: LoopPosition | undefined;
    let startValAcc: number | null = null;
    if (opts.resume) {
      const ckpt = readCheckpoint(dir, 'last');
      if (!ckpt) throw new Error(`run ${runId} cannot be resumed: no checkpoint in ${dir}`);
      restoreWeights(weights, ckpt, `the last checkpoint of run ${runId}`);
      restoreOptimizer(optimizer, ckpt);
      const p = ckpt.manifest.position;
      start = { epoch: p.epoch, step: p.step, bestValAcc: p.bestValAcc, bestEpoch: p.bestEpoch };
      startValAcc = ckpt.manifest.val?.acc ?? null;
      step = p.step;
      const e: RunEvent = {
        kind: 'run.resume',
        epoch: p.epoch,
        step: p.step,
        payload: { fromEpoch: p.epoch, fromStep: p.step, backend: backend.name, device: backend.device, warnings: backend.warnings, ...(backend.adapter ? { adapter: backend.adapter } : {}) },
        time: Date.now(),
      };
      store.beginResume(runId, p.step, e);
      hooks.event?.(e);
    } else {
      emitEvent('run.start', 0, {
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
        const kind = initCheckpoint(store, fromRun);
        const ckpt = kind ? readCheckpoint(runDir(opts.dataDir, fromRun), kind) : null;
        if (!ckpt) throw new Error(`init.fromRun: run ${fromRun} has no checkpoint to load weights from`);
        const report = applyInit(weights, ckpt, config.init);
        emitEvent('init.loaded', 0, { ...report });
      }
      emitEvent('pairing', 0, { ...(await pairingFingerprint(model, splits, config.seed)) });
    }

    // Knowledge distillation: the teacher run's best (else last) checkpoint, in inference mode.
    let teacher: ReturnType<typeof buildModel> | undefined;
    if (config.tricks.distill) {
      const t = config.tricks.distill.teacherRun;
      const kind = initCheckpoint(store, t);
      const ckpt = kind ? readCheckpoint(runDir(opts.dataDir, t), kind) : null;
      if (!ckpt) throw new Error(`tricks.distill.teacherRun: run ${t} has no checkpoint to load the teacher from`);
      const m = ckpt.manifest.model;
      teacher = buildModel(m.config, m.inputShape, m.numClasses, 0);
      disposers.push(() => teacher!.dispose());
      restoreWeights({ params: teacher.params, buffers: teacher.buffers, numClasses: m.numClasses }, ckpt, `the ${kind} checkpoint of teacher run ${t}`);
      if (!opts.resume) emitEvent('distill.teacher', 0, { teacherRun: t, checkpoint: kind, model: m.config.name, params: teacher.paramCount });
    }

    const meta = (kind: 'best' | 'last', e: EpochEnd, optim: CheckpointMeta['optimizer']): CheckpointMeta => ({
      runId,
      kind,
      model: { config: config!.model, inputShape: [...inputShape], numClasses: dataset.numClasses },
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
        event: record,
        progress(p) {
          step = p.step;
          hooks.progress?.({ ...p, epochs });
        },
        async shouldStop() {
          // Let queued I/O (a cancel message, a signal) run before the next step.
          await new Promise((r) => setImmediate(r));
          return opts.isCancelled();
        },
      },
      {
        start,
        startValAcc,
        trickState: fileTrickState(dir),
        teacher,
        // The weights at epoch 0 (RIFLE's 'initial'), rebuilt as the run built them: same seed,
        // same fine-tuning source. Right after a resume as well as in a fresh run.
        async initialValues(names) {
          const fresh = buildModel(config!.model, inputShape, dataset.numClasses, config!.seed);
          try {
            if (config!.init) {
              const kind = initCheckpoint(store, config!.init.fromRun);
              const src = kind ? readCheckpoint(runDir(opts.dataDir, config!.init.fromRun), kind) : null;
              if (!src) throw new Error(`RIFLE: run ${config!.init.fromRun}'s checkpoint is gone; the epoch-0 weights cannot be rebuilt`);
              applyInit({ params: fresh.params, buffers: fresh.buffers, numClasses: dataset.numClasses }, src, config!.init);
            }
            const wanted = fresh.params.filter((q) => names.includes(q.name));
            const values = await readAll(wanted.map((q) => q.variable));
            return new Map(wanted.map((q, i) => [q.name, values[i]!]));
          } finally {
            fresh.dispose();
          }
        },
        async epochEnd(e) {
          const state = await captureState(weights, optimizer);
          // Best first: a crash before `last` is written only makes the resume redo this epoch.
          // The best weights are for evaluation and fine-tuning: no optimizer state.
          if (e.improved) writeCheckpoint(dir, meta('best', e, null), state.arrays.filter((a) => a.group !== 'optimizer'));
          writeCheckpoint(dir, meta('last', e, state.optimizer), state.arrays);
        },
      },
    );
    step = result.steps;
    const best = await recordEvaluations({ store, runId, dir, config, splits, model, weights, result, progress: (p) => hooks.progress?.({ ...p, epochs }) });
    hooks.metrics?.(best.points);
    out.metrics = { ...store.summaries(runId).final, ...result.final, ...Object.fromEntries(best.points.map((p) => [p.key, p.value])) };
    out.status = 'completed';
    emitEvent('run.end', epochs, { status: 'completed', tensors: tf.memory().numTensors });
  } catch (e) {
    if (e instanceof Cancelled) {
      out.status = 'cancelled';
    } else {
      out.status = 'failed';
      out.error = storeError(e, store);
    }
    try {
      emitEvent('run.end', 0, { status: out.status, error: out.error });
    } catch {
      // the run row may be gone (deleted while running); the status update below says so
    }
  } finally {
    for (const d of disposers) d();
  }
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
