// Experiments that train on a Slurm cluster, in a real browser: a cluster run's job and what the
// scheduler says of it (why a job has not started) on the runs list and the run page, the
// experiment page's resources line, and the new-experiment form with "A Slurm cluster" chosen —
// errors at the executor's inputs (the form's own, and the host's refusals after asking sinfo),
// the file it builds, and the job script that file becomes. Slurm here is a few shell scripts
// first on serve's PATH (a listing squeue prints, a sinfo with two partitions, an sbatch that
// keeps the script it is given), so nothing reaches a real cluster and every answer is known.
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, shot, shotOf, startServe, stopServe } from '../helpers/e2e';
import { tmpDataDir } from '../helpers/tmp';
import { armRunConfig, planExperiment } from '../../src/shared/experiments';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';
import { Store } from '../../src/store/store';

const BASE = { dataset: { name: 'synthetic', trainSubset: 480 }, model: { name: 'cnn3', width: 8 }, epochs: 3, batchSize: 48 };

let tmp: ReturnType<typeof tmpDataDir>;
let fake: string;
let shared: string;
let server: ChildProcess | undefined;
let url: string;
let browser: Browser;
let page: Page;
let experimentId: number;
/** The seeded runs: pending (41_0), running (41_1), failed (no job any more), pending (41_3). */
let pending: number;
let running: number;
let failed: number;
let priority: number;

/** Slurm's commands as shell scripts reading and writing files in `dir`. */
function fakeSlurm(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const write = (name: string, body: string) => fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  const d = JSON.stringify(dir);
  // sinfo -h -o '%P|%G|%a'; with sinfo.fail present, the controller does not answer
  write('sinfo', `if [ -e ${d}/sinfo.fail ]; then echo 'sinfo: error: Unable to contact slurm controller (connect failure)' >&2; exit 1; fi\nprintf 'debug*|(null)|up\\ngpu|gpu:2|up\\n'`);
  write('squeue', `cat ${d}/squeue.txt 2>/dev/null; exit 0`);
  // sbatch --parsable FILE: keeps the script, prints job 77 and lists its tasks as pending
  write('sbatch', `for a in "$@"; do f="$a"; done\ncp "$f" ${d}/submitted.sbatch\nfor i in 0 1 2 3 4 5 6 7; do echo "77_$i|PENDING|Priority|" >> ${d}/squeue.txt; done\necho 77`);
  write('scontrol', 'exit 0');
  write('scancel', `echo "$@" >> ${d}/scancel.log`);
  write('sacct', "echo 'sacct: error: Slurm accounting storage is disabled' >&2; exit 1");
}

function squeue(lines: string[]): void {
  fs.writeFileSync(path.join(fake, 'squeue.txt'), lines.map((l) => `${l}\n`).join(''));
}

beforeAll(async () => {
  tmp = tmpDataDir('tb-e2e-slurm-');
  fake = path.join(tmp.dir, 'fake-slurm');
  shared = path.join(tmp.dir, 'shared');
  fakeSlurm(fake);
  // A Slurm experiment of 2 arms x 2 seeds, its runs as the executor leaves them.
  const plan = planExperiment(
    {
      name: 'Smoothing on the cluster',
      baseline: BASE,
      arms: [{ name: 'smoothing', set: { 'tricks.labelSmoothing': { epsilon: 0.1 } } }],
      seeds: [1, 2],
      executor: { kind: 'slurm', sharedDir: shared, partition: 'gpu', gres: 'gpu:1', cpusPerTask: 8, mem: '32G', time: '2:00:00', concurrency: 4 },
    },
    BUILTIN_FACTS,
  );
  if (!plan.ok) throw new Error(JSON.stringify(plan.errors));
  const store = new Store(tmp.dir);
  try {
    const info = store.experiments.create(plan.plan);
    experimentId = info.id;
    const ids: number[] = [];
    for (const seed of info.seeds) {
      for (const arm of info.arms) {
        // the second (arm 1, seed 1) runs on a node; the others are queued or ended
        const run = store.createRun(armRunConfig(plan.plan.file, plan.plan.arms[arm.position]!, seed, null, BUILTIN_FACTS), ids.length === 1 ? 'running' : 'queued');
        store.experiments.link(run.id, info.id, arm.id);
        store.setClusterRun(run.id, 'slurm', path.join(shared, 'runs', String(run.id)));
        ids.push(run.id);
      }
    }
    [pending, running, failed, priority] = ids as [number, number, number, number];
    store.setJob(pending, '41_0', 'PENDING (Resources)');
    store.setJob(priority, '41_3', 'PENDING (Priority)');
    // running on a node: started, its backend said, an epoch of metrics in
    store.setJob(running, '41_1', 'RUNNING on node3');
    store.setBackend(running, 'wasm', 'cpu');
    store.addMetrics(running, [{ key: 'val/acc', step: 10, epoch: 1, value: 0.4, time: Date.now() }]);
    // failed: the scheduler has let go of its job (the executor clears job and state then)
    store.finishRun(failed, 'failed', 'Slurm job 41_2 ended FAILED (exit 1:0) before its trainer recorded an end; last heartbeat 2026-12-02T10:00:00.000Z');
  } finally {
    store.close();
  }
  squeue(['41_0|PENDING|Resources|', '41_1|RUNNING|None|node3', '41_3|PENDING|Priority|']);
  const s = await startServe(tmp.dir, { env: { PATH: `${fake}${path.delimiter}${process.env.PATH ?? ''}` } });
  server = s.child;
  url = s.url;
  ({ browser, page } = await openBrowser());
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stopServe(server);
  tmp?.cleanup();
});

