// `trickbench cluster-task --run-dir SHARED/runs/<id>` as a Slurm task runs it (the built bin,
// node, no TypeScript loader): it trains without the server's store, its journal ingested into
// the server's store gives the same metrics as `trickbench train` of the same config; SIGTERM ends
// it interrupted (cancelled with the server's cancel file) and the next attempt resumes from the
// checkpoint; after a SIGKILL the journal holds the rows so far and no end.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOURNAL_FILE, parseJournalLine, type JournalRecord } from '../../src/journal/format';
import { ingestJournal } from '../../src/journal/ingest';
import { runClusterTask } from '../../src/journal/task';
import type { MetricPoint } from '../../src/shared/api';
import { mustParseRunConfig, type RunConfig } from '../../src/shared/config';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';
import { Store } from '../../src/store/store';
import { tmpDataDir } from '../helpers/tmp';
import { ROOT, tinyConfig, waitFor } from '../helpers/trainer';

const BIN = path.join(ROOT, 'out/main/cli.js');
const tmp = tmpDataDir('tb-cluster-task-');
const SERVER = path.join(tmp.dir, 'server'); // the server's DATA_DIR (its store)
const SHARED = path.join(tmp.dir, 'shared'); // the experiment's shared folder
const NODE_TMP = path.join(tmp.dir, 'node-tmp'); // the node's $TMPDIR
let server: Store;

