// The run journal (issue 19): what a cluster task writes on the shared file system instead of the
// store (SQLite must not be written over NFS), one JSON object per line in SHARED/runs/<id>/
// journal.jsonl, and the server ingests (src/journal/ingest.ts). Written by src/journal/writer.ts.
// A line ends with '\n'; a last line without one is still being written (or was torn by a crash)
// and is not a record yet.
import { z } from 'zod';
import type { FINAL_STATUSES } from '../shared/api';

export const JOURNAL_VERSION = 1;
export const JOURNAL_FILE = 'journal.jsonl';

const at = z.number().finite().nonnegative();
const metricPoint = z.object({ key: z.string().min(1), step: z.number().int(), epoch: z.number().finite(), value: z.number(), time: z.number().finite() });
const runEvent = z.object({ epoch: z.number().finite(), step: z.number().int(), kind: z.string().min(1), payload: z.record(z.string(), z.unknown()), time: z.number().finite() });
const finalStatus = z.enum(['completed', 'failed', 'cancelled', 'interrupted']) satisfies z.ZodType<(typeof FINAL_STATUSES)[number]>;

/** The test evaluation at a run's end (store.evaluations.save's EvaluationSet), the pixels of the
 * few images the run page shows as base64. */
const evaluationSet = z.object({
  evaluations: z.array(
    z.object({
      checkpoint: z.enum(['best', 'last']),
      epoch: z.number(),
      step: z.number().int(),
      n: z.number().int(),
      loss: z.number(),
      acc: z.number(),
      top5: z.number().nullable(),
      confusion: z.array(z.array(z.number())),
      perClass: z.array(z.number().nullable()),
    }),
  ),
  classNames: z.array(z.string()),
  imageShape: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
  predictions: z.array(z.object({ index: z.number().int(), label: z.number().int(), pred: z.number().int(), confidence: z.number(), image: z.string().nullable() })),
});

const base = { v: z.literal(JOURNAL_VERSION), at };

export const journalRecord = z.discriminatedUnion('kind', [
  /** A task attempt began: attempt = SLURM_RESTART_COUNT (0 the first time). */
  z.object({ ...base, kind: z.literal('start'), attempt: z.number().int().nonnegative(), jobId: z.string().nullable(), host: z.string(), pid: z.number().int() }),
  z.object({ ...base, kind: z.literal('backend'), backend: z.string(), device: z.string() }),
  z.object({ ...base, kind: z.literal('metrics'), points: z.array(metricPoint) }),
  z.object({ ...base, kind: z.literal('event'), event: runEvent }),
  /** store.beginResume's arguments: drop what came after the checkpoint at `step`, record the event. */
  z.object({ ...base, kind: z.literal('resume'), step: z.number().int().nonnegative(), event: runEvent }),
  z.object({ ...base, kind: z.literal('evaluation'), set: evaluationSet }),
  z.object({ ...base, kind: z.literal('heartbeat') }),
  // An attempt that starts afresh (no checkpoint) after earlier attempts wrote rows: what they wrote
  // is dropped, so that the run's events and evaluations are this attempt's alone.
  z.object({ ...base, kind: z.literal('reset') }),
  z.object({ ...base, kind: z.literal('end'), status: finalStatus, error: z.string().nullable() }),
]);

export type JournalRecord = z.infer<typeof journalRecord>;
export type JournalKind = JournalRecord['kind'];
/** A record as written: `v` and `at` are stamped by the writer. */
export type JournalDraft = { [K in JournalKind]: Omit<Extract<JournalRecord, { kind: K }>, 'v' | 'at'> }[JournalKind];
export type JournalEvaluationSet = z.infer<typeof evaluationSet>;

/** A line of a journal that is not a record this version reads. */
export class JournalError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(`${file}:${line}: ${message}`);
    this.name = 'JournalError';
  }
}

/** One complete line (without its '\n') as a record; a JournalError naming the file, the line
 * (1-based) and what is wrong otherwise. */
export function parseJournalLine(line: string, lineNo: number, file: string): JournalRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (e) {
    throw new JournalError(file, lineNo, `not JSON (${(e as Error).message}): ${preview(line)}`);
  }
  if (raw && typeof raw === 'object' && 'v' in raw && typeof raw.v === 'number' && raw.v > JOURNAL_VERSION) {
    throw new JournalError(file, lineNo, `written by a newer Trickbench (journal version ${raw.v}, this one reads ${JOURNAL_VERSION})`);
  }
  const r = journalRecord.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'record'}: ${i.message}`).join('; ');
    throw new JournalError(file, lineNo, `not a journal record (${issues}): ${preview(line)}`);
  }
  return r.data;
}

function preview(line: string): string {
  return line.length > 120 ? `${line.slice(0, 120)}…` : line;
}
