// The TypeScript half of bench/gpu-check.sh (bundled with the bench by scripts/gpu-bundle.mjs):
//
//   gpu-check adapters             every WebGPU adapter Dawn offers here (Vulkan, then OpenGL ES),
//                                  with the Vulkan loader it found; last line JSON
//                                  {vulkanLoader, adapters: [...], problems: [...], hardware}
//   gpu-check ref --out FILE [--backend cpu|wasm] [--batch N] [--models cnn3,resnet20]
//                                  the reference: one training step of each model (32x32x3, same
//                                  initial weights and batch as `step` uses) on a CPU backend, the
//                                  loss, every parameter's gradient and the SGD-momentum update,
//                                  written to FILE. The cpu backend (tfjs' pure-JavaScript kernels)
//                                  is the independent reference, but slow: its Conv2DBackpropFilter
//                                  takes minutes for one resnet20 batch, so gpu-check.sh computes it
//                                  in the background while the benchmark runs.
//   gpu-check step [--ref FILE,...] [--backend cpu|wasm] [--batch N]
//                                  the same step on the webgpu backend, compared with the
//                                  reference files (or, without --ref, with a reference computed
//                                  first in this process on --backend, default cpu); last line
//                                  JSON {adapter, ok, cases}.
//
// `step` exits 2 when the webgpu backend only has a software adapter, unless
// GPU_CHECK_ALLOW_SOFTWARE=1 (the CPU-only test of the check itself), and 1 when a figure is out
// of tolerance. Tolerances: the loss within 1e-4 relative (FP32 sums in another order), each
// gradient and update within 1e-3 relative L2 error ||gpu - cpu|| / ||cpu||, a parameter whose
// gradient is all zero on the cpu within 1e-6 absolute.
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfigInput } from '../src/shared/config';
import { initBackend } from '../src/trainer/backend';
import { crossEntropy, trainStep } from '../src/trainer/loop';
import { buildModel } from '../src/trainer/models/registry';
import { makeOptimizer } from '../src/trainer/optim/optimizers';
import { adapterLabel, findVulkanLoader, listAdapters } from '../src/trainer/webgpu/adapters';
import { randomBatch } from './step';

const SHAPE: [number, number, number] = [32, 32, 3];
const CASES: { name: string; model: ModelConfigInput }[] = [
  { name: 'cnn3', model: { name: 'cnn3', width: 32 } },
  { name: 'resnet20', model: { name: 'resnet20' } },
];
const TOL = { lossRel: 1e-4, gradRelL2: 1e-3, updateRelL2: 1e-3, zeroAbs: 1e-6 };
const LR = 0.1;

async function adapters(): Promise<void> {
  const loader = findVulkanLoader();
  console.log(`Vulkan loader: ${loader ?? 'libvulkan.so.1 not found (LD_LIBRARY_PATH and the usual lib folders)'}`);
  const { adapters: found, problems } = await listAdapters(['vulkan', 'opengles']);
  for (const a of found) {
    const l = a.adapter.limits;
    console.log(
      `adapter: ${adapterLabel(a.info)}; features [${a.info.features.join(', ')}]; ` +
        `maxStorageBufferBindingSize ${l.maxStorageBufferBindingSize}, maxBufferSize ${l.maxBufferSize}, maxComputeWorkgroupStorageSize ${l.maxComputeWorkgroupStorageSize}`,
    );
  }
  for (const p of problems) console.log(`no adapter: ${p}`);
  const hardware = found.some((a) => !a.info.software);
  console.log(hardware ? 'hardware adapter: yes' : 'hardware adapter: NONE (only software or no adapters)');
  console.log(JSON.stringify({ vulkanLoader: loader, adapters: found.map((a) => a.info), problems, hardware }));
}

interface StepFigures {
  loss: number;
  stepLoss: number;
  grads: Map<string, Float32Array>;
  updates: Map<string, Float32Array>;
  ms: number;
}

/** Loss and gradients of one batch (the loop's plain cross-entropy), then one trainStep of
 * SGD-momentum from the same weights and what it changed, on the backend in use. */
