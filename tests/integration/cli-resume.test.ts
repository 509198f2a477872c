// `npm run train -- --resume ID` and `--init-from ID`, as a user runs them.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store';
import { ROOT, runCli } from '../helpers/trainer';
import { tmpDataDir } from '../helpers/tmp';

const tmp = tmpDataDir();
afterAll(tmp.cleanup);
const TRAIN = 'src/trainer/cli.ts';
const small = ['--dataset', 'synthetic', '--train-subset', '320', '--val-split', '0.2', '--width', '8', '--batch-size', '32', '--data-dir', tmp.dir];

/** Everything stored, to show that a refusal wrote nothing. */
function snapshot(): string {
  const store = new Store(tmp.dir);
  const runs = store.listRuns();
  const out = JSON.stringify([runs, runs.map((r) => [store.events(r.id), store.history(r.id)])]);
  store.close();
  return out;
}

/** Start a CLI run and stop it like Ctrl-C once its second epoch has ended. */
function trainAndInterrupt(args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, TRAIN), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stdout.resume();
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (/epoch 2:/.test(err) && !child.killed) child.kill('SIGTERM');
    });
    child.on('close', (code) => resolve(code));
  });
}

describe('npm run train --resume', () => {
  it('continues an interrupted run from its last checkpoint, same id, to completion', async () => {
    expect(await trainAndInterrupt([...small, '--epochs', '6', '--name', 'to-resume'])).toBe(1);
    const before = new Store(tmp.dir);
    expect(before.getRun(1)).toMatchObject({ status: 'cancelled' });
    before.close();
    // --backend is the one flag a resume takes (where it trains, not what).
    const r = await runCli(TRAIN, ['--resume', '1', '--backend', 'wasm', '--data-dir', tmp.dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.last).toMatchObject({ runId: 1, status: 'completed', error: null });
    expect(typeof (r.last!.metrics as Record<string, number>)['test/acc_best']).toBe('number');
    const store = new Store(tmp.dir);
    expect(store.listRuns()).toHaveLength(1);
    expect(store.history(1)['train/loss_step']!.map((p) => p.step)).toEqual(Array.from({ length: 48 }, (_, i) => i + 1));
    expect(store.events(1).filter((e) => e.kind === 'run.resume').map((e) => e.payload.backend)).toEqual(['wasm']);
    store.close();
  });

  it.each([
    [['--resume', '1'], '--resume: run 1 cannot be resumed: it has completed'],
    [['--resume', '99'], '--resume: run 99 does not exist'],
    [['--resume', '1', '--lr', '0.1'], '--resume: a resumed run keeps its config; drop --lr'],
    [['--resume', '1', '--backend', 'tpu'], '--backend: expected one of auto, webgpu, tensorflow-gpu, tensorflow, wasm, cpu, got "tpu"'],
    [['--init-from', '99', '--train-subset', '320'], 'init.fromRun: run 99 does not exist'],
    [['--init-from', '1', '--width', '4'], 'init.fromRun: layer conv1/kernel has shape [3,3,3,8] in run 1 but [3,3,3,4] here'],
  ])('refuses %j naming the problem, exit 2, nothing written', async (args, message) => {
    const before = snapshot();
    const r = await runCli(TRAIN, [...args, '--data-dir', tmp.dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(snapshot()).toBe(before);
  });

  it('refuses --init-from in an empty data dir without creating a store', async () => {
    const dir = path.join(tmp.dir, 'empty');
    const r = await runCli(TRAIN, ['--init-from', '1', '--data-dir', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('init.fromRun: run 1 does not exist');
    expect(fs.existsSync(path.join(dir, 'trickbench.db'))).toBe(false);
  });

  it('--init-from a completed run fine-tunes from its weights', async () => {
    const r = await runCli(TRAIN, [...small, '--epochs', '1', '--init-from', '1', '--set', 'init.exclude=[]']);
    expect(r.code, r.stderr).toBe(0);
    const store = new Store(tmp.dir);
    const run = store.getRun(r.last!.runId as number)!;
    expect(run.config!.init).toEqual({ fromRun: 1, exclude: [] });
    const ev = store.events(run.id).find((e) => e.kind === 'init.loaded')!;
    expect(ev.payload).toMatchObject({ fromRun: 1, skipped: [] });
    expect(ev.payload.loaded).toContain('head/kernel');
    store.close();
  });
});
