// End to end in a real browser: `serve` (the built app), Debian's Chromium driven by
// playwright-core. Two runs from the form with different learning rates, compare, CSV export,
// bad input at the form; a screenshot of every page goes to test-results/.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import { tmpDataDir } from '../helpers/tmp';
import { writeImageFolder, writeUndecodable } from '../helpers/dataset-fixtures';
import { writeFakeFashion } from '../helpers/datasets';
import { TestFileServer } from '../helpers/http-server';
import { findChromium, SHOTS, startServe as startServeOn } from '../helpers/e2e';
import type { ArmSummary, ComparisonSummary, VerdictKind } from '../../src/shared/experiments';
import { mde, seedsNeeded } from '../../src/shared/inference';

let tmp: ReturnType<typeof tmpDataDir>;
let server: ChildProcess;
let url: string;
let browser: Browser;
let page: Page;

/** A stand-in `nvidia-smi` listing a GPU that nothing here can use: every run's page must warn. */
const FAKE_GPU = 'Test GPU 9000';
function fakeNvidiaSmi(dir: string): string {
  const bin = path.join(dir, 'fake-bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, 'nvidia-smi'), `#!/bin/sh\necho "GPU 0: ${FAKE_GPU} (UUID: GPU-00000000-0000-0000-0000-000000000000)"\n`, { mode: 0o755 });
  return bin;
}

/** Datasets for the Datasets page: an image folder in a stand-in system dir, and KMNIST's four
 * files on a local mirror (TRICKBENCH_DOWNLOAD_CATALOG), served slowly enough to watch and cancel. */
const mirror = new TestFileServer();
async function datasetEnv(dir: string): Promise<Record<string, string>> {
  const system = path.join(dir, 'system-datasets');
  await writeImageFolder(path.join(system, 'flowers'), { classes: { daisy: 6, rose: 6, tulip: 6 }, size: 24, formats: ['jpg'] });
  // The presets train on Fashion-MNIST: a small stand-in (their runs are cancelled at once).
  writeFakeFashion(path.join(system, 'fashion-mnist'), 200, 50);
  // Random pixels: a 2.4 MB download that gzip cannot shrink.
  const src = path.join(dir, 'mirror-src');
  writeFakeFashion(src, 3000, 500);
  await mirror.listen();
  const names = fs.readdirSync(src).sort();
  for (const n of names) mirror.files.set(`/kmnist/${n}`, fs.readFileSync(path.join(src, n)));
  mirror.misbehave('/kmnist/train-images-idx3-ubyte.gz', { chunkDelayMs: 150, chunkBytes: 2048 });
  const catalog = path.join(dir, 'catalog.json');
  const md5 = (n: string) => crypto.createHash('md5').update(fs.readFileSync(path.join(src, n))).digest('hex');
  fs.writeFileSync(
    catalog,
    JSON.stringify([
      { id: 'kmnist', title: 'Kuzushiji-MNIST', format: 'idx', homepage: '', citation: '', files: names.map((n) => ({ name: n, urls: [mirror.url(`/kmnist/${n}`)], md5: md5(n), bytes: fs.statSync(path.join(src, n)).size })) },
    ]),
  );
  return { TRICKBENCH_SYSTEM_DATASETS: system, TRICKBENCH_DOWNLOAD_CATALOG: catalog };
}

async function startServe(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const env = { ...(await datasetEnv(dataDir)), PATH: `${fakeNvidiaSmi(dataDir)}${path.delimiter}${process.env.PATH ?? ''}` };
  return startServeOn(dataDir, { env });
}

/** A real comparison summary blown up to 8 arms x 50 seeds for the layout test: every verdict
 * kind, long arm names, failed seeds, a load warning, an arm outside the family. */
function bigSummary(real: ComparisonSummary): ComparisonSummary {
  const SEEDS = Array.from({ length: 50 }, (_, i) => i + 1);
  const template = real.arms.find((a) => a.paired)!;
  const runIds = real.arms.flatMap((a) => a.runs.map((r) => r.runId));
  const runsOf = (k: number) => SEEDS.map((seed, i) => ({ ...template.runs[0]!, runId: runIds[(k * 50 + i) % runIds.length]!, seed }));
  const names = [
    'smoothing',
    'mixup α=0.2 + label smoothing 0.1 + cosine schedule with a 5-epoch warm-up',
    'R-Drop',
    'RePr (prune 30%, 3 cycles)',
    'cutout 16 px',
    'SWA from epoch 150',
    'dropout 0.3 + R-Drop α=0.5',
  ];
  const kinds: [VerdictKind, string][] = [
    ['better', 'better'],
    ['worse', 'worse'],
    ['equivalent', 'equivalent within ±0.50'],
    ['undecided', 'not decided: ~64 seeds for 0.30 (the effect seen so far)'],
    ['identical', 'identical gain in every seed (n = 50)'],
    ['no-data', 'no paired seeds'],
    ['undecided', 'not decided: over 1000 seeds for that effect (exploratory)'],
  ];
  const baseline: ArmSummary = { ...real.arms[0]!, runs: runsOf(0), n: 50, completion: { completed: 50, total: 50, text: '50 of 50 completed' } };
  const arms = names.map((name, i): ArmSummary => {
    const [kind, text] = kinds[i]!;
    const p = template.paired!;
    const n = kind === 'no-data' ? 0 : i === 1 ? 48 : 50;
    const d = [0.012, -0.021, 0.0004, 0.003, 0.01, 0, 0.002][i]!;
    return {
      ...template,
      name,
      runs: runsOf(i + 1),
      n,
      mean: kind === 'no-data' ? null : (baseline.mean ?? 0.5) + d,
      completion: i === 1 ? { completed: 48, total: 50, text: '48 of 50 completed: seed 3 diverged at epoch 2; seed 17 failed: out of memory' } : { completed: n, total: 50, text: `${n} of 50 completed` },
      failsWhereReferenceDoesNot: i === 1 ? [3, 17] : [],
      confirmatory: i !== 6,
      verdict: { kind, text, seedsNeeded: kind === 'undecided' && i === 3 ? 64 : null },
      cost: { ...template.cost, wall: { ratio: 1 + i / 10, min: 0.91 + i / 10, max: 1.12 + i / 10, n: 50 }, loadWarnings: i === 2 ? ['seed 4: R-Drop ran beside 1 other run, baseline beside 0'] : [] },
      paired:
        kind === 'no-data'
          ? { ...p, n: 0, delta: null, sdDelta: null, ci95: null, pTTest: null, pWilcoxon: null, tTestNote: 'no paired seeds', wilcoxonNote: 'no paired seeds', betterIn: 0, worseIn: 0, tiedIn: 0, pAdjusted: null, cs: null, bootstrap: null, tost: null, signP: null, pBetter: null, mcnemar: null, mde80: null }
          : {
              ...p,
              n,
              delta: d,
              identical: kind === 'identical',
              ci95: [d - 0.004, d + 0.004],
              cs: i === 5 ? [-Infinity, Infinity] : [d - 0.009, d + 0.009],
              pTTest: 0.0004 * (i + 1),
              pAdjusted: i === 6 ? null : Math.min(1, 0.0024 * (i + 1)),
              betterIn: 30,
              worseIn: 15,
              tiedIn: n - 45,
              signP: 0.036,
              pBetter: { estimate: 0.65, ci: [0.5, 0.78] },
              mcnemar: SEEDS.map((seed) => ({ seed, armOnly: 40 + (seed % 7), refOnly: 31 + (seed % 5), p: seed % 9 === 0 ? 0.03 : 0.41 })),
              mde80: 0.0031,
            },
    };
  });
  return { ...real, arms: [baseline, ...arms], analysis: { ...real.analysis, family: names.slice(0, 6) } };
}

const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
/** One element of the page, out of the way of the sticky top bar (a full-page shot, clipped). */
async function shotOf(selector: string, name: string, until = selector): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0));
  const b = (await page.locator(selector).first().boundingBox())!;
  const e = (await page.locator(until).first().boundingBox())!;
  const y = Math.max(0, b.y - 8);
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true, clip: { x: 0, y, width: 1280, height: e.y + e.height + 8 - y } });
}

