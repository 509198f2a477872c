// The leaves of a config schema, with what the form and the CLI need to know of each: its dotted
// path, its type (number, bool, enum and its options, list, JSON), whether it may be null, its
// default and its metadata (schema-meta.ts). The form's inputs (renderer lib/configForm.ts) and
// the CLI's flags (trainer/cli-config.ts) are derived from this list, and
// tests/unit/schema-leaves.test.ts checks every leaf against both.
//
// A leaf is a field that is not an object: wrappers (default, prefault, nullable, optional,
// pipe/preprocess, readonly, catch) are looked through. Three kinds of object are walked into:
// - a plain object (a section such as `dataset`): its fields are leaves;
// - a discriminated union (the model, the optimizer): its discriminator is one leaf (an enum of
//   every variant's name) and each variant's fields are leaves that say which variants have them
//   (the same path in several variants is one leaf);
// - a nullable object (a trick, `init`): a `toggle` leaf (null = off) and its fields, which say
//   which toggle they are under.
// A list of numbers or strings is a list; any other list, tuple or union is a JSON leaf.
import type { z } from 'zod';
import { FIELDS, type FieldMeta } from './schema-meta';

export type LeafType = 'string' | 'number' | 'boolean' | 'enum' | 'list' | 'json' | 'toggle';

export interface SchemaLeaf {
  /** Dotted config path: `optimizer.lr`, `tricks.mixup`, `tricks.mixup.alpha`. */
  path: string;
  type: LeafType;
  /** null is a value of it (`dataset.trainSubset`: null = all). */
  nullable: boolean;
  /** An enum's values, in the schema's order. */
  options?: readonly string[];
  /** A list's items. */
  item?: 'number' | 'string';
  /** Its default; absent when it has none (it must be given). */
  default?: unknown;
  hasDefault: boolean;
  meta: FieldMeta | undefined;
  /** The field's schema as the config has it (wrappers included); a discriminator's is its
   * section's. Of the first variant that has it, for a field of several. */
  schema: z.ZodType;
  /** The discriminator of a discriminated union (`model.name`). */
  discriminator?: boolean;
  /** A discriminator's variants: each one's fields (their paths), in that variant's order. */
  fieldsOf?: Record<string, string[]>;
  /** Only in some variants of a discriminated union: the discriminator's path, the variants'
   * names, and this leaf's default in each (parallel to names; undefined where none). */
  variants?: { of: string; names: string[]; defaults: unknown[] };
  /** Inside a nullable object: that object's (the toggle's) path. */
  under?: string;
  /** Why the walker could not treat the leaf as one field: its variants give it different
   * metadata or types. The leaves test reports it. */
  conflict?: string;
}

type Def = {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  options?: z.ZodType[];
  discriminator?: string;
  element?: z.ZodType;
  entries?: Record<string, string | number>;
  values?: unknown[];
};
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nonoptional', 'readonly', 'catch']);

/** A field's schema without its wrappers: the core type, whether it takes null, and the first
 * metadata met from the outside in. */
function unwrap(s: z.ZodType): { core: z.ZodType; nullable: boolean; meta: FieldMeta | undefined } {
  let nullable = false;
  let meta: FieldMeta | undefined;
  let cur = s;
  for (;;) {
    meta ??= FIELDS.get(cur);
    const d = defOf(cur);
    if (WRAPPERS.has(d.type)) cur = d.innerType!;
    else if (d.type === 'nullable') {
      nullable = true;
      cur = d.innerType!;
    } else if (d.type === 'pipe') {
      // z.preprocess(f, T) is pipe(transform, T); T.transform(f) is pipe(T, transform).
      cur = defOf(d.out!).type === 'transform' ? d.in! : d.out!;
    } else return { core: cur, nullable, meta };
  }
}

/** The default of a field: what it parses `undefined` to, when it accepts it. */
function defaultOf(s: z.ZodType): { hasDefault: boolean; default?: unknown } {
  const r = s.safeParse(undefined);
  return r.success ? { hasDefault: true, default: r.data } : { hasDefault: false };
}

