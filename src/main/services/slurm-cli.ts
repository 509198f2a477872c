// Slurm's commands as the executor uses them: run without a shell (arguments are never parsed by
// one), with a timeout, their output parsed by the small pure functions below (tested on real
// outputs of Debian's slurm-wlm 22.05: docs/slurm-facts.md).
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export class SlurmError extends Error {}

export interface SlurmCommands {
  /** Runs a Slurm command; resolves with stdout, rejects with SlurmError (its stderr) on a non-zero exit. */
  run(cmd: SlurmCommand, args: readonly string[]): Promise<string>;
  /** The same, blocking: for what a user's request waits on (validate, submit), which must
   * answer with Slurm's error before anything else happens. (Cancel does not wait: scancel runs
   * in the background and is retried.) */
  runSync(cmd: SlurmCommand, args: readonly string[]): string;
  /** The command's path on PATH, or null. */
  which(cmd: SlurmCommand): string | null;
}

export type SlurmCommand = 'sbatch' | 'squeue' | 'scontrol' | 'sacct' | 'scancel' | 'sinfo';

const TIMEOUT_MS = 30_000;

export function systemSlurm(env: NodeJS.ProcessEnv = process.env): SlurmCommands {
  return {
    which(cmd) {
      for (const dir of (env.PATH ?? '').split(path.delimiter)) {
        if (!dir) continue;
        const p = path.join(dir, cmd);
        try {
          fs.accessSync(p, fs.constants.X_OK);
          return p;
        } catch {
          // not here
        }
      }
      return null;
    },
    runSync(cmd, args) {
      try {
        return execFileSync(cmd, args as string[], { env, timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (err) {
        throw failure(cmd, args, err as NodeJS.ErrnoException & { stderr?: string; stdout?: string; signal?: string });
      }
    },
    run(cmd, args) {
      return new Promise((resolve, reject) => {
        execFile(cmd, args as string[], { env, timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          reject(failure(cmd, args, Object.assign(err, { stdout, stderr }) as NodeJS.ErrnoException & { stdout: string; stderr: string }));
        });
      });
    },
  };
}

function failure(cmd: string, args: readonly string[], e: NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; stderr?: string | Buffer; stdout?: string | Buffer }): SlurmError {
  if (e.code === 'ENOENT') return new SlurmError(`${cmd} not found on PATH: run serve where Slurm's commands are (a login node)`);
  const out = `${e.stderr ?? ''}`.trim() || `${e.stdout ?? ''}`.trim() || e.message;
  const why = e.killed || e.signal === 'SIGTERM' ? `timed out after ${TIMEOUT_MS / 1000} s` : out.split('\n').slice(0, 5).join(' ');
  return new SlurmError(`${cmd} ${args.join(' ')}: ${why}`);
}

/** `sbatch --parsable` prints `jobid` or `jobid;cluster`. */
export function parseSbatch(out: string): string {
  const id = out.trim().split(';')[0]!.trim();
  if (!/^\d+$/.test(id)) throw new SlurmError(`sbatch printed no job id: ${JSON.stringify(out.trim().slice(0, 200))}`);
  return id;
}

export interface QueuedJob {
  /** `1234_5` for an array task, `1234` for a job. */
  id: string;
  state: string;
  /** Why it pends (`Resources`, `Priority`, `BeginTime`, `JobArrayTaskLimit`), `None` when running. */
  reason: string;
  nodes: string;
}

/** The squeue format the executor asks for: one line per job or array task (with -r). */
export const SQUEUE_FORMAT = '%i|%T|%r|%N';

export function parseSqueue(out: string): QueuedJob[] {
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [id = '', state = '', reason = '', nodes = ''] = l.split('|');
      return { id: id.trim(), state: state.trim(), reason: reason.trim(), nodes: nodes.trim() };
    })
    .filter((j) => j.id !== '');
}

/** `scontrol show job -o ID`: one line of `Key=Value` pairs per job (an array: one per task). */
export function parseScontrolJobs(out: string): Record<string, string>[] {
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.includes('JobId='))
    .map((l) => {
      const rec: Record<string, string> = {};
      // Values hold no spaces except a few free-text fields at the end of a pair list; split on
      // ` Key=` boundaries so `Reason=...` and `Command=/a b` stay whole.
      const parts = l.split(/ (?=[A-Za-z][A-Za-z0-9:/_-]*=)/);
      for (const p of parts) {
        const i = p.indexOf('=');
        if (i > 0) rec[p.slice(0, i)] = p.slice(i + 1);
      }
      return rec;
    });
}

/** A job's id as runs store it: `ArrayJobId_ArrayTaskId` for an array task, else `JobId`. */
export function scontrolJobId(rec: Record<string, string>): string {
  return rec.ArrayJobId && rec.ArrayTaskId ? `${rec.ArrayJobId}_${rec.ArrayTaskId}` : (rec.JobId ?? '');
}

export interface Partition {
  name: string;
  /** Generic resources its nodes have: `gpu:a100:4` entries, none as []. */
  gres: string[];
  up: boolean;
  isDefault: boolean;
}

/** `sinfo -h -o '%P|%G|%a'`: one line per partition and node group (the default partition is
 * marked with `*`). */
export function parseSinfo(out: string): Partition[] {
  const byName = new Map<string, Partition>();
  for (const l of out.split('\n').map((x) => x.trim()).filter(Boolean)) {
    const [raw = '', gres = '', avail = ''] = l.split('|');
    const isDefault = raw.endsWith('*');
    const name = isDefault ? raw.slice(0, -1) : raw;
    const p = byName.get(name) ?? { name, gres: [], up: false, isDefault };
    for (const g of gres.split(',').map((x) => x.trim().replace(/\(.*\)$/, ''))) if (g && g !== '(null)' && !p.gres.includes(g)) p.gres.push(g);
    p.up ||= avail.trim() === 'up';
    p.isDefault ||= isDefault;
    byName.set(name, p);
  }
  return [...byName.values()];
}

/** Whether nodes with `have` (sinfo's `gpu:a100:4`) can give a task `want` (sbatch's `gpu:2`,
 * `gpu:a100:1`): same name, a matching type when one is asked, at least the count. */
export function gresSatisfies(have: readonly string[], want: string): boolean {
  return want.split(',').every((w) => {
    const [name, ...rest] = w.split(':');
    const count = rest.length && /^\d+$/.test(rest[rest.length - 1]!) ? Number(rest.pop()) : 1;
    const type = rest[0];
    return have.some((h) => {
      const [hn, ...hr] = h.split(':');
      const hc = hr.length && /^\d+$/.test(hr[hr.length - 1]!) ? Number(hr.pop()) : 1;
      return hn === name && (type === undefined || hr[0] === type) && hc >= count;
    });
  });
}
