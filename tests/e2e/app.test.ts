// End to end in a real browser: `serve` (the built app), Debian's Chromium driven by
// playwright-core. Two runs from the form with different learning rates, compare, CSV export,
// bad input at the form; a screenshot of every page goes to test-results/.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import { ROOT } from '../helpers/trainer';
import { tmpDataDir } from '../helpers/tmp';
import { writeImageFolder, writeUndecodable } from '../helpers/dataset-fixtures';
import { writeFakeFashion } from '../helpers/datasets';
import { TestFileServer } from '../helpers/http-server';

const SHOTS = path.join(ROOT, 'test-results');
const SERVE = path.join(ROOT, 'out/main/serve.js');

function findChromium(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];
  const found = candidates.find((p): p is string => !!p && fs.existsSync(p));
  if (!found) {
    throw new Error('No Chromium found for the browser tests: install it (Debian: apt-get install chromium) or set CHROMIUM_PATH to a Chromium/Chrome binary.');
  }
  return found;
}

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
  if (!fs.existsSync(SERVE)) throw new Error(`${SERVE} is missing: build first (npm test does: electron-vite build)`);
  const env = { ...process.env, ...(await datasetEnv(dataDir)), PATH: `${fakeNvidiaSmi(dataDir)}${path.delimiter}${process.env.PATH ?? ''}` };
  const child = spawn(process.execPath, [SERVE, '--data-dir', dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const found = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL:\n${out}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Open: (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited (${code}):\n${out}`)));
  });
  return { child, url: found };
}

const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

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
    const res = await fetch(`${origin}/api/invoke/runs:list`, { method: 'POST', body: 'null' });
    expect(res.status).toBe(401);
    const ok = await fetch(`${origin}/api/invoke/runs:list`, { method: 'POST', body: 'null', headers: { 'x-trickbench-token': new URL(url).searchParams.get('token')! } });
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
    const list = await fetch(`${new URL(url).origin}/api/invoke/runs:list?token=${new URL(url).searchParams.get('token')}`, { method: 'POST', body: 'null' });
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
    // The selection as arms: two configs (lr), one seed each: paired, but no test at n=1.
    await expect.poll(() => page.locator('[data-testid="arm-summary"] tbody tr').count()).toBe(2);
    expect(await page.textContent('[data-testid="arm-summary"] tr[data-arm="optimizer.lr=0.01"] [data-col="pt"]')).toContain('n=1: needs at least 2 seeds');
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
    const res = await fetch(`${new URL(url).origin}/api/invoke/runs:start`, { method: 'POST', body: JSON.stringify({ config }), headers: { 'x-trickbench-token': token } });
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

  it('runs an experiment of 2 arms x 3 seeds and compares it: summary with paired statistics, mean curves with bands, differences, exports', async () => {
    await page.click('nav >> text=Experiments');
    await page.waitForSelector('[data-field="experiment-json"]');
    const file = {
      name: 'Smoothing e2e',
      question: 'Does label smoothing help here?',
      baseline: { dataset: { name: 'synthetic', trainSubset: 480, valSplit: 0.2 }, model: { name: 'cnn3', width: 8 }, epochs: 3, batchSize: 32, optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9 } },
      arms: [{ name: 'smoothing', set: { 'tricks.labelSmoothing': { epsilon: 0.2 }, 'model.dropout': 2 } as Record<string, unknown> }],
      seeds: [1, 2, 3],
    };
    await page.fill('[data-field="experiment-json"]', JSON.stringify(file));
    await page.click('[data-action="create-experiment"]');
    await expect.poll(() => page.textContent('[data-testid="create-error"]')).toMatch(/arms\.0\.model\.dropout/);
    file.arms[0]!.set = { 'tricks.labelSmoothing': { epsilon: 0.2 } };
    await page.fill('[data-field="experiment-json"]', JSON.stringify(file));
    await page.click('[data-action="create-experiment"]');
    await page.waitForURL(/#\/experiments\/\d+$/);
    await expect.poll(() => page.textContent('[data-testid="run-counts"]'), { timeout: 150_000, interval: 1000 }).toMatch(/^\s*6 completed/);
    const row = (arm: string, col: string) => page.textContent(`[data-testid="arm-summary"] tr[data-arm="${arm}"] [data-col="${col}"]`);
    await expect.poll(() => row('baseline', 'n')).toBe('3');
    await expect.poll(() => row('smoothing', 'n')).toBe('3'); // the table refreshes half a second after the last run ends
    expect(await row('smoothing', 'better')).toMatch(/^[0-3] of 3$/);
    expect(await row('smoothing', 'pw')).toMatch(/cannot reach p<0\.05 \(min 0\.\d+\)|all differences zero/); // 3 seeds: no p-value, the reason instead
    expect(await row('smoothing', 'ci')).toMatch(/^\[[-+]?\d+\.\d\d, [-+]?\d+\.\d\d\]$/);
    expect(await page.locator('[data-testid="pairing-problem"]').count()).toBe(0); // the arms of each seed are matched pairs
    expect(await page.locator('[data-testid="runs-by-seed"] tbody tr').count()).toBe(3);
    expect(await page.textContent('[data-testid="config-diff"]')).toContain('tricks.labelSmoothing.epsilon');

    const chart = (m: string) => page.locator(`.band-chart[data-metric="${m}"]`);
    await expect.poll(() => chart('val/acc').getAttribute('data-drawn')).toBe('true');
    expect(JSON.parse((await chart('val/acc').getAttribute('data-lines'))!)).toEqual(['baseline', 'smoothing']);
    expect(JSON.parse((await chart('val/acc').getAttribute('data-points'))!)).toEqual([3, 3]); // one mean point per epoch
    expect(JSON.parse((await chart('diff:val/acc').getAttribute('data-lines'))!)).toEqual(['smoothing − baseline']);
    await shot('11-experiment-compare');
    await page.check('[data-control="seeds"]');
    await expect.poll(() => chart('val/acc').getAttribute('data-seeds')).toBe('6');
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
    const md = await save('[data-export="summary-md"]');
    expect(md.name).toMatch(/^trickbench-summary-experiment-\d+\.md$/);
    expect(md.body.toString()).toMatch(/\| smoothing \| \d+\.\d\d ± \d+\.\d\d \| [-+]?\d+\.\d\d\**? \|/);
    const tex = (await save('[data-export="summary-tex"]')).body.toString();
    expect(tex).toContain('\\begin{tabular}{lrrrrrrr}');
    expect(tex).toMatch(/smoothing & \d+\.\d\d \$\\pm\$ \d+\.\d\d/);
    const csv = (await save('[data-export="summary"]')).body.toString().split('\n');
    expect(csv[0]).toMatch(/^arm,role,metric,rule,n,mean,std,n_pairs,delta/);
    expect(csv[2]).toMatch(/^smoothing,arm,test\/acc,best-val,3,/);
    const png = await save('[data-action="png-val/acc"]');
    expect(png.name).toMatch(/val-acc\.png$/);
    expect(png.body.subarray(1, 4).toString()).toBe('PNG');

    // Seeds added later: both arms run the new seed, the summary grows to n=4.
    await page.click('text=Add seeds or an arm');
    await page.fill('[data-field="new-seeds"]', '4');
    await page.click('[data-action="add-seeds"]');
    await expect.poll(() => page.textContent('[data-testid="run-counts"]'), { timeout: 90_000, interval: 1000 }).toMatch(/^\s*8 completed/);
    await expect.poll(() => row('smoothing', 'n')).toBe('4');
    expect(await row('smoothing', 'better')).toMatch(/ of 4$/);
  });

  it('lists the presets with what each arm changes, and starts one as an experiment', async () => {
    await page.click('nav >> text=Presets');
    await page.waitForSelector('.preset[data-preset="repr-c3"]');
    expect(await page.locator('.preset').count()).toBe(5);
    expect(await page.locator('.preset[data-preset="repr-c3"] tr[data-arm="RePr"] .change').first().textContent()).toContain('tricks.repr.s1 = 3');
    expect(await page.locator('.preset[data-preset="rifle-finetune"] tr[data-arm="pre-training on classes 0-4"] .tag').textContent()).toContain('pre-training');
    await shot('10-presets');
    const token = new URL(url).searchParams.get('token')!;
    const call = async (channel: string, arg: unknown) =>
      ((await (await fetch(`${new URL(url).origin}/api/invoke/${channel}`, { method: 'POST', body: JSON.stringify(arg), headers: { 'x-trickbench-token': token } })).json()) as { value: unknown }).value;
    const before = ((await call('runs:list', null)) as { id: number }[]).length;
    await page.click('[data-action="start-rdrop-cnn"]');
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
    await expect.poll(() => page.textContent('tr[data-dataset="kmnist"] [data-testid="download-progress"]'), { timeout: 30_000 }).toMatch(/kB of [\d.]+ MB/);
    await page.locator('table[data-testid="datasets"]').screenshot({ path: path.join(SHOTS, '13-datasets-downloading.png') });
    await page.click('tr[data-dataset="kmnist"] [data-action="cancel-download"]');
    await expect.poll(() => page.getAttribute('tr[data-dataset="kmnist"] [data-testid="download-progress"]', 'data-state')).toBe('cancelled');
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
