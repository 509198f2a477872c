// `npm run bench -- --suite store`: the tracking side, in a fresh data dir.
// - ingest: metric points written as trainers write them (batches of 200 per transaction), points/s;
// - compare load: a 50-run x 5,000-point comparison (2 arms x 25 seeds, 3 curves of 5,000 epochs
//   each) through the handlers the UI calls (summary + aligned histories, JSON-encoded as on the
//   wire), ms;
// - render: the same experiment's page in Chromium (`npm run serve`'s server, Debian's chromium),
//   ms from opening it (in-app navigation, the app already loaded) to the first chart drawn and
//   to every chart drawn;
// - export: 1,000,000 history rows to CSV, streamed, s, and the export's growth of the heap.
// Targets (issue 6): ingest > 100,000 points/s, comparison ready < 1 s, export < 5 s.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MetricPoint } from '../src/shared/api';
import { planExperiment } from '../src/shared/experiments';
import { Store } from '../src/store/store';
import { summarize } from '../src/main/services/compare';
import { writeHistoriesCsv } from '../src/main/services/export';
import { BUILTIN_FACTS } from '../src/shared/models/datasets';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function findChromium(): string | null {
  for (const c of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) if (c && fs.existsSync(c)) return c;
  return null;
}

function points(n: number, key: string, t0: number, f: (i: number) => number, epochBased = true): MetricPoint[] {
  return Array.from({ length: n }, (_, i) => ({ key, step: (i + 1) * 10, epoch: epochBased ? i + 1 : (i + 1) / 10, value: f(i), time: t0 + i * 50 }));
}

/** 2 arms x 25 seeds, each run with val/acc, val/loss and train/loss over 5,000 epochs. */
export function buildComparison(store: Store, runsN: number, perRun: number): number {
  const plan = planExperiment({ name: 'bench', baseline: { dataset: { name: 'synthetic' }, epochs: perRun }, arms: [{ name: 'smoothing', set: { 'tricks.labelSmoothing': { epsilon: 0.1 } } }], seeds: Array.from({ length: runsN / 2 }, (_, i) => i + 1) }, BUILTIN_FACTS);
  if (!plan.ok) throw new Error(JSON.stringify(plan.errors));
  const info = store.experiments.create(plan.plan);
  for (const seed of info.seeds) {
    for (const arm of info.arms) {
      const r = store.createRun({ ...plan.plan.arms[arm.position]!.config, seed }, 'running');
      store.experiments.link(r.id, info.id, arm.id);
      const t0 = Date.now();
      const lift = arm.role === 'arm' ? 0.01 : 0;
      store.addMetrics(r.id, [
        ...points(perRun, 'val/acc', t0, (i) => 0.9 - 0.5 * Math.exp(-i / 500) + lift + 0.01 * Math.sin(i + seed)),
        ...points(perRun, 'val/loss', t0, (i) => 0.3 + 2 * Math.exp(-i / 500) + 0.02 * Math.cos(i * seed)),
        ...points(perRun, 'train/loss', t0, (i) => 0.2 + 2 * Math.exp(-i / 400)),
        ...points(perRun, 'time/epoch_s', t0, () => 1),
      ]);
      store.finishRun(r.id, 'completed');
    }
  }
  return info.id;
}

