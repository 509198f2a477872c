// `trickbench bench [--suite trainer|kernels|store|loader|all] [--reps N] [--steps N] [--backend B] [--case NAME[,NAME]] [--no-torch]
//   [--torch-device cpu|cuda] [--peak-tflops N]`:
// figures, not tests. Trainer suite: training images/s of the real training step (src/trainer/loop.ts
// trainStep) for cnn3 on 28x28x1 (Fashion-MNIST-sized) and 32x32x3 (CIFAR-sized) input, and
// resnet20 and rir18 (default options) on 32x32x3, at batch 64 and 128, and resnet18 on 32x32x3 at
// batch 128, on the backend in use (TRICKBENCH_NATIVE=0: wasm without the native kernels; webgpu:
// the adapter initBackend chose, whose description the JSON gains as an "adapter" key). When python3 with torch is found, the
// same architectures, batches and optimizer run in PyTorch (bench/torch_reference.py) with 1 thread
// and with every core, and the ratios are printed. Reports min/median/max over repetitions: the
// machine is noisy, so each repetition of ours is followed at once by one of PyTorch's (1 thread,
// then all cores) and the ratios are medians of these paired ratios: a drift in the machine's
// speed hits both sides of a pair alike. A case that fails is reported as such; a wasm abort
// leaves that backend unusable, so the biggest cases come last. The last line is one JSON object
// keyed by case name ("cnn3 28x28x1 b64", ...): {imgPerSec, min, max, torch1, torchAll, ratio1,
// ratioAll} (torch figures and ratios null without PyTorch), or {error}. `--torch-device cuda` runs
// PyTorch on CUDA instead (bench/torch_reference.py --device cuda), twice per repetition: true FP32
// (TF32 off) and PyTorch's defaults; the cases then carry torchCudaFp32, torchCudaDefault,
// ratioCudaFp32, ratioCudaDefault (torch1/torchAll null). Every case also carries macsPerImage
// (forward multiply-adds, Model.flops) and tflops: achieved training TFLOP/s of ours and of each
// PyTorch side, counting a training step as 3 forward passes and a multiply-add as 2 FLOP (6 x
// macsPerImage per image); with --peak-tflops N also peakFraction, the same over N. Store suite (bench/store.ts):
// metric ingestion, a 50-run comparison's load and render in Chromium, a 1M-row export; with it the
// JSON gains a "store" key. Loader suite (bench/loader.ts): the training loader's images/s with the
// seeds' augmentation next to the trainer's; with it the JSON gains a "loader" key.
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import readline from 'node:readline';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName, ModelConfigInput } from '../src/shared/config';
import { initBackend } from '../src/trainer/backend';
import { makeRng } from '../src/shared/rng';
import { benchLoader } from './loader';
import { benchTrainer, randomBatch } from './step';
import { benchStore } from './store';
import { runIfScript } from '../src/cli/script';

interface Case {
  name: string;
  model: ModelConfigInput;
  shape: [number, number, number];
  batch: number;
  /** Batch sizes of a MODELS entry (default 64 and 128). */
  batches?: number[];
  /** Caps on --steps/--reps/--warmup for a slow case (rir18 takes about a minute a step on wasm). */
  max?: { steps: number; reps: number; warmup: number };
}

const MODELS: Omit<Case, 'name' | 'batch'>[] = [
  { model: { name: 'cnn3', width: 32 }, shape: [28, 28, 1] },
  { model: { name: 'cnn3', width: 32 }, shape: [32, 32, 3] },
  { model: { name: 'resnet20' }, shape: [32, 32, 3] },
  { model: { name: 'rir18' }, shape: [32, 32, 3], max: { steps: 3, reps: 3, warmup: 1 } },
  // ImageNet's ResNet-18 on CIFAR-sized input (555 M mult-adds an image): a GPU-sized case, capped
  // like rir18 on the CPU backends.
  { model: { name: 'resnet18' }, shape: [32, 32, 3], batches: [128], max: { steps: 3, reps: 3, warmup: 1 } },
];
const CASES: Case[] = MODELS.flatMap(({ batches, ...m }) =>
  (batches ?? [64, 128]).map((batch) => ({ ...m, batch, name: `${m.model.name} ${m.shape.join('x')} b${batch}` })),
);

