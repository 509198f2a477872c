// One run from start to final status; shared by the headless CLI and the forked trainer process.
// The run's status always ends final: completed, cancelled or failed (with the reason).
import * as tf from '@tensorflow/tfjs-core';
import type { MetricPoint, RunEvent, RunProgress, RunStatus } from '../shared/api';
import { mustParseRunConfig, type RunConfig } from '../shared/config';
import type { Store } from '../store/store';
import { initBackend } from './backend';
import { loadDataset, makeSplits } from './data/index';
import { Cancelled, trainModel } from './loop';
import { buildModel } from './models/registry';
import { makeOptimizer } from './optim/optimizers';

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
}): Promise<RunOutcome> {
  const { store, runId, hooks = {} } = opts;
  const out: RunOutcome = { runId, status: 'failed', backend: null, device: null, metrics: {}, error: null };
  let step = 0;
  const emitEvent = (kind: string, epoch: number, payload: Record<string, unknown>) => {
    const e: RunEvent = { kind, epoch, step, payload, time: Date.now() };
    store.addEvent(runId, e);
    hooks.event?.(e);
  };
  let config: RunConfig | null = null;
  const disposers: (() => void)[] = [];
  try {
    const record = store.getRun(runId);
    if (!record) throw new Error(`run ${runId} does not exist in ${store.dataDir}`);
    config = mustParseRunConfig(record.config);
    const backend = await initBackend(config.backend);
    out.backend = backend.name;
    out.device = backend.device;
    store.setBackend(runId, backend.name, backend.device);
    hooks.started?.(backend.name, backend.device);

    const dataset = loadDataset(config.dataset, opts.dataDir);
    const splits = makeSplits(dataset, config.dataset);
    const model = buildModel(config.model, dataset.shape, dataset.numClasses, config.seed);
    disposers.push(() => model.dispose());
    const optimizer = makeOptimizer(config.optimizer);
    disposers.push(() => optimizer.dispose());
    emitEvent('run.start', 0, {
      backend: backend.name,
      device: backend.device,
      warnings: backend.warnings,
      dataset: dataset.name,
      source: dataset.source,
      inputShape: dataset.shape,
      classes: dataset.numClasses,
      train: splits.train.length,
      val: splits.val.length,
      test: splits.test.length,
      normalization: { mean: splits.norm.mean.map((v) => +v.toFixed(4)), std: splits.norm.std.map((v) => +v.toFixed(4)) },
      params: model.paramCount,
      flops: model.flops,
    });

    const epochs = config.epochs;
    const result = await trainModel(config, splits, model, optimizer, {
      metrics(points) {
        store.addMetrics(runId, points);
        hooks.metrics?.(points);
      },
      event: (e) => {
        store.addEvent(runId, e);
        hooks.event?.(e);
      },
      progress(p) {
        step = p.step;
        hooks.progress?.({ ...p, epochs });
      },
      async shouldStop() {
        // Let queued I/O (a cancel message, a signal) run before the next step.
        await new Promise((r) => setImmediate(r));
        return opts.isCancelled();
      },
    });
    out.metrics = result.final;
    out.status = 'completed';
    emitEvent('run.end', epochs, { status: 'completed', tensors: tf.memory().numTensors });
  } catch (e) {
    if (e instanceof Cancelled) {
      out.status = 'cancelled';
    } else {
      out.status = 'failed';
      out.error = (e as Error).message || String(e);
    }
    try {
      emitEvent('run.end', 0, { status: out.status, error: out.error });
    } catch {
      // the run row may be gone (deleted while running); the status update below says so
    }
  } finally {
    for (const d of disposers) d();
  }
  if (!store.finishRun(runId, out.status, out.error) && out.status === 'completed') {
    // The host already marked it final (e.g. cancelled at the last moment): report what is stored.
    const now = store.getRun(runId);
    if (now) out.status = now.status;
  }
  if (out.status !== 'completed') out.metrics = { ...out.metrics, ...store.summaries(runId).final };
  return out;
}
