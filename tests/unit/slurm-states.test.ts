// How the executor ends a cluster run whose job the scheduler no longer lists, from what the
// scheduler recorded (sacct where there is accounting, else scontrol) and the run's journal: every
// case a clear final state with the reason. The scheduler here is scripted with outputs of the
// real one (docs/slurm-facts.md); tests/integration/slurm-executor.test.ts runs the real cluster.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SlurmService, cancelFile, sharedRunDir } from '../../src/main/services/slurm';
import { SlurmError, type SlurmCommand, type SlurmCommands } from '../../src/main/services/slurm-cli';
import { parseRunConfig } from '../../src/shared/config';
import { Store } from '../../src/store/store';
import { tmpDataDir } from '../helpers/tmp';
import { tinyConfig } from '../helpers/trainer';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

let tmp: ReturnType<typeof tmpDataDir>;
let store: Store;
let answers: Partial<Record<SlurmCommand, string | Error | Promise<string>>>;
let calls: string[];
const commands: SlurmCommands = {
  which: (cmd) => (cmd === 'sacct' && !('sacct' in answers) ? null : `/usr/bin/${cmd}`),
  runSync: () => '',
  async run(cmd, args) {
    calls.push(`${cmd} ${args.join(' ')}`);
    const a = answers[cmd];
    if (a instanceof Error) throw a;
    return a ?? '';
  },
};

beforeEach(() => {
  tmp = tmpDataDir('tb-slurm-states-');
  store = new Store(tmp.dir);
  answers = { squeue: '' };
  calls = [];
});
afterEach(() => {
  store.close();
  tmp.cleanup();
});

/** A cluster run of job `job`, `status` now, its shared folder made. */
function clusterRun(job: string, status: 'queued' | 'running' | 'interrupted' = 'running'): number {
  const parsed = parseRunConfig(tinyConfig(), BUILTIN_FACTS);
  if (!parsed.ok) throw new Error('config');
  const id = store.createRun(parsed.config, status === 'queued' ? 'queued' : 'running').id;
  const dir = sharedRunDir(path.join(tmp.dir, 'shared'), id);
  fs.mkdirSync(dir, { recursive: true });
  store.setClusterRun(id, 'slurm', dir);
  store.setJob(id, job, 'RUNNING on vm');
  if (status === 'interrupted') store.finishRun(id, 'interrupted', null);
  return id;
}
const service = () => new SlurmService({ store, commands, node: '/usr/bin/node', cli: '/x/cli.js', dataDir: tmp.dir, changed: () => undefined });
const scontrol = (state: string, reason: string, exit: string) => `JobId=9 ArrayJobId=9 ArrayTaskId=1 JobState=${state} Reason=${reason} ExitCode=${exit} TimeLimit=00:01:00 NodeList=vm\n`;