/** The discriminator values one variant of a discriminated union takes. */
function variantNames(variant: z.ZodType, key: string): string[] {
  const shape = defOf(unwrap(variant).core).shape ?? {};
  const d = defOf(unwrap(shape[key]!).core);
  if (d.type === 'literal') return d.values!.map(String);
  if (d.type === 'enum') return Object.values(d.entries!).map(String);
  return [];
}

function scalar(core: z.ZodType): Pick<SchemaLeaf, 'type' | 'options' | 'item'> {
  const d = defOf(core);
  switch (d.type) {
    case 'string':
      return { type: 'string' };
    case 'number':
    case 'int':
      return { type: 'number' };
    case 'boolean':
      return { type: 'boolean' };
    case 'enum':
      return { type: 'enum', options: Object.values(d.entries!).map(String) };
    case 'literal':
      return { type: 'enum', options: d.values!.map(String) };
    case 'array': {
      const el = defOf(unwrap(d.element!).core).type;
      if (el === 'number' || el === 'int') return { type: 'list', item: 'number' };
      if (el === 'string') return { type: 'list', item: 'string' };
      return { type: 'json' };
    }
    default:
      return { type: 'json' };
  }
}

interface Ctx {
  variant?: { of: string; names: string[] };
  under?: string;
}

function walk(s: z.ZodType, path: string[], ctx: Ctx, out: SchemaLeaf[]): void {
  const { core, nullable, meta } = unwrap(s);
  const d = defOf(core);
  const p = path.join('.');
  const base = { path: p, nullable, meta, schema: s, ...defaultOf(s), ...(ctx.under ? { under: ctx.under } : {}) };
  const withVariant = (leaf: SchemaLeaf): SchemaLeaf =>
    ctx.variant ? { ...leaf, variants: { of: ctx.variant.of, names: ctx.variant.names, defaults: ctx.variant.names.map(() => leaf.default) } } : leaf;
  if (d.type === 'object') {
    let inner = ctx;
    if (nullable) {
      out.push(withVariant({ ...base, type: 'toggle' }));
      inner = { ...ctx, under: p };
    }
    for (const [k, v] of Object.entries(d.shape!)) walk(v, [...path, k], inner, out);
    return;
  }
  if (d.type === 'union' && d.discriminator) {
    const key = d.discriminator;
    const variants = d.options!.map((o) => ({ schema: o, names: variantNames(o, key) }));
    const names = variants.flatMap((v) => v.names);
    // The section's default names the discriminator's default (the model a bare `{}` gets).
    const dflt = base.hasDefault && base.default !== null && typeof base.default === 'object' ? { hasDefault: true, default: (base.default as Record<string, unknown>)[key] } : { hasDefault: false };
    const fieldsOf: Record<string, string[]> = {};
    out.push(withVariant({ path: `${p}.${key}`, type: 'enum', options: names, nullable: false, meta, schema: s, ...dflt, discriminator: true, fieldsOf, ...(ctx.under ? { under: ctx.under } : {}) }));
    for (const v of variants) {
      const shape = defOf(unwrap(v.schema).core).shape ?? {};
      const from = out.length;
      for (const [k, f] of Object.entries(shape)) if (k !== key) walk(f, [...path, k], { ...ctx, variant: { of: `${p}.${key}`, names: v.names } }, out);
      const paths = out.slice(from).map((l) => l.path);
      for (const n of v.names) fieldsOf[n] = paths;
    }
    return;
  }
  out.push(withVariant({ ...base, ...scalar(core) }));
}

