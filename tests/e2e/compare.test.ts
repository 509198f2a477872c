// Compare with many runs (issue 16, "Compare that scales"): 50 seeded runs (two experiments of
// 3 and 2 arms x 8-9 seeds, and loose runs with long names), Compare opened with 9 and with 50 of
// them at 1440x900. One legend beside the charts (none inside a canvas), plots that keep their
// height, tables that scroll in their own boxes and never overlap, a searchable grouped picker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { ChildProcess } from 'node:child_process';
import { tmpDataDir } from '../helpers/tmp';
import { openBrowser, seedStore, shot, shotOf, startServe, stopServe } from '../helpers/e2e';

let tmp: ReturnType<typeof tmpDataDir>;
let server: ChildProcess | undefined;
let url: string;
let browser: Browser | undefined;
let page: Page;
let runIds: number[] = [];
let experimentRuns: number[] = [];

const BASE = { dataset: { name: 'synthetic' }, model: { name: 'cnn3', width: 16 }, epochs: 5 };
const CHARTS = ['val/acc', 'val/loss', 'train/loss', 'train/acc'];

beforeAll(async () => {
  tmp = tmpDataDir('tb-compare-');
  const seeded = seedStore(tmp.dir, {
    experiments: [
      {
        file: {
          name: 'Regularisers on cnn3',
          baseline: BASE,
          arms: [
            { name: 'label smoothing 0.1', set: { 'tricks.labelSmoothing': { epsilon: 0.1 } } },
            { name: 'mixup 0.2', set: { 'tricks.mixup': { alpha: 0.2 } } },
          ],
          seeds: [1, 2, 3, 4, 5, 6, 7, 8],
        } as never,
        // Arms well apart, so each run's curve shows on the charts.
        acc: (arm, seed) => (arm === 'baseline' ? 0.55 : arm.startsWith('label') ? 0.9 : 0.72) + seed * 0.004,
      },
      {
        file: { name: 'Learning rate sweep', baseline: BASE, arms: [{ name: 'lr 0.05', set: { 'optimizer.lr': 0.05 } }], seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9] } as never,
        acc: (arm, seed) => 0.75 + (arm === 'baseline' ? 0 : 0.03) + seed * 0.003,
      },
    ],
    runs: Array.from({ length: 8 }, (_, i) => ({
      config: { ...BASE, name: `a long hand-written run name that says what was tried, number ${i + 1}`, optimizer: { name: 'sgd', lr: 0.01 * (i + 1) }, seed: i + 1 },
      curve: { acc: 0.6 + i * 0.03 },
      ...(i === 7 ? { status: 'failed' as const } : {}),
    })),
  });
  runIds = seeded.runIds;
  experimentRuns = runIds.slice(0, 24);
  const s = await startServe(tmp.dir);
  server = s.child;
  url = s.url;
  ({ browser, page } = await openBrowser());
});

afterAll(async () => {
  await browser?.close();
  await stopServe(server);
  tmp?.cleanup();
});

async function openCompare(ids: number[]): Promise<void> {
  await page.goto(`${url}#/compare?ids=${ids.join(',')}`);
  await page.waitForSelector('.metric-chart[data-metric="val/acc"] canvas');
  await expect.poll(async () => (JSON.parse((await page.getAttribute('.metric-chart[data-metric="val/acc"]', 'data-series')) ?? '[]') as string[]).length).toBe(ids.length);
  await page.waitForSelector('.metric-chart[data-plot-height]');
}

/** Pixels of a chart's canvas close to a colour (opaque ones only), in rows [y0, y1) of CSS px. */
async function colourPixels(metric: string, hex: string, rows?: [number, number]): Promise<number> {
  return page.evaluate(
    ([m, h, r]) => {
      const canvas = document.querySelector(`.metric-chart[data-metric="${m}"] canvas`) as HTMLCanvasElement;
      const k = canvas.width / canvas.clientWidth;
      const y0 = r ? Math.floor(r[0] * k) : 0;
      const y1 = r ? Math.min(canvas.height, Math.ceil(r[1] * k)) : canvas.height;
      if (y1 <= y0) return 0;
      const { data } = canvas.getContext('2d')!.getImageData(0, y0, canvas.width, y1 - y0);
      const rgb = [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i]! - rgb[0]!) + Math.abs(data[i + 1]! - rgb[1]!) + Math.abs(data[i + 2]! - rgb[2]!) < 40 && data[i + 3]! > 200) n++;
      }
      return n;
    },
    [metric, hex, rows ?? null] as const,
  );
}