async function fillRunForm(values: Record<string, string>) {
  for (const [field, value] of Object.entries(values)) await page.fill(`input[data-field="${field}"]`, value);
}

/** Pixels of the chart's canvas close to the colour (hex), counted in the page. */
async function colourPixels(metric: string, hex: string): Promise<number> {
  return page.evaluate(
    ([m, h]) => {
      const canvas = document.querySelector(`.metric-chart[data-metric="${m}"] canvas`) as HTMLCanvasElement;
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      const rgb = [1, 3, 5].map((i) => parseInt(h!.slice(i, i + 2), 16));
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i]! - rgb[0]!) + Math.abs(data[i + 1]! - rgb[1]!) + Math.abs(data[i + 2]! - rgb[2]!) < 40 && data[i + 3]! > 200) n++;
      }
      return n;
    },
    [metric, hex] as const,
  );
}

beforeAll(async () => {
  const executablePath = findChromium();
  fs.mkdirSync(SHOTS, { recursive: true });
  tmp = tmpDataDir('tb-e2e-');
  ({ child: server, url } = await startServe(tmp.dir));
  browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  page = await context.newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  await new Promise((r) => server?.once('exit', r) ?? r(null));
  await mirror.close();
  tmp?.cleanup();
});

describe('Trickbench in a browser', () => {
  it('refuses requests without the token', async () => {
    const origin = new URL(url).origin;
    const res = await fetch(`${origin}/api/invoke/runs:list`, { method: 'POST', body: 'null', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(401);
    const ok = await fetch(`${origin}/api/invoke/runs:list`, { method: 'POST', body: 'null', headers: { 'content-type': 'application/json', 'x-trickbench-token': new URL(url).searchParams.get('token')! } });
    expect(await ok.json()).toEqual({ ok: true, value: [] });
  });

  it('shows the empty runs list, and the form refuses bad input at the field', async () => {
    await page.goto(url);
    await page.waitForSelector('text=No runs yet');
    await shot('01-runs-empty');
    await page.click('nav >> text=New run');
    await page.waitForSelector('input[data-field="optimizer.lr"]');
    await fillRunForm({ epochs: '-1', 'optimizer.lr': 'abc' });
    await page.click('button:has-text("Start run")');
    await expect.poll(() => page.textContent('.field-error[data-field="epochs"]')).toContain('must be >= 1, got -1');
    expect(await page.textContent('.field-error[data-field="optimizer.lr"]')).toContain('expected a number, got "abc"');
    await shot('02-new-run-errors');
    // R-Drop on a model without dropout is refused at the trick's checkbox; its options show once ticked.
    await fillRunForm({ epochs: '2', 'optimizer.lr': '0.05' });
    expect(await page.locator('[data-field="tricks.rdrop.alpha"]').count()).toBe(0);
    await page.check('input[data-field="tricks.rdrop"]');
    await page.check('input[data-field="tricks.labelSmoothing"]');
    expect(await page.inputValue('input[data-field="tricks.rdrop.alpha"]')).toBe('0.3');
    expect(await page.inputValue('input[data-field="tricks.labelSmoothing.epsilon"]')).toBe('0.1');
    expect(await page.isDisabled('#fp16')).toBe(true);
    await expect.poll(() => page.textContent('.field-error[data-field="tricks.rdrop"]')).toContain('R-Drop needs dropout');
    await page.locator('fieldset[data-section="tricks"]').screenshot({ path: path.join(SHOTS, '02b-new-run-tricks.png') });
    await page.uncheck('input[data-field="tricks.rdrop"]');
    await page.uncheck('input[data-field="tricks.labelSmoothing"]');
    // An unknown model, pasted as JSON, is named at model.name.
    await page.click('[data-action="toggle-json"]');
    const json = JSON.parse(await page.inputValue('#config-json')) as Record<string, unknown>;
    await page.fill('#config-json', JSON.stringify({ ...json, model: { name: 'vgg' } }));
    await page.click('button:has-text("Start run")');
    await expect.poll(() => page.textContent('.field-error[data-field="model.name"]')).toContain('unknown model "vgg"');
    await shot('03-new-run-json-error');
    const list = await fetch(`${new URL(url).origin}/api/invoke/runs:list?token=${new URL(url).searchParams.get('token')}`, { method: 'POST', body: 'null', headers: { 'content-type': 'application/json' } });
    expect(((await list.json()) as { value: unknown[] }).value).toHaveLength(0); // nothing was started
  });

  it('starts two runs from the form with different learning rates and watches them finish', async () => {
    for (const lr of ['0.05', '0.01']) {
      await page.click('nav >> text=Runs');
      await page.click('nav >> text=New run');
      await page.waitForSelector('input[data-field="optimizer.lr"]');
      await fillRunForm({ name: `lr ${lr}`, 'dataset.trainSubset': '800', 'dataset.valSplit': '0.2', 'model.width': '8', epochs: '3', batchSize: '32', 'optimizer.lr': lr });
      await shot(`04-new-run-lr-${lr}`);
      await page.click('button:has-text("Start run")');
      await page.waitForURL(/#\/runs\/\d+$/);
      if (lr === '0.05') {
        // The run page while training: status, progress and curves update live.
        await page.waitForSelector('.badge[data-status="running"]', { timeout: 60_000 });
        await page.click('button:has-text("step")');
        await expect.poll(async () => JSON.parse((await page.getAttribute('.metric-chart[data-metric]', 'data-points')) ?? '[]').length, { timeout: 60_000 }).toBeGreaterThan(0);
        await shot('04b-run-page-live');
        await page.click('button:has-text("epoch")');
      }
    }
    // The second run's page: live while queued/running, then completed with curves.
    await page.waitForSelector('.badge[data-status="completed"]', { timeout: 240_000 });
    await page.waitForSelector('.metric-chart[data-metric] canvas');
    // nvidia-smi (a stand-in here) lists a GPU the trainer could not use: said next to the backend.
    await expect.poll(async () => page.locator('[data-testid="backend-warning"]').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`nvidia-smi reports ${FAKE_GPU}`))]),
    );
    await shot('05-run-page');
    await page.click('nav >> text=Runs');
    await expect.poll(async () => page.locator('tr[data-run-id] .badge[data-status="completed"]').count(), { timeout: 240_000 }).toBe(2);
    await shot('06-runs-list');
  });

  it('compares them: both curves drawn, the lr difference highlighted, final metrics', async () => {
    await page.check('input[aria-label="select run 1"]');
    await page.check('input[aria-label="select run 2"]');
    await page.click('button:has-text("Compare selected")');
    await page.waitForURL(/#\/compare\?ids=1(,|%2C)2/);
    const chart = page.locator('.metric-chart[data-metric="val/acc"]');
    await chart.waitFor();
    await expect.poll(async () => JSON.parse((await chart.getAttribute('data-points')) ?? '[]') as number[]).toEqual([3, 3]);
    const series = JSON.parse((await chart.getAttribute('data-series'))!) as string[];
    expect(series).toHaveLength(2);
    expect(series[0]).toContain('#1');
    expect(series[1]).toContain('#2');
    // Both series are really drawn: each run's colour covers pixels of the canvas.
    const colours = JSON.parse((await chart.getAttribute('data-colors'))!) as string[];
    expect(new Set(colours).size).toBe(2);
    for (const c of colours) expect(await colourPixels('val/acc', c), c).toBeGreaterThan(20);
    expect(await page.getAttribute('tr[data-key="optimizer.lr"]', 'class')).toContain('diff');
    expect(await page.getAttribute('tr[data-key="model.name"]', 'class')).not.toContain('diff');
    // The selection as arms: two configs (lr), one seed each: paired, but no test at n=1. The arms
    // are named after their runs ('lr 0.05' is the first selected, the baseline).
    await expect.poll(() => page.locator('[data-testid="arm-summary"] tr[data-arm]').count()).toBe(2);
    expect(await page.textContent('[data-testid="arm-summary"] tr[data-arm="lr 0.01"] [data-col="p"]')).toContain('n=1: needs at least 2 seeds');
    expect(await page.textContent('[data-testid="arm-summary"] tr[data-arm="lr 0.01"] [data-col="verdict"]')).toMatch(/not decided|identical|no difference|better|worse/);
    expect(await page.textContent('[data-testid="arm-summary"] tr[data-arm="lr 0.05"] [data-col="verdict"]')).toContain('reference');
    await shot('07-compare');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Export runs CSV")')]);
    const file = path.join(tmp.dir, 'runs.csv');
    await download.saveAs(file);
    const rows = parse(fs.readFileSync(file), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => [r.id, r.name, r.status, r['config.optimizer.lr']])).toEqual([
      ['1', 'lr 0.05', 'completed', '0.05'],
      ['2', 'lr 0.01', 'completed', '0.01'],
    ]);
    for (const r of rows) expect(Number(r.test_acc)).toBeGreaterThan(0);

    const [hdl] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Export histories CSV")')]);
    const hfile = path.join(tmp.dir, 'hist.csv');
    await hdl.saveAs(hfile);
    const hist = parse(fs.readFileSync(hfile), { columns: true }) as Record<string, string>[];
    expect(new Set(hist.map((h) => h.run_id))).toEqual(new Set(['1', '2']));
    // 640 training images / 32 = 20 steps per epoch, 3 epochs, for each run.
    expect(hist.filter((h) => h.key === 'train/loss_step')).toHaveLength(120);
  });

  it('shows the test evaluation on the run page: confusion matrix and test images', async () => {
    await page.evaluate(() => (window.location.hash = '#/runs/1'));
    await page.waitForSelector('[data-section="evaluation"] .cm');
    expect(await page.locator('.cm td.cell').count()).toBe(100); // 10 x 10 classes
    expect(await page.locator('.cm td.cell.diag').count()).toBe(10);
    const counts = await page.locator('.cm td.cell').allTextContents();
    expect(counts.reduce((a, c) => a + Number(c.trim()), 0)).toBe(2000); // every synthetic test image
    // The grid: most confidently wrong first, each image drawn from its stored pixels.
    await expect.poll(() => page.locator('.prediction').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    expect(await page.locator('.prediction.right').count()).toBe(0);
    const drawn = await page.evaluate(() => {
      const c = document.querySelector('.prediction canvas') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      return { w: c.width, distinct: new Set(Array.from({ length: d.length / 4 }, (_, i) => d[4 * i]! * 65536 + d[4 * i + 1]! * 256 + d[4 * i + 2]!)).size };
    });
    expect(drawn.w).toBe(96); // 32 px scaled 3x
    expect(drawn.distinct).toBeGreaterThan(50);
    // The section itself, at full resolution (scrolled to the top, so the sticky bar stays out of it).
    await page.evaluate(() => window.scrollTo(0, 0));
    const box = (await page.locator('.run-evaluation').boundingBox())!;
    await page.screenshot({ path: path.join(SHOTS, '08-run-evaluation.png'), fullPage: true, clip: { x: 0, y: box.y - 8, width: 1280, height: box.height + 16 } });
    await page.selectOption('[data-control="prediction-order"]', 'confidentRight');
    await expect.poll(() => page.locator('.prediction.right').count()).toBeGreaterThan(0);
    expect(await page.locator('.prediction.wrong').count()).toBe(0);
  });

  it('draws trick events as markers on the curves and RIFLE\'s per-layer norms', async () => {
    const token = new URL(url).searchParams.get('token')!;
    const config = {
      name: 'rifle',
      dataset: { name: 'synthetic', trainSubset: 400, valSplit: 0.2 },
      model: { name: 'cnn3', width: 8 },
      epochs: 4,
      batchSize: 32,
      tricks: { rifle: { everyEpochs: 1, maxReinits: 2, noReinitLastEpochs: 1 }, mixup: { offLastEpochs: 1 } },
    };
    const res = await fetch(`${new URL(url).origin}/api/invoke/runs:start`, { method: 'POST', body: JSON.stringify({ config }), headers: { 'content-type': 'application/json', 'x-trickbench-token': token } });
    const started = (await res.json()) as { ok: boolean; value: { id: number } };
    expect(started.ok).toBe(true);
    await page.evaluate((id) => (window.location.hash = `#/runs/${id}`), started.value.id);
    await page.waitForSelector('.badge[data-status="completed"]', { timeout: 120_000 });
    await page.waitForSelector('.metric-chart[data-metric="grad_norm"] canvas');
    const markers = async (metric: string) => JSON.parse((await page.getAttribute(`.metric-chart[data-metric="${metric}"]`, 'data-markers')) ?? '[]') as { x: number; kind: string }[];
    await expect.poll(() => markers('accuracy')).toEqual([
      { x: 1, kind: 'rifle.reinit' },
      { x: 2, kind: 'rifle.reinit' },
      { x: 3, kind: 'mixup.off' },
    ]);
    expect(JSON.parse((await page.getAttribute('.metric-chart[data-metric="grad_norm"]', 'data-series')) ?? '[]')).toEqual(['conv1', 'conv2', 'conv3', 'head']);
    expect(JSON.parse((await page.getAttribute('.metric-chart[data-metric="weight_norm"]', 'data-series')) ?? '[]')).toEqual(['head']);
    // The marker's label is drawn on the chart (its colour is on the canvas).
    expect(await colourPixels('accuracy', '#cc79a7')).toBeGreaterThan(50);
    await page.evaluate(() => window.scrollTo(0, 0));
    const box = (await page.locator('.chart-grid').boundingBox())!;
    await page.screenshot({ path: path.join(SHOTS, '09-run-tricks-markers.png'), fullPage: true, clip: { x: 0, y: box.y - 8, width: 1280, height: box.height + 16 } });
  });

  it('runs an experiment of 3 arms x 3 seeds and compares it: verdicts, details, reference and correction, planning, mean curves with bands, differences, exports', async () => {
    await page.click('nav >> text=Experiments');
    await page.click('[data-action="toggle-experiment-json"]');
    await page.waitForSelector('[data-field="experiment-json"]');
    const file = {
      name: 'Smoothing e2e',
      question: 'Does label smoothing help here?',
      baseline: { dataset: { name: 'synthetic', trainSubset: 480, valSplit: 0.2 }, model: { name: 'cnn3', width: 8 }, epochs: 3, batchSize: 32, optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9 } },
      arms: [
        { name: 'smoothing', set: { 'tricks.labelSmoothing': { epsilon: 0.2 }, 'model.dropout': 2 } as Record<string, unknown> },
        { name: 'smoothing + lr 0.02', set: { 'tricks.labelSmoothing': { epsilon: 0.2 }, 'optimizer.lr': 0.02 } as Record<string, unknown> },
      ],
      seeds: [1, 2, 3],
    };
    await page.fill('[data-field="experiment-json"]', JSON.stringify(file));
    await page.click('[data-action="create-experiment"]');
    await expect.poll(() => page.textContent('[data-testid="create-error"]')).toMatch(/arm "smoothing" \(arms\.0\.model\.dropout\): /);
    file.arms[0]!.set = { 'tricks.labelSmoothing': { epsilon: 0.2 } };
    await page.fill('[data-field="experiment-json"]', JSON.stringify(file));
    await page.click('[data-action="create-experiment"]');
    await page.waitForURL(/#\/experiments\/\d+$/);
    await expect.poll(() => page.textContent('[data-testid="run-counts"]'), { timeout: 200_000, interval: 1000 }).toMatch(/^\s*9 completed/);
    const table = '[data-testid="arm-summary"]';
    const row = (arm: string, col: string) => page.textContent(`${table} tr[data-arm="${arm}"] [data-col="${col}"]`);
    const THIRD = 'smoothing + lr 0.02';
    await expect.poll(() => row('baseline', 'done')).toMatch(/^\s*3\/3\s*$/);
    await expect.poll(() => row(THIRD, 'done')).toMatch(/^\s*3\/3\s*$/); // the table refreshes half a second after the last run ends
    expect(await page.getAttribute(`${table} tr[data-arm="smoothing"] [data-col="done"]`, 'title')).toBe('3 of 3 completed');
    // Verdict first: a chip per compared arm, the baseline is the reference.
    expect(await page.locator(`${table} thead th`).first().textContent()).toBe('verdict');
    expect(await row('baseline', 'verdict')).toContain('reference');
    for (const arm of ['smoothing', THIRD]) {
      expect(await page.getAttribute(`${table} tr[data-arm="${arm}"] [data-col="verdict"] .chip`, 'data-verdict')).toMatch(/^(better|worse|equivalent|undecided|identical)$/);
      expect(await row(arm, 'verdict')).toMatch(/^\s*(better|worse|equivalent|not decided|identical)/);
      expect(await row(arm, 'ci')).toMatch(/^\[[-+]?\d+\.\d\d, [-+]?\d+\.\d\d\]$/);
      expect(await row(arm, 'p')).toMatch(/<0\.001|\d\.\d{3}|no test|needs/); // Holm-adjusted t-test p (or why none)
      expect(await row(arm, 'cost')).toMatch(/^\s*\d+\.\d\d×/);
    }
    expect(await page.locator(`${table} [data-testid="exploratory-arm"]`).count()).toBe(0);
    const line = (await page.textContent('[data-testid="analysis-line"]'))!;
    expect(line).toContain('no plan in advance');
    expect(line).toContain('paired t-test, two-sided');
    expect(line).toContain('Holm over a family of 2');
    expect(line).toContain('reference: baseline');
    expect(await page.locator('[data-testid="exploratory"]').count()).toBe(0);
    expect(await page.locator('[data-testid="fixed-n-invalid"]').count()).toBe(0);
    expect(await page.textContent('[data-testid="methods"]')).toContain('Methods paragraph');
    expect(await page.locator('[data-testid="pairing-problem"]').count()).toBe(0); // the arms of each seed are matched pairs
    expect(await page.locator('[data-testid="runs-by-seed"] tbody tr').count()).toBe(3);
    expect(await page.textContent('[data-testid="config-diff"]')).toContain('tricks.labelSmoothing.epsilon');
    await shotOf('.comparison', '11a-summary-table', '.arm-summary-block');

    // A row expands to the numbers behind its verdict: a button (keyboard) or a click on the row.
    const expand = page.locator(`${table} tr[data-arm="smoothing"] [data-action="expand"]`);
    expect(await expand.getAttribute('aria-expanded')).toBe('false');
    await expand.click();
    const details = page.locator(`${table} tr[data-details="smoothing"]`);
    await details.waitFor();
    expect(await expand.getAttribute('aria-expanded')).toBe('true');
    const detail = (key: string) => details.locator(`[data-detail="${key}"]`).textContent();
    expect(await detail('sign')).toMatch(/^Sign test[0-3] of 3 better(, [1-3] worse)?(, [1-3] tied)?(, p = [\d.<]+)?/);
    expect(await detail('t-ci')).toMatch(/\[[-+]?\d+\.\d\d, [-+]?\d+\.\d\d\]/);
    expect(await detail('bootstrap')).toMatch(/Bootstrap 95% \((BCa|percentile), /);
    expect(await detail('cs')).toMatch(/Confidence sequence 97\.5% \(anytime-valid\)/); // alpha / k for a family of 2
    expect(await detail('tost')).toContain('no margin set');
    expect(await detail('p-better')).toMatch(/\d+% \(95% CI \d+%–\d+%\)/);
    expect(await detail('mde')).toMatch(/Detectable at 80% power(±\d+\.\d\d pp with 3 seeds|— \(needs 2 seeds)/);
    expect(await detail('seeds-needed')).toMatch(/Seeds needed(~\d+|decided|—)/);
    const mcnemar = await details.locator('.mc').count();
    expect(mcnemar).toBe(3); // one per seed, from the stored test predictions
    // the same predictions give the test sample's part of the error, with a wider interval
    expect(await detail('test-sample')).toMatch(/95% interval with test-sample noise\[[-+]?\d+\.\d\d, [-+]?\d+\.\d\d\].*SE \d+\.\d\d/);
    await page.click('[data-action="expand-all"]');
    await expect.poll(() => page.locator(`${table} tr.details`).count()).toBe(3);
    await shotOf('.arm-summary-block', '11b-summary-table-expanded');
    await page.click('[data-action="expand-all"]');
    await expect.poll(() => page.locator(`${table} tr.details`).count()).toBe(0);
    await expand.focus();
    await page.keyboard.press('Enter');
    await details.waitFor();
    await page.keyboard.press('Space');
    await expect.poll(() => details.count()).toBe(0);
    await page.click(`${table} tr[data-arm="${THIRD}"] [data-col="mean"]`); // anywhere on the row
    await page.locator(`${table} tr[data-details="${THIRD}"]`).waitFor();
    await page.click(`${table} tr[data-arm="${THIRD}"] [data-col="mean"]`);

    // Reference: each arm against the previous one — the third arm's Δ is now against smoothing,
    // and the comparison is off the plan (exploratory).
    const deltaVsBaseline = (await row(THIRD, 'delta'))!.trim();
    await page.selectOption('[data-control="reference"]', 'previous');
    await expect.poll(() => page.textContent(`${table} tr[data-arm="${THIRD}"] [data-col="delta"] [data-ref]`)).toBe('vs smoothing');
    expect(await page.textContent(`${table} tr[data-arm="smoothing"] [data-col="delta"] [data-ref]`)).toBe('vs baseline');
    expect(await page.locator(`${table} thead th`).nth(4).textContent()).toContain('Δ vs previous arm');
    const deltaVsPrevious = (await row(THIRD, 'delta'))!.replace('vs smoothing', '').trim();
    expect(deltaVsPrevious).not.toBe(deltaVsBaseline);
    expect(await page.textContent('[data-testid="exploratory"]')).toContain('reference previous (planned: baseline)');
    await page.click('[data-action="reset-analysis"]');
    await expect.poll(() => page.locator('[data-testid="exploratory"]').count()).toBe(0);
    expect((await row(THIRD, 'delta'))!.trim()).toBe(deltaVsBaseline);

    // Correction off the plan: every verdict is marked exploratory, and the exports carry it.
    await page.selectOption('[data-control="correction"]', 'bonferroni');
    await expect.poll(() => page.textContent('[data-testid="exploratory"]')).toContain('correction bonferroni (planned: holm)');
    expect(await page.locator(`${table} [data-testid="exploratory-arm"]`).count()).toBe(2);
    expect(await page.locator(`${table} thead th`).nth(6).textContent()).toBe('p (t, Bonferroni)');
    expect(await page.textContent('[data-testid="analysis-line"]')).toContain('exploratory');
    await page.fill('[data-control="margin"]', '5');
    await page.press('[data-control="margin"]', 'Enter');
    await expect.poll(() => page.textContent('[data-testid="analysis-line"]')).toContain('margin ±5.00 pp');
    await page.locator(`${table} tr[data-arm="smoothing"] [data-action="expand"]`).click();
    await expect.poll(() => page.textContent(`${table} tr[data-details="smoothing"] [data-detail="tost"]`)).toMatch(/p = [\d.<]+ for ±5\.00 pp/);
    await shotOf('.arm-summary-block', '11c-summary-table-exploratory');
    await page.locator(`${table} tr[data-arm="smoothing"] [data-action="expand"]`).click();

    const chart = (m: string) => page.locator(`.band-chart[data-metric="${m}"]`);
    await expect.poll(() => chart('val/acc').getAttribute('data-drawn')).toBe('true');
    expect(JSON.parse((await chart('val/acc').getAttribute('data-lines'))!)).toEqual(['baseline', 'smoothing', THIRD]);
    expect(JSON.parse((await chart('val/acc').getAttribute('data-points'))!)).toEqual([3, 3, 3]); // one mean point per epoch
    expect(JSON.parse((await chart('diff:val/acc').getAttribute('data-lines'))!)).toEqual(['smoothing − baseline', `${THIRD} − baseline`]);
    await shot('11-experiment-compare');
    await page.check('[data-control="seeds"]');
    await expect.poll(() => chart('val/acc').getAttribute('data-seeds')).toBe('9');
    await page.click('[data-band="sd"]');
    await page.click('[data-x-axis="time"]');
    await expect.poll(() => page.locator('.band-chart[data-metric="val/acc"] .chart-canvas').count()).toBe(1);
    const grid = (await page.locator('.comparison .chart-grid').boundingBox())!;
    await page.screenshot({ path: path.join(SHOTS, '12-experiment-seeds-time.png'), fullPage: true, clip: { x: 0, y: grid.y - 8, width: 1280, height: grid.height + 16 } });
    await page.click('[data-x-axis="epoch"]');

    const save = async (selector: string) => {
      const [d] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
      const f = path.join(tmp.dir, d.suggestedFilename());
      await d.saveAs(f);
      return { name: d.suggestedFilename(), body: fs.readFileSync(f) };
    };
    // The exports are the table on screen: the same correction and margin.
    const md = await save('[data-export="summary-md"]');
    expect(md.name).toMatch(/^trickbench-summary-experiment-\d+\.md$/);
    expect(md.body.toString()).toMatch(/\| smoothing \| [^|]+ \| \d+\.\d\d ± \d+\.\d\d \| [-+]?\d+\.\d\d\**? \|/);
    expect(md.body.toString()).toContain('Exploratory: correction bonferroni (planned: holm); margin ±5 (planned: none)');
    const tex = (await save('[data-export="summary-tex"]')).body.toString();
    expect(tex).toContain('\\begin{tabularx}{\\textwidth}');
    expect(tex).toMatch(/smoothing & [^&]+ & \d+\.\d\d \$\\pm\$ \d+\.\d\d/);
    const csv = parse((await save('[data-export="summary"]')).body, { columns: true }) as Record<string, string>[];
    expect(csv.map((r) => [r.arm, r.role, r.metric, r.rule, r.reference, r.n, r.correction, r.margin])).toEqual([
      ['baseline', 'baseline', 'test/acc', 'best-val', '', '3', 'bonferroni', '0.05'],
      ['smoothing', 'arm', 'test/acc', 'best-val', 'baseline', '3', 'bonferroni', '0.05'],
      [THIRD, 'arm', 'test/acc', 'best-val', 'baseline', '3', 'bonferroni', '0.05'],
    ]);
    expect(csv[1]!.verdict).toMatch(/\(exploratory\)|^(better|worse|equivalent|not decided|identical)/);
    const png = await save('[data-action="png-val/acc"]');
    expect(png.name).toMatch(/val-acc\.png$/);
    expect(png.body.subarray(1, 4).toString()).toBe('PNG');
    await page.click('[data-action="reset-analysis"]');
    await expect.poll(() => page.locator('[data-testid="exploratory"]').count()).toBe(0);

    // Planning from the pilot seeds: MDE with the planned seeds, seeds for a named effect, at alpha / k.
    await page.click('[data-testid="planning-box"] summary');
    await expect.poll(() => page.textContent('[data-testid="plan-mde"]')).toMatch(/largest pilot SD|Give the SD/);
    expect(await page.locator('[data-testid="plan-pilot"] tbody tr').count()).toBe(2);
    expect(await page.textContent('[data-testid="planning"] .method')).toContain('α/k = 0.05/2 = 0.025');
    await page.fill('[data-field="plan-sd"]', '0.5');
    await page.fill('[data-field="plan-effect"]', '1');
    await expect.poll(() => page.textContent('[data-testid="plan-mde"]')).toContain(`±${mde(0.5, 3, 0.025)!.toFixed(2)} pp`);
    expect(await page.textContent('[data-testid="plan-seeds-needed"]')).toContain(`To detect 1 pp: ${seedsNeeded(1, 0.5, 0.025)} seeds per arm`);
    await page.locator('[data-testid="planning-box"]').screenshot({ path: path.join(SHOTS, '11d-planning.png') });

    // Seeds added by hand after the results: every arm runs the new seed, and the fixed-n p-values
    // are no longer valid (no stars; the interval column is the confidence sequence).
    await page.click('text=Add seeds or an arm');
    expect(await page.textContent('[data-testid="add-seeds-hint"]')).toContain('fixed-n p-values invalid');
    await page.fill('[data-field="new-seeds"]', '4');
    await page.click('[data-action="add-seeds"]');
    await expect.poll(() => page.textContent('[data-testid="run-counts"]'), { timeout: 120_000, interval: 1000 }).toMatch(/^\s*12 completed/);
    await expect.poll(() => row('smoothing', 'done')).toMatch(/^\s*4\/4\s*$/);
    await expect.poll(() => row(THIRD, 'done')).toMatch(/^\s*4\/4\s*$/);
    expect(await page.textContent('[data-testid="fixed-n-invalid"]')).toMatch(/seed 4 was added after results were seen/i);
    expect(await page.textContent('[data-testid="seed-history"]')).toContain('seed 4 added by hand after results were seen');
    expect(await page.locator(`${table} thead th`).nth(5).textContent()).toBe('conf. sequence (pp)');
    expect(await row('smoothing', 'delta')).not.toContain('*');
    await page.locator(`${table} tr[data-arm="smoothing"] [data-action="expand"]`).click();
    expect(await page.textContent(`${table} tr[data-details="smoothing"] [data-detail="sign"]`)).toMatch(/of 4 better/);

    // Run seeds until decided, at most 4: the runner stops at once and says why.
    await page.fill('[data-field="max-seeds"]', '4');
    await page.click('[data-action="run-until-decided"]');
    await expect.poll(() => page.textContent('[data-testid="stopping"]'), { timeout: 30_000 }).toMatch(/^Stopped: (maximum of 4 seeds reached|every arm decided after 4 seeds)/);
    await expect.poll(() => page.textContent('[data-testid="fixed-n-invalid"]')).toMatch(/seeds were run until decided/i);
    expect(await page.textContent('[data-testid="analysis-line"]')).toContain('seeds run until decided (at most 4)');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('11e-experiment-fixed-n-invalid');
  });

  it('keeps the comparison table readable with 8 arms and 50 seeds', async () => {
    // The experiment above, with its summary blown up to 8 arms x 50 seeds (every verdict kind,
    // long names, failures, load warnings): the layout is what is under test, not the numbers.
    const token = new URL(url).searchParams.get('token')!;
    const invoke = async (channel: string, arg: unknown) =>
      ((await (await fetch(`${new URL(url).origin}/api/invoke/${channel}`, { method: 'POST', body: JSON.stringify(arg), headers: { 'content-type': 'application/json', 'x-trickbench-token': token } })).json()) as { value: unknown }).value;
    const exps = (await invoke('experiments:list', null)) as { id: number; name: string }[];
    const exp = exps.find((e) => e.name === 'Smoothing e2e')!;
    const real = (await invoke('compare:summary', { experimentId: exp.id })) as ComparisonSummary;
    const big = bigSummary(real);
    await page.route('**/api/invoke/compare:summary', (r) => r.fulfill({ json: { ok: true, value: big } }));
    try {
      await page.evaluate((id) => (window.location.hash = `#/experiments/${id}`), exp.id);
      await page.reload();
      const table = '[data-testid="arm-summary"]';
      await expect.poll(() => page.locator(`${table} tr[data-arm]`).count(), { timeout: 30_000 }).toBe(8);
      await shotOf('.arm-summary-block', '15a-summary-8-arms');
      // No sideways scrolling at 1280 px, and every row stays one or two lines high.
      const fit = await page.evaluate(() => {
        const s = document.querySelector('.arm-summary-block .table-scroll') as HTMLElement;
        const rows = [...document.querySelectorAll('[data-testid="arm-summary"] tr.main')].map((r) => r.getBoundingClientRect().height);
        return { scroll: s.scrollWidth - s.clientWidth, tallest: Math.max(...rows) };
      });
      expect(fit.scroll).toBeLessThanOrEqual(0);
      expect(fit.tallest).toBeLessThan(80); // at most three lines (the 70-character name)
      expect(await page.locator(`${table} [data-testid="fails-where-reference-does-not"]`).count()).toBe(1);
      expect(await page.locator(`${table} [data-testid="load-warning"]`).count()).toBe(1);
      await page.click('[data-action="expand-all"]');
      await expect.poll(() => page.locator(`${table} tr.details`).count()).toBe(8);
      expect(await page.locator(`${table} tr[data-details="${big.arms[1]!.name}"] .mc`).count()).toBe(50);
      await shotOf('.arm-summary-block', '15b-summary-8-arms-expanded');
      await page.click('[data-action="expand-all"]');
    } finally {
      await page.unroute('**/api/invoke/compare:summary');
    }
  });

  it('lists the presets with what each arm changes, and starts one as an experiment', async () => {
    await page.click('nav >> text=Presets');
    await page.waitForSelector('.preset[data-preset="repr-c3"]');
    expect(await page.locator('.preset').count()).toBe(5);
    expect(await page.locator('.preset[data-preset="repr-c3"] tr[data-arm="RePr"] .change').first().textContent()).toContain('tricks.repr.s1 = 3');
    expect(await page.locator('.preset[data-preset="rifle-finetune"] tr[data-arm="pre-training on classes 0-4"] .tag').textContent()).toContain('pre-training');
    // Planning before starting: what the preset's seeds can detect for a given SD, at alpha / k.
    const bag = '.preset[data-preset="bag-of-tricks-resnet20"]';
    await page.click(`${bag} [data-testid="plan-bag-of-tricks-resnet20"] summary`);
    expect(await page.textContent(`${bag} [data-testid="planning"] .method`)).toContain('α/k = 0.05/5 = 0.01');
    await page.fill('[data-field="plan-bag-of-tricks-resnet20-sd"]', '0.4');
    await page.fill('[data-field="plan-bag-of-tricks-resnet20-effect"]', '0.5');
    await expect.poll(() => page.textContent(`${bag} [data-testid="plan-mde"]`)).toContain(`±${mde(0.4, 3, 0.01)!.toFixed(2)} pp`);
    expect(await page.textContent(`${bag} [data-testid="plan-seeds-needed"]`)).toContain(`To detect 0.5 pp: ${seedsNeeded(0.5, 0.4, 0.01)} seeds per arm`);
    await page.fill('[data-field="plan-bag-of-tricks-resnet20-seeds"]', '5');
    await expect.poll(() => page.textContent('[data-action="start-bag-of-tricks-resnet20"]')).toContain('Start 30 runs');
    expect(await page.textContent(`${bag} [data-testid="preset-seeds"]`)).toContain('with seeds 1, 2, 3, 4, 5');
    await page.locator(bag).screenshot({ path: path.join(SHOTS, '10b-preset-planning.png') });
    await shot('10-presets');
    const token = new URL(url).searchParams.get('token')!;
    const call = async (channel: string, arg: unknown) =>
      ((await (await fetch(`${new URL(url).origin}/api/invoke/${channel}`, { method: 'POST', body: JSON.stringify(arg), headers: { 'content-type': 'application/json', 'x-trickbench-token': token } })).json()) as { value: unknown }).value;
    const before = ((await call('runs:list', null)) as { id: number }[]).length;
    await page.click('[data-action="start-rdrop-cnn"]');
    await page.click('[data-action="confirm-start-rdrop-cnn"]');
    await page.waitForURL(/#\/experiments\/\d+$/);
    await expect.poll(() => page.textContent('h1')).toBe('R-Drop on a CNN with dropout');
    const runs = (await call('runs:list', null)) as { id: number; name: string }[];
    const mine = runs.slice(before);
    const n = (arm: string, seed: number) => `R-Drop on a CNN with dropout · ${arm} · seed ${seed}`;
    expect(mine.map((r) => r.name)).toEqual([n('dropout', 1), n('dropout + R-Drop', 1), n('dropout', 2), n('dropout + R-Drop', 2), n('dropout', 3), n('dropout + R-Drop', 3)]);
    for (const r of mine) await call('runs:cancel', { id: r.id }); // minutes of training: not here
  });
  it('manages datasets: finds, downloads with progress (cancel, resume), imports a folder with a broken image, shows classes and samples before and after augmentation, and trains on it', async () => {
    await page.click('nav >> text=Datasets');
    await page.waitForSelector('tr[data-dataset="flowers"]');
    expect(await page.textContent('tr[data-dataset="flowers"]')).toContain('system');
    expect(await page.textContent('tr[data-dataset="flowers"]')).toContain('image-folder');
    expect(await page.textContent('tr[data-dataset="kmnist"]')).toContain('not downloaded');

    // Download from the (slow, local) mirror: progress shows, cancel keeps what came, resume ends verified.
    await page.click('tr[data-dataset="kmnist"] [data-action="download"]');
    await expect.poll(() => page.getAttribute('tr[data-dataset="kmnist"] [data-testid="download-progress"]', 'data-state'), { timeout: 30_000 }).toBe('downloading');
    await expect.poll(() => page.textContent('tr[data-dataset="kmnist"] [data-testid="download-progress"]'), { timeout: 30_000 }).toMatch(/kB of [\d.]+ MB.*train-images-idx3-ubyte\.gz/);
    // The t10k files come first and fast: cancel only once the slow file has bytes on disk, else the
    // resume rightly starts that file from byte 0 and there is no range request to check.
    const trainPart = path.join(tmp.dir, 'datasets', 'kmnist', 'train-images-idx3-ubyte.gz.part');
    await expect.poll(() => (fs.existsSync(trainPart) ? fs.statSync(trainPart).size : 0), { timeout: 30_000 }).toBeGreaterThan(0);
    await page.locator('table[data-testid="datasets"]').screenshot({ path: path.join(SHOTS, '13-datasets-downloading.png') });
    // The reply to Cancel and the WebSocket's 'cancelled' event are not ordered: on a loaded
    // machine the event can come first. Hold the reply until the event has been shown, so the
    // reply always comes last: it must be the final state too, not 'downloading' (which stayed).
    const kmnistState = 'tr[data-dataset="kmnist"] [data-testid="download-progress"]';
    await page.route('**/api/invoke/datasets:cancelDownload', async (route) => {
      const reply = await route.fetch();
      await page.waitForSelector(`${kmnistState}[data-state="cancelled"]`);
      await route.fulfill({ response: reply });
    });
    const cancelReply = page.waitForResponse('**/api/invoke/datasets:cancelDownload');
    await page.click('tr[data-dataset="kmnist"] [data-action="cancel-download"]');
    expect(((await (await cancelReply).json()) as { value: { state: string } }).value.state).toBe('cancelled');
    await page.unroute('**/api/invoke/datasets:cancelDownload');
    await expect.poll(() => page.getAttribute(kmnistState, 'data-state')).toBe('cancelled');
    mirror.misbehave('/kmnist/train-images-idx3-ubyte.gz', {});
    await page.click('tr[data-dataset="kmnist"] [data-action="download"]');
    await expect.poll(() => page.textContent('tr[data-dataset="kmnist"]'), { timeout: 60_000 }).toContain('data dir');
    const ranges = mirror.requestsFor('/kmnist/train-images-idx3-ubyte.gz').map((r) => r.range);
    expect(ranges[0]).toBeNull();
    expect(ranges.at(-1)).toMatch(/^bytes=[1-9]\d*-$/); // resumed, not restarted

    // Import: a bad path is refused at the form; a folder with an undecodable image is indexed in place.
    await page.fill('[data-field="name"]', 'shapes');
    await page.fill('[data-field="path"]', path.join(tmp.dir, 'no-such-folder'));
    await page.click('[data-action="import-dataset"]');
    await expect.poll(() => page.textContent('[data-testid="import-error"]')).toContain('no-such-folder does not exist');
    const root = path.join(tmp.dir, 'my-shapes');
    await writeImageFolder(root, { classes: { circle: 8, square: 12, triangle: 5 }, size: 20, splits: true, formats: ['png', 'webp'] });
    writeUndecodable(path.join(root, 'train', 'square', 'corrupt.png'));
    await page.fill('[data-field="path"]', root);
    await page.click('[data-action="import-dataset"]');
    await page.waitForURL(/#\/datasets\/shapes$/, { timeout: 60_000 });
    await page.waitForSelector('[data-testid="class-counts"] tr[data-class="2"]');
    expect(await page.textContent('[data-testid="class-counts"] tr[data-class="1"]')).toMatch(/square\s*12\s*6/);
    expect(await page.textContent('[data-testid="skipped"]')).toContain('corrupt.png');

    // Samples before/after the seeds' pipeline: stored at 40x40, augmented to 32x32.
    await page.selectOption('[data-field="pipeline"]', 'seeds');
    const pairSizes = () =>
      page.evaluate(() => {
        const pair = document.querySelector('[data-testid="sample-grid"] .pair');
        return pair ? [...pair.querySelectorAll('canvas')].map((c) => [c.width, c.height]) : [];
      });
    await expect.poll(pairSizes, { timeout: 30_000 }).toEqual([[80, 80], [64, 64]]); // 40 and 32 pixels, scaled 2x
    expect(await page.locator('[data-testid="sample-grid"] canvas.augmented').count()).toBe(8 + 8 + 5); // 8 per class; triangle has 5
    await shot('14-dataset-samples');
    await page.fill('[data-field="augment"]', '[{"name":"randomCrop","size":64,"padding":0}]');
    await page.click('[data-action="show-samples"]');
    await expect.poll(() => page.textContent('[data-testid="samples-error"]')).toMatch(/augment.*crop 64x64 is larger/);

    // The run form offers it; a run trains on it with augmentation.
    await page.click('nav >> text=New run');
    await page.waitForSelector('select[data-field="dataset.name"] option[value="shapes"]', { state: 'attached' });
    await page.selectOption('select[data-field="dataset.name"]', 'shapes');
    await fillRunForm({ name: 'on shapes', 'dataset.imageSize': '16', 'model.width': '4', epochs: '1', batchSize: '8' });
    // The model summary is for the run's real input: the images at imageSize 16, after the
    // pipeline (a resized crop to 12 first, then the crop-and-flip the run uses).
    await page.fill('textarea[data-field="augment"]', '[{"name":"randomResizedCrop","size":12}]');
    await expect.poll(() => page.textContent('[data-testid="model-summary"]')).toContain('for 12×12×3');
    await page.fill('textarea[data-field="augment"]', '[{"name":"randomCrop","padding":2},{"name":"hflip"}]');
    await expect.poll(() => page.textContent('[data-testid="model-summary"]')).toContain('for 16×16×3');
    await page.click('button:has-text("Start run")');
    await page.waitForURL(/#\/runs\/\d+$/);
    await page.waitForSelector('.badge[data-status="completed"]', { timeout: 120_000 });
  });
});
