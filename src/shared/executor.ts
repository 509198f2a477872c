// Where an experiment's runs train: `local` (this machine's queue) or `slurm` (a job array on a
// cluster, one task per (arm, seed), submitted by the host on a login node). The resources are
// Slurm's own options, checked here for shape (and against the cluster's sinfo before anything is
// submitted: src/main/services/slurm.ts). Pure: the form, the experiment file and the host share it.
import { z } from 'zod';

/** Options we set ourselves in the job script: an `extra` line may not override them. */
export const RESERVED_SBATCH = ['array', 'output', 'error', 'job-name', 'requeue', 'no-requeue', 'parsable', 'wrap', 'chdir', 'export', 'open-mode'] as const;

/** Slurm's time formats: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS. */
const TIME = /^(\d+|\d+:\d{2}|\d+:\d{2}:\d{2}|\d+-\d+|\d+-\d+:\d{2}|\d+-\d+:\d{2}:\d{2})$/;
/** A path that can stand in a job script's #SBATCH line and command unquoted-safe: absolute, no
 * whitespace, quotes, `$`, backslashes or control characters (a newline would start a new line of
 * the script). */
const SAFE_PATH = /^\/[A-Za-z0-9._\/+@%:,=-]*$/;
/** A name Slurm takes for a partition or an account: no spaces, quotes or shell characters. */
const NAME = /^[A-Za-z0-9_.+-]{1,64}$/;

const extraLine = z
  .string()
  .max(200)
  .regex(/^--[a-z][a-z0-9-]*(=[^\r\n]*)?$/, 'an extra #SBATCH line is one long option: `--name` or `--name=value`, on one line')
  // sbatch takes any unambiguous prefix of a long option (`--arr` is --array): a prefix of ours is ours
  .refine((s) => !RESERVED_SBATCH.some((o) => o.startsWith(s.slice(2).split('=')[0]!)), {
    message: `Trickbench sets ${RESERVED_SBATCH.map((o) => `--${o}`).join(', ')} itself (nor may a line name a prefix of them: sbatch reads --arr as --array)`,
  });

export const slurmExecutorSchema = z
  .object({
    kind: z.literal('slurm'),
    /** A folder every node and this host see (an absolute path on the shared file system): the
     * runs' journals and checkpoints go under it. Never the store: SQLite does not work over NFS. */
    sharedDir: z.string().min(1).max(1000).regex(SAFE_PATH, 'sharedDir must be an absolute path on the shared file system, of letters, digits and / . _ - + @ % : , = (it goes into the job script)'),
    partition: z.string().regex(NAME, 'a partition name (letters, digits, _ . + -)').optional(),
    account: z.string().regex(NAME, 'an account name (letters, digits, _ . + -)').optional(),
    /** Generic resources per task, as sbatch's --gres: `gpu:1`, `gpu:a100:2`. */
    gres: z
      .string()
      .regex(/^[A-Za-z0-9_]+(:[A-Za-z0-9_.-]+)?(:\d+)?(,[A-Za-z0-9_]+(:[A-Za-z0-9_.-]+)?(:\d+)?)*$/, 'gres as sbatch takes it: gpu:1, gpu:a100:2')
      .optional(),
    cpusPerTask: z.number().int().min(1).max(4096).optional(),
    /** Memory per node, as sbatch's --mem: `16G`, `4000M`. */
    mem: z.string().regex(/^\d+[KMGT]?$/, 'memory as sbatch takes it: 16G, 4000M').optional(),
    /** Time limit per task, as sbatch's --time: `90` (minutes), `2:00:00`, `1-12:00:00`. */
    time: z.string().regex(TIME, 'a Slurm time limit: minutes, HH:MM:SS or D-HH:MM:SS').optional(),
    /** At most this many of the experiment's tasks run at once (the array's %N). */
    concurrency: z.number().int().min(1).max(10000).optional(),
    /** More #SBATCH options, one long option per line (`--qos=low`, `--constraint=a100`). */
    extra: z.array(extraLine).max(50).default([]),
    /** Node's path on the nodes when it is not where this host's Node is. */
    node: z.string().min(1).max(1000).regex(SAFE_PATH, 'node must be an absolute path of letters, digits and / . _ - + @ % : , =').optional(),
  })
  .strict();

export const executorSchema = z.discriminatedUnion('kind', [z.object({ kind: z.literal('local') }).strict(), slurmExecutorSchema]);

export type SlurmExecutor = z.output<typeof slurmExecutorSchema>;
export type ExecutorConfig = z.output<typeof executorSchema>;

export const LOCAL_EXECUTOR: ExecutorConfig = { kind: 'local' };
