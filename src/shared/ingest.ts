// Runs from outside our trainer (a script logging through the ingest channels, an importer, a
// cluster job): what a client may send, with its bounds. The same schemas check an HTTP request
// (ARG_SCHEMAS in api.ts) and an importer's rows (store/external-repo.ts importRun), so both refuse
// the same things in the same words.
import { z } from 'zod';
import type { RunStatus } from './api';

/** Points in one ingest:metrics call: a client flushes more often than this (the Python client
 * sends at most 1,000); the cap keeps one request's transaction short for the trainers writing
 * beside it. */
export const MAX_POINTS = 10_000;
export const MAX_EVENTS = 1_000;
export const MAX_SUMMARY_KEYS = 1_000;
/** A run's params as JSON, and one event's payload as JSON: hyperparameters and small facts, not data. */
export const MAX_PARAMS_BYTES = 64 << 10;
export const MAX_PAYLOAD_BYTES = 16 << 10;
export const MAX_DEPTH = 8;
/** How long an external run may be silent before the host marks it failed, by default and at most. */
export const DEFAULT_HEARTBEAT_TIMEOUT_S = 120;
export const MIN_HEARTBEAT_TIMEOUT_S = 10;
export const MAX_HEARTBEAT_TIMEOUT_S = 86_400;
/** Event kinds our own lifecycle writes: a client cannot forge them. */
export const RESERVED_EVENT_KINDS = /^(run\.|pairing$|init\.loaded$)/;

export type RunSource = 'trickbench' | 'external';

/** A label: 1-200 characters with no control characters (they would break CSV cells, terminals). */
const label = (what: string) =>
  z
    .string()
    .min(1)
    .max(200)
    .check((ctx) => {
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(ctx.value)) ctx.issues.push({ code: 'custom', input: ctx.value, message: `${what} must not contain control characters` });
      if (ctx.value.trim() !== ctx.value) ctx.issues.push({ code: 'custom', input: ctx.value, message: `${what} must not start or end with spaces` });
    });

/** A metric key: what TensorBoard tags and W&B keys look like (`train/loss`, `val acc@1`). */
export const metricKey = label('a metric key');
const step = z.int().min(0);
const epoch = z.number().min(0).max(1e9);
/** Wall-clock time, ms since the Unix epoch (absent: when the host received it). */
const time = z.number().min(0).max(1e15);
const value = z.number(); // zod's number is finite: NaN and Infinity cannot arrive in JSON anyway

/** What a JSON value may hold: plain data, bounded in depth; keys that reach a prototype refused. */
function jsonProblem(v: unknown, depth: number, at: string): string | null {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return null;
  if (typeof v === 'number') return Number.isFinite(v) ? null : `${at || 'value'}: not a finite number`;
  if (depth > MAX_DEPTH) return `${at || 'value'}: nested deeper than ${MAX_DEPTH} levels`;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = jsonProblem(v[i], depth + 1, `${at}[${i}]`);
      if (p) return p;
    }
    return null;
  }
  if (typeof v === 'object') {
    for (const k of Object.keys(v)) {
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') return `${at ? `${at}.` : ''}${k}: not allowed as a key`;
      const p = jsonProblem((v as Record<string, unknown>)[k], depth + 1, at ? `${at}.${k}` : k);
      if (p) return p;
    }
    return null;
  }
  return `${at || 'value'}: not JSON data`;
}

/** A JSON object of at most `maxBytes`, plain data only. */
const jsonObject = (what: string, maxBytes: number) =>
  z.unknown().check((ctx) => {
    const v = ctx.value;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      ctx.issues.push({ code: 'custom', input: v, message: `${what} must be an object` });
      return;
    }
    const problem = jsonProblem(v, 1, '');
    if (problem) {
      ctx.issues.push({ code: 'custom', input: v, message: `${what}: ${problem}` });
      return;
    }
    const bytes = new TextEncoder().encode(JSON.stringify(v)).length;
    if (bytes > maxBytes) ctx.issues.push({ code: 'custom', input: v, message: `${what} must be at most ${maxBytes} bytes as JSON, got ${bytes}` });
  }) as unknown as z.ZodType<Record<string, unknown>>;

export const createSchema = z.strictObject({
  name: label('a run name').optional(),
  seed: z.int(),
  params: jsonObject('params', MAX_PARAMS_BYTES).optional(),
  experiment: label('an experiment name').optional(),
  arm: label('an arm name').optional(),
  /** The experiment's baseline arm (the reference of its paired differences): set by the first run
   * that names it; a later run naming another is refused. Absent: the first arm logged. */
  baseline: label('an arm name').optional(),
  /** The metric the experiment compares (default val/acc), set when the experiment is made. */
  metric: metricKey.optional(),
  /** Makes the create idempotent: a retry with the same key gets the same run. */
  clientKey: z.string().min(1).max(500).optional(),
  heartbeatTimeoutS: z.number().min(MIN_HEARTBEAT_TIMEOUT_S).max(MAX_HEARTBEAT_TIMEOUT_S).optional(),
});
export type ExternalRunSpec = z.output<typeof createSchema>;

export const pointSchema = z.strictObject({ key: metricKey, step, epoch: epoch.optional(), value, time: time.optional() });
export type IngestPoint = z.output<typeof pointSchema>;

export const eventSchema = z.strictObject({
  kind: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9_.:/-]+$/, 'an event kind is letters, digits and _ . : / -')
    .refine((k) => !RESERVED_EVENT_KINDS.test(k), 'run.*, pairing and init.loaded are written by Trickbench itself'),
  step,
  epoch: epoch.optional(),
  payload: jsonObject('payload', MAX_PAYLOAD_BYTES).optional(),
  time: time.optional(),
});
export type IngestEvent = z.output<typeof eventSchema>;

export const summarySchema = z.record(metricKey, value).check((ctx) => {
  const n = Object.keys(ctx.value).length;
  if (n > MAX_SUMMARY_KEYS) ctx.issues.push({ code: 'custom', input: ctx.value, message: `at most ${MAX_SUMMARY_KEYS} summary values, got ${n}` });
});

export const finalStatus = z.enum(['completed', 'failed', 'cancelled', 'interrupted']);
export type FinalStatus = Exclude<RunStatus, 'queued' | 'running'>;

const runId = z.int().positive();
export const INGEST_ARGS = {
  'ingest:create': createSchema,
  'ingest:metrics': z.strictObject({ runId, points: z.array(pointSchema).min(1).max(MAX_POINTS) }),
  'ingest:events': z.strictObject({ runId, events: z.array(eventSchema).min(1).max(MAX_EVENTS) }),
  'ingest:summary': z.strictObject({ runId, values: summarySchema }),
  'ingest:finish': z.strictObject({ runId, status: finalStatus, error: z.string().max(10_000).optional() }),
  'ingest:heartbeat': z.strictObject({ runId }),
};

export interface IngestCreated {
  runId: number;
  experimentId: number | null;
  armId: number | null;
  /** false: a run with this clientKey existed (a retry) and is returned as it is. */
  created: boolean;
}