const go = (hash: string) => page.goto(`${url}#${hash}`);
const text = async (sel: string) => ((await page.textContent(sel)) ?? '').trim();

describe('cluster runs', () => {
  it('the runs list: the job and what the scheduler says of it, the backend column says slurm', async () => {
    await go('/');
    const row = (id: number) => `tr[data-run-id="${id}"]`;
    await page.waitForSelector(row(pending));
    expect(await text(`${row(pending)} [data-testid="executor-state"]`)).toBe('PENDING (Resources)');
    expect(await page.getAttribute(`${row(pending)} .status-cell`, 'title')).toBe('slurm · job 41_0: PENDING (Resources)');
    expect(await text(`${row(pending)} [data-status]`)).toBe('queued');
    expect(await text(`${row(running)} [data-testid="executor-state"]`)).toBe('RUNNING on node3');
    expect(await text(`${row(priority)} [data-testid="executor-state"]`)).toBe('PENDING (Priority)');
    expect(await page.locator(`${row(failed)} [data-testid="executor-state"]`).count()).toBe(0);
    expect(await page.getAttribute(`${row(failed)} .status-cell`, 'title')).toBe('slurm');
    expect(await text(`${row(pending)} [data-col="backend"]`)).toBe('slurm');
    expect(await text(`${row(running)} [data-col="backend"]`)).toBe('wasm · slurm');
    // the filter finds runs by their job
    await page.fill('input.filter', 'job 41_3');
    await expect.poll(() => page.locator('tbody tr[data-run-id]').count()).toBe(1);
    expect(await page.locator(row(priority)).count()).toBe(1);
    await page.fill('input.filter', '');
    await shotOf(page, '.runs-table', 'slurm-01-runs-list');
  });

  it("the list follows the scheduler: a pending job that starts says where it runs", async () => {
    squeue(['41_0|RUNNING|None|node2', '41_1|RUNNING|None|node3', '41_3|PENDING|Priority|']);
    await expect.poll(() => text(`tr[data-run-id="${pending}"] [data-testid="executor-state"]`), { timeout: 15_000 }).toBe('RUNNING on node2');
    squeue(['41_0|PENDING|Resources|', '41_1|RUNNING|None|node3', '41_3|PENDING|Priority|']);
    await expect.poll(() => text(`tr[data-run-id="${pending}"] [data-testid="executor-state"]`), { timeout: 15_000 }).toBe('PENDING (Resources)');
  });

  it('the run page: slurm · job 41_0 in its facts and the pending reason next to its status', async () => {
    await go(`/runs/${pending}`);
    await page.waitForSelector('[data-testid="run-executor"]');
    expect(await text('[data-testid="run-executor"] dd')).toBe('slurm · job 41_0');
    expect(await text('.title-row [data-testid="executor-state"]')).toBe('PENDING (Resources)');
    expect(await text('.title-row [data-status]')).toBe('queued');
    await page.screenshot({ path: 'test-results/slurm-02-run-pending.png', clip: { x: 0, y: 0, width: 1440, height: 260 } });

    await go(`/runs/${running}`);
    await expect.poll(() => text('[data-testid="run-executor"] dd')).toBe('slurm · job 41_1');
    expect(await text('.title-row [data-testid="executor-state"]')).toBe('RUNNING on node3');

    await go(`/runs/${failed}`);
    await expect.poll(() => text('[data-testid="run-executor"] dd')).toBe('slurm');
    expect(await page.locator('.title-row [data-testid="executor-state"]').count()).toBe(0);
    expect(await text('.run-error')).toContain('Slurm job 41_2 ended FAILED');
    await page.screenshot({ path: 'test-results/slurm-03-run-failed.png', clip: { x: 0, y: 0, width: 1440, height: 300 } });
  });

  it("the experiment page: where its runs train, and its jobs' states", async () => {
    await go(`/experiments/${experimentId}`);
    await page.waitForSelector('[data-testid="experiment-executor"]');
    expect(await text('[data-testid="experiment-executor"]')).toContain(`Its runs train on Slurm: partition gpu, gpu:1, 8 CPUs, 32G, 2:00:00, at most 4 at once; shared folder ${shared}.`);
    await expect.poll(() => text('[data-testid="experiment-job-states"]')).toBe('1 PENDING (Resources), 1 RUNNING on node3, 1 PENDING (Priority)');
    await page.screenshot({ path: 'test-results/slurm-04-experiment.png', clip: { x: 0, y: 0, width: 1440, height: 260 } });
  });

  it('the experiments list marks a Slurm experiment', async () => {
    await go('/experiments');
    await page.waitForSelector(`tr[data-experiment="${experimentId}"]`);
    expect(await text(`tr[data-experiment="${experimentId}"] td:nth-child(2)`)).toContain('· slurm');
  });
});

