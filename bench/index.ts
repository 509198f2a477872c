// `npm run bench [-- --suite trainer|kernels|store|loader|all] [--reps N] [--steps N] [--backend B] [--case NAME] [--no-torch]`:
// figures, not tests. Trainer suite: training images/s of the real training step (src/trainer/loop.ts
// trainStep) for cnn3 on 28x28x1 (Fashion-MNIST-sized) and 32x32x3 (CIFAR-sized) input, and
// resnet20 and rir18 (default options) on 32x32x3, at batch 64 and 128, on the backend in use
// (TRICKBENCH_NATIVE=0: wasm without the native kernels). When python3 with torch is found, the
// same architectures, batches and optimizer run in PyTorch (bench/torch_reference.py) with 1 thread
// and with every core, and the ratios are printed. Reports min/median/max over repetitions: the
// machine is noisy, so each repetition of ours is followed at once by one of PyTorch's (1 thread,
// then all cores) and the ratios are medians of these paired ratios: a drift in the machine's
// speed hits both sides of a pair alike. A case that fails is reported as such; a wasm abort
// leaves that backend unusable, so the biggest cases come last. The last line is one JSON object
// keyed by case name ("cnn3 28x28x1 b64", ...): {imgPerSec, min, max, torch1, torchAll, ratio1,
// ratioAll} (torch figures and ratios null without PyTorch), or {error}. Store suite (bench/store.ts):
// metric ingestion, a 50-run comparison's load and render in Chromium, a 1M-row export; with it the
// JSON gains a "store" key. Loader suite (bench/loader.ts): the training loader's images/s with the
// seeds' augmentation next to the trainer's; with it the JSON gains a "loader" key.
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import readline from 'node:readline';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName, ModelConfigInput } from '../src/shared/config';
import { initBackend } from '../src/trainer/backend';
import { makeRng } from '../src/trainer/rng';
import { benchLoader } from './loader';
import { benchTrainer, randomBatch } from './step';
import { benchStore } from './store';

interface Case {
  name: string;
  model: ModelConfigInput;
  shape: [number, number, number];
  batch: number;
  /** Caps on --steps/--reps/--warmup for a slow case (rir18 takes about a minute a step on wasm). */
  max?: { steps: number; reps: number; warmup: number };
}

const MODELS: Omit<Case, 'name' | 'batch'>[] = [
  { model: { name: 'cnn3', width: 32 }, shape: [28, 28, 1] },
  { model: { name: 'cnn3', width: 32 }, shape: [32, 32, 3] },
  { model: { name: 'resnet20' }, shape: [32, 32, 3] },
  { model: { name: 'rir18' }, shape: [32, 32, 3], max: { steps: 3, reps: 3, warmup: 1 } },
];
const CASES: Case[] = MODELS.flatMap((m) =>
  [64, 128].map((batch) => ({ ...m, batch, name: `${m.model.name} ${m.shape.join('x')} b${batch}` })),
);

/** python3 with torch: the Debian one first (a pyenv python3 earlier on PATH may lack torch). */
function findTorchPython(): string | null {
  for (const py of [process.env.TRICKBENCH_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p)) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
    if (r.status === 0) return py;
  }
  return null;
}

/** bench/torch_reference.py, kept running: one request (case, threads, steps) per repetition. */
class TorchServer {
  private readonly proc: ChildProcessByStdio<Writable, Readable, null>;
  private readonly lines: AsyncIterator<string>;
  version = '';
  constructor(py: string) {
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'torch_reference.py');
    this.proc = spawn(py, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = readline.createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }
  private async next(): Promise<Record<string, unknown>> {
    const r = await this.lines.next();
    if (r.done) throw new Error(`PyTorch reference exited (${this.proc.exitCode ?? this.proc.signalCode ?? 'no status'})`);
    try {
      return JSON.parse(r.value) as Record<string, unknown>;
    } catch {
      throw new Error(`PyTorch reference printed no JSON: ${r.value.slice(0, 200)}`);
    }
  }
  async start(): Promise<void> {
    this.version = String((await this.next()).torch ?? '?');
  }
  /** PyTorch's images/s for `steps` steps of case c with `threads` threads (after `warmup`). */
  async rate(c: Case, threads: number, steps: number, warmup: number): Promise<number> {
    const req = { case: { name: c.name, model: c.model, shape: c.shape, batch: c.batch }, threads, steps, warmup };
    this.proc.stdin.write(JSON.stringify(req) + '\n');
    const r = await this.next();
    if (typeof r.imgPerSec !== 'number') throw new Error(String(r.error ?? 'no figure'));
    return r.imgPerSec;
  }
  close(): void {
    this.proc.stdin.end();
  }
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Figures {
  median: number;
  min: number;
  max: number;
}
const figures = (v: number[]): Figures => ({ median: median(v), min: Math.min(...v), max: Math.max(...v) });

interface CaseResult {
  ours: Figures;
  /** PyTorch per thread count, and the medians of the paired ratios ours/PyTorch. */
  torch: Record<number, { rate: Figures; ratio: number } | { error: string }>;
}

/** Repetitions of ours, each followed by one of PyTorch per thread count when `torch` is given. */
async function benchCase(c: Case, steps: number, reps: number, warmup: number, torch: TorchServer | null, threads: number[]): Promise<CaseResult> {
  const trainer = benchTrainer(c.model, c.shape);
  const b = randomBatch(c.shape, c.batch);
  const step = () => trainer.step(b);
  try {
    for (let i = 0; i < warmup; i++) await step();
    const ours: number[] = [];
    const theirs = new Map<number, number[]>(threads.map((t) => [t, []]));
    const errors = new Map<number, string>();
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) await step();
      ours.push((steps * c.batch) / ((performance.now() - t0) / 1000));
      for (const t of torch ? threads : []) {
        if (errors.has(t)) continue;
        try {
          theirs.get(t)!.push(await torch!.rate(c, t, steps, r === 0 ? warmup : 0));
        } catch (e) {
          errors.set(t, (e as Error).message);
        }
      }
    }
    const result: CaseResult = { ours: figures(ours), torch: {} };
    for (const t of torch ? threads : []) {
      const v = theirs.get(t)!;
      result.torch[t] = errors.has(t) ? { error: errors.get(t)! } : { rate: figures(v), ratio: median(v.map((x, i) => ours[i]! / x)) };
    }
    return result;
  } finally {
    trainer.dispose();
  }
}

