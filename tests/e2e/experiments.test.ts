// Experiment controls in a real browser: a new experiment from the form (errors at the inputs, the
// runs it makes and their time before it starts), its progress and time left in its header, the
// queue in the top bar, a running run's time left, Stop and Resume in one click each; an
// experiment prefilled from runs (`?from=`), and a preset that asks before it starts its runs.
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, seedStore, shot, shotOf, SHOTS, startServe, stopServe } from '../helpers/e2e';
import { writeFakeFashion } from '../helpers/datasets';
import { tmpDataDir } from '../helpers/tmp';
import { planExperiment, type ExperimentFile } from '../../src/shared/experiments';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

/** The runs the form makes below: the same model and data as the seeded runs (so estimated). */
const TINY = { dataset: { name: 'synthetic', trainSubset: 1600 }, model: { name: 'cnn3', width: 8 }, batchSize: 32 };

let tmp: ReturnType<typeof tmpDataDir>;
let server: ChildProcess | undefined;
let url: string;
let browser: Browser;
let page: Page;
let runIds: number[];
let large: number;

/** An experiment file as seedStore takes it (validated, defaults filled). */
function planFile(raw: unknown): ExperimentFile {
  const r = planExperiment(raw, BUILTIN_FACTS);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.plan.file;
}

const go = async (hash: string) => {
  await page.evaluate((h) => (window.location.hash = h), hash);
};
const text = async (sel: string) => (await page.textContent(sel)) ?? '';

beforeAll(async () => {
  tmp = tmpDataDir('tb-e2e-exp-');
  // Three finished runs: two seeds of lr 0.05 and one of lr 0.02 (10 s epochs, as seeded).
  let experimentIds: number[];
  ({ runIds, experimentIds } = seedStore(tmp.dir, {
    // a finished experiment of 3 arms x 20 seeds, for the header of a large one
    experiments: [
      {
        file: planFile({
          name: 'Large finished',
          baseline: { ...TINY, epochs: 2 },
          arms: [
            { name: 'smoothing', set: { 'tricks.labelSmoothing': { epsilon: 0.1 } } },
            { name: 'mixup', set: { 'tricks.mixup': { alpha: 0.2 } } },
          ],
          seeds: Array.from({ length: 20 }, (_, i) => i + 1),
        }),
        acc: (arm, seed) => 0.7 + 0.001 * seed + (arm === 'mixup' ? 0.01 : 0),
        curve: { epochs: 2, stepsPerEpoch: 2 },
      },
    ],
    runs: [
      { config: { ...TINY, epochs: 2, seed: 1, optimizer: { name: 'sgd', lr: 0.05 } }, curve: { acc: 0.8, epochs: 2 } },
      { config: { ...TINY, epochs: 2, seed: 2, optimizer: { name: 'sgd', lr: 0.05 } }, curve: { acc: 0.81, epochs: 2 } },
      { config: { ...TINY, epochs: 2, seed: 1, optimizer: { name: 'sgd', lr: 0.02 } }, curve: { acc: 0.78, epochs: 2 } },
    ],
  }));
  large = experimentIds[0]!;
  runIds = runIds.slice(-3);
  // The presets train on Fashion-MNIST: a small stand-in (their runs are stopped at once).
  const system = path.join(tmp.dir, 'system-datasets');
  writeFakeFashion(path.join(system, 'fashion-mnist'), 200, 50);
  const s = await startServe(tmp.dir, { env: { TRICKBENCH_SYSTEM_DATASETS: system } });
  server = s.child;
  url = s.url;
  ({ browser, page } = await openBrowser());
  await page.goto(url);
  await page.waitForSelector('nav');
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stopServe(server);
  tmp?.cleanup();
});