async function renderInChromium(dataDir: string, experimentId: number): Promise<{ first: number; all: number; charts: number } | string> {
  const exe = findChromium();
  if (!exe) return 'skipped: no Chromium (apt-get install chromium, or set CHROMIUM_PATH)';
  // The source's out/main/serve.js, or the bundle's (this module is one of its chunks).
  const here = path.dirname(fileURLToPath(import.meta.url));
  const serve = [path.join(ROOT, 'out/main/serve.js'), path.join(here, 'serve.js'), path.join(here, '..', 'serve.js')].find((f) => fs.existsSync(f));
  if (!serve) return 'skipped: out/main/serve.js missing (npm run build first)';
  const pw = await import('playwright-core').catch(() => null);
  if (!pw) return 'skipped: playwright-core (a dev dependency) is not installed';
  const { chromium } = pw;
  const child = spawn(process.execPath, [serve, '--data-dir', dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`serve printed no URL: ${out}`)), 30_000);
      const on = (d: Buffer) => {
        out += d.toString();
        const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-zA-Z_-]+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      child.stdout.on('data', on);
      child.stderr.on('data', on);
    });
    const browser = await chromium.launch({ executablePath: exe, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await page.goto(url); // token cookie + app shell loaded once, as a user has it open
      await page.waitForSelector('nav');
      // In-app navigation, as from the Experiments list: the app and the runs list are loaded.
      await page.waitForLoadState('networkidle'); // the app and its runs list are loaded
      const t0 = performance.now();
      await page.evaluate((id) => {
        (globalThis as unknown as { location: { hash: string } }).location.hash = `#/experiments/${id}`;
      }, experimentId);
      await page.waitForSelector('.band-chart[data-drawn="true"]', { timeout: 60_000 });
      const first = performance.now() - t0;
      // (a function, not a string: the page's CSP forbids eval)
      await page.waitForFunction(
        () => {
          type Doc = { querySelectorAll(s: string): ArrayLike<{ getAttribute(a: string): string | null }> };
          const d = (globalThis as unknown as { document: Doc }).document;
          return Array.from(d.querySelectorAll('.band-chart')).filter((e) => e.getAttribute('data-drawn') === 'true').length >= 4;
        },
        undefined,
        { timeout: 60_000 },
      );
      const all = performance.now() - t0;
      return { first, all, charts: await page.locator('.band-chart').count() };
    } finally {
      await browser.close();
    }
  } finally {
    child.kill('SIGTERM');
  }
}

/** An experiment of `arms` arms x `seeds` seeds, each run completed with `images` test predictions
 * (about 90% right, at random) and an epoch time. */
function buildPredictionsExperiment(store: Store, arms: number, seeds: number, images: number): number {
  const base = planOk().file.baseline;
  const r = planExperiment({ name: 'statistics', baseline: base, arms: Array.from({ length: arms - 1 }, (_, i) => ({ name: `arm ${i + 1}`, set: { 'optimizer.lr': 0.01 * (i + 2) } })), seeds: Array.from({ length: seeds }, (_, i) => i + 1) }, BUILTIN_FACTS);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const info = store.experiments.create(r.plan);
  for (const seed of info.seeds) {
    for (const arm of info.arms) {
      const run = store.createRun({ ...r.plan.arms[0]!.config, seed }, 'running');
      store.experiments.link(run.id, info.id, arm.id);
      const right = Array.from({ length: images }, () => Math.random() < 0.9);
      const c = right.filter(Boolean).length;
      store.addMetrics(run.id, [{ key: 'time/epoch_s', step: 1, epoch: 1, value: 10, time: 0 }]);
      store.evaluations.save(run.id, {
        evaluations: (['best', 'last'] as const).map((checkpoint) => ({ checkpoint, epoch: 1, step: 1, n: images, loss: 1, acc: c / images, top5: null, confusion: [[c, images - c], [0, 0]], perClass: [1, 0] })),
        classNames: ['a', 'b'],
        imageShape: [1, 1, 1],
        predictions: right.map((ok, index) => ({ index, label: 0, pred: ok ? 0 : 1, confidence: 0.5, image: null })),
      });
      store.finishRun(run.id, 'completed');
    }
  }
  return info.id;
}

