// The training loader: batches are augmented and standardised in worker threads (piscina) that
// share the one uint8 copy of the dataset, and prepared `prefetch` batches ahead, so the training
// thread only waits when the workers are slower than a step; when it would wait, it makes one of
// the batches ahead itself (the cores it trains with are idle then). How long it waited is
// measured (time/data_wait_s per epoch), so a starving trainer shows up in the run's charts.
import os from 'node:os';
import { Piscina } from 'piscina';
import { BatchMaker, type BatchContext, type PreparedBatch } from './batch';
import { workerEntry } from './worker-entry';

export interface LoaderOptions extends BatchContext {
  /** Worker threads; 0 = prepare batches on the calling thread. Default: TRICKBENCH_LOADER_WORKERS,
   * else one per core beyond the first, at most 4. */
  workers?: number;
  /** Batches prepared ahead of the one being trained on. */
  prefetch?: number;
}

export function defaultWorkers(): number {
  const env = process.env.TRICKBENCH_LOADER_WORKERS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 0) throw new Error(`TRICKBENCH_LOADER_WORKERS: expected a whole number >= 0, got '${env}'`);
    return n;
  }
  return Math.max(1, Math.min(4, os.availableParallelism() - 1));
}

export class BatchLoader {
  readonly outShape: [number, number, number];
  readonly workers: number;
  /** Milliseconds the consumer spent waiting for batches, since the last reset. */
  waitMs = 0;
  /** Batches the training thread made itself while it would have waited for the workers. */
  helped = 0;
  /** No pool: every batch is made on the calling thread. */
  private readonly pool: Piscina | null;
  /** Makes batches on the calling thread: all of them without a pool, else those it helps with. */
  private readonly helper: BatchMaker;

  constructor(o: LoaderOptions) {
    this.workers = o.workers ?? defaultWorkers();
    const ctx: BatchContext = { images: o.images, labels: o.labels, inShape: o.inShape, augment: o.augment, norm: o.norm, fillMean: o.fillMean, seed: o.seed };
    // Made here too when workers run: it validates the pipeline on this thread (a bad config fails
    // with its message, not as a worker crash) and tells the output shape.
    const maker = new BatchMaker(ctx);
    this.helper = maker;
    this.outShape = maker.outShape;
    this.prefetch = Math.max(1, o.prefetch ?? 2 * Math.max(1, this.workers) + 2);
    if (this.workers > 0) {
      const entry = workerEntry('loader-worker', import.meta.url);
      this.pool = new Piscina({ ...entry, workerData: ctx, minThreads: this.workers, maxThreads: this.workers, idleTimeout: 60_000 });
      // A worker that dies with no task in flight: reported with the next batch, not as an
      // uncaught exception that kills the trainer without a word.
      this.pool.on('error', (e: Error) => (this.poolError ??= e));
    } else {
      this.pool = null;
    }
  }

  private readonly prefetch: number;
  private poolError: Error | null = null;

  /** The batches of one epoch in order: images order[i * batchSize ...], from batch `fromBatch`. */
  async *epoch(epoch: number, order: Int32Array, batchSize: number, fromBatch = 0): AsyncGenerator<PreparedBatch> {
    const batches = Math.ceil(order.length / batchSize);
    const task = (i: number) => {
      const start = i * batchSize;
      const indices = order.slice(start, Math.min(start + batchSize, order.length));
      return { epoch, position: start, indices };
    };
    if (!this.pool) {
      for (let i = fromBatch; i < batches; i++) {
        const t0 = performance.now();
        const b = this.helper.make(task(i));
        this.waitMs += performance.now() - t0;
        yield b;
      }
      return;
    }
    const pool = this.pool;
    const helper = this.helper;
    // Batches in flight are float32: at most ~256 MB of them, whatever the image and batch size.
    const batchBytes = batchSize * this.outShape[0] * this.outShape[1] * this.outShape[2] * 4;
    const ahead = Math.max(1, Math.min(this.prefetch, Math.floor((256 * 2 ** 20) / batchBytes)));
    // The pool gets two tasks per worker at a time; the other batches of the window stay
    // unassigned, so that the training thread, when it would otherwise wait (and the cores the
    // trainer uses are idle), makes one of them itself. Which thread makes a batch never changes it.
    const maxInPool = 2 * this.workers;
    const ready = new Map<number, PreparedBatch>();
    const pending = new Map<number, Promise<PreparedBatch>>();
    let assigned = fromBatch; // the next batch nobody makes yet
    let cur = fromBatch;
    const fill = () => {
      while (assigned < batches && assigned < cur + ahead && pending.size < maxInPool) {
        const i = assigned++;
        const p = pool.run(task(i)) as Promise<PreparedBatch>;
        pending.set(i, p);
        p.then(
          (b) => {
            pending.delete(i);
            ready.set(i, b);
            fill();
          },
          () => undefined, // observed when awaited; an abandoned epoch must not warn
        );
      }
    };
    fill();
    for (; cur < batches; cur++) {
      const t0 = performance.now();
      while (!ready.has(cur)) {
        if (this.poolError) throw new Error(`a loader worker failed: ${this.poolError.message}`);
        if (assigned < batches && assigned < cur + ahead) {
          const i = assigned++;
          ready.set(i, helper.make(task(i)));
          this.helped++;
          await new Promise((r) => setImmediate(r)); // let finished pool tasks land
        } else {
          await pending.get(cur);
        }
      }
      const b = ready.get(cur)!;
      ready.delete(cur);
      this.waitMs += performance.now() - t0;
      fill();
      yield b;
    }
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
  }
}
