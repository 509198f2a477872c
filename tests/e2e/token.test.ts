// An open tab across serve restarts (issue 16, item 9): serve keeps its token and port, so the tab
// shows "reconnecting…" (then "serve is not running" while it stays down), reconnects by itself
// and shows what changed meanwhile without a reload; when serve comes back with another token the
// page says why and what to do, and opening the new address (in another tab) lets it back in.
import fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mustParseRunConfig } from '../../src/shared/config';
import { experimentFileSchema } from '../../src/shared/experiments';
import { Store } from '../../src/store/store';
import { openBrowser, seedStore, shot, shotOf, startServe } from '../helpers/e2e';
import { tmpDataDir } from '../helpers/tmp';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

const OTHER_TOKEN = 'restarted_with-another-token-0123456789';

let tmp: ReturnType<typeof tmpDataDir>;
let browser: Browser;
let page: Page;
let child: ChildProcess | undefined;
let experimentId: number;

/** SIGTERM and wait (returns at once for a child already gone, by exit or by signal). */
async function stop(c: ChildProcess | undefined): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await gone;
}

const runs = (names: string[]) => names.map((name, i) => ({ config: { name, model: { name: 'mlp' }, epochs: 3 }, curve: { acc: 0.6 + i * 0.05, epochs: 3, stepsPerEpoch: 2 } }));
const banner = () => page.locator('[data-connection-banner]');
const bannerKind = async () => ((await banner().count()) ? await banner().getAttribute('data-connection-banner') : null);
const rowCount = () => page.locator('tr[data-run-id]').count();

beforeAll(async () => {
  tmp = tmpDataDir('tb-e2e-token-');
  const file = experimentFileSchema.parse({ name: 'restart experiment', baseline: { model: { name: 'mlp' }, epochs: 3 }, arms: [{ name: 'smoothing', set: { 'tricks.labelSmoothing': { epsilon: 0.1 } } }], seeds: [1, 2] });
  const seeded = seedStore(tmp.dir, { experiments: [{ file, acc: () => 0.6, curve: { epochs: 3, stepsPerEpoch: 2 } }], runs: runs(['before restart A', 'before restart B']) });
  experimentId = seeded.experimentIds[0]!;
  ({ browser, page } = await openBrowser());
});

afterAll(async () => {
  await browser?.close();
  await stop(child);
  tmp?.cleanup();
});