export async function benchStore(): Promise<Record<string, number | string | null>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-bench-store-'));
  const out: Record<string, number | string | null> = {};
  const store = new Store(dir);
  try {
    // Ingest: 1,000,000 points in trainer-sized batches (one transaction each).
    const total = 1_000_000;
    const batch = 200;
    const run = store.createRun(planOk().arms[0]!.config, 'running');
    const t0 = performance.now();
    for (let b = 0; b < total / batch; b++) {
      const pts: MetricPoint[] = [];
      for (let i = 0; i < batch; i++) {
        const step = b * batch + i;
        pts.push({ key: 'train/loss_step', step, epoch: step / 1000, value: Math.random(), time: Date.now() });
      }
      store.addMetrics(run.id, pts);
    }
    const ingestS = (performance.now() - t0) / 1000;
    out.ingestPointsPerSec = Math.round(total / ingestS);
    console.log(`ingest: ${total.toLocaleString()} points in batches of ${batch}: ${ingestS.toFixed(2)} s, ${out.ingestPointsPerSec.toLocaleString()} points/s (target > 100,000)`);

    // Export: the same 1,000,000 rows, streamed.
    const file = path.join(dir, 'histories.csv');
    global.gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    let heapMax = heap0;
    const timer = setInterval(() => (heapMax = Math.max(heapMax, process.memoryUsage().heapUsed)), 20);
    const t1 = performance.now();
    await writeHistoriesCsv(store, [run.id], fs.createWriteStream(file));
    clearInterval(timer);
    const exportS = (performance.now() - t1) / 1000;
    out.export1MRowsS = Math.round(exportS * 100) / 100;
    out.exportHeapGrowthMB = Math.round((heapMax - heap0) / 2 ** 20);
    console.log(`export: ${total.toLocaleString()} history rows to CSV (${(fs.statSync(file).size / 2 ** 20).toFixed(0)} MB): ${exportS.toFixed(2)} s, heap grew by at most ${out.exportHeapGrowthMB} MB (target < 5 s)`);
    store.deleteRun(run.id);

    // A 50-run x 5,000-point comparison.
    const expId = buildComparison(store, 50, 5000);
    // As the page asks for it: the summary, then the aligned curves (float32, base64 on the wire).
    const b64 = (f: Float32Array) => Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
    const t2 = performance.now();
    const summary = summarize(store, { experimentId: expId });
    const ids = summary.arms.flatMap((a) => a.runs.map((r) => r.runId));
    let wire = JSON.stringify(summary).length;
    const tKey = performance.now();
    const one = store.alignedHistory(ids, 'val/acc');
    wire += JSON.stringify({ ...one, values: one.values.map(b64), elapsed: null }).length;
    const oneKeyMs = performance.now() - tKey;
    for (const k of ['val/loss', 'train/loss']) {
      const h = store.alignedHistory(ids, k);
      wire += JSON.stringify({ ...h, values: h.values.map(b64), elapsed: null }).length;
    }
    const loadMs = performance.now() - t2;
    out.compareLoadMs = Math.round(loadMs);
    out.compareOneCurveMs = Math.round(oneKeyMs);
    console.log(`comparison: 50 runs x 5,000 points, summary + 3 aligned curves as sent (${(wire / 2 ** 20).toFixed(1)} MB): ${loadMs.toFixed(0)} ms; one curve (250,000 points): ${oneKeyMs.toFixed(0)} ms (target < 1,000)`);

    // The statistics of a large experiment: 8 arms x 50 seeds, 10,000 test predictions per run
    // (McNemar per seed and the test-sample error read them all); cold, then as refreshed.
    const big = buildPredictionsExperiment(store, 8, 50, 10_000);
    const t3 = performance.now();
    summarize(store, { experimentId: big });
    const coldMs = performance.now() - t3;
    const t4 = performance.now();
    summarize(store, { experimentId: big });
    const warmMs = performance.now() - t4;
    out.summary400RunsColdMs = Math.round(coldMs);
    out.summary400RunsWarmMs = Math.round(warmMs);
    console.log(`statistics: 8 arms x 50 seeds with 10,000 test predictions each: summary ${coldMs.toFixed(0)} ms the first time, ${warmMs.toFixed(0)} ms refreshed`);
    store.close();

    const r = await renderInChromium(dir, expId);
    if (typeof r === 'string') {
      out.renderFirstChartMs = null;
      console.log(`render: ${r}`);
    } else {
      out.renderFirstChartMs = Math.round(r.first);
      out.renderAllChartsMs = Math.round(r.all);
      console.log(`render in Chromium: the experiment page, first chart drawn after ${r.first.toFixed(0)} ms, all ${r.charts} charts after ${r.all.toFixed(0)} ms (target < 1,000)`);
    }
    return out;
  } finally {
    try {
      store.close();
    } catch {
      /* closed */
    }
    if (!process.env.TRICKBENCH_BENCH_KEEP) fs.rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

function planOk() {
  const p = planExperiment({ name: 'ingest', baseline: { dataset: { name: 'synthetic' } }, arms: [{ name: 'a', set: {} }], seeds: [1] }, BUILTIN_FACTS);
  if (!p.ok) throw new Error('bad bench plan');
  return p.plan;
}
