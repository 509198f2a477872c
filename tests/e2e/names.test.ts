// Names people read, in a real browser on a seeded store (no training): the runs list's
// experiment, arm and tricks columns and its filter count, experiment run names whose arm and
// seed stay visible when cut, the run page header's trick chips, and the Compare page's ad-hoc
// arms named by their runs or their tricks (never `tricks.x=—`). Screenshots: test-results/names-*.png.
import type { ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, seedStore, shot, shotOf, startServe, stopServe } from '../helpers/e2e';
import { tmpDataDir } from '../helpers/tmp';
import { runName, type ExperimentFile } from '../../src/shared/experiments';
import { Store } from '../../src/store/store';

const EXPERIMENT = 'Smoothing or mixing? A small CNN on synthetic data, three seeds'; // no "mixup" in it: the filter test
const tiny = { dataset: { name: 'synthetic', trainSubset: 400 }, epochs: 5, batchSize: 32 };
const file = {
  name: EXPERIMENT,
  baseline: tiny,
  arms: [
    { name: 'label smoothing', set: { 'tricks.labelSmoothing': { epsilon: 0.1 } } },
    { name: 'mixup', set: { 'tricks.mixup': { alpha: 0.2 } } },
  ],
  seeds: [1, 2, 3],
} as unknown as ExperimentFile;

/** Loose runs without names (the app calls them by their config): three configs x two seeds, an
 * lr variant, and three with other tricks. */
const loose = [
  ...[1, 2].map((seed) => ({ config: { ...tiny, seed }, curve: { acc: 0.7 + seed / 100 } })),
  ...[1, 2].map((seed) => ({ config: { ...tiny, seed, tricks: { labelSmoothing: { epsilon: 0.1, convention: 'uniform' } } }, curve: { acc: 0.72 + seed / 100 } })),
  ...[1, 2].map((seed) => ({ config: { ...tiny, seed, tricks: { mixup: { alpha: 0.2 } } }, curve: { acc: 0.73 + seed / 100 } })),
  ...[1, 2].map((seed) => ({ config: { ...tiny, seed, optimizer: { lr: 0.05 } }, curve: { acc: 0.69 + seed / 100 } })),
  { config: { ...tiny, name: 'RePr try', tricks: { repr: { s1: 2, s2: 1, cycles: 1 } } }, curve: { acc: 0.68 } },
  { config: { ...tiny, tricks: { rifle: { everyEpochs: 2, noReinitLastEpochs: 1 } } }, curve: { acc: 0.5 }, status: 'failed' as const },
  { config: { ...tiny, model: { name: 'resnet20', zeroGamma: true }, schedule: { name: 'cosine', warmupEpochs: 1 }, optimizer: { noBiasDecay: true } }, curve: { acc: 0.8 } },
];

let tmp: ReturnType<typeof tmpDataDir>;
let server: ChildProcess | undefined;
let url: string;
let browser: Browser | undefined;
let page: Page;
let expRuns: number[];
let looseRuns: number[];

