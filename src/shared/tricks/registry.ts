// The registered tricks, in the order run names list them and the loop composes their hooks within
// a role. Adding a trick: write its file (see types.ts) and add it here; the config schema
// (`tricks.<name>`, null when off), labels, form fields, CLI flags, event markers and metric specs
// follow from its declaration.
import { z } from 'zod';
import { field } from '../schema-meta';
import type { MetricSpec } from '../metrics';
import { cutmix } from './cutmix';
import { distill } from './distill';
import { labelSmoothing } from './label-smoothing';
import { mixup } from './mixup';
import { rdrop } from './rdrop';
import { repr } from './repr';
import { rifle } from './rifle';
import type { AnyTrick, EventSpec, EventSpecs, PayloadOf, SourceRun, Trick } from './types';

export const TRICKS = [labelSmoothing, mixup, cutmix, rdrop, rifle, distill, repr] as const;

type Registered = (typeof TRICKS)[number];
export type TrickName = Registered['name'];
type ByName<N extends TrickName> = Extract<Registered, { name: N }>;
type SchemaOf<N extends TrickName> = ByName<N>['schema'];

export const TRICK_NAMES = TRICKS.map((t) => t.name) as TrickName[];

/** Every trick, by name, as the generic interface (for code that walks them all). */
export const TRICK_BY_NAME = Object.fromEntries(TRICKS.map((t) => [t.name, t])) as unknown as { [N in TrickName]: Trick<N, SchemaOf<N>> };

export function trickByName(name: string): Trick | undefined {
  return Object.hasOwn(TRICK_BY_NAME, name) ? (TRICK_BY_NAME[name as TrickName] as unknown as Trick) : undefined;
}

/** Each trick's options schema; a trick that is off is null in the config. */
export const TRICK_SCHEMAS = Object.fromEntries(TRICKS.map((t) => [t.name, t.schema])) as { [N in TrickName]: SchemaOf<N> };

/** `tricks`: one key per registered trick, its options or null (off), with the toggle's metadata. */
export const tricksSchema = z
  .object(Object.fromEntries(TRICKS.map((t) => [t.name, field((t.schema as z.ZodType).nullable().default(null), t.toggle)])) as { [N in TrickName]: z.ZodDefault<z.ZodNullable<SchemaOf<N>>> })
  .strict();
export type TricksConfig = z.output<typeof tricksSchema>;

/** Every trick off. */
export const TRICKS_OFF = Object.fromEntries(TRICK_NAMES.map((n) => [n, null])) as { [N in TrickName]: null };

/** A trick's options with their defaults, for the form when the user switches it on. */
export function defaultTrick<N extends TrickName>(name: N): Partial<z.output<SchemaOf<N>>> {
  const t = TRICK_BY_NAME[name] as unknown as Trick;
  return (t.formDefaults ? t.formDefaults() : t.schema.parse({})) as Partial<z.output<SchemaOf<N>>>;
}

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type PayloadsOf<T> = T extends { events: infer E extends EventSpecs } ? { [K in keyof E & string]: PayloadOf<E[K]> } : never;
/** The event kinds the tricks declare, with their payload types. */
export type TrickEventPayloads = UnionToIntersection<PayloadsOf<Registered>>;

/** Every trick event kind's declaration (payload schema, marker). */
export const TRICK_EVENTS: Record<string, EventSpec<any>> = Object.assign({}, ...TRICKS.map((t) => t.events));

/** The tricks' per-layer diagnostics. */
export const TRICK_METRICS: readonly MetricSpec[] = TRICKS.flatMap((t) => t.metrics);

const matches = (spec: MetricSpec, key: string) => (spec.key.endsWith('/*') ? key.startsWith(spec.key.slice(0, -1)) : key === spec.key);

/** Keys of the tricks' per-layer diagnostics: curves, not a run's final figures. */
export const isTrickDiagnostic = (key: string) => TRICK_METRICS.some((m) => m.diagnostic && matches(m, key));

/** A source run a trick that is on declares, with where the config names it. */
export interface DeclaredSourceRun extends SourceRun {
  trick: string;
  /** `tricks.<name>.<field>`: where its errors are reported. */
  path: string;
}

/** The other runs whose weights the tricks that `config` turns on use (types.ts `sourceRuns`), in
 * registry order. */
export function sourceRunsOf(config: { tricks: { readonly [name: string]: unknown } }, registry: readonly AnyTrick[] = TRICKS): DeclaredSourceRun[] {
  const out: DeclaredSourceRun[] = [];
  for (const t of registry as readonly Trick[]) {
    const options = config.tricks[t.name];
    if (options === null || options === undefined || !t.sourceRuns) continue;
    for (const s of t.sourceRuns(options)) out.push({ ...s, trick: t.name, path: `tricks.${t.name}.${s.field}` });
  }
  return out;
}
