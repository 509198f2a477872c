// Experiments on a real Slurm cluster (the single-node one scripts/slurm-test-cluster.sh starts; CI
// requires it): arms x seeds as one job array, each task running `trickbench cluster-task` against
// the shared folder, the host ingesting the journals. The paired summary must equal the same
// experiment trained here; scancel, a SIGKILLed trainer, a host restart during the array and a
// requeue must each end every run in a clear state, losing and doubling nothing.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarize } from '../../src/main/services/compare';
import { ExperimentService } from '../../src/main/services/experiments';
import { RunService } from '../../src/main/services/runs';
import { journalFile } from '../../src/main/services/slurm';
import type { RunStatus } from '../../src/shared/api';
import { Store } from '../../src/store/store';
import { requireSlurm, runCmd } from '../helpers/slurm';
import { tmpDataDir } from '../helpers/tmp';
import { ROOT, tinyConfig, waitFor } from '../helpers/trainer';

const reason = requireSlurm('the Slurm executor tests');

const CLI = path.join(ROOT, 'out/main/cli.js');
/** A whole experiment of tiny runs on a 2-core node, 2 at a time. */
const EXPERIMENT_MS = 300_000;

describe.skipIf(reason !== null)('experiments on Slurm', () => {
  let tmp: ReturnType<typeof tmpDataDir>;
  let shared: string;
  let store: Store;
  let runs: RunService;
  let exps: ExperimentService;
  const pushed: { event: string; runId: number }[] = [];

  const open = () => {
    store = new Store(tmp.dir);
    runs = new RunService({
      store,
      dataDir: tmp.dir,
      trainerEntry: path.join(ROOT, 'src/trainer/main.ts'),
      execArgv: ['--import', 'tsx'],
      emit: (event, payload) => pushed.push({ event, runId: (payload as { runId?: number; id?: number }).runId ?? (payload as { id?: number }).id ?? 0 }),
      pollMs: 500,
      cluster: { cli: CLI, pollMs: 500 },
    });
    runs.recover();
    exps = new ExperimentService(runs);
  };
  const close = async () => {
    exps.close();
    await runs.close({ leaveRunning: true });
    store.close();
  };

  beforeAll(() => {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build first (electron-vite build; npm test does)`);
    tmp = tmpDataDir('tb-slurm-');
    shared = path.join(tmp.dir, 'shared');
    open();
  });
  afterAll(async () => {
    await close();
    tmp.cleanup();
  });

  const file = (name: string, executor: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
    name,
    baseline: tinyConfig(),
    arms: [{ name: 'smoothed', set: { 'tricks.labelSmoothing': { epsilon: 0.1 } } }],
    seeds: [1, 2, 3],
    metric: 'val/acc',
    executor,
    ...over,
  });
  const slurm = (over: Record<string, unknown> = {}) => ({ kind: 'slurm', sharedDir: shared, concurrency: 2, ...over });
  const statuses = (ids: number[]) => ids.map((id) => store.getRun(id)!.status);
  const allFinal = (ids: number[]) => statuses(ids).every((s) => !['queued', 'running'].includes(s));
  const journalLines = (runId: number) => fs.readFileSync(journalFile(store.getRun(runId)!.sharedDir!), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string; pid?: number; points?: unknown[] });

  it('refuses, before anything is submitted, a partition or gres the cluster lacks and a shared folder that cannot be written', () => {
    const before = store.listRuns().length;
    const refusal = (x: Record<string, unknown>) => {
      try {
        exps.create(file('refused', slurm(x)));
      } catch (e) {
        const err = e as { message: string; error?: { field?: string } };
        return `${err.error?.field ?? ''}: ${err.message}`;
      }
      return null;
    };
    expect(refusal({ partition: 'nope' })).toMatch(/executor\.partition.*partition 'nope' does not exist \(sinfo lists debug, short\)/);
    expect(refusal({ gres: 'gpu:8' })).toMatch(/executor\.gres.*no node of partition 'debug' has gpu:8/);
    fs.writeFileSync(path.join(tmp.dir, 'a-file'), '');
    expect(refusal({ sharedDir: path.join(tmp.dir, 'a-file', 'sub') })).toMatch(/executor\.sharedDir.*cannot be written/);
    expect(store.listRuns().length).toBe(before);
    expect(exps.list().map((e) => e.name)).not.toContain('refused');
  });

  let clusterIds: number[] = [];

  it('runs 2 arms x 3 seeds as one job array, matched pairs in seed order, with the same results as here', async () => {
    const info = exps.create(file('on slurm', slurm()));
    clusterIds = info.runs.map((r) => r.runId);
    // one array, task i = the i-th run: every arm of seed 1, then of seed 2, ...
    const jobs = clusterIds.map((id) => store.getRun(id)!.jobId);
    const base = jobs[0]!.split('_')[0];
    expect(jobs).toEqual(clusterIds.map((_, i) => `${base}_${i}`));
    expect(info.runs.map((r) => r.seed)).toEqual([1, 1, 2, 2, 3, 3]);
    await waitFor(() => allFinal(clusterIds), 'the array to finish', EXPERIMENT_MS, 500);
    expect(statuses(clusterIds)).toEqual(Array(6).fill('completed'));

    const local = exps.create(file('here', { kind: 'local' }));
    const localIds = local.runs.map((r) => r.runId);
    await waitFor(() => allFinal(localIds), 'the local runs to finish', EXPERIMENT_MS, 500);
    expect(statuses(localIds)).toEqual(Array(6).fill('completed'));

    // Same seeds, same code: identical curves (timings aside) and the identical paired summary.
    for (const [i, id] of clusterIds.entries()) {
      const a = store.history(id);
      const b = store.history(localIds[i]!);
      const keys = Object.keys(b).filter((k) => !k.startsWith('time/') && !k.startsWith('throughput/'));
      expect(keys.length).toBeGreaterThan(3);
      for (const k of keys) expect(a[k]?.map((p) => [p.step, p.value]), `run ${id} ${k}`).toEqual(b[k]!.map((p) => [p.step, p.value]));
    }
    const s = summarize(store, { experimentId: info.id });
    const t = summarize(store, { experimentId: local.id });
    expect(s.arms.map((a) => a.runs.map((r) => r.value))).toEqual(t.arms.map((a) => a.runs.map((r) => r.value)));
    expect(s.arms[1]!.paired!.delta).toBe(t.arms[1]!.paired!.delta);
    expect(s.arms[1]!.paired!.pTTest).toBe(t.arms[1]!.paired!.pTTest);
    // the checkpoints are on the shared folder, where the pages find them
    expect(runs.summary(clusterIds[0]!).checkpoints).toEqual(expect.arrayContaining(['best', 'last']));
    for (const id of clusterIds) expect(store.getRun(id)!.jobId).toBeNull(); // followed to the end
    // live: the pages got each cluster run's points and events as the journals came in
    for (const id of clusterIds) {
      expect(pushed.filter((p) => p.event === 'runs:metrics' && p.runId === id).length, `run ${id}`).toBeGreaterThan(0);
      expect(pushed.filter((p) => p.event === 'runs:event' && p.runId === id).length, `run ${id}`).toBeGreaterThan(0);
    }
  }, 2 * EXPERIMENT_MS);

  it('Cancel (scancel) and a trainer killed with SIGKILL each end their run in a clear state; the others complete', async () => {
    const info = exps.create(file('stopped', slurm(), { baseline: tinyConfig({ epochs: 6 }), seeds: [4] }));
    const [a, b] = info.runs.map((r) => r.runId) as [number, number];
    await waitFor(() => statuses([a, b]).every((s) => s === 'running') && journalLines(b).some((l) => l.kind === 'start'), 'both tasks to run', EXPERIMENT_MS, 200);
    runs.cancel(a);
    const pid = journalLines(b).find((l) => l.kind === 'start')!.pid!;
    process.kill(pid, 'SIGKILL'); // the node is this machine
    await waitFor(() => allFinal([a, b]), 'both to end', EXPERIMENT_MS, 300);
    expect(store.getRun(a)).toMatchObject({ status: 'cancelled' satisfies RunStatus });
    const killed = store.getRun(b)!;
    expect(killed.status).toBe('failed');
    expect(killed.error).toMatch(/Slurm job \d+_1 ended FAILED \(exit 0:9, JobLaunchFailure\) before its trainer recorded an end; last heartbeat /);
  }, 2 * EXPERIMENT_MS);

  it('Resume continues a cancelled run from its last checkpoint in a new job, same run', async () => {
    const info = exps.create(file('resumed', slurm(), { baseline: tinyConfig({ epochs: 6 }), seeds: [8] }));
    const id = info.runs[0]!.runId;
    await waitFor(() => runs.summary(id).checkpoints.includes('last') && store.getRun(id)!.status === 'running', 'a first checkpoint', EXPERIMENT_MS, 200);
    const first = store.getRun(id)!.jobId!;
    runs.cancel(id);
    await waitFor(() => store.getRun(id)!.status === 'cancelled', 'the cancel', 60_000, 200);
    const resumed = runs.resume(id);
    expect(resumed.status).toBe('queued');
    expect(resumed.jobId).toMatch(/^\d+$/); // a job of its own, not a task of the array
    expect(resumed.jobId).not.toBe(first.split('_')[0]);
    await waitFor(() => allFinal(info.runs.map((r) => r.runId)), 'the experiment to finish', EXPERIMENT_MS, 300);
    expect(store.getRun(id)!.status).toBe('completed');
    expect(store.events(id).filter((e) => e.kind === 'run.resume')).toHaveLength(1);
    // a run not stopped cannot be resumed; one without a checkpoint says so
    expect(() => runs.resume(id)).toThrow(/only a stopped run can be resumed/);
  }, 3 * EXPERIMENT_MS);

  it('`trickbench experiment --file` with a Slurm executor submits the array, follows it and prints the summary; refusals exit 2', async () => {
    const dir = path.join(tmp.dir, 'cli');
    fs.mkdirSync(dir);
    const f = path.join(dir, 'exp.json');
    fs.writeFileSync(f, JSON.stringify(file('from the cli', slurm({ sharedDir: path.join(dir, 'shared') }), { seeds: [9] })));
    const ok = await runCmd(process.execPath, [CLI, 'experiment', '--file', f, '--data-dir', path.join(dir, 'data')], { timeoutMs: EXPERIMENT_MS });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/submitted 2 runs to Slurm as job \d+; following them/);
    const last = JSON.parse(ok.stdout.trim().split('\n').pop()!) as { arms: { name: string; n: number }[] };
    expect(last.arms.map((a) => [a.name, a.n])).toEqual([
      ['baseline', 1],
      ['smoothed', 1],
    ]);
    fs.writeFileSync(f, JSON.stringify(file('refused', slurm({ sharedDir: path.join(dir, 'shared'), gres: 'gpu:a100:1' }))));
    const bad = await runCmd(process.execPath, [CLI, 'experiment', '--file', f, '--data-dir', path.join(dir, 'data')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/executor\.gres: no node of partition 'debug' has gpu:a100:1 \(sinfo lists gpu:fake:1\)/);
  }, 2 * EXPERIMENT_MS);

  it('the host stopped during the array and started again: every journal ingested, no row lost or doubled', async () => {
    const info = exps.create(file('restart', slurm(), { seeds: [5, 6] }));
    const ids = info.runs.map((r) => r.runId);
    await waitFor(() => statuses(ids).includes('running'), 'a task to run', EXPERIMENT_MS, 200);
    await close(); // the host goes away; the tasks go on writing their journals
    await waitFor(
      () => ids.every((id) => {
        const f = journalFile(path.join(shared, 'runs', String(id)));
        return fs.existsSync(f) && fs.readFileSync(f, 'utf8').includes('"kind":"end"');
      }),
      'every task to end while the host is down',
      EXPERIMENT_MS,
      500,
    );
    open();
    await waitFor(() => allFinal(ids), 'the restarted host to ingest them', 60_000, 300);
    expect(statuses(ids)).toEqual(Array(4).fill('completed'));
    for (const id of ids) {
      const logged = new Set(journalLines(id).flatMap((l) => (l.kind === 'metrics' ? (l.points as { key: string; step: number }[]).map((p) => `${p.key}@${p.step}`) : [])));
      const stored = store.db.prepare(`SELECT COUNT(*) FROM metric WHERE run_id = ?`).pluck().get(id) as number;
      expect(stored, `run ${id}`).toBe(logged.size);
    }
  }, 3 * EXPERIMENT_MS);

  it('with pre-training: each seed pre-trains on the cluster, then its arms fine-tune there from its weights, with the same results as here', async () => {
    const ft = (name: string, executor: Record<string, unknown>) => ({
      name,
      baseline: tinyConfig({ epochs: 1, dataset: { name: 'synthetic', trainSubset: 160, valSplit: 0.2, classes: [5, 6, 7, 8, 9] } }),
      pretrain: { name: 'pre', set: { 'dataset.classes': [0, 1, 2, 3, 4] } },
      // RIFLE re-initialises the head from the source run's checkpoint: read on the node too
      arms: [{ name: 'rifle', set: { epochs: 2, 'tricks.rifle': { everyEpochs: 1, noReinitLastEpochs: 0 } } }],
      seeds: [4, 5],
      metric: 'val/acc',
      executor,
    });
    const info = exps.create(ft('fine-tune on slurm', slurm()));
    const links = () => store.experiments.get(info.id)!.runs;
    expect(links()).toHaveLength(2); // the pre-trainings, one array; each seed's arms follow its own
    const preJobs = links().map((r) => store.getRun(r.runId)!.jobId!);
    expect(preJobs[1]!.split('_')[0]).toBe(preJobs[0]!.split('_')[0]);
    await waitFor(() => links().length === 6 && allFinal(links().map((r) => r.runId)), 'pre-training and fine-tuning', EXPERIMENT_MS, 500);
    const pre = info.arms.find((a) => a.role === 'pretrain')!;
    const name = (l: { armId: number; seed: number }) => `${info.arms.find((a) => a.id === l.armId)!.name}:${l.seed}`;
    const cluster = new Map(links().map((l) => [name(l), l.runId]));
    expect(statuses([...cluster.values()])).toEqual(Array(6).fill('completed'));
    for (const seed of [4, 5]) {
      const preRun = cluster.get(`pre:${seed}`)!;
      for (const arm of ['baseline', 'rifle']) {
        const r = store.getRun(cluster.get(`${arm}:${seed}`)!)!;
        expect(r.config!.init).toEqual({ fromRun: preRun, exclude: ['head'] });
        expect(r.executor).toBe('slurm');
      }
    }

    const here = exps.create(ft('fine-tune here', { kind: 'local' }));
    const hereLinks = () => store.experiments.get(here.id)!.runs;
    await waitFor(() => hereLinks().length === 6 && allFinal(hereLinks().map((r) => r.runId)), 'the local experiment', EXPERIMENT_MS, 500);
    const local = new Map(hereLinks().map((l) => [name({ ...l, armId: info.arms.find((a) => a.name === here.arms.find((b) => b.id === l.armId)!.name)!.id }), l.runId]));
    // Same seeds, same code, the weights handed over through the shared folder: identical curves.
    for (const [k, id] of cluster) {
      const a = store.history(id);
      const b = store.history(local.get(k)!);
      const keys = Object.keys(b).filter((x) => !x.startsWith('time/') && !x.startsWith('throughput/'));
      expect(keys.length).toBeGreaterThan(3);
      for (const key of keys) expect(a[key]?.map((p) => [p.step, p.value]), `${k} ${key}`).toEqual(b[key]!.map((p) => [p.step, p.value]));
    }
    const s = summarize(store, { experimentId: info.id });
    const t = summarize(store, { experimentId: here.id });
    expect(s.arms.map((a) => a.name)).toEqual(['baseline', 'rifle']); // the pre-training is not compared
    expect(s.arms.map((a) => a.runs.map((r) => r.value))).toEqual(t.arms.map((a) => a.runs.map((r) => r.value)));
  }, 3 * EXPERIMENT_MS);

  it('a requeued task (preemption, node failure) resumes from its checkpoint, same run', async () => {
    const info = exps.create(file('requeue', slurm(), { baseline: tinyConfig({ epochs: 6 }), seeds: [7] }));
    const id = info.runs[0]!.runId;
    await waitFor(() => runs.summary(id).checkpoints.includes('last') && store.getRun(id)!.status === 'running', 'a first checkpoint', EXPERIMENT_MS, 200);
    const job = store.getRun(id)!.jobId!;
    expect((await runCmd('scontrol', ['requeue', job])).code).toBe(0);
    // Slurm holds a requeued job 2 minutes (docs/slurm-facts.md): let it start now.
    await waitFor(() => store.getRun(id)!.status === 'queued' || null, 'the run queued again', 60_000, 200);
    expect((await runCmd('scontrol', ['update', `JobId=${job}`, 'StartTime=now'])).code).toBe(0);
    await waitFor(() => allFinal(info.runs.map((r) => r.runId)), 'the experiment to finish', EXPERIMENT_MS, 300);
    expect(store.getRun(id)!.status, `${store.getRun(id)!.error}\njournal: ${journalLines(id).map((l) => JSON.stringify(l).slice(0, 160)).join('\n')}`).toBe('completed');
    const starts = journalLines(id).filter((l) => l.kind === 'start');
    expect(starts.length).toBe(2);
    expect(store.events(id).filter((e) => e.kind === 'run.resume')).toHaveLength(1);
    // one value per (key, step) although steps after the checkpoint were trained twice
    const dup = store.db.prepare(`SELECT COUNT(*) FROM (SELECT key, step FROM metric WHERE run_id = ? GROUP BY key, step HAVING COUNT(*) > 1)`).pluck().get(id) as number;
    expect(dup).toBe(0);
  }, 3 * EXPERIMENT_MS);
});