describe('the new-experiment form with a Slurm cluster', () => {
  const fieldError = (f: string) => `.new-experiment .field-error[data-field="${f}"]`;

  it('errors at the executor inputs: the form\'s own, then the host\'s after sinfo, then the file and the job script it makes', async () => {
    await go('/experiments');
    await page.waitForSelector('[data-testid="experiments"]');
    if ((await page.getAttribute('[data-testid="new-experiment"]', 'open')) === null) await page.click('[data-testid="new-experiment"] > summary');
    await page.fill('[data-field="experiment.name"]', 'Mixup on the cluster');
    await page.fill('[data-field="dataset.trainSubset"]', '480');
    await page.fill('[data-field="model.width"]', '8');
    await page.check('[data-field="arms.0.tricks.mixup"]');
    await page.fill('[data-field="experiment.seeds"]', '2');
    // this machine is the default: no Slurm inputs
    expect(await page.getAttribute('[data-executor="local"]', 'aria-checked')).toBe('true');
    expect(await page.locator('[data-field="executor.sharedDir"]').count()).toBe(0);
    await page.click('[data-executor="slurm"]');
    await page.waitForSelector('[data-field="executor.sharedDir"]');
    expect(await text('[data-testid="executor-hint"]')).toMatch(/nodes must see the shared folder and this Trickbench install.*login node/s);

    // nothing in the shared folder, words for numbers: the form's own errors, at the inputs
    await page.fill('[data-field="executor.cpusPerTask"]', 'eight');
    await page.click('[data-action="create-experiment"]');
    await expect.poll(() => text(fieldError('executor.sharedDir'))).toMatch(/required/);
    expect(await text(fieldError('executor.cpusPerTask'))).toMatch(/whole number/);
    expect(await page.locator('[data-section="executor"] .field.invalid').count()).toBe(2);
    await shotOf(page, '[data-section="executor"]', 'slurm-05-form-own-errors');

    // the schema's, at theirs: an extra line that overrides what we set
    await page.fill('[data-field="executor.sharedDir"]', shared);
    await page.fill('[data-field="executor.cpusPerTask"]', '8');
    await page.fill('[data-field="executor.extra"]', '--qos=low\n--array=0-9');
    await expect.poll(() => text(fieldError('executor.extra.1'))).toMatch(/^line 2: .*--array/);

    // the host asks sinfo: a partition the cluster lacks, at the partition
    await page.fill('[data-field="executor.extra"]', '--qos=low');
    await page.fill('[data-field="executor.partition"]', 'nope');
    await page.click('[data-action="create-experiment"]');
    await expect.poll(() => text(fieldError('executor.partition'))).toBe("partition 'nope' does not exist (sinfo lists debug, gpu)");
    expect(await page.locator('[data-testid="create-error"]').count()).toBe(0);
    await shotOf(page, '[data-section="executor"]', 'slurm-06-form-partition');

    // a gres no node of the partition has, at the gres
    await page.fill('[data-field="executor.partition"]', 'gpu');
    await page.fill('[data-field="executor.gres"]', 'gpu:4');
    // the host's error is gone once the input changes
    await expect.poll(() => page.locator(fieldError('executor.partition')).count()).toBe(0);
    await page.click('[data-action="create-experiment"]');
    await expect.poll(() => text(fieldError('executor.gres'))).toBe("no node of partition 'gpu' has gpu:4 (sinfo lists gpu:2)");

    // the controller does not answer: the whole executor's error, at the top of the section
    fs.writeFileSync(path.join(fake, 'sinfo.fail'), '');
    await page.fill('[data-field="executor.gres"]', 'gpu:1');
    await page.click('[data-action="create-experiment"]');
    await expect.poll(() => text('[data-section="executor"] .executor-error')).toMatch(/^the cluster does not answer: sinfo .*Unable to contact slurm controller/);
    expect(await page.getAttribute('[data-section="executor"] .executor-error', 'data-field')).toBe('executor.kind');
    await shotOf(page, '[data-section="executor"]', 'slurm-07-form-no-answer');
    fs.rmSync(path.join(fake, 'sinfo.fail'));

    // every input: the file the form makes
    await page.fill('[data-field="executor.mem"]', '32G');
    await page.fill('[data-field="executor.time"]', '2:00:00');
    await page.fill('[data-field="executor.concurrency"]', '2');
    expect(await text('[data-testid="experiment-plan"]')).toMatch(/4 runs \(2 arms × 2 seeds\): on the cluster/);
    await page.click('[data-action="toggle-experiment-json"]');
    const json = JSON.parse(await page.inputValue('[data-field="experiment-json"]')) as { executor: unknown };
    expect(json.executor).toEqual({ kind: 'slurm', sharedDir: shared, partition: 'gpu', gres: 'gpu:1', cpusPerTask: 8, mem: '32G', time: '2:00:00', concurrency: 2, extra: ['--qos=low'] });
    // the JSON editor's refusal names the field: there is no input to show it at
    await page.fill('[data-field="experiment-json"]', JSON.stringify({ ...json, executor: { ...(json.executor as object), partition: 'nope' } }, null, 2));
    await page.click('[data-action="create-experiment"]');
    await expect.poll(() => text('[data-testid="create-error"]')).toBe("executor.partition: partition 'nope' does not exist (sinfo lists debug, gpu)");
    // and back: the file fills the inputs again
    await page.click('[data-action="toggle-experiment-json"]');
    expect(await page.inputValue('[data-field="executor.partition"]')).toBe('nope');
    await page.fill('[data-field="executor.partition"]', 'gpu');
    expect(await page.inputValue('[data-field="executor.extra"]')).toBe('--qos=low');
    await page.evaluate(() => document.querySelector('[data-section="executor"]')?.scrollIntoView({ block: 'center' }));
    await shotOf(page, '[data-section="executor"]', 'slurm-08-form-filled');

    await page.click('[data-action="create-experiment"]');
    await page.waitForURL(/#\/experiments\/\d+$/);
    await expect.poll(() => text('h1')).toBe('Mixup on the cluster');
    expect(await text('[data-testid="experiment-executor"]')).toContain(`on Slurm: partition gpu, gpu:1, 8 CPUs, 32G, 2:00:00, at most 2 at once, --qos=low; shared folder ${shared}`);
    // one job array of 4 tasks, 2 at once, with the resources asked for
    const script = fs.readFileSync(path.join(fake, 'submitted.sbatch'), 'utf8');
    for (const line of ['--array=0-3%2', '--partition=gpu', '--gres=gpu:1', '--cpus-per-task=8', '--mem=32G', '--time=2:00:00', '--qos=low']) expect(script).toContain(`#SBATCH ${line}\n`);
    await expect.poll(() => text('[data-testid="experiment-job-states"]'), { timeout: 15_000 }).toBe('4 PENDING (Priority)');
    await page.screenshot({ path: 'test-results/slurm-09-created.png', clip: { x: 0, y: 0, width: 1440, height: 260 } });
  }, 90_000);
});