async function chartInfo(metric: string): Promise<{ legend: string; top: number; height: number; series: string[]; colors: string[] }> {
  const el = page.locator(`.metric-chart[data-metric="${metric}"]`);
  return {
    legend: (await el.getAttribute('data-legend')) ?? '',
    top: Number(await el.getAttribute('data-plot-top')),
    height: Number(await el.getAttribute('data-plot-height')),
    series: JSON.parse((await el.getAttribute('data-series')) ?? '[]') as string[],
    colors: JSON.parse((await el.getAttribute('data-colors')) ?? '[]') as string[],
  };
}

type Box = { x: number; y: number; width: number; height: number };
async function box(selector: string): Promise<Box> {
  const b = await page.locator(selector).first().boundingBox();
  if (!b) throw new Error(`${selector} is not visible`);
  return b;
}

/** What the user sees at the centre of an element (scrolled into view unless told not to): true
 * when it is the element (or inside it). */
async function onTop(selector: string, scroll = true): Promise<boolean> {
  if (scroll) await page.locator(selector).first().scrollIntoViewIfNeeded();
  return page.locator(selector).first().evaluate((el) => {
    const r = el.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return !!hit && (hit === el || el.contains(hit));
  });
}

/** The legend and the charts: every run listed, no legend in a canvas, plots not squeezed. */
async function checkChartsAndLegend(ids: number[]): Promise<void> {
  const legendIds = (await page.locator('.run-legend li[data-run-id]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-run-id')))));
  expect(legendIds).toEqual(ids);
  for (const m of CHARTS) {
    const c = await chartInfo(m);
    expect(c.legend, m).toBe('none');
    expect(c.series, m).toHaveLength(ids.length);
    expect(c.height, `${m} plot height`).toBeGreaterThan(200);
    // Above the plot there is only the title: no run's colour is drawn there (a legend would be).
    for (const col of new Set(c.colors)) expect(await colourPixels(m, col, [0, c.top]), `${m} ${col} above the plot`).toBe(0);
  }
}

/** The two tables: stacked, apart, each scrolling in its own box. */
async function checkTables(): Promise<void> {
  const metrics = await box('[data-testid="compare-metrics"]');
  const config = await box('.compare-page .tables .compare-config');
  expect(metrics.y + metrics.height).toBeLessThanOrEqual(config.y);
  // Both fit the page's width (what is wider scrolls inside them), as do the charts and legend.
  const width = page.viewportSize()!.width;
  for (const b of [metrics, config, await box('.charts-with-legend')]) expect(b.x + b.width).toBeLessThanOrEqual(width);
  // Every run's row of the metrics table can be clicked where it is drawn (nothing covers it).
  expect(await onTop('[data-testid="compare-metrics"] tbody tr:first-child th a')).toBe(true);
  expect(await onTop('.compare-page .tables [data-action="only-differences"]')).toBe(true);
}