beforeAll(() => {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: build first (electron-vite build)`);
  fs.mkdirSync(NODE_TMP, { recursive: true });
  server = new Store(SERVER);
});
afterAll(() => {
  server.close();
  tmp.cleanup();
});

const SPE = 8; // 256 training images / batch 32
const config = (over: Record<string, unknown> = {}): RunConfig => mustParseRunConfig({ ...tinyConfig({ backend: 'wasm', seed: 4, ...over }) }, BUILTIN_FACTS);

/** What the server does before sbatch: the run row (executor slurm) and its task.json. */
function submit(c: RunConfig): { id: number; dir: string } {
  const run = server.createRun(c, 'queued');
  server.db.prepare(`UPDATE run SET executor = 'slurm', shared_dir = ? WHERE id = ?`).run(SHARED, run.id);
  const dir = path.join(SHARED, 'runs', String(run.id));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'task.json'), JSON.stringify({ version: 1, runId: run.id, config: c, dataDir: SERVER, systemDatasetsDir: null, datasets: [], ingest: null }));
  return { id: run.id, dir };
}

interface Done {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  last: Record<string, unknown> | null;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<Done> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, TMPDIR: NODE_TMP, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Done>((resolve) =>
    child.on('close', (code, signal) => {
      let last: Record<string, unknown> | null = null;
      try {
        last = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
      } catch {
        last = null;
      }
      resolve({ code, signal, stdout, stderr, last });
    }),
  );
  return { child, done };
}

const records = (dir: string): JournalRecord[] => {
  const file = path.join(dir, JOURNAL_FILE);
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l, i) => parseJournalLine(l, i + 1, file));
};

/** The run's metrics without the wall-clock ones (timings differ from run to run). */
function values(store: Store, id: number): Record<string, [number, number, number][]> {
  const out: Record<string, [number, number, number][]> = {};
  for (const [key, pts] of Object.entries(store.history(id))) {
    if (/^(time|throughput)\//.test(key)) continue;
    out[key] = pts.map((p: MetricPoint) => [p.step, p.epoch, p.value]);
  }
  return out;
}

const eventKinds = (store: Store, id: number) => store.events(id).map((e) => e.kind);

/** Started, then `signal` once the run has its first `last` checkpoint and is into epoch 2. */
async function interrupt(dir: string, signal: NodeJS.Signals, env: NodeJS.ProcessEnv = {}): Promise<Done> {
  const { child, done } = start(['cluster-task', '--run-dir', dir], env);
  await waitFor(() => fs.existsSync(path.join(dir, 'last.safetensors')) && records(dir).some((r) => r.kind === 'metrics' && r.points.some((p) => p.key === 'train/loss_step' && p.step > SPE + 2)), 'the first checkpoint and steps of epoch 2', 60_000, 20);
  child.kill(signal);
  return done;
}

describe('trickbench cluster-task', () => {
  it('trains the run of task.json; its journal ingested gives the metrics `trickbench train` gives for the same config', async () => {
    const c = config();
    const { id, dir } = submit(c);
    const r = await start(['cluster-task', '--run-dir', dir]).done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.last).toMatchObject({ runId: id, status: 'completed', backend: 'wasm', error: null });
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    // checkpoints in the run folder; the node-local data dir is gone; the server's store untouched
    expect(fs.readdirSync(dir).sort()).toEqual(['best.safetensors', JOURNAL_FILE, 'last.safetensors', 'task.json'].sort());
    expect(fs.readdirSync(NODE_TMP)).toEqual([]);
    expect(server.getRun(id)!.status).toBe('queued');
    expect(server.history(id)).toEqual({});

    const recs = records(dir);
    expect(recs[0]).toMatchObject({ kind: 'start', attempt: 0, jobId: null, pid: expect.any(Number) });
    expect(recs.at(-1)).toMatchObject({ kind: 'end', status: 'completed', error: null });
    expect(recs.filter((x) => x.kind === 'evaluation')).toHaveLength(1);

    const ingested = ingestJournal(server, id, path.join(dir, JOURNAL_FILE));
    expect(ingested).toMatchObject({ linesAdded: recs.length, ended: { status: 'completed', error: null } });
    expect(server.getRun(id)).toMatchObject({ status: 'completed', backend: 'wasm', error: null });
    expect(server.db.prepare('SELECT executor FROM run WHERE id = ?').pluck().get(id)).toBe('slurm');
    expect(server.getRun(id)!.endedAt).toBe(recs.at(-1)!.at);

    // the same config through the ordinary path, in another data dir
    const plainDir = path.join(tmp.dir, 'plain');
    const cfgFile = path.join(tmp.dir, 'config.json');
    fs.writeFileSync(cfgFile, JSON.stringify(c));
    const t = await start(['train', '--config', cfgFile, '--data-dir', plainDir, '--no-progress']).done;
    expect(t.code, t.stderr).toBe(0);
    const plain = new Store(plainDir);
    try {
      const pid = t.last!.runId as number;
      expect(plain.getRun(pid)!.config).toEqual(server.getRun(id)!.config);
      const mine = values(server, id);
      expect(Object.keys(mine)).toContain('val/acc');
      expect(mine['train/loss_step']).toHaveLength(2 * SPE);
      expect(mine).toEqual(values(plain, pid));
      expect(eventKinds(server, id)).toEqual(eventKinds(plain, pid));
      expect(server.eventPayload(id, 'pairing')).toEqual(plain.eventPayload(pid, 'pairing'));
      const strip = (e: ReturnType<Store['evaluations']['get']>) => JSON.parse(JSON.stringify(e)) as unknown;
      expect(strip(server.evaluations.get(id))).toEqual(strip(plain.evaluations.get(pid)));
      expect(server.evaluations.correctByIndex(id)).toEqual(plain.evaluations.correctByIndex(pid));
      expect(r.last!.metrics).toMatchObject({ 'test/acc': (t.last!.metrics as Record<string, number>)['test/acc'] });
    } finally {
      plain.close();
    }
  });

  it('SIGTERM: interrupted with its last checkpoint; the next attempt resumes from it and completes, as an uninterrupted run', async () => {
    const c = config({ epochs: 5 });
    const { id, dir } = submit(c);
    const first = await interrupt(dir, 'SIGTERM', { SLURM_ARRAY_JOB_ID: '41', SLURM_ARRAY_TASK_ID: '3' });
    expect(first.code, first.stderr).toBe(1);
    expect(first.last).toMatchObject({ runId: id, status: 'interrupted' });
    expect(first.last!.error).toMatch(/stopped by SIGTERM .*resumable/);
    expect(fs.existsSync(path.join(dir, 'last.safetensors'))).toBe(true);
    let recs = records(dir);
    expect(recs.at(-1)).toMatchObject({ kind: 'end', status: 'interrupted' });
    expect(recs[0]).toMatchObject({ kind: 'start', attempt: 0, jobId: '41_3' });
    // the server ingests between the attempts (as its poll would)
    const file = path.join(dir, JOURNAL_FILE);
    expect(ingestJournal(server, id, file).ended).toMatchObject({ status: 'interrupted' });
    expect(server.getRun(id)!.status).toBe('interrupted');
    const stoppedAt = Math.max(...server.history(id, ['train/loss_step'])['train/loss_step']!.map((p) => p.step));
    expect(stoppedAt).toBeGreaterThan(SPE);

    // the requeued task (Slurm counts the restart)
    const second = await start(['cluster-task', '--run-dir', dir], { SLURM_ARRAY_JOB_ID: '41', SLURM_ARRAY_TASK_ID: '3', SLURM_RESTART_COUNT: '1' }).done;
    expect(second.code, second.stderr).toBe(0);
    expect(second.last).toMatchObject({ runId: id, status: 'completed', error: null });
    recs = records(dir);
    expect(recs.filter((x) => x.kind === 'start').map((x) => (x as { attempt: number }).attempt)).toEqual([0, 1]);
    const resume = recs.find((x) => x.kind === 'resume') as Extract<JournalRecord, { kind: 'resume' }>;
    expect(resume.step % SPE).toBe(0);
    expect(resume.step).toBeLessThanOrEqual(stoppedAt); // equal when it stopped right at an epoch end
    expect(ingestJournal(server, id, file).ended).toEqual({ status: 'completed', error: null });
    expect(server.getRun(id)).toMatchObject({ status: 'completed', error: null });
    const steps = server.history(id, ['train/loss_step'])['train/loss_step']!.map((p) => p.step);
    expect(steps).toEqual(Array.from({ length: 5 * SPE }, (_, i) => i + 1)); // one value per step
    expect(eventKinds(server, id).filter((k) => k.startsWith('run.'))).toEqual(['run.start', 'run.end', 'run.resume', 'run.end']);

    // the same run uninterrupted
    const whole = submit(c);
    const w = await start(['cluster-task', '--run-dir', whole.dir]).done;
    expect(w.code, w.stderr).toBe(0);
    ingestJournal(server, whole.id, path.join(whole.dir, JOURNAL_FILE));
    expect(values(server, id)).toEqual(values(server, whole.id));
    expect(fs.readdirSync(NODE_TMP)).toEqual([]);
  });

  it('SIGTERM with the cancel file the server writes before scancel: cancelled', async () => {
    const { id, dir } = submit(config({ epochs: 5 }));
    const { child, done } = start(['cluster-task', '--run-dir', dir]);
    await waitFor(() => fs.existsSync(path.join(dir, JOURNAL_FILE)) && records(dir).some((r) => r.kind === 'metrics'), 'the first metrics', 60_000, 20);
    fs.writeFileSync(path.join(dir, 'cancel'), '');
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code, r.stderr).toBe(1);
    expect(r.last).toMatchObject({ runId: id, status: 'cancelled', error: null });
    expect(records(dir).at(-1)).toMatchObject({ kind: 'end', status: 'cancelled', error: null });
    expect(ingestJournal(server, id, path.join(dir, JOURNAL_FILE)).ended).toEqual({ status: 'cancelled', error: null });
    expect(server.getRun(id)!.status).toBe('cancelled');
  });

  it('a cancel file already there when the task starts: cancelled, untrained', async () => {
    const { id, dir } = submit(config());
    fs.writeFileSync(path.join(dir, 'cancel'), '');
    const r = await start(['cluster-task', '--run-dir', dir]).done;
    expect(r.code).toBe(1);
    expect(r.last).toMatchObject({ runId: id, status: 'cancelled', error: null });
    expect(records(dir).map((x) => x.kind)).toEqual(['start', 'end']);
    expect(fs.existsSync(path.join(dir, 'last.safetensors'))).toBe(false);
  });

  it('SIGKILL: the journal ends without an end; ingested, the rows so far and ended null', async () => {
    const { id, dir } = submit(config({ epochs: 5 }));
    const r = await interrupt(dir, 'SIGKILL');
    expect(r.signal).toBe('SIGKILL');
    const recs = records(dir);
    expect(recs.some((x) => x.kind === 'end')).toBe(false);
    const got = ingestJournal(server, id, path.join(dir, JOURNAL_FILE));
    expect(got).toEqual({ linesAdded: recs.length, ended: null, lastAt: recs.at(-1)!.at, waiting: null });
    expect(server.getRun(id)).toMatchObject({ status: 'running', pid: null });
    const steps = server.history(id, ['train/loss_step'])['train/loss_step']!.map((p) => p.step);
    expect(steps.length).toBeGreaterThan(SPE + 2);
    expect(steps).toEqual(Array.from({ length: steps.length }, (_, i) => i + 1));
    expect(server.history(id, ['val/acc'])['val/acc']!.length).toBeGreaterThanOrEqual(1);
    // what the killed task left on the node: its local data dir (Slurm's job tmp dir goes with the job)
    for (const d of fs.readdirSync(NODE_TMP)) {
      fs.unlinkSync(path.join(NODE_TMP, d, 'runs'));
      fs.rmSync(path.join(NODE_TMP, d), { recursive: true });
    }

    // requeued: the next attempt resumes from the checkpoint the killed one left
    const again = await start(['cluster-task', '--run-dir', dir], { SLURM_RESTART_COUNT: '1' }).done;
    expect(again.code, again.stderr).toBe(0);
    expect(ingestJournal(server, id, path.join(dir, JOURNAL_FILE)).ended).toEqual({ status: 'completed', error: null });
    expect(server.getRun(id)!.status).toBe('completed');
    expect(server.history(id, ['train/loss_step'])['train/loss_step']!.map((p) => p.step)).toEqual(Array.from({ length: 5 * SPE }, (_, i) => i + 1));
    expect(records(dir).filter((x) => x.kind === 'start' || x.kind === 'resume' || x.kind === 'end').map((x) => x.kind)).toEqual(['start', 'start', 'resume', 'end']);
  });

  it('writes a heartbeat record at its interval while it trains; the job id from SLURM_JOB_ID (in process)', async () => {
    const { id, dir } = submit(config({ epochs: 3 }));
    const lines: string[] = [];
    const out = await runClusterTask(dir, { env: { SLURM_JOB_ID: '77' }, tmpDir: NODE_TMP, heartbeatMs: 150, log: (l) => lines.push(l) });
    expect(out).toMatchObject({ runId: id, status: 'completed', error: null });
    const recs = records(dir);
    expect(recs[0]).toMatchObject({ kind: 'start', attempt: 0, jobId: '77' });
    const beats = recs.filter((r) => r.kind === 'heartbeat').map((r) => r.at);
    expect(beats.length).toBeGreaterThanOrEqual(3);
    // none after the end
    expect(recs.findIndex((r) => r.kind === 'end')).toBe(recs.length - 1);
    expect(lines[0]).toMatch(new RegExp(`^run ${id}: attempt 0 \\(job 77\\) on .*, starting`));
    expect(ingestJournal(server, id, path.join(dir, JOURNAL_FILE)).lastAt).toBe(recs.at(-1)!.at);
    expect(server.db.prepare('SELECT heartbeat_at FROM run WHERE id = ?').pluck().get(id)).toBe(beats.at(-1));
    expect(fs.readdirSync(NODE_TMP)).toEqual([]);
  });

  it('refuses a run folder whose task.json is for another run, or that has none, naming the file', async () => {
    const { dir } = submit(config());
    const other = path.join(SHARED, 'runs', '999');
    fs.mkdirSync(other);
    fs.copyFileSync(path.join(dir, 'task.json'), path.join(other, 'task.json'));
    const r = await start(['cluster-task', '--run-dir', other]).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`task.json is for run`);
    expect(r.last).toMatchObject({ runId: 999, status: 'failed' });
    const none = await start(['cluster-task', '--run-dir', path.join(SHARED, 'nothing')]).done;
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`cannot read ${path.join(SHARED, 'nothing', 'task.json')}`);
    expect(fs.existsSync(path.join(other, JOURNAL_FILE))).toBe(false);
    const noTmp = await start(['cluster-task', '--run-dir', dir], { TMPDIR: path.join(tmp.dir, 'no-such-tmp') }).done;
    expect(noTmp.code).toBe(1);
    expect(noTmp.stderr).toContain(`cannot make the node-local data dir under ${path.join(tmp.dir, 'no-such-tmp')} ($TMPDIR)`);
  });
});