/** Our wasm gradient kernels at the shapes of cnn3 and a CIFAR ResNet stage, against the cpu
 * backend's for Conv2DBackpropFilter and against the wasm kernel they replace where there is one. */
async function benchKernels(reps: number) {
  const rng = makeRng(1, 'bench-kernels');
  const rand = (shape: number[]) => tf.tensor(Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => rng.uniform(-1, 1)), shape);
  const cases: [string, number[], number[], number[], number][] = [
    ['3x3 s1 x[64,16,16,32]', [64, 16, 16, 32], [3, 3, 32, 32], [64, 16, 16, 32], 1],
    ['3x3 s1 x[64,32,32,3] (first layer)', [64, 32, 32, 3], [3, 3, 3, 32], [64, 32, 32, 32], 1],
    ['3x3 s2 x[128,32,32,32]', [128, 32, 32, 32], [3, 3, 32, 64], [128, 16, 16, 64], 2],
  ];
  const time = (f: () => tf.Tensor) => {
    const t0 = performance.now();
    const out = f();
    out.dataSync();
    out.dispose();
    return performance.now() - t0;
  };
  for (const [label, xShape, wShape, dyShape, s] of cases) {
    const [x, w, dy] = [rand(xShape), rand(wShape), rand(dyShape)];
    const filter = () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: s, pad: 'same', dataFormat: 'NHWC', filterShape: wShape }) as tf.Tensor;
    const input = () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { strides: s, pad: 'same', dataFormat: 'NHWC', inputShape: xShape }) as tf.Tensor;
    const forward = () => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, 'same');
    const row: string[] = [];
    for (const [name, f] of [['forward', forward], ['dW', filter], ['dX', input]] as const) {
      time(f);
      const t = Array.from({ length: reps }, () => time(f));
      row.push(`${name} ${median(t).toFixed(1)} ms`);
    }
    console.log(`${label.padEnd(36)} ${row.join('  ')}`);
    tf.dispose([x, w, dy]);
  }
}