beforeAll(async () => {
  tmp = tmpDataDir('trickbench-e2e-names');
  const seeded = seedStore(tmp.dir, { experiments: [{ file, acc: (arm, seed) => 0.7 + (arm === 'baseline' ? 0 : 0.02) + seed / 200 }], runs: loose });
  expRuns = seeded.runIds.slice(0, 9);
  looseRuns = seeded.runIds.slice(9);
  // seedStore gives every seed's run the first seed's name: name them as the app does.
  const store = new Store(tmp.dir);
  try {
    const info = store.experiments.get(seeded.experimentIds[0]!)!;
    const arm = new Map(info.arms.map((a) => [a.id, a.name]));
    const rename = store.db.prepare(`UPDATE run SET name = ?, config = json_set(config, '$.name', ?) WHERE id = ?`);
    for (const r of info.runs) {
      const name = runName(EXPERIMENT, arm.get(r.armId)!, r.seed);
      rename.run(name, name, r.runId);
    }
  } finally {
    store.close();
  }
  ({ child: server, url } = await startServe(tmp.dir));
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
const texts = (selector: string) => page.locator(selector).allTextContents();
const cell = (id: number, col: string) => page.locator(`tr[data-run-id="${id}"] [data-col="${col}"]`);

describe('names people read', () => {
  it('runs list: experiment, arm and tricks columns, names that keep arm and seed, a filter count that says "of"', async () => {
    await go('/');
    await page.waitForSelector('tr[data-run-id]');
    await expect.poll(() => page.locator('tr[data-run-id]').count()).toBe(20);
    expect(await page.textContent('[data-testid="runs-count"]')).toBe('20 runs');
    const ls2 = expRuns[4]!; // seed 2: baseline, label smoothing, mixup
    expect(await cell(ls2, 'experiment').textContent()).toBe(EXPERIMENT);
    expect(await cell(ls2, 'arm').textContent()).toBe('label smoothing');
    expect(await cell(ls2, 'tricks').textContent()).toBe('label smoothing ε=0.1');
    expect(await cell(expRuns[3]!, 'tricks').textContent()).toBe('–');
    // The experiment's long name is cut, but every row still shows its arm and seed, whole.
    for (const id of expRuns) {
      const name = cell(id, 'name');
      expect(await name.getAttribute('data-col')).toBe('name');
      const box = (await name.locator('.run-name').boundingBox())!;
      const end = (await name.locator('.end').boundingBox())!;
      const middle = (await name.locator('.middle').boundingBox())!;
      expect(end.x + end.width).toBeLessThanOrEqual(box.x + box.width + 0.5);
      const [endText, middleText] = await Promise.all([name.locator('.end').textContent(), name.locator('.middle').textContent()]);
      expect(endText).toMatch(/^ · seed [123]$/);
      // the arm and the seed are not cut: their text fits their boxes (to a hundredth of a pixel: a
      // fraction too little is an ellipsis)
      const fits = (e: Element) => {
        const range = document.createRange();
        range.selectNodeContents(e);
        return range.getBoundingClientRect().width <= e.getBoundingClientRect().width + 0.01;
      };
      expect(await name.locator('.middle').evaluate(fits)).toBe(true);
      expect(await name.locator('.end').evaluate(fits)).toBe(true);
      expect(middle.width).toBeGreaterThan(20);
      expect(middleText).toMatch(/ · (baseline|label smoothing|mixup)$/);
      const title = (await name.locator('a').getAttribute('title'))!;
      expect(title.startsWith(`${EXPERIMENT} · `) && / · (baseline|label smoothing|mixup) · seed [123]$/.test(title), title).toBe(true);
    }
    // A run without a name is called by its config, its tricks included.
    expect(await cell(looseRuns[3]!, 'name').locator('a').getAttribute('title')).toBe('cnn3(32) synthetic sgd lr 0.01 · label smoothing ε=0.1 · seed 2');
    expect(await cell(looseRuns[9]!, 'tricks').textContent()).toBe('RIFLE (every 2 epochs, none in the last 1 epoch)');
    expect(await cell(looseRuns[10]!, 'tricks').textContent()).toBe('no bias decay + warmup 1 ep + cosine LR + zero-γ');
    // At 1440 px what a run is and how it did (up to test/acc) shows without scrolling sideways.
    const fit = await page.evaluate(() => {
      const wrap = document.querySelector('.table-wrap')!.getBoundingClientRect();
      const th = document.querySelector('.runs-table th[data-sort="test-acc"]')!.getBoundingClientRect();
      return th.right <= wrap.right;
    });
    expect(fit).toBe(true);
    await shot(page, 'names-01-runs-list');

    await page.fill('[data-filter="text"]', 'mixup');
    await expect.poll(() => page.locator('tr[data-run-id]').count()).toBe(5); // 3 experiment runs of the arm, 2 loose
    expect(await page.textContent('[data-testid="runs-count"]')).toBe('5 of 20 runs');
    await page.check(`input[aria-label="select run ${looseRuns[4]}"]`);
    expect(await page.textContent('[data-testid="runs-count"]')).toBe('1 selected · 5 of 20 runs');
    await shot(page, 'names-02-runs-filtered');
    await page.fill('[data-filter="text"]', 'ε=0.1');
    await expect.poll(() => page.locator('tr[data-run-id]').count()).toBe(5);
  });

  it('run page header: the tricks as chips, the experiment and arm', async () => {
    await go(`/runs/${expRuns[4]}`);
    await page.waitForSelector('[data-testid="run-tricks"]');
    expect(await texts('[data-testid="run-tricks"] .trick-chip')).toEqual(['label smoothing ε=0.1']);
    expect(await page.textContent('[data-testid="run-experiment"] dd')).toBe(`${EXPERIMENT} · arm label smoothing`);
    await shotOf(page, '.run-header', 'names-03-run-header');
    await go(`/runs/${looseRuns[10]}`);
    await expect.poll(() => texts('[data-testid="run-tricks"] .trick-chip')).toEqual(['no bias decay', 'warmup 1 ep', 'cosine LR', 'zero-γ']);
    expect(await page.locator('[data-testid="run-experiment"]').count()).toBe(0);
    await go(`/runs/${looseRuns[0]}`);
    await expect.poll(() => page.textContent('[data-testid="run-tricks"]')).toMatch(/tricks\s*none/);
  });

  it('Compare, as arms across seeds: ad-hoc arms named by their tricks or by the field that differs', async () => {
    await go(`/compare?ids=${looseRuns.slice(0, 8).join(',')}`);
    const rows = '[data-testid="arm-summary"] tr[data-arm]';
    await expect.poll(() => page.locator(rows).count(), { timeout: 20_000 }).toBe(4);
    const arms = await page.locator(rows).evaluateAll((trs) => trs.map((t) => t.getAttribute('data-arm')));
    expect(arms).toEqual(['baseline', 'label smoothing ε=0.1', 'mixup α=0.2', 'lr 0.05']);
    for (const a of arms) expect(a).not.toMatch(/=—|tricks\.|optimizer\./);
    await shot(page, 'names-04-compare-adhoc');
    // the table alone, without the sticky app bar over it
    await page.addStyleTag({ content: '.topbar { position: static !important; }' });
    await shotOf(page, '[data-testid="arm-summary"]', 'names-04b-compare-adhoc-arms');
  });

  it('Compare of experiment runs picked by hand: arms named after the runs, the experiment left out; legends keep arm and seed', async () => {
    await go(`/compare?ids=${expRuns.join(',')}`);
    const rows = '[data-testid="arm-summary"] tr[data-arm]';
    await expect.poll(() => page.locator(rows).count(), { timeout: 20_000 }).toBe(3);
    expect(await page.locator(rows).evaluateAll((trs) => trs.map((t) => t.getAttribute('data-arm')))).toEqual(['baseline', 'label smoothing', 'mixup']);
    const legend = await texts('ul.legend li .label');
    expect(legend).toHaveLength(9);
    for (const l of legend) expect(l).toMatch(/… · (baseline|label smoothing|mixup) · seed [123]$/);
    expect(new Set(legend).size).toBe(9);
    await shot(page, 'names-05-compare-experiment-runs');
  });
});