describe('a cluster run whose job is gone', () => {
  it('killed (FAILED 0:9): failed, with the state, exit code and reason', async () => {
    const id = clusterRun('9_1');
    answers.scontrol = scontrol('FAILED', 'JobLaunchFailure', '0:9');
    // what the task printed (a node without the install): the run's error ends with it
    const out = path.join(tmp.dir, 'shared', 'slurm', '9_1.out');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, 'a\nb\nc\nError: Cannot find module /opt/tb/out/main/cli.js\n\n');
    await service().poll();
    expect(store.getRun(id)).toMatchObject({ status: 'failed', jobId: null, executorState: null });
    expect(store.getRun(id)!.error).toBe(`Slurm job 9_1 ended FAILED (exit 0:9, JobLaunchFailure) before its trainer recorded an end; its output, ${out}, ends:\nb\nc\nError: Cannot find module /opt/tb/out/main/cli.js`);
  });

  it('at its time limit: interrupted, resumable, saying so (also when the trainer recorded the stop first)', async () => {
    const a = clusterRun('9_1');
    const b = clusterRun('9_1', 'interrupted');
    answers.scontrol = scontrol('TIMEOUT', 'TimeLimit', '0:9');
    await service().poll();
    for (const id of [a, b]) {
      expect(store.getRun(id)!.status).toBe('interrupted');
      expect(store.getRun(id)!.error).toBe('Slurm job 9_1 reached its time limit (00:01:00): resume continues from the last checkpoint');
    }
  });

  it('cancelled in Slurm by someone else: cancelled, saying by whom; by us (the cancel file): cancelled', async () => {
    const theirs = clusterRun('9_1');
    answers.scontrol = scontrol('CANCELLED', 'None', '0:15');
    await service().poll();
    expect(store.getRun(theirs)).toMatchObject({ status: 'cancelled', error: 'Slurm job 9_1 was cancelled in Slurm (scancel): exit 0:15' });
    const ours = clusterRun('9_1');
    fs.writeFileSync(cancelFile(store.getRun(ours)!.sharedDir!), '');
    await service().poll();
    expect(store.getRun(ours)).toMatchObject({ status: 'cancelled', error: null });
  });

  it('forgotten by the scheduler with no journal end: failed, "ended without a word", with the last heartbeat', async () => {
    const id = clusterRun('9_1');
    store.db.prepare(`UPDATE run SET heartbeat_at = ? WHERE id = ?`).run(Date.UTC(2026, 11, 2, 10, 0, 0), id);
    answers.scontrol = new SlurmError('scontrol show job -o 9_1: slurm_load_jobs error: Invalid job id specified');
    await service().poll();
    expect(store.getRun(id)!.status).toBe('failed');
    expect(store.getRun(id)!.error).toBe(`Slurm job 9_1 ended without a word: the scheduler no longer knows it and its journal has no end; last heartbeat 2026-12-02T10:00:00.000Z; its output would be in ${path.join(tmp.dir, 'shared', 'slurm', '9_1.out')} (not readable here)`);
  });

  it('scontrol no longer knowing the job, accounting (sacct) is asked', async () => {
    const id = clusterRun('9_1');
    answers.scontrol = new SlurmError('scontrol show job -o 9_1: slurm_load_jobs error: Invalid job id specified');
    answers.sacct = '9_1|OUT_OF_MEMORY|0:125||01:00:00\n';
    await service().poll();
    expect(store.getRun(id)!.error).toMatch(/^Slurm job 9_1 ended OUT_OF_MEMORY \(exit 0:125\) before its trainer recorded an end; its output would be in /);
  });

  it('a job COMPLETED whose end line is not visible yet gets a few looks before it is called failed', async () => {
    const id = clusterRun('9_1');
    answers.scontrol = scontrol('COMPLETED', 'None', '0:0');
    const s = service();
    await s.poll();
    await s.poll();
    expect(store.getRun(id)!.status).toBe('running');
    await s.poll();
    expect(store.getRun(id)!.error).toMatch(/^Slurm job 9_1 ended COMPLETED before its trainer recorded an end/);
  });

  it('a preempted job (requeued by Slurm) is not ended while it may come back; listed again, its run is queued', async () => {
    const id = clusterRun('9_1');
    answers.scontrol = scontrol('PREEMPTED', 'None', '0:15');
    const s = service();
    await s.poll();
    expect(store.getRun(id)).toMatchObject({ status: 'running', jobId: '9_1' });
    answers.squeue = '9_1|PREEMPTED|None|vm\n';
    await s.poll();
    expect(store.getRun(id)).toMatchObject({ status: 'running', jobId: '9_1', executorState: 'PREEMPTED' });
    answers.squeue = '9_1|PENDING|BeginTime|\n';
    await s.poll();
    expect(store.getRun(id)).toMatchObject({ status: 'queued', jobId: '9_1', executorState: 'PENDING (BeginTime)' });
  });

  it('cancelled, but the node did not see the cancel file in time (it ended interrupted): cancelled', async () => {
    const id = clusterRun('9_1', 'interrupted');
    fs.writeFileSync(cancelFile(store.getRun(id)!.sharedDir!), '');
    answers.scontrol = scontrol('CANCELLED', 'None', '0:15');
    await service().poll();
    expect(store.getRun(id)).toMatchObject({ status: 'cancelled', error: null, jobId: null });
  });
});

describe('a cluster run whose job is listed', () => {
  it('pending: queued, with squeue\'s reason; a requeued one (interrupted by the journal) is queued again', async () => {
    const a = clusterRun('9_1', 'queued');
    const b = clusterRun('9_2', 'interrupted');
    answers.squeue = '9_1|PENDING|Resources|\n9_2|PENDING|BeginTime|\n';
    await service().poll();
    expect(store.getRun(a)).toMatchObject({ status: 'queued', executorState: 'PENDING (Resources)' });
    expect(store.getRun(b)).toMatchObject({ status: 'queued', executorState: 'PENDING (BeginTime)' });
  });

  it('a scheduler that does not answer changes no run, and says so', async () => {
    const id = clusterRun('9_1');
    answers.squeue = new SlurmError('squeue -h -r --me: slurm_load_jobs error: Unable to contact slurm controller (connect failure)');
    await service().poll();
    expect(store.getRun(id)).toMatchObject({ status: 'running', jobId: '9_1' });
    expect(store.getRun(id)!.executorState).toMatch(/^scheduler not answering: squeue .*Unable to contact slurm controller/);
  });
});

