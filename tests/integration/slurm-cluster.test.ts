// The Slurm cluster the executor's tests run on (scripts/slurm-test-cluster.sh start): a job
// array's tasks run, each with its index and the submitter's environment, and sbatch refuses what
// the cluster cannot give (an unknown partition, more GPUs than any node has) with the error text
// the executor reports.
//
// Skipped, with the reason, where no Slurm cluster answers; CI sets TRICKBENCH_REQUIRE_SLURM=1 so
// that there a missing or broken cluster fails instead.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tmpDataDir } from '../helpers/tmp';
import { jobRecords, requireSlurm, runCmd, sbatch, TERMINAL_STATES, waitForJob } from '../helpers/slurm';

const reason = requireSlurm('the Slurm cluster tests');

const tmp = tmpDataDir('tb-slurm-');
const submitted: string[] = [];
afterAll(async () => {
  if (submitted.length > 0 && reason === null) await runCmd('scancel', submitted);
  tmp.cleanup();
});

describe.skipIf(reason !== null)('the Slurm cluster', () => {
  it('runs a 2-task job array whose tasks write their files, with the submitter environment', async () => {
    const out = tmp.dir;
    const script = path.join(out, 'task.sh');
    fs.writeFileSync(
      script,
      [
        '#!/bin/bash',
        'set -e',
        `printf '%s %s %s\\n' "$SLURM_ARRAY_TASK_ID" "$SLURM_ARRAY_JOB_ID" "$TB_SLURM_SMOKE" > "${out}/task-$SLURM_ARRAY_TASK_ID.txt"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const marker = `smoke-${process.pid}`;
    const id = await sbatch(['--array=0-1', '--job-name=tb-smoke', `--output=${out}/%A_%a.out`, script], {
      cwd: out,
      env: { ...process.env, TB_SLURM_SMOKE: marker },
    });
    submitted.push(id);
    for (const task of [0, 1]) {
      const rec = await waitForJob(`${id}_${task}`, TERMINAL_STATES, 90_000);
      const log = fs.existsSync(path.join(out, `${id}_${task}.out`)) ? fs.readFileSync(path.join(out, `${id}_${task}.out`), 'utf8') : '(no output file)';
      expect(rec.JobState, `task ${id}_${task}: ${log}`).toBe('COMPLETED');
      expect(rec.ArrayJobId).toBe(id);
      expect(rec.ArrayTaskId).toBe(String(task));
      expect(rec.ExitCode).toBe('0:0');
      expect(fs.readFileSync(path.join(out, `task-${task}.txt`), 'utf8')).toBe(`${task} ${id} ${marker}\n`);
    }
    // The base id lists both tasks, one record each.
    const recs = await jobRecords(id);
    expect(recs?.map((r) => r.ArrayTaskId).sort()).toEqual(['0', '1']);
  });

  it('refuses an unknown partition at submission, naming it', async () => {
    const r = await runCmd('sbatch', ['--parsable', '-p', 'tb-no-such-partition', '--wrap', 'true'], { cwd: tmp.dir });
    expect(r.code).toBe(1);
    expect(r.stdout.trim()).toBe('');
    expect(r.stderr).toContain('invalid partition specified: tb-no-such-partition');
    expect(r.stderr).toContain('Batch job submission failed: Invalid partition name specified');
  });

  it('refuses more GPUs than any node has', async () => {
    const r = await runCmd('sbatch', ['--parsable', '--gres=gpu:64', '--wrap', 'true'], { cwd: tmp.dir });
    expect(r.code).toBe(1);
    // The first where the cluster has GPUs (the test cluster: gpu:fake:1), the second where it has no gpu GRES at all.
    expect(r.stderr).toMatch(/Batch job submission failed: Requested node configuration is not available|Invalid generic resource \(gres\) specification/);
  });
});