describe('Compare with many runs', () => {
  it('seeds 50 runs: two experiments and loose ones', () => {
    expect(runIds).toHaveLength(50);
  });

  it('9 runs: one legend for all charts, toggling and highlighting a run there', async () => {
    // The baseline, label smoothing and mixup runs of seeds 1-3.
    const ids = experimentRuns.slice(0, 9);
    await openCompare(ids);
    await checkChartsAndLegend(ids);
    await checkTables();
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'compare-9-runs');
    for (const m of CHARTS) await shotOf(page, `.metric-chart[data-metric="${m}"]`, `compare-9-chart-${m.replace('/', '-')}`);
    await shotOf(page, '.run-legend', 'compare-9-legend');

    // Run 2 (label smoothing, seed 1: the top curve) is drawn; hidden from the legend, it is gone
    // from every chart; shown again, it is back.
    const second = await chartInfo('val/acc');
    const orange = second.colors[1]!;
    expect(await colourPixels('val/acc', orange)).toBeGreaterThan(20);
    await page.click(`.run-legend li[data-run-id="${ids[1]}"] button.entry`);
    for (const m of CHARTS) await expect.poll(async () => (await chartInfo(m)).series.length, { message: m }).toBe(8);
    expect((await chartInfo('val/acc')).series.some((s) => s.startsWith(`#${ids[1]} `))).toBe(false);
    expect(await colourPixels('val/acc', orange)).toBe(0);
    expect(await page.getAttribute(`.run-legend li[data-run-id="${ids[1]}"] button.entry`, 'aria-pressed')).toBe('false');
    await shotOf(page, '.charts-with-legend', 'compare-9-one-hidden');
    await page.click(`.run-legend li[data-run-id="${ids[1]}"] button.entry`);
    await page.mouse.move(5, 5); // (over the legend, a run is highlighted)
    await expect.poll(async () => (await chartInfo('val/acc')).series.length).toBe(9);
    await expect.poll(() => colourPixels('val/acc', orange)).toBeGreaterThan(20);

    // Hovering run 1 highlights its curve: the others fade (no longer drawn in their full colour).
    const blue = second.colors[0]!;
    const green = second.colors[2]!;
    expect(await colourPixels('val/acc', green)).toBeGreaterThan(20);
    await page.hover(`.run-legend li[data-run-id="${ids[0]}"] .label`);
    await expect.poll(() => colourPixels('val/acc', green)).toBe(0);
    expect(await colourPixels('val/acc', blue)).toBeGreaterThan(20);
    await shotOf(page, '.charts-with-legend', 'compare-9-hover');
    await page.mouse.move(5, 5);
    await expect.poll(() => colourPixels('val/acc', green)).toBeGreaterThan(20);
  });

  it('9 runs: only differences keeps the column headers, in view while the table scrolls', async () => {
    const diff = page.locator('.compare-page .tables [data-action="only-differences"]');
    await diff.check();
    const headers = page.locator('.compare-page .tables .compare-config thead th[data-run-id]');
    await expect.poll(() => headers.count()).toBe(9);
    const ids = experimentRuns.slice(0, 9);
    const texts = await headers.allTextContents();
    texts.forEach((t, i) => expect(t).toContain(`#${ids[i]}`));
    expect(await page.locator('.compare-page .tables .compare-config tbody tr[data-key]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')))).toEqual(
      expect.arrayContaining(['name', 'seed', 'tricks.labelSmoothing.epsilon', 'tricks.mixup.alpha']),
    );
    expect(await page.locator('.compare-page .tables .compare-config tbody tr[data-key="model.name"]').count()).toBe(0);
    // Scrolled so that the table starts under the top bar: its header row is still what one sees.
    await page.evaluate(() => {
      const t = document.querySelector('.compare-page .tables .compare-config .table-wrap')!;
      window.scrollBy(0, t.getBoundingClientRect().top - 60);
    });
    // (the columns beyond the box's right edge are a sideways scroll away)
    const inBox = await headers.evaluateAll((ths) => {
      const wrap = ths[0]!.closest('.table-wrap')!.getBoundingClientRect();
      return ths.filter((th) => th.getBoundingClientRect().right <= wrap.right).map((th) => th.getAttribute('data-run-id'));
    });
    expect(inBox.length).toBeGreaterThanOrEqual(4);
    for (const id of inBox) expect(await onTop(`.compare-page .tables .compare-config thead th[data-run-id="${id}"]`, false), `header of #${id}`).toBe(true);
    await shotOf(page, '.compare-page .tables .compare-config', 'compare-9-only-differences');
    await diff.uncheck();
  });

  it('50 runs: every run in the scrolling legend, distinct line styles, plots keep their height, tables scroll', async () => {
    await openCompare(runIds);
    await checkChartsAndLegend(runIds);
    await checkTables();
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'compare-50-runs');
    // Nothing on the page (the arms' runs-by-seed table included) makes it wider than the window.
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    // The arm curves (12 arms) share one legend above them instead of filling each plot with one;
    // a drawn chart shows no "no data yet" beside it.
    await page.waitForSelector('.band-chart[data-drawn="true"]');
    const armRows = await page.locator('[data-testid="arm-summary"] tr[data-arm]').count();
    expect(armRows).toBeGreaterThan(4);
    expect(await page.locator('[data-testid="arm-legend"] li:has(.swatch)').count()).toBe(armRows);
    expect(await page.locator('.band-chart[data-drawn="true"] .no-data').count()).toBe(0);
    await page.locator('.arms-section').scrollIntoViewIfNeeded();
    await shotOf(page, '.arms-section .chart-grid', 'compare-50-arm-curves');
    for (const m of CHARTS) await shotOf(page, `.metric-chart[data-metric="${m}"]`, `compare-50-chart-${m.replace('/', '-')}`);
    // Colours repeat after 12 runs: colour + dash pattern tells all 50 apart.
    const styles = await page.locator('.run-legend li[data-run-id]').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-color')} ${e.getAttribute('data-dash')}`));
    expect(new Set(styles).size).toBe(50);
    // The legend scrolls inside its box, beside the charts.
    const legend = page.locator('.run-legend ul.legend');
    expect(await legend.evaluate((e) => e.scrollHeight > e.clientHeight + 100)).toBe(true);
    const lb = await box('.run-legend');
    const cb = await box('.metric-chart[data-metric="val/acc"]');
    expect(lb.x + lb.width).toBeLessThanOrEqual(cb.x);
    await legend.evaluate((e) => (e.scrollTop = e.scrollHeight));
    await shotOf(page, '.run-legend', 'compare-50-legend-scrolled');

    // Metrics: a row per run, in a box that scrolls down with the header in view.
    const metricsWrap = page.locator('[data-testid="compare-metrics"]');
    expect(await metricsWrap.locator('tbody tr[data-run-id]').count()).toBe(50);
    expect(await metricsWrap.evaluate((e) => e.scrollHeight > e.clientHeight)).toBe(true);
    await metricsWrap.evaluate((e) => (e.scrollTop = 400));
    await metricsWrap.scrollIntoViewIfNeeded();
    expect(await onTop('[data-testid="compare-metrics"] thead th[data-col="final:val/acc"]')).toBe(true);
    // Fixed decimals per column: every accuracy with 2 decimals and %, every loss with the same decimals.
    const acc = await metricsWrap.locator('td[data-col="final:val/acc"]').allTextContents();
    for (const a of acc) expect(a.trim()).toMatch(/^\d{1,3}\.\d\d%$/);
    const losses = (await metricsWrap.locator('td[data-col="final:val/loss"]').allTextContents()).map((t) => t.trim());
    const decimals = new Set(losses.map((l) => l.split('.')[1]?.length ?? 0));
    expect(decimals.size).toBe(1);
    expect([...decimals][0]).toBeGreaterThanOrEqual(2);
    // A header click sorts by the column, best first (the best is bold).
    await metricsWrap.locator('thead th[data-col="final:val/acc"] button.sort').click();
    const sorted = (await metricsWrap.locator('td[data-col="final:val/acc"]').allTextContents()).map((t) => parseFloat(t));
    expect(sorted).toEqual([...sorted].sort((a, b) => b - a));
    expect(await metricsWrap.locator('tbody tr:first-child td[data-col="final:val/acc"]').getAttribute('class')).toContain('best');
    await metricsWrap.evaluate((e) => (e.scrollTop = 0));
    await shotOf(page, '[data-testid="compare-metrics"]', 'compare-50-metrics-sorted');
    await metricsWrap.locator('thead th[data-col="final:val/acc"] button.sort').click();
    await metricsWrap.locator('thead th[data-col="final:val/acc"] button.sort').click();
    expect(await metricsWrap.locator('tbody tr[data-run-id]').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-run-id'))))).toEqual(runIds);

    // Config: 50 columns scroll sideways, the key column stays at the left edge.
    const wrap = page.locator('.compare-page .tables .compare-config .table-wrap');
    expect(await wrap.evaluate((e) => e.scrollWidth > e.clientWidth + 1000)).toBe(true);
    await wrap.scrollIntoViewIfNeeded();
    await wrap.evaluate((e) => (e.scrollLeft = e.scrollWidth));
    const wb = await box('.compare-page .tables .compare-config .table-wrap');
    const key = await box('.compare-page .tables .compare-config tbody tr[data-key="optimizer.lr"] th');
    expect(Math.abs(key.x - wb.x)).toBeLessThan(3);
    expect(await onTop('.compare-page .tables .compare-config tbody tr[data-key="optimizer.lr"] th code')).toBe(true);
    expect(await onTop(`.compare-page .tables .compare-config thead th[data-run-id="${runIds[49]}"]`)).toBe(true);
    await shotOf(page, '.compare-page .tables', 'compare-50-tables-scrolled');
  });

  it('one run per arm: the arm curves are not drawn a second time, a note points to the per-run charts', async () => {
    // The loose runs differ in lr and name: every one is an arm of its own.
    await openCompare(runIds.slice(42, 45));
    await page.waitForSelector('[data-testid="curves-per-run"]');
    expect(await page.locator('.band-chart').count()).toBe(0);
    expect(await page.locator('.compare-page .metric-chart').count()).toBe(4);
    // With seeds (an experiment's runs), the mean curves and bands are there.
    await openCompare(runIds.slice(0, 6));
    await page.waitForSelector('.band-chart[data-drawn="true"]');
    expect(await page.locator('[data-testid="curves-per-run"]').count()).toBe(0);
  });

  it('the picker: grouped by experiment and arm, searchable, select a whole arm, clear', async () => {
    await openCompare(experimentRuns.slice(0, 2));
    await page.click('details.picker summary');
    const picker = page.locator('[data-testid="run-picker"]');
    await picker.waitFor();
    await expect.poll(async () => picker.locator('section.group').evaluateAll((g) => g.map((e) => e.querySelector('.expander strong')?.textContent))).toEqual([
      'Learning rate sweep',
      'Regularisers on cnn3',
      'Not in an experiment',
    ]);
    // Collapsed: no wall of checkboxes; the counts say what is selected where.
    expect(await picker.locator('input[data-pick]').count()).toBe(0);
    expect(await picker.locator('section.group', { hasText: 'Regularisers' }).locator('.expander').textContent()).toContain('2 of 24 selected');
    await shotOf(page, '[data-testid="run-picker"]', 'compare-picker-collapsed');

    // Search by trick (its words): the 8 label smoothing runs, in their experiment and arm.
    await picker.locator('[data-testid="run-search"]').fill('label smoothing');
    await expect.poll(() => picker.locator('input[data-pick]').count()).toBe(8);
    expect(await picker.locator('[data-arm]').evaluateAll((a) => a.map((e) => e.getAttribute('data-arm')))).toEqual(['label smoothing 0.1']);
    await shotOf(page, '[data-testid="run-picker"]', 'compare-picker-search');
    // By the words of a long name, by #id.
    await picker.locator('[data-testid="run-search"]').fill('hand-written "number 3"');
    await expect.poll(() => picker.locator('input[data-pick]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-pick'))))).toEqual([runIds[44]]);
    await picker.locator('[data-testid="run-search"]').fill(`#${runIds[30]}`);
    await expect.poll(() => picker.locator('input[data-pick]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-pick'))))).toEqual([runIds[30]]);
    await picker.locator('[data-testid="run-search"]').press('Escape');
    await expect.poll(() => picker.locator('input[data-pick]').count()).toBe(0);

    // Open an experiment (keyboard), select one arm: its 9 seeds join the comparison.
    const sweep = picker.locator('section.group', { hasText: 'Learning rate sweep' });
    await sweep.locator('.expander').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => sweep.locator('input[data-pick]').count()).toBe(18);
    await sweep.locator('[data-arm="lr 0.05"] [data-action="select-arm"]').click();
    await expect.poll(async () => (await chartInfo('val/acc')).series.length).toBe(11);
    expect(await sweep.locator('.expander').textContent()).toContain('9 of 18 selected');
    await shotOf(page, '[data-testid="run-picker"]', 'compare-picker-arm');
    // One checkbox, then clear.
    await sweep.locator(`input[data-pick]`).first().check();
    await expect.poll(async () => (await chartInfo('val/acc')).series.length).toBe(12);
    await picker.locator('[data-action="clear-selection"]').click();
    await page.waitForURL((u) => !u.hash.includes('ids='));
    expect(await picker.locator('[data-testid="picked-count"]').textContent()).toContain('0 selected');
  });

  it('"Experiment from these runs" opens the experiment form with them', async () => {
    const ids = experimentRuns.slice(0, 3);
    await openCompare(ids);
    await page.click('[data-action="experiment-from-runs"]');
    await page.waitForURL(/#\/experiments\?from=/);
    const from = new URLSearchParams(new URL(page.url()).hash.split('?')[1]).get('from');
    expect(from).toBe(ids.join(','));
  });
});