/** The PyTorch runs each repetition of ours is paired with: per thread count on the CPU, per
 * precision on CUDA. `key` names its figure in the JSON, `ratio` its ratio ours/PyTorch. */
interface TorchSide {
  key: string;
  ratio: string;
  label: string;
  req: { threads?: number; precision?: 'fp32' | 'default' };
}
function torchSides(device: 'cpu' | 'cuda', all: number): TorchSide[] {
  if (device === 'cuda') {
    return [
      { key: 'torchCudaFp32', ratio: 'ratioCudaFp32', label: 'torch cuda fp32', req: { precision: 'fp32' } },
      { key: 'torchCudaDefault', ratio: 'ratioCudaDefault', label: 'torch cuda default', req: { precision: 'default' } },
    ];
  }
  return [...new Set([1, all])].map((n, i) => ({ key: i === 0 ? 'torch1' : 'torchAll', ratio: i === 0 ? 'ratio1' : 'ratioAll', label: `torch ${n}t`, req: { threads: n } }));
}

/** Training FLOP of one image: 3 forward passes' worth (forward, and backward ~ 2x forward), 2 FLOP
 * per multiply-add. The convention the printed TFLOP/s and the JSON's tflops use. */
const trainFlopPerImage = (macs: number) => 6 * macs;

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
  gpu: string | null = null;
  constructor(py: string, readonly device: 'cpu' | 'cuda') {
    const script = torchReferenceScript();
    this.proc = spawn(py, [script, '--device', device], { stdio: ['pipe', 'pipe', 'inherit'] });
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
    const hello = await this.next();
    if (hello.error) throw new Error(`PyTorch on ${this.device}: ${String(hello.error)}`);
    this.version = String(hello.torch ?? '?');
    this.gpu = typeof hello.gpu === 'string' ? hello.gpu : null;
  }
  /** PyTorch's images/s for `steps` steps of case c on one side (threads or precision), after `warmup`. */
  async rate(c: Case, side: TorchSide, steps: number, warmup: number): Promise<number> {
    const req = { case: { name: c.name, model: c.model, shape: c.shape, batch: c.batch }, ...side.req, steps, warmup };
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
  /** Forward multiply-adds of one image. */
  macs: number;
  /** PyTorch per side (TorchSide.key), and the medians of the paired ratios ours/PyTorch. */
  torch: Record<string, { rate: Figures; ratio: number } | { error: string }>;
}

/** Repetitions of ours, each followed by one of PyTorch per side when `torch` is given. */
async function benchCase(c: Case, steps: number, reps: number, warmup: number, torch: TorchServer | null, sides: TorchSide[]): Promise<CaseResult> {
  const trainer = benchTrainer(c.model, c.shape);
  const b = randomBatch(c.shape, c.batch);
  const step = () => trainer.step(b);
  try {
    for (let i = 0; i < warmup; i++) await step();
    const ours: number[] = [];
    const theirs = new Map<string, number[]>(sides.map((t) => [t.key, []]));
    const errors = new Map<string, string>();
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) await step();
      ours.push((steps * c.batch) / ((performance.now() - t0) / 1000));
      for (const t of torch ? sides : []) {
        if (errors.has(t.key)) continue;
        try {
          theirs.get(t.key)!.push(await torch!.rate(c, t, steps, r === 0 ? warmup : 0));
        } catch (e) {
          errors.set(t.key, (e as Error).message);
        }
      }
    }
    const result: CaseResult = { ours: figures(ours), macs: trainer.flops, torch: {} };
    for (const t of torch ? sides : []) {
      const v = theirs.get(t.key)!;
      result.torch[t.key] = errors.has(t.key) ? { error: errors.get(t.key)! } : { rate: figures(v), ratio: median(v.map((x, i) => ours[i]! / x)) };
    }
    return result;
  } finally {
    trainer.dispose();
  }
}

