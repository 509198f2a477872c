// The run form and small UI promises in a real browser (issue 16, items 7 and 8): a train subset
// above the dataset's size warns at its field with what the run will really use; an empty numeric
// field says "required"; a disabled checkbox is not shown ticked; a new page opens at its top
// (back returns where it was); bad augmentation JSON is explained in words; the dataset sample
// grid uses the page's width. Screenshots: test-results/forms-*.png.
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHOTS, openBrowser, seedStore, shot, shotOf, startServe, stopServe } from '../helpers/e2e';
import { writeFakeFashion } from '../helpers/datasets';
import { tmpDataDir } from '../helpers/tmp';

let tmp: ReturnType<typeof tmpDataDir>;
let server: ChildProcess | undefined;
let url: string;
let browser: Browser | undefined;
let page: Page;

const scrollY = () => page.evaluate(() => window.scrollY);

beforeAll(async () => {
  tmp = tmpDataDir('tb-forms-');
  // The stand-in Fashion-MNIST in a system datasets dir, as tests/e2e/app.test.ts has it: the form
  // knows the real one's size (60,000) by name, as it does for the built-ins.
  const system = path.join(tmp.dir, 'system-datasets');
  writeFakeFashion(path.join(system, 'fashion-mnist'), 200, 50);
  // Enough runs for the runs list to scroll.
  seedStore(tmp.dir, {
    runs: Array.from({ length: 45 }, (_, i) => ({ config: { name: `seeded ${i + 1}`, epochs: 5, seed: i + 1 }, curve: { acc: 0.6 + i / 200, stepsPerEpoch: 2 } })),
  });
  ({ child: server, url } = await startServe(tmp.dir, { env: { TRICKBENCH_SYSTEM_DATASETS: system } }));
  ({ browser, page } = await openBrowser());
  page.setDefaultTimeout(8000);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stopServe(server);
  tmp?.cleanup();
});

