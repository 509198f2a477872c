// `npm run train -- --resume ID` of a run left `running` by a CLI killed with SIGKILL: it used to
// be refused ("it is running") until the app or serve started and marked it interrupted. The CLI
// makes the host's check (the run's owner pid is gone) itself; a live owner is still refused.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkpointPath } from '../../src/store/paths';
import { isAlive } from '../../src/store/orphans';
import { Store } from '../../src/store/store';
import { ROOT, runCli, waitFor } from '../helpers/trainer';
import { tmpDataDir } from '../helpers/tmp';

const tmp = tmpDataDir();
afterAll(tmp.cleanup);
const TRAIN = 'src/trainer/cli.ts';
const small = ['--dataset', 'synthetic', '--train-subset', '320', '--val-split', '0.2', '--width', '8', '--batch-size', '32', '--data-dir', tmp.dir];

function withStore<T>(fn: (s: Store) => T): T {
  const s = new Store(tmp.dir);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

/** A process that lives until killed, and a promise of its end (it is reaped: its pid is dead). */
async function sleeper(): Promise<{ pid: number; kill: () => Promise<void> }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => child.on('spawn', resolve).on('error', reject));
  return {
    pid: child.pid!,
    kill: async () => {
      child.kill('SIGKILL');
      await closed;
    },
  };
}

describe('npm run train --resume of a run whose process was killed', () => {
  it('is refused while its owner lives, and resumed to completion once the owner is gone', async () => {
    // A CLI run killed by SIGKILL once its first checkpoint is committed (the manifest's rename).
    const cli = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, TRAIN), ...small, '--epochs', '6'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'ignore'] });
    const cliClosed = new Promise<void>((resolve) => cli.on('close', () => resolve()));
    await waitFor(() => fs.existsSync(checkpointPath(tmp.dir, 1, 'last')), 'the first checkpoint');
    cli.kill('SIGKILL');
    await cliClosed;
    expect(withStore((s) => s.getRun(1))).toMatchObject({ status: 'running', pid: cli.pid });
    expect(isAlive(cli.pid!)).toBe(false);

    // Its owner alive (the row names a live process): refused as before, nothing written.
    const owner = await sleeper();
    try {
      withStore((s) => s.db.prepare('UPDATE run SET pid = ? WHERE id = 1').run(owner.pid));
      const before = withStore((s) => JSON.stringify([s.getRun(1), s.events(1)]));
      const refused = await runCli(TRAIN, ['--resume', '1', '--data-dir', tmp.dir]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('--resume: run 1 cannot be resumed: it is running');
      expect(withStore((s) => JSON.stringify([s.getRun(1), s.events(1)]))).toBe(before);
    } finally {
      await owner.kill();
    }

    // Its owner gone (that process was killed and reaped): marked interrupted, then resumed.
    expect(isAlive(owner.pid)).toBe(false);
    const r = await runCli(TRAIN, ['--resume', '1', '--data-dir', tmp.dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`run 1 was left running by process ${owner.pid}, which is gone: marked interrupted`);
    expect(r.last).toMatchObject({ runId: 1, status: 'completed', error: null });
    withStore((s) => {
      expect(s.listRuns()).toHaveLength(1);
      expect(s.getRun(1)).toMatchObject({ status: 'completed', error: null, pid: null });
      expect(s.events(1).filter((e) => e.kind === 'run.resume')).toHaveLength(1);
      // 256 training images / batch 32 = 8 steps an epoch, 6 epochs, none missing or twice
      expect(s.history(1)['train/loss_step']!.map((p) => p.step)).toEqual(Array.from({ length: 48 }, (_, i) => i + 1));
    });
  });
});