async function main() {
  const o = new Command('bench')
    .option('--suite <name>', 'trainer | kernels | store | loader | all', 'all')
    .option('--backend <name>', 'auto | tensorflow-gpu | tensorflow | wasm | cpu', 'auto')
    .option('--steps <n>', 'timed steps per repetition', '10')
    .option('--reps <n>', 'repetitions (each paired with one of PyTorch)', '7')
    .option('--warmup <n>', 'untimed steps first', '3')
    .option('--case <text>', 'trainer cases whose name contains this text only')
    .option('--no-torch', 'skip the PyTorch comparison')
    .parse()
    .opts<{ suite: string; backend: string; steps: string; reps: string; warmup: string; case?: string; torch: boolean }>();
  if (!['trainer', 'kernels', 'store', 'loader', 'all'].includes(o.suite)) throw new Error(`--suite: unknown suite "${o.suite}" (known: trainer, kernels, store, loader, all)`);
  let storeFigures: Record<string, unknown> | null = null;
  let loaderFigures: Record<string, unknown> | null = null;
  if (o.suite === 'store' || o.suite === 'all') {
    console.log('tracking (store, comparison, export):');
    storeFigures = await benchStore();
    if (o.suite === 'store') {
      console.log(JSON.stringify({ store: storeFigures }));
      return;
    }
    console.log('');
  }
  const be = await initBackend(o.backend as BackendName);
  console.log(`backend ${be.name} on ${be.device}; ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), tfjs ${tf.version_core}`);
  if (o.suite === 'loader' || o.suite === 'all') {
    console.log('\nloader (augmentation in worker threads) vs trainer:');
    loaderFigures = await benchLoader({ steps: Number(o.steps) });
    if (o.suite === 'loader') {
      console.log(JSON.stringify({ loader: loaderFigures }));
      return;
    }
    console.log('');
  }
  if (o.suite === 'kernels' || o.suite === 'all') {
    console.log('\nconvolution kernels (median of reps):');
    await benchKernels(Number(o.reps));
    if (o.suite === 'kernels') return;
    console.log('');
  }
  console.log(`training step = forward + backward + SGD-momentum update + loss read; ${o.reps} reps x ${o.steps} steps after ${o.warmup} warm-up steps`);
  const cases = CASES.filter((k) => !o.case || k.name.includes(o.case));
  const cap = (c: Case, v: string, key: 'steps' | 'reps' | 'warmup') => Math.min(Number(v), c.max?.[key] ?? Infinity);
  const counts = (c: Case): [number, number, number] => [cap(c, o.steps, 'steps'), cap(c, o.reps, 'reps'), cap(c, o.warmup, 'warmup')];
  let torch: TorchServer | null = null;
  const py = o.torch ? findTorchPython() : null;
  const threads = [...new Set([1, os.cpus().length])];
  if (!o.torch) console.log('PyTorch comparison skipped (--no-torch)');
  else if (!py) console.log('PyTorch comparison skipped: no python3 with torch found (Debian: apt-get install python3-torch; or set TRICKBENCH_PYTHON)');
  else {
    torch = new TorchServer(py);
    try {
      await torch.start();
      console.log(`PyTorch ${torch.version} (${py}) with ${threads.join(' and ')} threads, a repetition of it after each of ours; ratios are medians of the paired ratios`);
    } catch (e) {
      console.log(`PyTorch comparison failed: ${(e as Error).message}`);
      torch = null;
    }
  }
  const all = os.cpus().length;
  const round = (v: number | null | undefined) => (v === null || v === undefined ? null : Math.round(v * 10) / 10);
  const round2 = (v: number | null | undefined) => (v === null || v === undefined ? null : Math.round(v * 100) / 100);
  const results: Record<string, object> = {};
  const f0 = (v: number | null) => (v === null ? '-' : v.toFixed(0));
  for (const c of cases) {
    const [steps, reps, warmup] = counts(c);
    try {
      const r = await benchCase(c, steps, reps, warmup, torch, threads);
      const t = (n: number) => {
        const x = r.torch[n];
        return x && 'rate' in x ? x : null;
      };
      const [t1, tAll] = [t(1), t(all)];
      results[c.name] = {
        imgPerSec: round(r.ours.median), min: round(r.ours.min), max: round(r.ours.max),
        torch1: round(t1?.rate.median), torchAll: round(tAll?.rate.median), ratio1: round2(t1?.ratio), ratioAll: round2(tAll?.ratio),
      };
      const capped = c.max ? ` [${reps} reps x ${steps} steps]` : '';
      let line = `${c.name.padEnd(22)} ${f0(r.ours.median).padStart(7)} img/s median (min ${f0(r.ours.min)}, max ${f0(r.ours.max)})`;
      for (const n of torch ? threads : []) {
        const x = r.torch[n]!;
        line += 'error' in x ? `  | torch ${n}t failed: ${x.error}` : `  | torch ${n}t ${f0(x.rate.median)} (${f0(x.rate.min)}-${f0(x.rate.max)}), ours/torch ${x.ratio.toFixed(2)}x`;
      }
      console.log(line + capped);
    } catch (e) {
      // A wasm abort ("Aborted()", "memory access out of bounds") is the 4 GiB heap running out.
      const msg = (e as Error).message + (/Aborted|out of bounds/.test((e as Error).message) ? ' (out of wasm memory?)' : '');
      results[c.name] = { error: msg };
      console.log(`${c.name.padEnd(22)} failed: ${msg}`);
    }
  }
  torch?.close();
  if (torch) {
    console.log(`\n${'case'.padEnd(22)} ${'ours'.padStart(8)} ${'torch 1'.padStart(8)} ${('torch ' + all).padStart(8)} ${'ours/1'.padStart(7)} ${('ours/' + all).padStart(7)}`);
    for (const c of cases) {
      const r = results[c.name] as Record<string, number | null>;
      if ('error' in r) continue;
      const f = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toFixed(0)).padStart(8);
      const q = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toFixed(2) + 'x').padStart(7);
      console.log(`${c.name.padEnd(22)} ${f(r.imgPerSec)} ${f(r.torch1)} ${f(r.torchAll)} ${q(r.ratio1)} ${q(r.ratioAll)}`);
    }
  }
  console.log(`(backend ${be.name} on ${be.device})`);
  console.log(JSON.stringify({ ...results, ...(storeFigures ? { store: storeFigures } : {}), ...(loaderFigures ? { loader: loaderFigures } : {}) }));
}

main().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exit(1);
});