describe('forms and small UI promises', () => {
  it('warns at the train subset when it is larger than the dataset, saying what the run will use', async () => {
    await page.goto(url + '#/new');
    await page.waitForSelector('select[data-field="dataset.name"] option[value="fashion-mnist"]', { state: 'attached' });
    await page.selectOption('select[data-field="dataset.name"]', 'fashion-mnist');
    await page.fill('input[data-field="dataset.trainSubset"]', '100000');
    const warning = page.locator('.field-warning[data-field="dataset.trainSubset"]');
    await expect.poll(() => warning.textContent()).toBe('Fashion-MNIST has 60,000 training images; with valSplit 0.1 this trains on 54,000 and validates on 6,000');
    // It follows the split, and goes once the subset fits.
    await page.fill('input[data-field="dataset.valSplit"]', '0.2');
    await expect.poll(() => warning.textContent()).toContain('with valSplit 0.2 this trains on 48,000 and validates on 12,000');
    await shotOf(page, 'fieldset[data-section="data"]', 'forms-train-subset-warning');
    await page.fill('input[data-field="dataset.trainSubset"]', '5000');
    await expect.poll(() => warning.count()).toBe(0);
    // A split that rounds to no validation image says so at the split.
    await page.fill('input[data-field="dataset.trainSubset"]', '4');
    await page.fill('input[data-field="dataset.valSplit"]', '0.1');
    await expect.poll(() => page.textContent('.field-warning[data-field="dataset.valSplit"]')).toBe('0.1 of 4 images rounds to no validation image: nothing is validated');
    // RePr cycles that do not fit in the epochs are said at the cycles.
    await page.fill('input[data-field="epochs"]', '60');
    await page.click('label[for="tricks.repr"]');
    await expect.poll(() => page.textContent('.field-warning[data-field="tricks.repr.cycles"]')).toBe('60 epochs fit 2 of 3 cycles: pruning after epochs 20, 50');
    await shotOf(page, '.trick[data-trick="repr"]', 'forms-repr-warning');
  });

  it('says "required" for an empty numeric field, and keeps the schema message for a wrong one', async () => {
    await page.click('button:has-text("Reset to defaults")');
    await page.fill('input[data-field="epochs"]', '');
    await page.fill('input[data-field="optimizer.lr"]', 'abc');
    await page.click('label[for="tricks.mixup"]');
    await page.fill('input[data-field="tricks.mixup.alpha"]', '');
    await page.click('button:has-text("Start run")');
    await expect.poll(() => page.textContent('.field-error[data-field="epochs"]')).toBe('required');
    expect(await page.textContent('.field-error[data-field="tricks.mixup.alpha"]')).toBe('required');
    expect(await page.textContent('.field-error[data-field="optimizer.lr"]')).toBe('expected a number, got "abc"');
    expect(await page.locator('text=expected a number, got ""').count()).toBe(0);
    await shotOf(page, 'fieldset[data-section="run"]', 'forms-required');
  });

  it('explains bad augmentation JSON in words at the field', async () => {
    await page.click('button:has-text("Reset to defaults")');
    await page.fill('textarea[data-field="augment"]', '[{"name":"randomCrop","padding":4},{"name":"hflip",}]');
    await page.click('button:has-text("Start run")');
    const err = page.locator('.field:has(textarea[data-field="augment"]) .field-error');
    await expect.poll(() => err.textContent()).toBe("not JSON: line 1, column 52: a comma before '}' ends the list of options: remove it");
    expect(await page.textContent('.field')).not.toMatch(/JSON at position/);
    await shotOf(page, 'fieldset[data-section="data"]', 'forms-augment-json');
    // Valid JSON, wrong step: the step and its transform are named.
    await page.fill('textarea[data-field="augment"]', '[{"name":"hflip"},{"name":"randomCrop","padding":-1}]');
    await expect.poll(() => err.first().textContent()).toBe('step 2 (randomCrop), padding: must be >= 0, got -1');
    await page.fill('textarea[data-field="augment"]', '[{"name":"flip"}]');
    await expect.poll(() => err.first().textContent()).toMatch(/^step 1: "flip" is not a transform; the transforms are randomCrop, hflip/);
  });

  it('shows a disabled checkbox unticked, with the reason beside it', async () => {
    await page.click('button:has-text("Reset to defaults")');
    const head = page.locator('input[data-field="init.excludeHead"]');
    expect(await head.isDisabled()).toBe(true);
    expect(await head.isChecked()).toBe(false);
    expect(await page.textContent('.field:has(input[data-field="init.excludeHead"]) .hint')).toContain('no source run: nothing is loaded');
    const fp16 = page.locator('#fp16');
    expect([await fp16.isDisabled(), await fp16.isChecked()]).toEqual([true, false]);
    expect(await page.textContent('[data-field="fp16"] .hint')).toContain('unavailable');
    await shotOf(page, 'fieldset[data-section="fine-tune"]', 'forms-disabled-checkbox');
    await shotOf(page, 'fieldset[data-section="tricks"]', 'forms-fp16');
  });

  it('opens every new page at its top, and back returns where the page was', async () => {
    await page.goto(url + '#/');
    await page.waitForSelector('a[href="#/runs/1"]');
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await expect.poll(scrollY).toBeGreaterThan(300);
    const before = await scrollY();
    // A run low in the list: its page opens at the top, not half-way down.
    await page.locator('a[href="#/runs/1"]').first().click();
    await page.waitForURL(/#\/runs\/1$/);
    await page.waitForSelector('.badge[data-status="completed"]');
    expect(await scrollY()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, 'forms-run-page-top.png') }); // the viewport: the page's top
    await page.goBack();
    await page.waitForSelector('a[href="#/runs/1"]');
    await expect.poll(scrollY).toBe(before);
    await page.screenshot({ path: path.join(SHOTS, 'forms-runs-back.png') }); // back where the list was
    // The nav at the top of a scrolled form: the next page starts at its top too.
    await page.click('nav >> text=New run');
    await page.waitForSelector('button:has-text("Start run")');
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await expect.poll(scrollY).toBeGreaterThan(100);
    await page.click('nav >> text=Datasets');
    await page.waitForURL(/#\/datasets$/);
    expect(await scrollY()).toBe(0);
  });

  it('fills the page width with the dataset sample grid, images crisp', async () => {
    await page.goto(url + '#/datasets/fashion-mnist');
    await page.waitForSelector('[data-testid="sample-grid"] canvas.augmented');
    const m = await page.evaluate(() => {
      const main = document.querySelector('main')!;
      const cs = getComputedStyle(main);
      const contentLeft = main.getBoundingClientRect().left + parseFloat(cs.paddingLeft);
      const contentWidth = main.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
      const boxes = [...document.querySelectorAll('[data-testid="sample-grid"] canvas')].map((c) => c.getBoundingClientRect());
      const right = Math.max(...boxes.map((b) => b.right));
      const left = Math.min(...boxes.map((b) => b.left));
      const first = document.querySelector('[data-testid="sample-grid"] canvas')!;
      return { contentLeft, contentWidth, left, right, imageWidth: boxes[0]!.width, rendering: getComputedStyle(first).imageRendering };
    });
    // The images span the content box (within a cell's gap at each side) at 1440 px.
    expect(m.left - m.contentLeft).toBeLessThan(8);
    expect(m.right - m.left).toBeGreaterThan(0.97 * m.contentWidth);
    expect(m.imageWidth).toBeGreaterThanOrEqual(48); // 28-px images at least ~2x
    expect(m.rendering).toBe('pixelated');
    await shot(page, 'forms-sample-grid');
    // Bad pipeline JSON on the dataset page is explained live under its input.
    await page.fill('[data-field="augment"]', '[{"name":"hflip" "p":1}]');
    await expect.poll(() => page.textContent('.field-error[data-field="augment"]')).toBe(`augment is not JSON: line 1, column 18: a ',' or '}' is missing before '"'`);
    await page.fill('[data-field="augment"]', '[{"name":"randomCrop","size":64,"padding":0}]');
    await expect.poll(() => page.textContent('.field-error[data-field="augment"]')).toBe('augment: step 1 (randomCrop), size: crop 64x64 is larger than the padded image 28x28');
    await shotOf(page, '.aug-controls', 'forms-dataset-augment-error');
    expect(fs.existsSync(path.join(tmp.dir, 'system-datasets'))).toBe(true);
  });
});
