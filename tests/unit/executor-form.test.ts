// The new-experiment form's "Where it runs" part and what pages say of a cluster run: the Slurm
// inputs as typed become a file's `executor` the shared schema accepts (blank ones left out), a
// file's executor fills the inputs back, bad input is named at its field, and the one-line
// descriptions of an experiment's resources and a run's job.
import { describe, expect, it } from 'vitest';
import { executorSchema, type ExecutorConfig } from '../../src/shared/executor';
import { planExperiment } from '../../src/shared/experiments';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';
import { draftErrors, draftToExecutor, emptySlurmDraft, executorErrorKey, executorLine, executorToDraft, jobStatesLine, runWhere, runWhereTitle } from '../../src/renderer/src/lib/executor';
import { RUN_COLUMNS } from '../../src/renderer/src/lib/runColumns';
import type { RunSummary } from '../../src/shared/api';

const full = { ...emptySlurmDraft(), sharedDir: ' /shared/tb ', partition: 'gpu', gres: 'gpu:1', cpusPerTask: '8', mem: '32G', time: '2:00:00', account: 'lab', concurrency: '4', extra: '--qos=low\n\n  --constraint=a100  \n' };

describe('the Slurm inputs and the file', () => {
  it('this machine: {kind: local}', () => {
    expect(draftToExecutor('local', full)).toEqual({ kind: 'local' });
    expect(draftErrors('local', emptySlurmDraft())).toEqual([]);
  });

  it('every input set: trimmed, numbers as numbers, one extra option a non-blank line, accepted by the schema', () => {
    const x = draftToExecutor('slurm', full);
    expect(x).toEqual({ kind: 'slurm', sharedDir: '/shared/tb', partition: 'gpu', gres: 'gpu:1', cpusPerTask: 8, mem: '32G', time: '2:00:00', account: 'lab', concurrency: 4, extra: ['--qos=low', '--constraint=a100'] });
    expect(executorSchema.parse(x)).toEqual(x);
  });

  it('blank inputs are left out (the cluster decides)', () => {
    expect(draftToExecutor('slurm', { ...emptySlurmDraft(), sharedDir: '/s' })).toEqual({ kind: 'slurm', sharedDir: '/s', extra: [] });
  });

  it('a file fills the inputs back as they were typed', () => {
    const x = executorSchema.parse(draftToExecutor('slurm', full)) as ExecutorConfig;
    const back = executorToDraft(x);
    expect(back.kind).toBe('slurm');
    expect(draftToExecutor('slurm', back.draft)).toEqual(x);
    expect(executorToDraft({ kind: 'local' })).toEqual({ kind: 'local', draft: emptySlurmDraft() });
  });

  it('the form names a missing shared folder and words that are not numbers at their fields', () => {
    const errs = draftErrors('slurm', { ...emptySlurmDraft(), cpusPerTask: 'eight', concurrency: '2.5' });
    expect(errs.map((e) => e.field)).toEqual(['executor.sharedDir', 'executor.cpusPerTask', 'executor.concurrency']);
  });

  it("the schema's errors in an experiment file name executor fields, each with an input", () => {
    const file = { name: 'x', baseline: { epochs: 1 }, arms: [{ name: 'lr', set: { 'optimizer.lr': 0.02 } }], seeds: [1], executor: draftToExecutor('slurm', { ...full, sharedDir: 'relative', gres: 'gpu 1', extra: '--qos=low\n--array=0-3' }) };
    const r = planExperiment(file, BUILTIN_FACTS);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.field).sort()).toEqual(['executor.extra.1', 'executor.gres', 'executor.sharedDir']);
    expect(r.errors.map((e) => executorErrorKey(e.field)).sort()).toEqual(['extra', 'gres', 'sharedDir']);
    expect(r.errors.find((e) => e.field === 'executor.extra.1')!.message).toMatch(/--array/);
  });

  it('errors of the whole executor (sbatch missing, the cluster silent) have no input of their own', () => {
    expect(executorErrorKey('executor')).toBeNull();
    expect(executorErrorKey('executor.kind')).toBeNull();
    expect(executorErrorKey('executor.partition')).toBe('partition');
  });
});

describe('what pages say', () => {
  it("an experiment's resources in one line; nothing for this machine", () => {
    const x = executorSchema.parse(draftToExecutor('slurm', { ...full, account: '', extra: '' }));
    expect(executorLine(x)).toBe('on Slurm: partition gpu, gpu:1, 8 CPUs, 32G, 2:00:00, at most 4 at once; shared folder /shared/tb');
    expect(executorLine(executorSchema.parse({ kind: 'slurm', sharedDir: '/s', cpusPerTask: 1, extra: ['--qos=low'] }))).toBe('on Slurm: the default partition, 1 CPU, --qos=low; shared folder /s');
    expect(executorLine({ kind: 'local' })).toBeNull();
  });

  it("a run's job: slurm · job 41_0, slurm before it has one, nothing locally", () => {
    expect(runWhere({ executor: 'slurm', jobId: '41_0' })).toBe('slurm · job 41_0');
    expect(runWhere({ executor: 'slurm', jobId: null })).toBe('slurm');
    expect(runWhere({ executor: 'local', jobId: null })).toBeNull();
    expect(runWhereTitle({ executor: 'slurm', jobId: '41_0', executorState: 'PENDING (Resources)' })).toBe('slurm · job 41_0: PENDING (Resources)');
  });

  it("the runs list's backend column says slurm for a cluster run, with its node's backend once known", () => {
    const col = RUN_COLUMNS.find((c) => c.key === 'backend')!;
    const run = (o: Partial<RunSummary>) => ({ executor: 'local', backend: null, config: null, source: 'trickbench', jobId: null, executorState: null, ...o }) as RunSummary;
    expect(col.text!(run({ executor: 'slurm' }), 0)).toBe('slurm');
    expect(col.text!(run({ executor: 'slurm', backend: 'wasm' }), 0)).toBe('wasm · slurm');
    expect(col.text!(run({ backend: 'wasm' }), 0)).toBe('wasm');
    expect(col.text!(run({ source: 'external' }), 0)).toBe('external');
  });
});

describe("an experiment's jobs in one line", () => {
  it('counts the states, and counts cancels Slurm has not taken apart (one clause for many jobs)', () => {
    const note = (job: string) => `scancel ${job} failed (scancel ${job}: Unable to contact slurm controller (connect failure)): sent again at each look until Slurm answers`;
    const states = [
      'PENDING (Resources)',
      'PENDING (Resources)',
      'RUNNING on node3',
      ...Array.from({ length: 40 }, (_, i) => `RUNNING on node3 · ${note(`9_${i}`)}`),
      note('9_99'), // a run cancelled before it started: only the note
    ];
    expect(jobStatesLine(states)).toBe('2 PENDING (Resources), 41 RUNNING on node3, 41 cancels not taken by Slurm yet (scancel failing; sent again at each look)');
    expect(jobStatesLine([])).toBe('');
  });
});
