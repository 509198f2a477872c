// Command-line flags -> run config. Every config field has a flag (or its metadata says why not),
// derived from the config schema's leaves and their metadata (shared/schema-walk.ts,
// shared/schema-meta.ts); `--config FILE` gives a base and `--set path=value` reaches any field.
// Values are coerced only when they look like what the field takes, so the schema can name the
// field of anything that does not fit (`--lr abc`).
import fs from 'node:fs';
import { Option, type Command } from 'commander';
import { nestingProblem, runConfigSchema, setPath, unsafePathProblem, type FieldError } from '../shared/config';
import { schemaLeaves, sectionOf, shownValue, type SchemaLeaf } from '../shared/schema-walk';

export interface FlagSpec {
  flag: string; // without the leading dashes
  path: string;
  // on: a trick switched on with its defaults; json: the value is JSON (the augmentation list)
  kind: 'number' | 'string' | 'boolean' | 'list' | 'nullable-number' | 'on' | 'json';
  help: string;
  /** null is a value of the field: "all" or "null" gives it (`--train-subset all`). */
  nullable?: boolean;
  /** The --help group it is listed under ("Model", "Tricks: RIFLE"). */
  group: string;
}

function flagKind(l: SchemaLeaf): FlagSpec['kind'] {
  switch (l.type) {
    case 'toggle':
      return 'on';
    case 'boolean':
      return 'boolean';
    case 'number':
      return l.nullable ? 'nullable-number' : 'number';
    case 'list':
      return 'list';
    case 'json':
      return 'json';
    default:
      return 'string';
  }
}

/** Variants' names in a few characters: `cnn3`, `sgd, adam`, `resnet*` (every ResNet). */
function variantText(names: readonly string[]): string {
  const stem = (n: string) => n.replace(/\d+$/, '');
  return names.length > 2 && names.every((n) => stem(n) === stem(names[0]!)) ? `${stem(names[0]!)}*` : names.join(', ');
}

/** A leaf's --help text: which variants have it, what it is, its choices and its default. */
function flagHelp(l: SchemaLeaf, leaves: readonly SchemaLeaf[]): string {
  const m = l.meta!;
  let text = m.help ?? (m.hint ? `${m.label}: ${m.hint}` : m.label);
  // A field of some kinds only says which (one that every kind has, with its own default, does not).
  const kinds = l.variants && leaves.find((d) => d.path === l.variants!.of)?.options?.length;
  if (l.variants && l.variants.names.length !== kinds) text = `${variantText(l.variants.names)}: ${text}`;
  if (l.type === 'enum') text += `: ${l.options!.join(' | ')}`;
  if (l.discriminator) {
    // The flags below that name some kinds ("cnn3: ...") are those kinds' options only.
    text += "; the flags marked with kinds are those kinds' options";
  }
  const nullText = m.placeholder ?? 'all';
  let dflt: string | null = null;
  if (l.variants && l.variants.defaults.some((d) => JSON.stringify(d) !== JSON.stringify(l.variants!.defaults[0]))) {
    dflt = l.variants.names.map((n, i) => `${n} ${shownValue(l.variants!.defaults[i], nullText)}`).join(', ');
  } else if (l.hasDefault && l.type !== 'toggle' && l.default !== false && l.default !== '') {
    dflt = shownValue(l.default, nullText);
  }
  if (dflt !== null) text += ` (default ${dflt})`;
  return text;
}

/** The --help group: the section; a trick's own, saying what switches it on. */
function flagGroup(l: SchemaLeaf, leaves: readonly SchemaLeaf[]): string {
  const section = sectionOf(l.path);
  const trick = l.type === 'toggle' ? l : leaves.find((t) => t.path === l.under);
  if (section !== 'Tricks' || !trick?.meta) return section;
  const on = trick.meta.flag ? `--${trick.meta.flag}, or any of its flags, switches it on` : 'any of its flags switches it on';
  return `Tricks: ${trick.meta.label} (${on})`;
}

const LEAVES = schemaLeaves(runConfigSchema);

/** One flag per config leaf whose metadata names one, in the schema's order (a section's kind
 * before its options: `--model mlp --hidden 64` starts the model afresh, then sets it). */
export const CONFIG_FLAGS: readonly FlagSpec[] = LEAVES.filter((l) => l.meta?.flag).map((l) => ({
  flag: l.meta!.flag!,
  path: l.path,
  kind: flagKind(l),
  help: flagHelp(l, LEAVES),
  ...(l.nullable && l.type !== 'toggle' ? { nullable: true } : {}),
  group: flagGroup(l, LEAVES),
}));

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** '0.1' -> 0.1, 'true' -> true, 'null' -> null; anything else stays a string for the schema to judge. */
export function coerceScalar(s: string): unknown {
  const t = s.trim();
  if (NUMBER.test(t)) return Number(t);
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t === 'null') return null;
  return s;
}

function coerce(spec: FlagSpec, raw: string | boolean): unknown {
  if (typeof raw === 'boolean') return raw;
  switch (spec.kind) {
    case 'number':
    case 'boolean':
      return coerceScalar(raw);
    case 'nullable-number':
      return raw === 'all' || raw === 'null' ? null : coerceScalar(raw);
    case 'list':
      if (spec.nullable && (raw === 'all' || raw === 'null')) return null;
      return raw.trim() === '' ? [] : raw.split(',').map(coerceScalar);
    case 'string':
      return raw;
    case 'on':
      return {};
    case 'json':
      try {
        return JSON.parse(raw) as unknown;
      } catch (e) {
        throw new CliInputError([{ field: `--${spec.flag}`, message: `not JSON: ${(e as Error).message}` }]);
      }
  }
}