describe('cancel', () => {
  it('with the controller down: answers at once, says scancel failed, and sends it again at each look until Slurm answers', async () => {
    const id = clusterRun('9_1');
    answers.squeue = '9_1|RUNNING|None|vm\n';
    answers.scancel = new SlurmError('scancel 9_1: scancel: error: Kill job error on job id 9_1: Unable to contact slurm controller (connect failure)');
    const s = service();
    s.cancel(store.getRun(id)!);
    expect(fs.existsSync(cancelFile(store.getRun(id)!.sharedDir!))).toBe(true); // the lasting request
    await new Promise((r) => setImmediate(r));
    expect(store.getRun(id)!.status).toBe('running');
    expect(store.getRun(id)!.executorState).toMatch(/^RUNNING on vm · scancel 9_1 failed \(.*Unable to contact slurm controller.*\): sent again at each look until Slurm answers$/);
    await s.poll(); // still listed: the note stays beside squeue's word, and scancel goes again
    expect(store.getRun(id)!.executorState).toMatch(/^RUNNING on vm · scancel 9_1 failed/);
    expect(calls.filter((c) => c === 'scancel 9_1')).toHaveLength(2);
    answers.scancel = '';
    await s.poll();
    expect(store.getRun(id)!.executorState).toBe('RUNNING on vm');
    await s.poll(); // Slurm answered a moment ago: not sent again while the task stops
    expect(calls.filter((c) => c === 'scancel 9_1')).toHaveLength(3);
    answers.squeue = '';
    answers.scontrol = scontrol('CANCELLED', 'None', '0:15');
    await s.poll();
    expect(store.getRun(id)).toMatchObject({ status: 'cancelled', error: null, jobId: null, executorState: null });
  });

  it('a scancel that hangs holds up neither the cancel nor the looks; a host restarted since sends it again', async () => {
    const id = clusterRun('9_1', 'queued');
    answers.squeue = '9_1|PENDING|Priority|\n';
    answers.scancel = new Promise<string>(() => undefined); // never answers
    const s = service();
    s.cancel(store.getRun(id)!);
    expect(store.getRun(id)).toMatchObject({ status: 'cancelled', jobId: '9_1' }); // it never started
    await s.poll();
    await s.poll();
    expect(calls.filter((c) => c === 'scancel 9_1')).toHaveLength(1); // one in flight at a time
    answers.scancel = '';
    await service().poll(); // a new host: only the cancel file says the job is to go
    expect(calls.filter((c) => c === 'scancel 9_1')).toHaveLength(2);
  });
});

describe('before submitting', () => {
  it('sbatch missing from PATH, or a cluster that does not answer, is refused naming executor.kind', () => {
    const x = { kind: 'slurm' as const, sharedDir: path.join(tmp.dir, 'shared'), extra: [] };
    const none: SlurmCommands = { ...commands, which: (cmd) => (cmd === 'sbatch' ? null : `/usr/bin/${cmd}`) };
    const s = new SlurmService({ store, commands: none, node: '/usr/bin/node', cli: '/x/cli.js', dataDir: tmp.dir, changed: () => undefined });
    expect(() => s.validate(x)).toThrow(/^sbatch is not on PATH: run serve where Slurm's commands are \(a login node\), or use the local executor$/);
    try {
      s.validate(x);
    } catch (e) {
      expect((e as { error: { field: string } }).error.field).toBe('executor.kind');
    }
    const down: SlurmCommands = {
      ...commands,
      runSync: () => {
        throw new SlurmError('sinfo -h -o %P|%G|%a: slurm_load_partitions: Unable to contact slurm controller (connect failure)');
      },
    };
    const t = new SlurmService({ store, commands: down, node: '/usr/bin/node', cli: '/x/cli.js', dataDir: tmp.dir, changed: () => undefined });
    expect(() => t.validate(x)).toThrow(/^the cluster does not answer: sinfo .*Unable to contact slurm controller/);
  });
});