/** The convolution kernels of the backend in use at the shapes of cnn3 and a CIFAR ResNet stage:
 * forward, dW, dX. On webgpu also the tfjs-webgpu kernels ours replaced (webgpu/kernels/), on the
 * same inputs, to show whether ours pay their way on this GPU. */
async function benchKernels(reps: number) {
  const rng = makeRng(1, 'bench-kernels');
  const rand = (shape: number[]) => tf.tensor(Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => rng.uniform(-1, 1)), shape);
  const cases: [string, number[], number[], number[], number][] = [
    ['3x3 s1 x[64,16,16,32]', [64, 16, 16, 32], [3, 3, 32, 32], [64, 16, 16, 32], 1],
    ['3x3 s1 x[64,32,32,3] (first layer)', [64, 32, 32, 3], [3, 3, 3, 32], [64, 32, 32, 32], 1],
    ['3x3 s2 x[128,32,32,32]', [128, 32, 32, 32], [3, 3, 32, 64], [128, 16, 16, 64], 2],
  ];
  const time = async (f: () => tf.Tensor) => {
    const t0 = performance.now();
    const out = f();
    await out.data(); // not dataSync: webgpu cannot read synchronously in Node
    out.dispose();
    return performance.now() - t0;
  };
  for (const [label, xShape, wShape, dyShape, s] of cases) {
    const [x, w, dy] = [rand(xShape), rand(wShape), rand(dyShape)];
    const filter = () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: s, pad: 'same', dataFormat: 'NHWC', filterShape: wShape }) as tf.Tensor;
    const input = () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { strides: s, pad: 'same', dataFormat: 'NHWC', inputShape: xShape }) as tf.Tensor;
    const forward = () => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, 'same');
    // The kernel ours replaced (webgpu/kernels/common.ts withFallback keeps it as `previous`).
    const replaced = (kernel: string, inputs: tf.NamedTensorMap, attrs: Record<string, unknown>) => {
      const prev = (tf.getKernel(kernel, tf.getBackend()) as unknown as { previous?: tf.KernelConfig } | undefined)?.previous;
      return prev ? () => tf.engine().makeTensorFromTensorInfo(prev.kernelFunc({ inputs, backend: tf.backend(), attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo) : null;
    };
    const fAttrs = { strides: s, pad: 'same', dataFormat: 'NHWC', filterShape: wShape };
    const iAttrs = { strides: s, pad: 'same', dataFormat: 'NHWC', inputShape: xShape };
    const theirs = tf.getBackend() === 'webgpu' ? [['dW tfjs-webgpu', replaced('Conv2DBackpropFilter', { x, dy }, fAttrs)], ['dX tfjs-webgpu', replaced('Conv2DBackpropInput', { dy, filter: w }, iAttrs)]] : [];
    const row: string[] = [];
    const fns = [['forward', forward], ['dW', filter], ['dX', input], ...theirs.filter(([, f]) => f)] as [string, () => tf.Tensor][];
    for (const [name, f] of fns) {
      await time(f);
      const t: number[] = [];
      for (let i = 0; i < reps; i++) t.push(await time(f));
      row.push(`${name} ${median(t).toFixed(1)} ms`);
    }
    console.log(`${label.padEnd(36)} ${row.join('  ')}`);
    tf.dispose([x, w, dy]);
  }
}

/** bench/torch_reference.py: beside this module (source, or the GPU bundle's bench/), else in
 * bench/ above it (the package's out/main/chunks/ bundle). */
function torchReferenceScript(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    for (const f of [path.join(dir, 'torch_reference.py'), path.join(dir, 'bench', 'torch_reference.py')]) if (fs.existsSync(f)) return f;
    dir = path.dirname(dir);
  }
  throw new Error(`bench/torch_reference.py not found above ${path.dirname(fileURLToPath(import.meta.url))}`);
}

