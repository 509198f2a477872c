// Where runs train, for people: the new-experiment form's "Where it runs" inputs (text as typed,
// made into the experiment file's `executor`), the line an experiment page shows for a Slurm
// experiment, and what a run's row and page say of its job. Pure.
import type { FieldError } from '../../../shared/config';
import type { ExecutorConfig, SlurmExecutor } from '../../../shared/executor';
import type { RunSummary } from '../../../shared/api';

/** The form's Slurm inputs, as typed (every one a string; `extra` one #SBATCH option a line). */
export interface SlurmDraft {
  sharedDir: string;
  partition: string;
  gres: string;
  cpusPerTask: string;
  mem: string;
  time: string;
  account: string;
  concurrency: string;
  extra: string;
}

/** The Slurm fields the form edits, in its order: the file's key, the label, a placeholder. */
export const SLURM_FIELDS: readonly { key: keyof SlurmDraft; label: string; placeholder: string; hint?: string }[] = [
  { key: 'sharedDir', label: 'Shared folder', placeholder: '/shared/you/trickbench', hint: "an absolute path every node and this host see: the runs' journals and checkpoints go here (never the store)" },
  { key: 'partition', label: 'Partition', placeholder: "the cluster's default" },
  { key: 'gres', label: 'GPUs (gres)', placeholder: 'e.g. gpu:1' },
  { key: 'cpusPerTask', label: 'CPUs per task', placeholder: 'e.g. 8' },
  { key: 'mem', label: 'Memory', placeholder: 'e.g. 32G' },
  { key: 'time', label: 'Time limit', placeholder: 'e.g. 2:00:00' },
  { key: 'account', label: 'Account', placeholder: 'none' },
  { key: 'concurrency', label: 'At most at once', placeholder: 'no limit', hint: 'tasks of this experiment running at the same time (%N)' },
];

export function emptySlurmDraft(): SlurmDraft {
  return { sharedDir: '', partition: '', gres: '', cpusPerTask: '', mem: '', time: '', account: '', concurrency: '', extra: '' };
}

/** An integer as typed, or the text itself (the schema then names the field). */
function intOrText(s: string): number | string {
  return /^\d+$/.test(s) ? Number(s) : s;
}

/** The file's `executor` for the form's choice: `{kind: 'local'}`, or the Slurm inputs with the
 * blank ones left out (their defaults are the cluster's), numbers as numbers, one extra line per
 * non-blank line. */
export function draftToExecutor(kind: 'local' | 'slurm', d: SlurmDraft): Record<string, unknown> {
  if (kind === 'local') return { kind: 'local' };
  const x: Record<string, unknown> = { kind: 'slurm', sharedDir: d.sharedDir.trim() };
  for (const k of ['partition', 'gres', 'mem', 'time', 'account'] as const) if (d[k].trim()) x[k] = d[k].trim();
  for (const k of ['cpusPerTask', 'concurrency'] as const) if (d[k].trim()) x[k] = intOrText(d[k].trim());
  x.extra = d.extra
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return x;
}

/** The form's inputs for a file's executor (the JSON editor's, or a file the form was filled from). */
export function executorToDraft(x: ExecutorConfig): { kind: 'local' | 'slurm'; draft: SlurmDraft } {
  if (x.kind === 'local') return { kind: 'local', draft: emptySlurmDraft() };
  const s = (v: string | number | undefined) => (v === undefined ? '' : String(v));
  return {
    kind: 'slurm',
    draft: {
      sharedDir: x.sharedDir,
      partition: s(x.partition),
      gres: s(x.gres),
      cpusPerTask: s(x.cpusPerTask),
      mem: s(x.mem),
      time: s(x.time),
      account: s(x.account),
      concurrency: s(x.concurrency),
      extra: x.extra.join('\n'),
    },
  };
}

/** The form's own checks of what it turns into numbers (the schema's message would be "expected
 * number, received string"). */