describe('experiment controls', () => {
  it('prefills a new experiment from runs: the first as baseline, one arm per other config, their seeds', async () => {
    await go(`#/experiments?from=${runIds.join(',')}`);
    await page.waitForSelector('[data-testid="prefilled"]');
    expect(await page.inputValue('[data-field="experiment.name"]')).toBe(`From runs #${runIds.join(', #')}`);
    expect(await page.inputValue('[data-field="optimizer.lr"]')).toBe('0.05');
    expect(await page.locator('fieldset.arm').count()).toBe(1);
    expect(await text('[data-arm="0"] [data-testid="arm-set"]')).toContain('optimizer.lr = 0.02');
    expect(await page.getAttribute('[data-field="arms.0.name"]', 'placeholder')).toBe('learning rate 0.02');
    expect(await page.inputValue('[data-field="experiment.seeds"]')).toBe('1, 2');
    // 2 arms x 2 seeds, estimated from the seeded runs: 2 epochs of 10 s each
    expect(await text('[data-testid="experiment-plan"]')).toMatch(/4 runs \(2 arms × 2 seeds\): about 1m 20s/);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'experiments-from-runs');
  });

  it('a large finished experiment: all done, nothing to stop or resume', async () => {
    await go(`#/experiments/${large}`);
    await expect.poll(() => text('[data-testid="experiment-eta"]')).toBe('60 of 60 runs done');
    expect(await page.isDisabled('[data-action="stop-experiment"]')).toBe(true);
    expect(await page.isDisabled('[data-action="resume-experiment"]')).toBe(true);
    expect(await page.getAttribute('[data-testid="experiment-progress"] [role="progressbar"]', 'aria-valuenow')).toBe('100');
    await page.screenshot({ path: path.join(SHOTS, 'experiments-header-large.png'), clip: { x: 0, y: 0, width: 1440, height: 200 } });
  });

  it('creates an experiment with the form, shows its progress and time left, stops and resumes it in one click each', async () => {
    await go('#/experiments');
    await page.waitForSelector('[data-testid="experiments"]');
    if (!(await page.getAttribute('[data-testid="new-experiment"]', 'open') !== null)) await page.click('[data-testid="new-experiment"] > summary');
    await page.click('button:has-text("Reset")');
    await page.waitForFunction(() => (document.querySelector('[data-field="experiment.name"]') as HTMLInputElement | null)?.value === '');
    // Nothing filled in: errors at the inputs, nothing created.
    await page.click('[data-action="create-experiment"]');
    await expect.poll(() => text('.exp-name .field-error')).toContain('required');
    expect(await text('[data-arm="0"] .arm-error')).toContain('changes nothing');
    // A tiny baseline, an arm with label smoothing, two seeds.
    await page.fill('[data-field="experiment.name"]', 'Smoothing from the form');
    await page.fill('[data-field="dataset.trainSubset"]', String(TINY.dataset.trainSubset));
    await page.fill('[data-field="model.width"]', '8');
    await page.fill('[data-field="batchSize"]', '32');
    await page.fill('[data-field="epochs"]', '2');
    await page.check('[data-field="arms.0.tricks.labelSmoothing"]');
    await page.fill('[data-field="arms.0.tricks.labelSmoothing.epsilon"]', '0.2');
    expect(await page.getAttribute('[data-field="arms.0.name"]', 'placeholder')).toBe('label smoothing ε=0.2');
    // A bad value is an error at the arm's field.
    await page.fill('[data-field="arms.0.tricks.labelSmoothing.epsilon"]', '2');
    await expect.poll(() => text('.field-error[data-field="arms.0.tricks.labelSmoothing.epsilon"]')).not.toBe('');
    await page.fill('[data-field="arms.0.tricks.labelSmoothing.epsilon"]', '0.2');
    await page.fill('[data-field="experiment.seeds"]', '1-2');
    await expect.poll(() => text('[data-testid="experiment-plan"]')).toMatch(/4 runs \(2 arms × 2 seeds\): about 1m 20s/);
    expect(await page.locator('.new-experiment .field-error').count()).toBe(0);
    // The JSON editor shows the same file, and back.
    await page.click('[data-action="toggle-experiment-json"]');
    const json = JSON.parse(await page.inputValue('[data-field="experiment-json"]')) as { arms: { name: string; set: unknown }[]; seeds: number[] };
    expect(json.arms).toEqual([{ name: 'label smoothing ε=0.2', set: { 'tricks.labelSmoothing': { epsilon: 0.2, convention: 'uniform' } } }]);
    expect(json.seeds).toEqual([1, 2]);
    await page.click('[data-action="toggle-experiment-json"]');
    await shotOf(page, '.new-experiment', 'experiments-form');

    await page.click('[data-action="create-experiment"]');
    await page.waitForURL(/#\/experiments\/\d+$/);
    await expect.poll(() => text('h1')).toBe('Smoothing from the form');
    await expect.poll(() => text('[data-testid="experiment-eta"]'), { timeout: 20_000 }).toMatch(/^0 of 4 runs done · (about|at least) .+ left/);
    await expect.poll(() => text('[data-testid="queue-status"]'), { timeout: 20_000 }).toMatch(/1 running, 3 queued/);
    expect(await text('[data-testid="queue-eta"]')).toMatch(/(about|at least) .+ left/);
    await shotOf(page, '.topbar', 'experiments-queue-status');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(SHOTS, 'experiments-header.png'), clip: { x: 0, y: 0, width: 1440, height: 260 } });

    // A running run's time left, from its measured pace.
    await page.click('nav >> text=Runs');
    await expect.poll(() => text('[data-testid="run-eta"]'), { timeout: 30_000, interval: 250 }).toMatch(/\d+s left|\dm \d+s left/);
    await shotOf(page, 'tr:has([data-testid="run-progress"])', 'experiments-run-eta');
    await page.goBack();

    // Stop: every queued and running run is cancelled, in one click.
    await page.click('[data-action="stop-experiment"]');
    await expect.poll(() => text('[data-testid="experiment-control"]')).toMatch(/Stopped [1-4] runs?/);
    await expect.poll(() => text('[data-testid="run-counts"]'), { timeout: 30_000 }).not.toMatch(/running|queued/);
    await page.waitForSelector('[data-testid="queue-status"]', { state: 'detached' });
    expect(await text('[data-testid="experiment-eta"]')).toMatch(/stopped: \d runs? not finished/);
    // Resume: they are queued again, in one click.
    await page.click('[data-action="resume-experiment"]');
    await expect.poll(() => text('[data-testid="experiment-control"]')).toMatch(/Queued [1-4] runs? again/);
    await expect.poll(() => text('[data-testid="run-counts"]')).toMatch(/running|queued/);
    await page.click('[data-action="stop-experiment"]'); // minutes of training: not here
    await expect.poll(() => text('[data-testid="run-counts"]'), { timeout: 30_000 }).not.toMatch(/running|queued/);
  }, 120_000);

  it('a preset says how many runs and how long before it starts them, and asks', async () => {
    await page.click('nav >> text=Presets');
    await page.waitForSelector('[data-action="start-rdrop-cnn"]');
    expect(await text('[data-testid="estimate-rdrop-cnn"]')).toMatch(/time unknown/);
    await page.click('[data-action="start-rdrop-cnn"]');
    await page.waitForSelector('[data-testid="preset-confirm"]');
    expect(await text('[data-testid="preset-confirm"]')).toMatch(/Start 6 runs, time unknown/);
    await shotOf(page, '.preset[data-preset="rdrop-cnn"]', 'experiments-preset-confirm');
    // Cancel starts nothing; confirming does.
    await page.click('[data-action="cancel-start"]');
    expect(await page.locator('[data-testid="preset-confirm"]').count()).toBe(0);
    expect(page.url()).toMatch(/#\/presets$/);
    await page.click('[data-action="start-rdrop-cnn"]');
    await page.click('[data-action="confirm-start-rdrop-cnn"]');
    await page.waitForURL(/#\/experiments\/\d+$/);
    await expect.poll(() => text('h1')).toBe('R-Drop on a CNN with dropout');
    await page.click('[data-action="stop-experiment"]');
    await expect.poll(() => text('[data-testid="run-counts"]'), { timeout: 30_000 }).toMatch(/^\s*6 cancelled/);
  }, 60_000);
});