export class CliInputError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('\n'));
    this.name = 'CliInputError';
  }
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliInputError([{ field: '--config', message: `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
  let config: Record<string, unknown>;
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    config = v as Record<string, unknown>;
  } catch (e) {
    throw new CliInputError([{ field: '--config', message: `${file} is not a JSON config object: ${(e as Error).message}` }]);
  }
  const deep = nestingProblem(config);
  if (deep) throw new CliInputError([{ field: '--config', message: `${file}: ${deep.field}: ${deep.message}` }]);
  return config;
}

/** Build the raw (unvalidated) config from parsed options: file, then --tricks, then flags, then --set. */
export function configFromOptions(opts: Record<string, unknown>): Record<string, unknown> {
  const cfg: Record<string, unknown> = typeof opts.config === 'string' ? readConfigFile(opts.config) : {};
  if (typeof opts.tricks === 'string') {
    let t: unknown;
    try {
      t = JSON.parse(opts.tricks);
    } catch (e) {
      throw new CliInputError([{ field: '--tricks', message: `not JSON: ${(e as Error).message}` }]);
    }
    if (t === null || typeof t !== 'object' || Array.isArray(t)) throw new CliInputError([{ field: '--tricks', message: 'expected a JSON object such as {"mixup": {"alpha": 0.2}}' }]);
    const deep = nestingProblem(t, 'tricks');
    if (deep) throw new CliInputError([{ field: '--tricks', message: `${deep.field}: ${deep.message}` }]);
    cfg.tricks = { ...((cfg.tricks as Record<string, unknown> | undefined) ?? {}), ...(t as Record<string, unknown>) };
  }
  for (const spec of CONFIG_FLAGS) {
    const key = spec.flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    const raw = opts[key];
    if (raw === undefined) continue;
    // Switching the model or optimizer kind starts that section afresh: the old kind's options
    // (say cnn3's width) would not belong to the new one.
    if (spec.path === 'model.name' || spec.path === 'optimizer.name') {
      const section = spec.path.split('.')[0]!;
      const cur = cfg[section] as Record<string, unknown> | undefined;
      if (cur && cur.name !== raw) cfg[section] = {};
    }
    if (spec.kind === 'on') {
      // Switches a trick on with its defaults; options given elsewhere (file, --tricks) stay.
      const parts = spec.path.split('.');
      const parent = parts.slice(0, -1).reduce<Record<string, unknown> | undefined>((o, k) => o?.[k] as Record<string, unknown> | undefined, cfg);
      if (raw === true && (parent?.[parts.at(-1)!] === null || typeof parent?.[parts.at(-1)!] !== 'object')) setPath(cfg, spec.path, {});
      continue;
    }
    const value = coerce(spec, raw as string | boolean);
    const deep = nestingProblem(value, spec.path);
    if (deep) throw new CliInputError([{ field: `--${spec.flag}`, message: `${deep.field}: ${deep.message}` }]);
    setPath(cfg, spec.path, value);
  }
  for (const s of (opts.set as string[] | undefined) ?? []) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new CliInputError([{ field: '--set', message: `expected path=value, got "${s}"` }]);
    const path = s.slice(0, eq);
    // Refused before anything is written: `__proto__.x` would set Object.prototype.x.
    const unsafe = unsafePathProblem(path);
    if (unsafe) throw new CliInputError([{ field: '--set', message: unsafe }]);
    const value = s.slice(eq + 1);
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      parsed = coerceScalar(value);
    }
    const deep = nestingProblem(parsed, path);
    if (deep) throw new CliInputError([{ field: '--set', message: `${deep.field}: ${deep.message}` }]);
    setPath(cfg, path, parsed);
  }
  return cfg;
}

/** The config options every CLI that takes a run config shares: --config, --tricks, --set and one
 * flag per config field, listed in --help by section. A boolean flag alone is true; `--nesterov
 * false` turns off one that defaults to true. */
export function addConfigOptions(program: Command, setExample: string): Command {
  const group = 'Config (flags override --config and --tricks; --set overrides flags):';
  program.addOption(new Option('--config <file>', 'base config (JSON)').helpGroup(group));
  program.addOption(new Option('--tricks <json>', 'the tricks section as JSON, e.g. \'{"labelSmoothing": {"epsilon": 0.1}, "mixup": {}}\'').helpGroup(group));
  program.addOption(
    new Option('--set <path=value>', `set any config field, e.g. --set ${setExample} (repeatable)`).argParser((v: string, prev: string[] = []) => [...prev, v]).helpGroup(group),
  );
  for (const f of CONFIG_FLAGS) {
    const shape = f.kind === 'on' ? '' : f.kind === 'boolean' ? ' [bool]' : f.kind === 'list' ? ' <a,b,...>' : f.kind === 'json' ? ' <json>' : ' <value>';
    program.addOption(new Option(`--${f.flag}${shape}`, f.help).helpGroup(`${f.group}:`));
  }
  return program;
}