describe('a tab open while serve restarts', () => {
  it('reconnects by itself and catches up; a changed token is explained', async () => {
    const first = await startServe(tmp.dir);
    child = first.child;
    const url = first.url;
    const port = new URL(url).port;
    await page.goto(url);
    await expect.poll(rowCount).toBe(6);
    // A second tab on the experiment's page, opened by address alone (the cookie is its token):
    // it follows events, not the stores, so it shows what changed meanwhile only if told.
    const tab2 = await page.context().newPage();
    await tab2.goto(`${new URL(url).origin}/#/experiments/${experimentId}`);
    const counts = () => tab2.locator('[data-testid="run-counts"]').textContent();
    await expect.poll(counts).toMatch(/^\s*4 completed ·\s+2 arms × 2 seeds/);
    await page.waitForTimeout(1500); // the app fetches the comparison pages' code 1 s after it starts
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

    // serve stops: "reconnecting…" at once, "not running" when it stays down
    await stop(child);
    await expect.poll(bannerKind, { timeout: 5000 }).toBe('reconnecting');
    expect(await banner().textContent()).toContain(`Reconnecting to serve at http://127.0.0.1:${port}`);
    await shotOf(page, '.app', 'token-1-reconnecting');
    await expect.poll(bannerKind, { timeout: 15_000 }).toBe('down');
    expect((await banner().textContent())!.trim()).toContain(`serve is not running at http://127.0.0.1:${port}; start it with npm run serve (this page reconnects by itself when it is back).`);
    await shotOf(page, '.app', 'token-2-down');

    // runs recorded while the tab was cut off (a CLI run, say)
    seedStore(tmp.dir, { runs: runs(['while serve was down C', 'while serve was down D']) });
    const store = new Store(tmp.dir); // and a third seed of the experiment's baseline
    try {
      const arm = store.experiments.arms(experimentId).find((a) => a.name !== 'smoothing')!;
      const run = store.createRun(mustParseRunConfig({ name: 'baseline seed 3', model: { name: 'mlp' }, epochs: 3, seed: 3 }, BUILTIN_FACTS), 'running');
      store.experiments.link(run.id, experimentId, arm.id);
      store.finishRun(run.id, 'completed');
    } finally {
      store.close();
    }
    // same data dir, same port: the same token comes back from the data dir
    const second = await startServe(tmp.dir, { args: ['--port', port] });
    child = second.child;
    expect(second.url).toBe(url);
    await expect.poll(bannerKind, { timeout: 15_000 }).toBeNull();
    await expect.poll(rowCount).toBe(9);
    await expect.poll(counts).toMatch(/^\s*5 completed · /);
    expect(await tab2.locator('[data-connection-banner]').count()).toBe(0);
    await tab2.close();
    expect(await page.locator('tr[data-run-id]', { hasText: 'while serve was down D' }).count()).toBe(1);
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    // calls work again: a run's page (its route's code comes with the cookie, its data by invoke)
    await page.locator('tr[data-run-id] a', { hasText: 'while serve was down C' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toContain('while serve was down C');
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);

    // serve comes back with another token: the page says why and what to do
    await stop(child);
    await expect.poll(bannerKind, { timeout: 5000 }).not.toBeNull();
    const third = await startServe(tmp.dir, { args: ['--port', port, '--token', OTHER_TOKEN] });
    child = third.child;
    expect(third.url).toBe(`http://127.0.0.1:${port}/?token=${OTHER_TOKEN}`);
    await expect.poll(bannerKind, { timeout: 15_000 }).toBe('token');
    expect((await banner().textContent())!.trim()).toContain(
      `The server was restarted with a different token. Open the address serve printed (http://127.0.0.1:${port}/?token=…), or start serve with --token / TRICKBENCH_TOKEN to keep one.`,
    );
    // a call made now (another run's page: its code is loaded, its data is a call) says the same
    await page.locator('nav a', { hasText: 'Runs' }).click();
    await page.locator('tr[data-run-id] a', { hasText: 'before restart A' }).click();
    await expect.poll(() => page.locator('p.error-box').textContent(), { timeout: 10_000 }).toContain('The server was restarted with a different token.');
    expect(await page.locator('body').textContent()).not.toContain('missing or wrong token');
    await shot(page, 'token-3-other-token');

    // doing what it says (the new address, in another tab) lets this tab in again, still unreloaded
    const other = await page.context().newPage();
    await other.goto(third.url);
    await expect.poll(() => other.locator('tr[data-run-id]').count()).toBe(9);
    await expect.poll(bannerKind, { timeout: 15_000 }).toBeNull();
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await other.close();
    expect(fs.readFileSync(`${tmp.dir}/serve-token`, 'utf8')).not.toContain(OTHER_TOKEN); // a chosen token is not saved

    // a page opened while serve is away cannot load its code; once back, the page says to reload
    await stop(child);
    await expect.poll(bannerKind, { timeout: 5000 }).toBe('reconnecting');
    await page.locator('nav a', { hasText: 'New run' }).click();
    const fourth = await startServe(tmp.dir, { args: ['--port', port, '--token', OTHER_TOKEN] });
    child = fourth.child;
    await expect.poll(bannerKind, { timeout: 15_000 }).toBe('reload');
    expect(await banner().textContent()).toContain('Part of the app could not be loaded while serve was away');
    await shotOf(page, '[data-connection-banner]', 'token-4-reload');
    await banner().locator('button', { hasText: 'Reload' }).click();
    await page.locator('nav a', { hasText: 'New run' }).click();
    await expect.poll(() => page.locator('h1').first().textContent()).toContain('New run');
    expect(await bannerKind()).toBeNull();
  });
});