async function bench(argv: string[]): Promise<number> {
  const program = new Command('trickbench bench')
    .description('Benchmarks (figures, not tests): training images/s per model against PyTorch, the store, the loader, the kernels. The last stdout line is the figures as JSON.')
    .option('--suite <name>', 'trainer | kernels | store | loader | all', 'all')
    .option('--backend <name>', 'auto | tensorflow-gpu | webgpu | tensorflow | wasm | cpu', 'auto')
    .option('--steps <n>', 'timed steps per repetition', '10')
    .option('--reps <n>', 'repetitions (each paired with one of PyTorch)', '7')
    .option('--warmup <n>', 'untimed steps first', '3')
    .option('--case <text>', 'trainer cases whose name contains this text only (comma-separated: any of them)')
    .option('--no-torch', 'skip the PyTorch comparison')
    .option('--torch-device <device>', 'where PyTorch runs: cpu (1 thread and all cores) | cuda (FP32 without TF32, and PyTorch\'s defaults)', 'cpu')
    .option('--peak-tflops <n>', 'the device\'s peak FP32 TFLOP/s (H200: about 67): also print the fraction of it achieved')
    .exitOverride();
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    return (e as { exitCode?: number }).exitCode ?? 1; // --help: 0; commander said what was wrong
  }
  const o = program.opts<{ suite: string; backend: string; steps: string; reps: string; warmup: string; case?: string; torch: boolean; torchDevice: string; peakTflops?: string }>();
  if (!['trainer', 'kernels', 'store', 'loader', 'all'].includes(o.suite)) throw new Error(`--suite: unknown suite "${o.suite}" (known: trainer, kernels, store, loader, all)`);
  if (o.torchDevice !== 'cpu' && o.torchDevice !== 'cuda') throw new Error(`--torch-device: "${o.torchDevice}" is not cpu or cuda`);
  const torchDevice = o.torchDevice;
  const peak = o.peakTflops === undefined ? null : Number(o.peakTflops);
  if (peak !== null && !(peak > 0)) throw new Error(`--peak-tflops: "${o.peakTflops}" is not a positive number`);
  let storeFigures: Record<string, unknown> | null = null;
  let loaderFigures: Record<string, unknown> | null = null;
  if (o.suite === 'store' || o.suite === 'all') {
    console.log('tracking (store, comparison, export):');
    storeFigures = await benchStore();
    if (o.suite === 'store') {
      console.log(JSON.stringify({ store: storeFigures }));
      return 0;
    }
    console.log('');
  }
  const be = await initBackend(o.backend as BackendName);
  console.log(`backend ${be.name} on ${be.device}; ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), tfjs ${tf.version_core}`);
  for (const w of be.warnings) console.log(`warning: ${w}`);
  // The adapter the webgpu backend trains on, as the JSON reports it.
  const adapter = be.adapter ? { adapter: { ...be.adapter, label: be.device } } : {};
  if (o.suite === 'loader' || o.suite === 'all') {
    console.log('\nloader (augmentation in worker threads) vs trainer:');
    loaderFigures = await benchLoader({ steps: Number(o.steps) });
    if (o.suite === 'loader') {
      console.log(JSON.stringify({ loader: loaderFigures, ...adapter }));
      return 0;
    }
    console.log('');
  }
  if (o.suite === 'kernels' || o.suite === 'all') {
    console.log('\nconvolution kernels (median of reps):');
    await benchKernels(Number(o.reps));
    if (o.suite === 'kernels') return 0;
    console.log('');
  }
  console.log(`training step = forward + backward + SGD-momentum update + loss read; ${o.reps} reps x ${o.steps} steps after ${o.warmup} warm-up steps`);
  console.log(
    'TFLOP/s = img/s x training FLOP per image, counted as 3 x forward (backward ~ 2 x forward) x 2 FLOP per multiply-add = 6 x the model\'s forward mult-adds' +
      (peak !== null ? `; % of a peak of ${peak} TFLOP/s (FP32)` : ''),
  );
  const wanted = (o.case ?? '').split(',').map((t) => t.trim()).filter((t) => t);
  const cases = CASES.filter((k) => wanted.length === 0 || wanted.some((t) => k.name.includes(t)));
  // The caps keep the slow cases short on the CPU backends (and a software adapter); a GPU runs all.
  const onGpu = be.name === 'tensorflow-gpu' || (be.name === 'webgpu' && !be.adapter?.software);
  const cap = (c: Case, v: string, key: 'steps' | 'reps' | 'warmup') => Math.min(Number(v), onGpu ? Infinity : (c.max?.[key] ?? Infinity));
  const counts = (c: Case): [number, number, number] => [cap(c, o.steps, 'steps'), cap(c, o.reps, 'reps'), cap(c, o.warmup, 'warmup')];
  let torch: TorchServer | null = null;
  const py = o.torch ? findTorchPython() : null;
  const all = os.cpus().length;
  const sides = torchSides(torchDevice, all);
  if (!o.torch) console.log('PyTorch comparison skipped (--no-torch)');
  else if (!py) console.log('PyTorch comparison skipped: no python3 with torch found (Debian: apt-get install python3-torch; or set TRICKBENCH_PYTHON)');
  else {
    torch = new TorchServer(py, torchDevice);
    try {
      await torch.start();
      console.log(
        torchDevice === 'cuda'
          ? `PyTorch ${torch.version} (${py}) on CUDA (${torch.gpu ?? '?'}), FP32: TF32 off, and PyTorch's defaults (TF32 in cuDNN convolutions); one repetition of each after each of ours; ratios are medians of the paired ratios`
          : `PyTorch ${torch.version} (${py}) with ${[...new Set([1, all])].join(' and ')} threads, a repetition of it after each of ours; ratios are medians of the paired ratios`,
      );
    } catch (e) {
      console.log(`PyTorch comparison failed: ${(e as Error).message}`);
      torch?.close();
      torch = null;
    }
  }
  const round = (v: number | null | undefined) => (v === null || v === undefined ? null : Math.round(v * 10) / 10);
  const round2 = (v: number | null | undefined) => (v === null || v === undefined ? null : Math.round(v * 100) / 100);
  // TFLOP/s and fractions of peak: 4 significant digits (a software adapter's are tiny).
  const round4 = (v: number | null | undefined) => (v === null || v === undefined ? null : Number(v.toPrecision(4)));
  const results: Record<string, object> = {};
  const f0 = (v: number | null) => (v === null ? '-' : v.toFixed(0));
  const tflops = (imgPerSec: number, macs: number) => (imgPerSec * trainFlopPerImage(macs)) / 1e12;
  const fmtT = (t: number) => (t >= 1 ? t.toFixed(2) : t >= 0.01 ? t.toFixed(3) : t.toPrecision(2));
  const fmtFlops = (t: number) => `${fmtT(t)} TFLOP/s` + (peak !== null ? ` (${((100 * t) / peak).toPrecision(2)}% of peak)` : '');
  for (const c of cases) {
    const [steps, reps, warmup] = counts(c);
    try {
      const r = await benchCase(c, steps, reps, warmup, torch, sides);
      const t = (key: string) => {
        const x = r.torch[key];
        return x && 'rate' in x ? x : null;
      };
      // One core: the all-cores side is the 1-thread one.
      const [t1, tAll] = torchDevice === 'cpu' ? [t('torch1'), all === 1 ? t('torch1') : t('torchAll')] : [null, null];
      const flopsOf: Record<string, number | null> = { ours: round4(tflops(r.ours.median, r.macs)) };
      const extra: Record<string, number | null> = {};
      for (const side of torch ? sides : []) {
        const x = t(side.key);
        flopsOf[side.key] = x ? round4(tflops(x.rate.median, r.macs)) : null;
        if (torchDevice === 'cuda') {
          extra[side.key] = round(x?.rate.median);
          extra[side.ratio] = round2(x?.ratio);
        }
      }
      results[c.name] = {
        imgPerSec: round(r.ours.median), min: round(r.ours.min), max: round(r.ours.max),
        torch1: round(t1?.rate.median), torchAll: round(tAll?.rate.median), ratio1: round2(t1?.ratio), ratioAll: round2(tAll?.ratio),
        ...extra,
        macsPerImage: r.macs,
        tflops: flopsOf,
        ...(peak !== null ? { peakFraction: Object.fromEntries(Object.entries(flopsOf).map(([k, v]) => [k, v === null ? null : round4(v / peak)])) } : {}),
      };
      const capped = c.max && !onGpu ? ` [${reps} reps x ${steps} steps]` : '';
      let line = `${c.name.padEnd(22)} ${f0(r.ours.median).padStart(7)} img/s median (min ${f0(r.ours.min)}, max ${f0(r.ours.max)}), ${fmtFlops(tflops(r.ours.median, r.macs))}`;
      for (const side of torch ? sides : []) {
        const x = r.torch[side.key]!;
        line += 'error' in x
          ? `  | ${side.label} failed: ${x.error}`
          : `  | ${side.label} ${f0(x.rate.median)} (${f0(x.rate.min)}-${f0(x.rate.max)}), ${fmtFlops(tflops(x.rate.median, r.macs))}, ours/torch ${x.ratio.toFixed(2)}x`;
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
  if (torch || peak !== null) {
    // img/s, then TFLOP/s (and % of peak), of ours and of each PyTorch side; then ours/PyTorch.
    const shown = torch ? sides : [];
    const head = ['ours', ...shown.map((s) => s.label.replace(/^torch /, 'pt '))];
    const w = 12;
    console.log(`\n${'case'.padEnd(22)} ${head.map((h) => h.padStart(w)).join(' ')} ${shown.map((s) => ('ours/' + s.label.replace(/^torch /, 'pt ')).padStart(w + 6)).join(' ')}`);
    for (const c of cases) {
      const r = results[c.name] as Record<string, unknown>;
      if ('error' in r) continue;
      const flops = r.tflops as Record<string, number | null>;
      const rate = [r.imgPerSec, ...shown.map((s) => (torchDevice === 'cuda' ? r[s.key] : s.key === 'torch1' ? r.torch1 : r.torchAll))] as (number | null)[];
      const tf_ = [flops.ours, ...shown.map((s) => flops[s.key])] as (number | null | undefined)[];
      const ratios = shown.map((s) => (torchDevice === 'cuda' ? r[s.ratio] : s.key === 'torch1' ? r.ratio1 : r.ratioAll) as number | null);
      const f = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toFixed(0)).padStart(w);
      const q = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toFixed(2) + 'x').padStart(w + 6);
      const tt = (v: number | null | undefined) =>
        (v === null || v === undefined ? '-' : `${fmtT(v)}T` + (peak !== null ? ` ${((100 * v) / peak).toPrecision(2)}%` : '')).padStart(w);
      console.log(`${c.name.padEnd(22)} ${rate.map(f).join(' ')} ${ratios.map(q).join(' ')}`);
      console.log(`${'  TFLOP/s'.padEnd(22)} ${tf_.map(tt).join(' ')}`);
    }
  }
  console.log(`(backend ${be.name} on ${be.device})`);
  console.log(JSON.stringify({ ...results, ...(storeFigures ? { store: storeFigures } : {}), ...(loaderFigures ? { loader: loaderFigures } : {}), ...adapter }));
  return 0;
}

/** `trickbench bench ARGS` (src/cli/script.ts): exit 1 with the reason when it cannot run. */
export async function main(argv: string[]): Promise<void> {
  try {
    process.exitCode = await bench(argv);
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 1;
  }
}

runIfScript(import.meta.url, main);