async function oneStep(model: ModelConfigInput, batch: number): Promise<StepFigures> {
  const t0 = performance.now();
  const m = buildModel(model, SHAPE, 10, 1);
  const opt = makeOptimizer({ name: 'sgd', lr: LR, momentum: 0.9, nesterov: false, weightDecay: 0 });
  const b = randomBatch(SHAPE, batch);
  try {
    const x = tf.tensor4d(b.x, [b.n, ...SHAPE]);
    const y = tf.tensor1d(b.y, 'int32');
    const { value, grads } = tf.variableGrads(() => crossEntropy(m.apply(x, { training: true, step: 0 }), y, 10), m.params.map((p) => p.variable));
    const loss = (await value.data())[0]!;
    const g = new Map<string, Float32Array>();
    for (const p of m.params) g.set(p.name, (await grads[p.variable.name]!.data()) as Float32Array);
    tf.dispose([x, y, value, ...Object.values(grads)]);
    const before = new Map<string, Float32Array>();
    for (const p of m.params) before.set(p.name, (await p.variable.data()) as Float32Array);
    const [l, k] = trainStep(m, opt, b, SHAPE, 10, LR, 0);
    const stepLoss = (await l.data())[0]!;
    tf.dispose([l, k]);
    const updates = new Map<string, Float32Array>();
    for (const p of m.params) {
      const after = (await p.variable.data()) as Float32Array;
      const w0 = before.get(p.name)!;
      updates.set(p.name, after.map((v, i) => v - w0[i]!));
    }
    return { loss, stepLoss, grads: g, updates, ms: performance.now() - t0 };
  } finally {
    m.dispose();
    opt.dispose();
  }
}

/** ||a - b|| / ||b||, or ||a - b|| (absolute) where b is all zero; and whether within tol. */
function compare(a: Float32Array, b: Float32Array, tol: number): { err: number; abs: boolean; ok: boolean } {
  let d = 0;
  let n = 0;
  let finite = true;
  for (let i = 0; i < b.length; i++) {
    if (!Number.isFinite(a[i]!)) finite = false;
    d += (a[i]! - b[i]!) ** 2;
    n += b[i]! ** 2;
  }
  if (a.length !== b.length) return { err: Infinity, abs: false, ok: false };
  if (n === 0) {
    const e = Math.sqrt(d);
    return { err: e, abs: true, ok: finite && e <= TOL.zeroAbs };
  }
  const e = Math.sqrt(d / n);
  return { err: e, abs: false, ok: finite && e <= tol };
}

