// Honest numbers in the browser (issue 16, items 5 and 6): the comparison table with units (%, pp)
// and fixed decimals, the LR chart of a constant float32 LR without a zigzag, smoothing of
// per-step curves only (raw faint behind, per-epoch curves as measured), and the run page during
// its first epoch and after a divergence at step 4. The store is seeded; nothing trains.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { MetricPoint } from '../../src/shared/api';
import { mustParseRunConfig } from '../../src/shared/config';
import { Store } from '../../src/store/store';
import { openBrowser, seedStore, shot, shotOf, startServe, stopServe } from '../helpers/e2e';
import { tmpDataDir } from '../helpers/tmp';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

let tmp: ReturnType<typeof tmpDataDir>;
let server: ChildProcess | undefined;
let url: string;
let browser: Browser;
let page: Page;
let experimentId: number;
let firstEpochRun: number;
let divergedRun: number;

const BASE = { dataset: { name: 'synthetic', trainSubset: 480, valSplit: 0.2 }, model: { name: 'cnn3', width: 8 }, epochs: 5, batchSize: 48, optimizer: { name: 'sgd', lr: 0.01, momentum: 0.9 } };

/** A run as the trainer leaves it part-way: per-step points only (train/loss_step, lr_step). */
function partialRun(store: Store, name: string, steps: number, spe: number): number {
  const run = store.createRun({ ...mustParseRunConfig(BASE, BUILTIN_FACTS), name }, 'running');
  const t0 = Date.now();
  const pts: MetricPoint[] = [];
  for (let s = 1; s <= steps; s++) {
    pts.push({ key: 'train/loss_step', step: s, epoch: s / spe, value: 2.3 - 0.05 * s, time: t0 + s * 100 });
    pts.push({ key: 'lr_step', step: s, epoch: s / spe, value: Math.fround(0.01), time: t0 + s * 100 });
  }
  store.addMetrics(run.id, pts);
  return run.id;
}

beforeAll(async () => {
  tmp = tmpDataDir('tb-numbers-');
  const seeded = seedStore(tmp.dir, {
    experiments: [
      {
        file: { name: 'Numbers', baselineName: 'baseline', metric: 'test/acc', rule: 'best-val', baseline: BASE, arms: [{ name: 'label smoothing', set: { 'tricks.labelSmoothing': { epsilon: 0.1 } } }, { name: 'lr 0.02', set: { 'optimizer.lr': 0.02 } }], seeds: [1, 2, 3], executor: { kind: 'local' } },
        acc: (arm, seed) => ({ baseline: 0.8, 'label smoothing': 0.83, 'lr 0.02': 0.79 })[arm]! + 0.004 * seed,
      },
    ],
  });
  experimentId = seeded.experimentIds[0]!;
  const store = new Store(tmp.dir);
  try {
    // mid-first-epoch: 6 of 10 steps, still running
    firstEpochRun = partialRun(store, 'first epoch', 6, 10);
    // diverged at step 4: steps 1-3 are finite and stored, step 4's NaN is the error (a NaN cannot
    // be stored: the store's value column is NOT NULL, and the trainer fails on it)
    divergedRun = partialRun(store, 'diverged', 3, 10);
    store.finishRun(divergedRun, 'failed', 'training diverged: train/loss is NaN at epoch 1, step 4 (try a lower optimizer.lr)');
  } finally {
    store.close();
  }
  const s = await startServe(tmp.dir);
  server = s.child;
  url = s.url;
  ({ browser, page } = await openBrowser());
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stopServe(server);
  tmp?.cleanup();
});

const go = async (hash: string) => {
  await page.goto(`${url}#${hash}`);
};
const chart = (m: string) => page.locator(`.band-chart[data-metric="${m}"]`);
const attr = async <T>(m: string, name: string): Promise<T> => JSON.parse((await chart(m).getAttribute(name))!) as T;