/** Leaves of the same path in several variants are one leaf; what they disagree on is a conflict. */
function merge(leaves: SchemaLeaf[]): SchemaLeaf[] {
  const byPath = new Map<string, SchemaLeaf>();
  for (const l of leaves) {
    const seen = byPath.get(l.path);
    if (!seen) {
      byPath.set(l.path, l);
      continue;
    }
    if (!seen.variants || !l.variants) {
      seen.conflict ??= 'the same path twice outside a union';
      continue;
    }
    seen.variants = { of: seen.variants.of, names: [...seen.variants.names, ...l.variants.names], defaults: [...seen.variants.defaults, ...l.variants.defaults] };
    if (JSON.stringify(seen.meta) !== JSON.stringify(l.meta)) seen.conflict ??= `its variants give it different metadata (${l.variants.names.join(', ')}: ${JSON.stringify(l.meta)})`;
    if (seen.type !== l.type || seen.nullable !== l.nullable || JSON.stringify(seen.options) !== JSON.stringify(l.options)) {
      seen.conflict ??= `its variants give it different types (${l.variants.names.join(', ')}: ${l.type})`;
    }
  }
  return [...byPath.values()];
}

/** Every leaf of a config schema, in the schema's order (a discriminator before its variants'
 * fields, a toggle before its options). A field that only some variants of a union have keeps
 * `variants`; one that all have loses it. */
export function schemaLeaves(schema: z.ZodType): SchemaLeaf[] {
  const raw: SchemaLeaf[] = [];
  walk(schema, [], {}, raw);
  const all = new Map<string, number>();
  for (const l of raw) if (l.discriminator) all.set(l.path, l.options!.length);
  return merge(raw).map((l) => {
    if (!l.variants || l.variants.names.length !== all.get(l.variants.of)) return l;
    // In every variant: one field (with one default if they agree).
    const { variants, ...rest } = l;
    const same = variants.defaults.every((x) => JSON.stringify(x) === JSON.stringify(variants.defaults[0]));
    return same ? rest : l;
  });
}

/** The section a path belongs to, as the form's fieldsets and the CLI's --help groups call it. */
export function sectionOf(path: string): string {
  const top = path.split('.')[0]!;
  return SECTIONS[top] ?? 'Run';
}
const SECTIONS: Record<string, string> = {
  dataset: 'Data',
  augment: 'Data',
  model: 'Model',
  optimizer: 'Optimizer',
  schedule: 'Schedule',
  init: 'Fine-tune',
  tricks: 'Tricks',
};

/** A value as --help shows it: a list as `a,b`, null as `all` (or `none` where given). */
export function shownValue(v: unknown, nullText = 'all'): string {
  if (v === null) return nullText;
  if (Array.isArray(v)) return v.length ? v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(',') : 'none';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** What is wrong with the leaves' metadata, one line each naming the path: a leaf without any,
 * one with neither a form field nor a reason (noForm), neither a flag nor a reason (noFlag), a
 * flag that is not a CLI-safe name or is used twice, variants that disagree. Empty: the form and
 * the CLI cover every field. */
export function leafProblems(leaves: readonly SchemaLeaf[]): string[] {
  const out: string[] = [];
  const flags = new Map<string, string>();
  for (const l of leaves) {
    if (l.conflict) out.push(`${l.path}: ${l.conflict}`);
    const m = l.meta;
    if (!m) {
      out.push(`${l.path}: no metadata: attach field(schema, { label, hint, flag, ... }) (schema-meta.ts) to it`);
      continue;
    }
    if (!m.label) out.push(`${l.path}: no form label`);
    if (m.noForm !== undefined && !m.noForm.trim()) out.push(`${l.path}: noForm needs a reason`);
    if (m.flag === undefined) out.push(`${l.path}: no CLI flag: give it one, or flag: null and a noFlag reason`);
    else if (m.flag === null) {
      if (!m.noFlag?.trim()) out.push(`${l.path}: flag: null needs a noFlag reason`);
    } else {
      if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(m.flag)) out.push(`${l.path}: flag "${m.flag}" is not lower-case words joined by "-"`);
      // commander reads --no-x as "x off": such a flag would never reach the field.
      if (m.flag.startsWith('no-')) out.push(`${l.path}: flag "${m.flag}" starts with "no-", which commander takes as a negation`);
      const other = flags.get(m.flag);
      if (other) out.push(`${l.path}: flag --${m.flag} is ${other}'s already`);
      else flags.set(m.flag, l.path);
      if (m.noFlag) out.push(`${l.path}: has a flag and a noFlag reason`);
    }
  }
  return out;
}
