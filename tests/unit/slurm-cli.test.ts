// Slurm's outputs as the executor reads them: the lines below are copied from Debian's slurm-wlm
// 22.05 on the test cluster (docs/slurm-facts.md), not made up.
import { describe, expect, it } from 'vitest';
import { gresSatisfies, parseSbatch, parseScontrolJobs, parseSinfo, parseSqueue, scontrolJobId, SlurmError } from '../../src/main/services/slurm-cli';
import { executorSchema } from '../../src/shared/executor';

describe('Slurm outputs', () => {
  it('sbatch --parsable: the job id, with or without a cluster name; anything else refused', () => {
    expect(parseSbatch('5\n')).toBe('5');
    expect(parseSbatch('1234;cluster\n')).toBe('1234');
    expect(() => parseSbatch('Submitted batch job 7')).toThrow(SlurmError);
  });

  it('squeue -r: one job or array task per line', () => {
    const out = ['23_1|PENDING|JobArrayTaskLimit|', '23_2|PENDING|JobArrayTaskLimit|', '22|RUNNING|None|vm', '23_0|RUNNING|None|vm', ''].join('\n');
    expect(parseSqueue(out)).toEqual([
      { id: '23_1', state: 'PENDING', reason: 'JobArrayTaskLimit', nodes: '' },
      { id: '23_2', state: 'PENDING', reason: 'JobArrayTaskLimit', nodes: '' },
      { id: '22', state: 'RUNNING', reason: 'None', nodes: 'vm' },
      { id: '23_0', state: 'RUNNING', reason: 'None', nodes: 'vm' },
    ]);
  });

  it('scontrol show job -o: key=value pairs, an array task named base_index', () => {
    const line =
      'JobId=1 ArrayJobId=1 ArrayTaskId=2 ArrayTaskThrottle=2 JobName=arr.sh UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901759 Nice=0 Account=(null) QOS=(null) JobState=TIMEOUT Reason=TimeLimit Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:9 RunTime=00:01:22 TimeLimit=00:01:00 TimeMin=N/A Partition=debug NodeList=vm Command=/tmp/sf/arr.sh WorkDir=/tmp/sf StdOut=/tmp/sf/1_2.out Power=';
    const [rec] = parseScontrolJobs(`${line}\n`);
    expect(rec).toMatchObject({ JobState: 'TIMEOUT', Reason: 'TimeLimit', ExitCode: '0:9', TimeLimit: '00:01:00', Command: '/tmp/sf/arr.sh', Power: '' });
    expect(scontrolJobId(rec!)).toBe('1_2');
    expect(scontrolJobId(parseScontrolJobs('JobId=18 JobName=x JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0')[0]!)).toBe('18');
    expect(parseScontrolJobs('slurm_load_jobs error: Invalid job id specified')).toEqual([]);
  });

  it("sinfo: partitions (the default starred), their nodes' generic resources, up or not", () => {
    expect(parseSinfo('debug*|gpu:fake:1|up\nshort|gpu:fake:1|up\ngpu|gpu:a100:4(S:0-1),gpu:v100:2|down\ncpu|(null)|up\n')).toEqual([
      { name: 'debug', gres: ['gpu:fake:1'], up: true, isDefault: true },
      { name: 'short', gres: ['gpu:fake:1'], up: true, isDefault: false },
      { name: 'gpu', gres: ['gpu:a100:4', 'gpu:v100:2'], up: false, isDefault: false },
      { name: 'cpu', gres: [], up: true, isDefault: false },
    ]);
  });

  it('a gres request is met by a node with that resource (and type), at least as many', () => {
    const have = ['gpu:a100:4', 'gpu:v100:2'];
    expect(gresSatisfies(have, 'gpu:1')).toBe(true);
    expect(gresSatisfies(have, 'gpu:4')).toBe(true);
    expect(gresSatisfies(have, 'gpu:5')).toBe(false);
    expect(gresSatisfies(have, 'gpu:v100:2')).toBe(true);
    expect(gresSatisfies(have, 'gpu:v100:3')).toBe(false);
    expect(gresSatisfies(have, 'gpu:h100:1')).toBe(false);
    expect(gresSatisfies(have, 'gpu')).toBe(true);
    expect(gresSatisfies([], 'gpu:1')).toBe(false);
    expect(gresSatisfies(['gpu:fake:1'], 'gpu:1,mps:1')).toBe(false);
  });
});

describe('the executor in an experiment file', () => {
  const ok = { kind: 'slurm', sharedDir: '/shared/tb', partition: 'gpu', gres: 'gpu:a100:1', cpusPerTask: 8, mem: '32G', time: '1-12:00:00', concurrency: 4, extra: ['--qos=low', '--constraint=a100'] };
  it('takes what sbatch takes', () => {
    expect(executorSchema.parse(ok)).toMatchObject(ok);
    expect(executorSchema.parse({ kind: 'local' })).toEqual({ kind: 'local' });
    for (const time of ['90', '2:00:00', '1-12', '1-12:00', '30:00']) expect(executorSchema.safeParse({ ...ok, time }).success, time).toBe(true);
  });
  it('refuses, naming the field, what would break the job script or is ours to set', () => {
    const err = (x: Record<string, unknown>) => {
      const r = executorSchema.safeParse({ ...ok, ...x });
      return r.success ? null : `${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}`;
    };
    expect(err({ sharedDir: 'relative/dir' })).toMatch(/^sharedDir: .*absolute/);
    expect(err({ sharedDir: '/shared/x\n#SBATCH --array=0-999' })).toMatch(/^sharedDir: /);
    expect(err({ sharedDir: '/shared/my dir' })).toMatch(/^sharedDir: /);
    expect(err({ node: "/opt/node'; rm -rf ~; '" })).toMatch(/^node: /);
    expect(err({ partition: 'gpu; rm -rf /' })).toMatch(/^partition: /);
    expect(err({ extra: ['--qos=low\n#SBATCH --array=0-999'] })).toMatch(/^extra\.0: /);
    expect(err({ extra: ['--array=0-3'] })).toMatch(/^extra\.0: Trickbench sets .*--array/);
    expect(err({ extra: ['--output=/tmp/x'] })).toMatch(/^extra\.0: /);
    // sbatch reads an unambiguous prefix as the option: --arr is --array, --outp --output
    for (const e of ['--arr=0-999', '--outp=/home/u/.bashrc', '--no-req', '--exp=NONE', '--open=truncate', '--chd=/tmp']) expect(err({ extra: [e] }), e).toMatch(/^extra\.0: Trickbench sets /);
    expect(err({ extra: ['--qos=low', '--constraint=a100', '--exclusive'] })).toBeNull();
    expect(err({ time: 'forever' })).toMatch(/^time: /);
    expect(err({ mem: '32 GB' })).toMatch(/^mem: /);
    expect(err({ gres: 'gpu:1 --wrap=x' })).toMatch(/^gres: /);
    expect(err({ concurrency: 0 })).toMatch(/^concurrency: /);
    expect(err({ surprise: 1 })).toMatch(/surprise|Unrecognized/);
  });
});