export function draftErrors(kind: 'local' | 'slurm', d: SlurmDraft): FieldError[] {
  if (kind === 'local') return [];
  const out: FieldError[] = [];
  if (!d.sharedDir.trim()) out.push({ field: 'executor.sharedDir', message: 'required: a folder on the shared file system, seen by every node and this host' });
  if (d.cpusPerTask.trim() && !/^\d+$/.test(d.cpusPerTask.trim())) out.push({ field: 'executor.cpusPerTask', message: 'a whole number of CPUs, e.g. 8' });
  if (d.concurrency.trim() && !/^\d+$/.test(d.concurrency.trim())) out.push({ field: 'executor.concurrency', message: 'a whole number of tasks, e.g. 4' });
  return out;
}

/** Which Slurm input shows an executor error: `executor.partition` → partition, `executor.extra.2`
 * → extra; `executor` and `executor.kind` (sbatch missing, the cluster silent) → the section. */
export function executorErrorKey(field: string): keyof SlurmDraft | null {
  const m = /^executor\.([A-Za-z]+)/.exec(field);
  const k = m?.[1];
  if (!k) return null;
  return k in emptySlurmDraft() ? (k as keyof SlurmDraft) : null;
}

/** An experiment's executor in one line: `on Slurm: partition gpu, gpu:1, 8 CPUs, 32G, 2:00:00,
 * at most 4 at once; shared folder /x`; null for this machine. */
export function executorLine(x: ExecutorConfig): string | null {
  if (x.kind !== 'slurm') return null;
  return `on Slurm: ${slurmResources(x)}; shared folder ${x.sharedDir}`;
}

export function slurmResources(x: SlurmExecutor): string {
  const parts = [
    x.partition ? `partition ${x.partition}` : 'the default partition',
    x.gres ?? null,
    x.cpusPerTask !== undefined ? `${x.cpusPerTask} CPU${x.cpusPerTask === 1 ? '' : 's'}` : null,
    x.mem ?? null,
    x.time ?? null,
    x.account ? `account ${x.account}` : null,
    x.concurrency !== undefined ? `at most ${x.concurrency} at once` : null,
    ...x.extra,
  ];
  return parts.filter((p): p is string => p !== null).join(', ');
}

/** Where a run trains, as its page and row say it: `slurm · job 1234_5`, `slurm` before it has a
 * job (or after the scheduler let go of it), null for this machine. */
export function runWhere(r: Pick<RunSummary, 'executor' | 'jobId'>): string | null {
  if (r.executor !== 'slurm') return null;
  return r.jobId ? `slurm · job ${r.jobId}` : 'slurm';
}

/** A run's row tooltip on its status: `slurm · job 1234_5: PENDING (Resources)`; null locally. */
export function runWhereTitle(r: Pick<RunSummary, 'executor' | 'jobId' | 'executorState'>): string | null {
  const w = runWhere(r);
  return w && r.executorState ? `${w}: ${r.executorState}` : w;
}

/** What the scheduler says of an experiment's jobs, counted: `2 PENDING (Resources), 1 RUNNING on
 * node3`. A cancel Slurm has not taken yet (the host's note after ` · scancel `, one per job) is
 * counted apart, so fifty of them make one clause, not fifty. */
export function jobStatesLine(states: readonly string[]): string {
  const n = new Map<string, number>();
  let undelivered = 0;
  for (const s of states) {
    const at = s.indexOf(' · scancel ');
    const base = at >= 0 ? s.slice(0, at) : s.startsWith('scancel ') ? '' : s;
    if (at >= 0 || s.startsWith('scancel ')) undelivered++;
    if (base) n.set(base, (n.get(base) ?? 0) + 1);
  }
  const parts = [...n].map(([state, k]) => `${k} ${state}`);
  if (undelivered) parts.push(`${undelivered} cancel${undelivered === 1 ? '' : 's'} not taken by Slurm yet (scancel failing; sent again at each look)`);
  return parts.join(', ');
}
