// External runs in the browser: a PyTorch script (tests/fixtures/python/train_two_arms.py) logs
// 2 arms x 3 seeds through the Python client into serve; the experiment page compares the arms
// and the compare page draws every run, as for Trickbench's own runs (their config is null: the
// pages must not need one). Screenshots: test-results/external-*.png.
import type { ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/shared/api';
import { openBrowser, shot, startServe, stopServe } from '../helpers/e2e';
import { tmpDataDir } from '../helpers/tmp';
import { invoke, trainTwoArms, type LoggedRun } from '../fixtures/python/run-script';

let tmp: ReturnType<typeof tmpDataDir>;
let server: ChildProcess | undefined;
let url: string;
let browser: Browser | undefined;
let page: Page;
let logged: LoggedRun[];
let experimentId: number;
const pageErrors: string[] = [];

beforeAll(async () => {
  tmp = tmpDataDir('tb-external-e2e-');
  const s = await startServe(tmp.dir);
  server = s.child;
  url = s.url;
  // Smaller than the integration test's (1000 images, 2 epochs): the pages, not the training, are tested.
  ({ runs: logged } = await trainTwoArms(url, ['--experiment', 'external smoothing', '--train', '1000', '--epochs', '2']));
  const runs = await invoke<RunSummary[]>(url, 'runs:list', null);
  experimentId = runs.find((r) => r.id === logged[0]!.runId)!.experimentId!;
  ({ browser, page } = await openBrowser());
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400) pageErrors.push(`HTTP ${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}: ${r.request().postData() ?? ''}`);
  });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await stopServe(server);
  tmp?.cleanup();
});

describe('external runs in the browser', () => {
  it('the experiment page compares the two arms over 3 seeds', async () => {
    await page.goto(`${url}#/experiments/${experimentId}`);
    await page.waitForSelector('[data-testid="arm-summary"] tr.main[data-arm="label-smoothing"]', { timeout: 30_000 });
    await page.waitForSelector('[data-testid="runs-by-seed"]');
    await shot(page, 'external-experiment');
    const row = (await page.textContent('[data-testid="arm-summary"] tr.main[data-arm="label-smoothing"]')) ?? '';
    expect(row).toContain('label-smoothing');
    // One row per seed, each linking both arms' runs.
    expect(await page.locator('[data-testid="runs-by-seed"] tbody tr[data-seed]').count()).toBe(3);
    for (const l of logged) expect(await page.locator(`[data-testid="runs-by-seed"] tr[data-seed="${l.seed}"] a[href$="/runs/${l.runId}"]`).count(), `run ${l.runId}`).toBe(1);
    expect(pageErrors).toEqual([]);
  });

  it('the compare page draws every run', async () => {
    const ids = logged.map((l) => l.runId);
    pageErrors.length = 0;
    await page.goto(`${url}#/compare?ids=${ids.join(',')}`);
    await page.waitForSelector('.metric-chart[data-metric="val/acc"] canvas', { timeout: 30_000 });
    for (const m of ['val/acc', 'val/loss', 'train/loss']) {
      await expect.poll(async () => (JSON.parse((await page.getAttribute(`.metric-chart[data-metric="${m}"]`, 'data-series')) ?? '[]') as string[]).length, { message: m }).toBe(6);
    }
    const legend = await page.locator('.run-legend li[data-run-id]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-run-id'))));
    expect(legend.sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    await shot(page, 'external-compare');
  });

  it('the compare page groups the runs as arms across seeds, without errors', async () => {
    // (on the page opened above) its runs-as-arms comparison: 2 arms, the page's errors none
    await page.waitForSelector('[data-testid="arm-summary"] tr.main[data-arm]', { timeout: 30_000 });
    expect(await page.locator('[data-testid="arm-summary"] tr.main[data-arm]').count()).toBe(2);
    // the scripts logged validation accuracy only: that is what the arms are compared on, every seed done
    expect(await page.inputValue('[data-control="metric"]')).toBe('val/acc');
    expect((await page.textContent('[data-testid="arm-summary"] tr.main[data-arm="label-smoothing"]')) ?? '').toContain('3/3');
    expect(pageErrors).toEqual([]);
  });

  it("the runs' params are what their config diff shows (compare and experiment pages)", async () => {
    // An external run's params stand in for a config: flattened, they are the config table's rows
    // and what the experiment's arms change.
    const configTable = (await page.textContent('.compare-page .tables .compare-config')) ?? '';
    expect(configTable).toContain('label_smoothing');
    await page.goto(`${url}#/experiments/${experimentId}`);
    await page.waitForSelector('[data-testid="config-diff"]', { timeout: 30_000 });
    const diff = (await page.textContent('[data-testid="config-diff"]')) ?? '';
    expect(diff).toContain('label_smoothing');
    expect(diff).not.toContain('cnn-8-16'); // the same in both arms: not what they change
  });

  it('the experiment page offers nothing it cannot do for runs of scripts', async () => {
    // (on the experiment page opened above) no add seeds/arm, stop, resume or run-until-decided:
    // the scripts run those; the page says so.
    await page.waitForSelector('[data-testid="external-experiment"]');
    for (const a of ['add-seeds', 'add-arm', 'stop-experiment', 'resume-experiment', 'run-until-decided']) {
      expect(await page.locator(`[data-action="${a}"]`).count(), a).toBe(0);
    }
    // every run logged is done: nothing planned or stopped
    expect((await page.textContent('[data-testid="experiment-eta"]')) ?? '').toContain('6 of 6 runs done');
    await shot(page, 'external-experiment-bottom');
    expect(pageErrors).toEqual([]);
  });

  it("a run's page shows its params, its script's event as a marker, and no way to re-run it here", async () => {
    const one = logged[0]!;
    await page.goto(`${url}#/runs/${one.runId}`);
    await page.waitForSelector('[data-testid="run-source"]', { timeout: 30_000 });
    await page.waitForSelector('.metric-chart[data-metric="loss"] canvas');
    const params = (await page.textContent('.config-table')) ?? '';
    expect(params).toContain('label_smoothing');
    expect(params).toContain('cnn-8-16');
    expect(await page.locator('a', { hasText: 'New run from this config' }).count()).toBe(0);
    // the script's own event ("data", at step 0) is a marker on the curves
    const markers = JSON.parse((await page.getAttribute('.metric-chart[data-metric="loss"]', 'data-markers')) ?? '[]') as { kind: string }[];
    expect(markers.map((m) => m.kind)).toContain('data');
    expect(await page.locator('[data-testid="run-tricks"]').count()).toBe(0);
    await shot(page, 'external-run');
    expect(pageErrors).toEqual([]);
  });

  it('the runs list shows what their params say (model, learning rate) and where they came from', async () => {
    await page.goto(`${url}#/`);
    const row = page.locator(`tr[data-run-id="${logged[0]!.runId}"]`);
    await row.waitFor({ timeout: 30_000 });
    expect(await row.locator('td.model-cell').textContent()).toBe('cnn-8-16');
    expect(((await row.locator('td[data-col="optimizer"]').textContent()) ?? '').trim()).toBe('lr 0.05');
    expect(((await row.locator('td[data-col="backend"]').textContent()) ?? '').trim()).toBe('external');
    await shot(page, 'external-runs-list');
    expect(pageErrors).toEqual([]);
  });
});
