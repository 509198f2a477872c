// Browser tests' shared parts: `serve` (the built app) on a data dir, Debian's Chromium through
// playwright-core, screenshots under test-results/, and a store filled with finished runs without
// training them (so a page of 50 runs costs milliseconds, not minutes).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { MetricPoint } from '../../src/shared/api';
import { armRunConfig, planExperiment, type ExperimentFile } from '../../src/shared/experiments';
import { mustParseRunConfig } from '../../src/shared/config';
import { Store } from '../../src/store/store';
import { ROOT } from './trainer';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

export const SHOTS = path.join(ROOT, 'test-results');
export const SERVE = path.join(ROOT, 'out/main/serve.js');

export function findChromium(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];
  const found = candidates.find((p): p is string => !!p && fs.existsSync(p));
  if (!found) {
    throw new Error('No Chromium found for the browser tests: install it (Debian: apt-get install chromium) or set CHROMIUM_PATH to a Chromium/Chrome binary.');
  }
  return found;
}

/** `serve` on a data dir (port 0); resolves with the URL it prints (token included). */
export async function startServe(dataDir: string, o: { env?: Record<string, string>; args?: string[] } = {}): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  if (!fs.existsSync(SERVE)) throw new Error(`${SERVE} is missing: build first (npm test does: electron-vite build)`);
  const child = spawn(process.execPath, [SERVE, '--data-dir', dataDir, '--port', '0', ...(o.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL:\n${out}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Open: (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-zA-Z_-]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited (${code}):\n${out}`)));
  });
  return { child, url, output: () => out };
}

export async function stopServe(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

/** Chromium and one page (1440x900 unless told), downloads accepted. */
export async function openBrowser(viewport = { width: 1440, height: 900 }): Promise<{ browser: Browser; page: Page }> {
  fs.mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: findChromium(),
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  return { browser, page: await context.newPage() };
}

/** A full-page screenshot to test-results/<name>.png (look at it). */
export function shot(page: Page, name: string): Promise<Buffer> {
  return page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** One element's screenshot to test-results/<name>.png. */
export function shotOf(page: Page, selector: string, name: string): Promise<Buffer> {
  return page.locator(selector).first().screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

export interface SeedCurve {
  /** Final validation accuracy the curve rises to. */
  acc: number;
  epochs?: number;
  /** Per-step train/loss points per epoch (0: none). */
  stepsPerEpoch?: number;
}

function curve(runSeed: number, c: SeedCurve, t0: number): MetricPoint[] {
  const epochs = c.epochs ?? 5;
  const spe = c.stepsPerEpoch ?? 10;
  const pts: MetricPoint[] = [];
  const wiggle = (i: number) => 0.004 * Math.sin(i * 1.7 + runSeed);
  for (let e = 1; e <= epochs; e++) {
    const frac = 1 - Math.exp((-3 * e) / epochs);
    const time = t0 + e * 10_000;
    for (let s = 1; s <= spe; s++) {
      const step = (e - 1) * spe + s;
      pts.push({ key: 'train/loss', step, epoch: e - 1 + s / spe, value: 2.3 * Math.exp((-2 * step) / (epochs * spe)) + 0.2 + wiggle(step), time: t0 + step * (10_000 / spe) });
      pts.push({ key: 'train/lr', step, epoch: e - 1 + s / spe, value: Math.fround(0.01), time: t0 + step * (10_000 / spe) });
    }
    const step = e * spe;
    pts.push({ key: 'val/acc', step, epoch: e, value: 0.1 + (c.acc - 0.1) * frac + wiggle(e), time });
    pts.push({ key: 'val/loss', step, epoch: e, value: 2.3 * (1 - frac) + 0.3 + wiggle(e), time });
    pts.push({ key: 'train/acc', step, epoch: e, value: 0.1 + (c.acc + 0.03 - 0.1) * frac, time });
    pts.push({ key: 'time/epoch_s', step, epoch: e, value: 10, time });
  }
  return pts;
}

/** The test evaluation a finished run leaves: `images` predictions, about `acc` of them right
 * (deterministic per run: a small LCG), best and last checkpoint alike. */
function evaluate(store: Store, runId: number, acc: number, epochs: number, images = 500): void {
  let x = runId * 2654435761 >>> 0;
  const rand = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const right = Array.from({ length: images }, () => rand() < acc);
  const c = right.filter(Boolean).length;
  store.evaluations.save(runId, {
    evaluations: (['best', 'last'] as const).map((checkpoint) => ({ checkpoint, epoch: epochs, step: epochs * 10, n: images, loss: 1 - c / images, acc: c / images, top5: null, confusion: [[c, images - c], [0, 0]], perClass: [1, 0] })),
    classNames: ['a', 'b'],
    imageShape: [1, 1, 1],
    predictions: right.map((ok, index) => ({ index, label: 0, pred: ok ? 0 : 1, confidence: 0.5, image: null })),
  });
  store.addMetrics(runId, [
    { key: 'test/acc', step: epochs * 10, epoch: epochs, value: c / images, time: Date.now() },
    { key: 'test/loss', step: epochs * 10, epoch: epochs, value: 1 - c / images, time: Date.now() },
  ]);
}

/** A store with finished runs, as training would have left them (configs, curves, status):
 * experiments (every arm x seed) and loose runs. Close it before starting `serve` on the dir. */
export function seedStore(dataDir: string, o: { experiments?: { file: ExperimentFile; acc: (arm: string, seed: number) => number; curve?: Omit<SeedCurve, 'acc'> }[]; runs?: { config: Record<string, unknown>; curve: SeedCurve; status?: 'completed' | 'failed' | 'cancelled' }[] }): { experimentIds: number[]; runIds: number[] } {
  const store = new Store(dataDir);
  const experimentIds: number[] = [];
  const runIds: number[] = [];
  try {
    for (const e of o.experiments ?? []) {
      const r = planExperiment(e.file, BUILTIN_FACTS);
      if (!r.ok) throw new Error(`seedStore: ${JSON.stringify(r.errors)}`);
      const info = store.experiments.create(r.plan);
      experimentIds.push(info.id);
      for (const seed of info.seeds) {
        for (const arm of info.arms) {
          const planned = r.plan.arms[arm.position]!;
          const run = store.createRun(armRunConfig(r.plan.file, planned, seed, null, BUILTIN_FACTS), 'running');
          store.experiments.link(run.id, info.id, arm.id);
          const acc = e.acc(arm.name, seed);
          store.addMetrics(run.id, curve(run.id, { ...e.curve, acc }, Date.now()));
          evaluate(store, run.id, acc, e.curve?.epochs ?? 5);
          store.finishRun(run.id, 'completed');
          runIds.push(run.id);
        }
      }
    }
    for (const spec of o.runs ?? []) {
      const run = store.createRun(mustParseRunConfig(spec.config, BUILTIN_FACTS), 'running');
      store.addMetrics(run.id, curve(run.id, spec.curve, Date.now()));
      if ((spec.status ?? 'completed') === 'completed') evaluate(store, run.id, spec.curve.acc, spec.curve.epochs ?? 5);
      store.finishRun(run.id, spec.status ?? 'completed');
      runIds.push(run.id);
    }
  } finally {
    store.close();
  }
  return { experimentIds, runIds };
}