type RefBackend = 'cpu' | 'wasm';
interface RefFile {
  backend: RefBackend;
  device: string;
  batch: number;
  cases: Record<string, { loss: number; stepLoss: number; ms: number; grads: Record<string, string>; updates: Record<string, string> }>;
}
const b64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const unb64 = (s: string) => {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

function refBackend(v: string | undefined): RefBackend {
  if (v === undefined || v === 'cpu') return 'cpu';
  if (v === 'wasm') return 'wasm';
  throw new Error(`--backend: "${v}" is not cpu or wasm`);
}

function pickCases(v: string | undefined) {
  if (!v) return CASES;
  const names = v.split(',').map((s) => s.trim());
  for (const n of names) if (!CASES.some((c) => c.name === n)) throw new Error(`--models: unknown model "${n}" (known: ${CASES.map((c) => c.name).join(', ')})`);
  return CASES.filter((c) => names.includes(c.name));
}

async function computeRef(backend: RefBackend, batch: number, cases: typeof CASES): Promise<RefFile> {
  const rb = await initBackend(backend);
  const out: RefFile = { backend, device: rb.device, batch, cases: {} };
  for (const c of cases) {
    const f = await oneStep(c.model, batch);
    const enc = (m: Map<string, Float32Array>) => Object.fromEntries([...m].map(([k, v]) => [k, b64(v)]));
    out.cases[c.name] = { loss: f.loss, stepLoss: f.stepLoss, ms: f.ms, grads: enc(f.grads), updates: enc(f.updates) };
    console.log(`${backend.padEnd(6)} ${c.name.padEnd(9)} loss ${f.loss.toFixed(6)} (batch ${batch}, ${(f.ms / 1000).toFixed(1)} s; ${rb.device})`);
  }
  return out;
}

async function step(refs: RefFile[]): Promise<number> {
  const allowSoftware = process.env.GPU_CHECK_ALLOW_SOFTWARE === '1';
  const ref = new Map<string, StepFigures & { backend: RefBackend; batch: number }>();
  for (const r of refs) {
    for (const [name, c] of Object.entries(r.cases)) {
      const dec = (o: Record<string, string>) => new Map(Object.entries(o).map(([k, v]) => [k, unb64(v)]));
      ref.set(name, { loss: c.loss, stepLoss: c.stepLoss, ms: c.ms, grads: dec(c.grads), updates: dec(c.updates), backend: r.backend, batch: r.batch });
    }
  }
  const todo = CASES.filter((c) => ref.has(c.name));
  console.log(`one training step (32x32x3, SGD momentum 0.9 lr ${LR}) on webgpu vs ${todo.map((c) => `${c.name} (batch ${ref.get(c.name)!.batch}) on ${ref.get(c.name)!.backend}`).join(', ')}`);
  console.log(`tolerance: loss ${TOL.lossRel} relative; each gradient and update ${TOL.gradRelL2} relative L2 (||gpu-ref||/||ref||); all-zero ones ${TOL.zeroAbs} absolute`);
  let be;
  try {
    be = await initBackend('webgpu');
  } catch (e) {
    console.log(`NO WEBGPU ADAPTER: ${(e as Error).message}`);
    console.log(JSON.stringify({ adapter: null, ok: false, error: (e as Error).message }));
    return 2;
  }
  console.log(`webgpu on ${be.device}`);
  if (be.adapter?.software && !allowSoftware) {
    console.log('NO HARDWARE ADAPTER: the webgpu backend only found a software adapter (set GPU_CHECK_ALLOW_SOFTWARE=1 to check on it anyway)');
    console.log(JSON.stringify({ adapter: { ...be.adapter, label: be.device }, ok: false, error: 'software adapter only' }));
    return 2;
  }
  let ok = true;
  const cases: Record<string, unknown> = {};
  for (const c of todo) {
    const r = ref.get(c.name)!;
    let got: StepFigures;
    try {
      got = await oneStep(c.model, r.batch);
    } catch (e) {
      ok = false;
      cases[c.name] = { ok: false, error: (e as Error).message };
      console.log(`webgpu ${c.name.padEnd(9)} FAILED: ${(e as Error).message}`);
      continue;
    }
    const lossErr = Math.abs(got.loss - r.loss) / Math.max(1, Math.abs(r.loss));
    const stepLossErr = Math.abs(got.stepLoss - r.stepLoss) / Math.max(1, Math.abs(r.stepLoss));
    const worst = (which: 'grads' | 'updates', tol: number) => {
      let w = { name: '', err: 0, abs: false };
      const bad: string[] = [];
      for (const [name, v] of r[which]) {
        const x = compare(got[which].get(name)!, v, tol);
        if (!x.ok) bad.push(`${name} ${x.err.toExponential(2)}${x.abs ? ' abs' : ''}`);
        if (!x.abs && x.err >= w.err) w = { name, err: x.err, abs: x.abs };
      }
      return { ...w, bad };
    };
    const g = worst('grads', TOL.gradRelL2);
    const u = worst('updates', TOL.updateRelL2);
    const caseOk = lossErr <= TOL.lossRel && stepLossErr <= TOL.lossRel && g.bad.length === 0 && u.bad.length === 0 && Number.isFinite(got.loss);
    ok &&= caseOk;
    cases[c.name] = {
      ok: caseOk, reference: r.backend, batch: r.batch, lossRef: r.loss, lossGpu: got.loss, lossRelErr: lossErr, stepLossRelErr: stepLossErr,
      worstGrad: { param: g.name, relL2: g.err }, worstUpdate: { param: u.name, relL2: u.err }, bad: [...g.bad, ...u.bad], msRef: Math.round(r.ms), msGpu: Math.round(got.ms),
    };
    console.log(
      `webgpu ${c.name.padEnd(9)} loss ${got.loss.toFixed(6)} (rel err ${lossErr.toExponential(2)}; trainStep's ${stepLossErr.toExponential(2)}), ` +
        `worst gradient ${g.name} ${g.err.toExponential(2)}, worst update ${u.name} ${u.err.toExponential(2)} over ${r.grads.size} parameters: ` +
        `${caseOk ? 'OK' : 'MISMATCH ' + [...g.bad, ...u.bad].slice(0, 5).join('; ')} (${(got.ms / 1000).toFixed(1)} s)`,
    );
  }
  console.log(ok ? 'step check: OK' : 'step check: FAILED');
  if (todo.length === 0) {
    ok = false;
    console.log('step check: no reference to compare with');
  }
  console.log(JSON.stringify({ adapter: { ...be.adapter, label: be.device }, tolerance: TOL, ok, cases }));
  return ok ? 0 : 1;
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  const batch = Number(flag(rest, '--batch') ?? 8);
  if (!(Number.isInteger(batch) && batch >= 2)) throw new Error('--batch: a whole number >= 2 (BatchNorm needs two images)');
  if (cmd === 'adapters') {
    await adapters();
    return 0;
  }
  if (cmd === 'ref') {
    const file = flag(rest, '--out');
    if (!file) throw new Error('ref: --out FILE is required');
    const r = await computeRef(refBackend(flag(rest, '--backend')), batch, pickCases(flag(rest, '--models')));
    fs.writeFileSync(file, JSON.stringify(r));
    return 0;
  }
  if (cmd === 'step') {
    const files = flag(rest, '--ref');
    const refs = files
      ? files.split(',').map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as RefFile)
      : [await computeRef(refBackend(flag(rest, '--backend')), batch, pickCases(flag(rest, '--models')))];
    return step(refs);
  }
  throw new Error('usage: gpu-check adapters | gpu-check ref --out FILE [--backend cpu|wasm] [--batch N] [--models M,...] | gpu-check step [--ref FILE,...] [--backend cpu|wasm] [--batch N] [--models M,...]');
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error((e as Error).stack ?? String(e));
    process.exit(1);
  },
);
