// A run's events as a discriminated union on `kind` (as protocol.ts does for messages): each kind
// with its payload's type, and for the kinds drawn on the curves, how (a marker). The tricks declare
// their own kinds in their files (src/shared/tricks/*.ts); the run's and the LR schedule's are here.
// Events stored by older or newer versions, or sent by an ingest client, may have other kinds or
// payloads: readers look a kind up (eventSpec) and check its payload before drawing it, so those are
// listed but not drawn, never a crash.
import { z } from 'zod';
import { TRICK_EVENTS, type TrickEventPayloads } from './tricks/registry';
import { defineEvent, type EventSpec } from './tricks/types';

const loose = z.record(z.string(), z.unknown());

/** The LR schedule's phase changes (src/trainer/optim/schedule.ts records them). */
const lrPhase = z.discriminatedUnion('phase', [
  z.object({ phase: z.literal('warmup end'), next: z.string(), lr: z.number() }),
  z.object({ phase: z.literal('step decay'), milestone: z.number(), lr: z.number() }),
]);

// warnings is absent in events written before backend warnings were recorded
const backendFacts = { backend: z.string(), device: z.string(), warnings: z.array(z.string()).optional(), adapter: z.unknown().optional() };

/** The run's own kinds and the schedule's. */
export const RUN_EVENTS = {
  'lr.phase': defineEvent(lrPhase, {
    label: 'LR',
    color: '#0072b2',
    detail: (p, f) => [p.phase === 'warmup end' ? `warmup ends: ${p.next} from lr ${f.num(p.lr, 4)}` : `step decay at epoch ${p.milestone}: lr ${f.num(p.lr, 4)}`],
  }),
  'run.resume': defineEvent(z.object({ fromEpoch: z.number(), fromStep: z.number(), ...backendFacts }), {
    label: 'resumed',
    color: '#8c8c8c',
    detail: (p) => [`resumed from epoch ${p.fromEpoch}, step ${p.fromStep}`],
  }),
  /** The backend, the data (shapes, split sizes, normalisation) and the model's size. */
  'run.start': defineEvent(z.looseObject({ ...backendFacts })),
  'run.end': defineEvent(z.object({ status: z.string(), tensors: z.number().optional(), error: z.string().nullable().optional() })),
  /** What init.fromRun loaded (src/store/init-plan.ts InitReport). */
  'init.loaded': defineEvent(loose),
  /** The run's data order and initial weights, hashed (src/trainer/pairing.ts). */
  pairing: defineEvent(loose),
};

type RunEventPayloads = { [K in keyof typeof RUN_EVENTS]: z.output<(typeof RUN_EVENTS)[K]['payload']> };
export type EventPayloads = RunEventPayloads & TrickEventPayloads;
export type EventKind = keyof EventPayloads & string;

/** One event of a kind this version declares, typed by its kind. */
export type KnownRunEvent = { [K in EventKind]: { kind: K; epoch: number; step: number; payload: EventPayloads[K]; time: number } }[EventKind];
/** An event as the store keeps it and the API carries it: one this version writes (a KnownRunEvent
 * is one), or of a kind or payload it does not know (an older or newer version's, an ingest
 * client's). parseEvent gives the typed event, or null. */
export interface RunEvent {
  epoch: number;
  step: number;
  kind: string;
  payload: Record<string, unknown>;
  time: number;
}
/** An event before it is stamped with its time. */
export type RunEventDraft = { [K in EventKind]: { kind: K; epoch: number; step: number; payload: EventPayloads[K] } }[EventKind];

/** Every declared kind (the run's, the schedule's and every trick's). */
export const EVENT_SPECS: Readonly<Record<string, EventSpec<any>>> = { ...RUN_EVENTS, ...TRICK_EVENTS };

/** The event as its kind's declared type, or null when the kind is not declared here or its payload
 * does not fit the declaration (then it is listed, not drawn). */
export function parseEvent(e: RunEvent): KnownRunEvent | null {
  const spec = eventSpec(e.kind);
  if (!spec) return null;
  const p = spec.payload.safeParse(e.payload);
  return p.success ? ({ ...e, payload: p.data } as KnownRunEvent) : null;
}

/** The declaration of an event kind, or undefined for a kind this version does not know. */
export function eventSpec(kind: string): EventSpec<unknown> | undefined {
  return Object.hasOwn(EVENT_SPECS, kind) ? EVENT_SPECS[kind] : undefined;
}
