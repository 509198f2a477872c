// What the Slurm tests share: whether a Slurm cluster answers here (scripts/slurm-test-cluster.sh
// start brings one up on this machine, as root), the rule for a missing one (the file's tests skip
// with the reason, unless TRICKBENCH_REQUIRE_SLURM=1, as .ci/run sets, where a test fails
// instead), and small wrappers of sbatch and scontrol. docs/slurm-facts.md records what these
// commands print on the test cluster.
import { spawn, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { parseScontrolJobs } from '../../src/main/services/slurm-cli';

export type SlurmProbe = { ok: true; node: string; state: string; reason: null } | { ok: false; reason: string };

/** States after which a job does not run again by itself (a requeued job goes back to PENDING). */
export const TERMINAL_STATES = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE'] as const;

// With slurmctld down, sinfo gives up after ~9 s (docs/slurm-facts.md); wait a little longer.
const PROBE_TIMEOUT_MS = 15_000;

let cached: SlurmProbe | null = null;

/** Asks sinfo, once per process, for a node that can run jobs (idle, mixed or allocated). */
export function probeSlurm(): SlurmProbe {
  if (cached) return cached;
  const r = spawnSync('sinfo', ['-h', '-N', '-o', '%N %T'], { encoding: 'utf8', timeout: PROBE_TIMEOUT_MS });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    cached = { ok: false, reason: code === 'ENOENT' ? 'sinfo not found on PATH (no Slurm client installed)' : `sinfo: ${r.error.message}` };
    return cached;
  }
  if (r.status !== 0) {
    cached = { ok: false, reason: `sinfo exited ${r.status}: ${r.stderr.trim() || r.stdout.trim()} (start one with: bash scripts/slurm-test-cluster.sh start)` };
    return cached;
  }
  const nodes = r.stdout.trim().split('\n').filter(Boolean).map((l) => {
    const [node = '', state = ''] = l.trim().split(/\s+/);
    // sinfo appends a flag to the state: '*' not responding, '~' powered off, '#', '!', '%', '$', '@', '^', '-'.
    return { node, state, base: state.replace(/[^a-z]+$/i, '').toLowerCase() };
  });
  const usable = nodes.find((n) => ['idle', 'mixed', 'allocated', 'completing'].includes(n.base) && n.state === n.base);
  cached = usable
    ? { ok: true, node: usable.node, state: usable.state, reason: null }
    : { ok: false, reason: `no node is idle, mixed or allocated: sinfo says ${nodes.map((n) => `${n.node} ${n.state}`).join(', ') || 'nothing'}` };
  return cached;
}

/** True when a Slurm cluster with a usable node answers sinfo here. */
export function slurmAvailable(): boolean {
  return probeSlurm().ok;
}

/** Defines the file's 'Slurm cluster' block: passes, or skips with the reason where there is no
 * cluster, or fails where TRICKBENCH_REQUIRE_SLURM=1. Returns null when the cluster is usable,
 * else the reason, for `describe.skipIf(reason !== null)`. Call at the top level of a test file. */
export function requireSlurm(what: string): string | null {
  const probe = probeSlurm();
  const required = process.env.TRICKBENCH_REQUIRE_SLURM === '1';
  describe('Slurm cluster', () => {
    if (required) {
      it('is available (TRICKBENCH_REQUIRE_SLURM=1)', () => {
        expect(probe.reason, 'sinfo found no usable Slurm node').toBeNull();
      });
    } else if (!probe.ok) {
      console.warn(`${what}: skipped, no Slurm cluster here (${probe.reason})`);
      it.skip(`no Slurm cluster here, so ${what} are skipped: ${probe.reason}`, () => {});
    } else {
      it('is available', () => {
        expect(probe.reason).toBeNull();
      });
    }
  });
  return probe.reason;
}

export type CmdResult = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

/** Runs a command to its end (or timeoutMs, then SIGKILL) and returns its status and output. */
export function runCmd(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CmdResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** sbatch --parsable ARGS: the job id ("1234"; for an array the base id), or an error with sbatch's stderr. */
export async function sbatch(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await runCmd('sbatch', ['--parsable', ...args], opts);
  const id = r.stdout.trim().split(';')[0] ?? '';
  if (r.code !== 0 || !/^\d+$/.test(id)) {
    throw new Error(`sbatch ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return id;
}

/** `scontrol show job -o ID`'s records (one per array task for a base id), or null where Slurm
 * does not know the job (never existed, purged after MinJobAge, or a cancelled pending task). */
export async function jobRecords(jobId: string): Promise<Record<string, string>[] | null> {
  const r = await runCmd('scontrol', ['show', 'job', '-o', jobId]);
  const text = `${r.stdout}\n${r.stderr}`;
  if (r.code !== 0) {
    if (/Invalid job id specified|not found/i.test(text)) return null;
    throw new Error(`scontrol show job -o ${jobId} exited ${r.code}: ${text.trim()}`);
  }
  return parseScontrolJobs(r.stdout);
}

/** The record of one job or array task ("1234" or "1234_5"), or null where Slurm does not know it. */
export async function jobRecord(jobId: string): Promise<Record<string, string> | null> {
  const recs = await jobRecords(jobId);
  if (recs === null) return null;
  if (recs.length !== 1) throw new Error(`scontrol show job -o ${jobId} gave ${recs.length} records; name one task (${jobId}_N)`);
  return recs[0]!;
}

/** JobState of one job or array task (e.g. 'RUNNING', 'COMPLETED'), or null where Slurm does not know it. */
export async function jobState(jobId: string): Promise<string | null> {
  const rec = await jobRecord(jobId);
  return rec ? (rec.JobState ?? null) : null;
}

/** Polls scontrol until the job or array task is in one of `states`; returns its record. Fails on
 * timeout (naming the last state seen) and, when the job is not among `states`' terminal states but
 * ends in another one, as soon as it does. */
export async function waitForJob(jobId: string, states: readonly string[], timeoutMs: number): Promise<Record<string, string>> {
  const deadline = Date.now() + timeoutMs;
  let last: string | null = null;
  for (;;) {
    const rec = await jobRecord(jobId);
    last = rec ? (rec.JobState ?? '?') : null;
    if (rec && last !== null && states.includes(last)) return rec;
    if (rec && last !== null && (TERMINAL_STATES as readonly string[]).includes(last)) {
      throw new Error(`job ${jobId} ended ${last} (Reason=${rec.Reason}, ExitCode=${rec.ExitCode}), not ${states.join('/')}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`job ${jobId} not ${states.join('/')} after ${timeoutMs} ms (last state: ${last ?? 'unknown to scontrol'})`);
    }
    await sleep(500);
  }
}