describe('honest numbers', () => {
  it('the comparison table: %, pp, one number of decimals per column', async () => {
    await go(`/experiments/${experimentId}`);
    const table = '[data-testid="arm-summary"]';
    await page.waitForSelector(`${table} tr[data-arm="lr 0.02"]`);
    const cells = (col: string) => page.locator(`${table} tr.main [data-col="${col}"]`).allTextContents();
    const means = (await cells('mean')).map((t) => t.trim());
    expect(means).toHaveLength(3);
    for (const t of means) expect(t).toMatch(/^\d+\.\d\d% ± \d+\.\d\d$/);
    const deltas = (await cells('delta')).map((t) => t.trim());
    expect(deltas).toHaveLength(2);
    for (const t of deltas) expect(t).toMatch(/^[-+]?\d+\.\d\d pp\**$/);
    for (const t of await cells('ci')) expect(t.trim()).toMatch(/^\[[-+]?\d+\.\d\d, [-+]?\d+\.\d\d\]$/);
    const heads = (await page.locator(`${table} thead th`).allTextContents()).map((t) => t.trim());
    expect(heads).toContain('test/acc (%)');
    expect(heads).toContain('95% CI (pp)');
    expect(await page.textContent('.arm-summary-block .footnote')).toContain('in percentage points (pp)');
    await shotOf(page, '.arm-summary-block', 'numbers-01-table');
  });

  it('a constant float32 LR is a flat line with short round ticks', async () => {
    await page.locator('.comparison details.keys summary').click();
    await page.locator('.comparison details.keys input[value="train/lr"]').check();
    await expect.poll(() => chart('train/lr').getAttribute('data-drawn'), { timeout: 20_000 }).toBe('true');
    const ticks = await attr<string[]>('train/lr', 'data-y-ticks');
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    for (const t of ticks) {
      expect(t.length, t).toBeLessThanOrEqual(7); // e.g. 0.0100, never 9.9999997764825856e-3
      expect(t).not.toMatch(/e-|99999/);
    }
    expect(ticks).toContain('0.0100');
    await page.locator('.comparison details.keys summary').click();
    await shotOf(page, '.band-chart[data-metric="train/lr"]', 'numbers-02-lr-chart');
  });

  it('smoothing 0.8: per-step curves smoothed with the raw line faint behind, per-epoch curves as measured', async () => {
    await expect.poll(() => chart('val/acc').getAttribute('data-drawn')).toBe('true');
    await expect.poll(() => chart('train/loss').getAttribute('data-drawn')).toBe('true');
    const valLast = await attr<number[]>('val/acc', 'data-last');
    const lossLast = await attr<number[]>('train/loss', 'data-last');
    await page.locator('[data-control="smoothing"]').fill('0.8');
    await expect.poll(() => chart('train/loss').getAttribute('data-raw')).toBe('3');
    // the per-step loss is smoothed: its mean line ends elsewhere; the raw one stays behind it
    const smoothedLast = await attr<number[]>('train/loss', 'data-last');
    expect(smoothedLast).not.toEqual(lossLast);
    expect(await chart('train/loss').locator('[data-testid="chart-note"]').textContent()).toBe('smoothed 0.80, raw faint');
    // the per-epoch accuracy ends at its real value (not 60% where it was 95%), no raw line
    expect(await chart('val/acc').getAttribute('data-raw')).toBe('0');
    expect(await attr<number[]>('val/acc', 'data-last')).toEqual(valLast);
    expect(await chart('val/acc').locator('[data-testid="chart-note"]').textContent()).toBe('per epoch: not smoothed');
    expect(await page.textContent('[data-testid="smoothing-scope"]')).toContain('per-epoch curves unsmoothed');
    await expect.poll(() => chart('train/loss').getAttribute('data-drawn')).toBe('true');
    await shotOf(page, '.comparison .chart-grid', 'numbers-03-smoothing');
  });
});

describe('first-epoch feedback', () => {
  const metricChart = (m: string) => page.locator(`.metric-chart[data-metric="${m}"]`);

  it('mid-first-epoch: the loss chart draws the per-step losses on the epoch axis', async () => {
    await go(`/runs/${firstEpochRun}`);
    await metricChart('loss').locator('canvas').waitFor();
    expect(JSON.parse((await metricChart('loss').getAttribute('data-series'))!)).toContain('train/loss_step');
    expect(JSON.parse((await metricChart('loss').getAttribute('data-points'))!)).toContain(6);
    expect(await metricChart('loss').locator('.no-data').count()).toBe(0);
    await metricChart('lr').locator('canvas').waitFor();
    await page.evaluate(() => window.scrollTo(0, 0));
    const box = (await page.locator('.chart-grid').first().boundingBox())!;
    await page.screenshot({ path: 'test-results/numbers-04-first-epoch.png', fullPage: true, clip: { x: 0, y: box.y - 40, width: 1440, height: box.height + 50 } });
  });

  it('diverged at step 4: the curve up to the divergence, and the error', async () => {
    await go(`/runs/${divergedRun}`);
    await metricChart('loss').locator('canvas').waitFor();
    expect(JSON.parse((await metricChart('loss').getAttribute('data-points'))!)).toContain(3);
    expect(await page.textContent('.run-error')).toContain('training diverged: train/loss is NaN at epoch 1, step 4');
    // a marker where it diverged, one step after the last loss
    expect(JSON.parse((await metricChart('loss').getAttribute('data-markers'))!)).toEqual([{ x: 0.4, kind: 'run.diverged' }]);
    await page.click('[data-x-axis="step"]');
    await expect.poll(async () => JSON.parse((await metricChart('loss').getAttribute('data-markers'))!)).toEqual([{ x: 4, kind: 'run.diverged' }]);
    await page.click('[data-x-axis="epoch"]');
    await shot(page, 'numbers-05-diverged');
  });
});
