// A disk that fills up during a run (the data dir on a small tmpfs): the checkpoint write fails
// with ENOSPC, then every store write with SQLITE_FULL. Simulated by a preload in the trainer or
// CLI process (tests/helpers/disk-full.ts) and, for the host, by a store whose finishRun fails.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { finalNotePath } from '../../src/store/final-note';
import { runDir } from '../../src/store/paths';
import { ROOT, makeService, runCli, tinyConfig, waitFor } from '../helpers/trainer';
import { tmpDataDir } from '../helpers/tmp';

const PRELOAD = ['--import', pathToFileURL(path.join(ROOT, 'tests/helpers/disk-full.ts')).href];
const TRAIN = 'src/trainer/cli.ts';
const small = ['--dataset', 'synthetic', '--train-subset', '320', '--val-split', '0.2', '--width', '8', '--batch-size', '32', '--epochs', '2'];
// best first at the first epoch's end (src/trainer/run.ts), so that is the write that fails
const CHECKPOINT_ENOSPC = /^disk full \(ENOSPC\) writing \S+\/runs\/1\/best\.safetensors\b/;

let tmp: ReturnType<typeof tmpDataDir>;
beforeEach(() => (tmp = tmpDataDir()));
afterEach(() => tmp.cleanup());

/** What a failed write may leave in the run's folder: temp files, binaries no manifest names. */
function leftovers(id: number): string[] {
  const dir = runDir(tmp.dir, id);
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /\.(tmp|partial|bin)$/.test(f)) : [];
}

describe('a full disk', () => {
  it('CLI: temp files removed, a JSON last line with status failed naming the file, exit 1; the next start records it failed', async () => {
    const r = await runCli(TRAIN, [...small, '--data-dir', tmp.dir], {}, PRELOAD);
    expect(r.code, r.stderr).toBe(1);
    expect(r.last, r.stdout + r.stderr).toMatchObject({ runId: 1, status: 'failed' });
    const error = r.last!.error as string;
    expect(error).toMatch(CHECKPOINT_ENOSPC);
    expect(error).toContain(`the store could not record its end: disk full (SQLITE_FULL) writing ${path.join(tmp.dir, 'trickbench.db')}`);
    expect(r.stderr).not.toMatch(/^\s+at /m); // a message, not a stack trace
    expect(leftovers(1)).toEqual([]);

    // The store could not take the end: the row still says running, its owner is gone.
    const ctx = makeService(tmp.dir);
    try {
      expect(ctx.store.getRun(1)).toMatchObject({ status: 'running' });
      ctx.service.recover(); // the next start of the app or serve
      expect(ctx.store.getRun(1)).toMatchObject({ status: 'failed', error });
      expect(fs.existsSync(finalNotePath(tmp.dir, 1))).toBe(false);
    } finally {
      await ctx.service.close();
      ctx.store.close();
    }
  });

  it('host: survives a store it cannot write when the trainer exits, and records the run failed once it can', async () => {
    const ctx = makeService(tmp.dir, { pollMs: 20, execArgv: ['--import', 'tsx', ...PRELOAD] });
    const log = vi.spyOn(process.stderr, 'write');
    let full = true;
    const finishRun = ctx.store.finishRun.bind(ctx.store);
    ctx.store.finishRun = (...args) => {
      if (full) throw new Database.SqliteError('database or disk is full', 'SQLITE_FULL');
      return finishRun(...args);
    };
    try {
      ctx.service.recover(); // nothing to recover; starts the polling that retries
      const run = ctx.service.start(tinyConfig());
      await ctx.service.whenExited(run.id);
      // Neither the trainer nor the host could record the end; the host logged it and lives on.
      expect(ctx.store.getRun(run.id)).toMatchObject({ status: 'running' });
      expect(log.mock.calls.map((c) => String(c[0])).join('')).toContain(
        `run ${run.id}: its final status (failed) cannot be recorded yet (disk full (SQLITE_FULL) writing ${path.join(tmp.dir, 'trickbench.db')})`,
      );
      expect(leftovers(run.id)).toEqual([]);

      full = false; // space again
      const r = await waitFor(() => {
        const now = ctx.store.getRun(run.id);
        return now?.status !== 'running' && now;
      }, 'the run to be recorded final');
      expect(r.status).toBe('failed');
      expect(r.error).toMatch(CHECKPOINT_ENOSPC);
      expect(ctx.rec.of('runs:changed').filter((s) => s.id === run.id).at(-1)?.status).toBe('failed');
      expect(fs.existsSync(finalNotePath(tmp.dir, run.id))).toBe(false);
    } finally {
      log.mockRestore();
      await ctx.service.close();
      ctx.store.close();
    }
  });
});
