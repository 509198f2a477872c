// The config schema is the one source of the form and the CLI: every leaf of runConfigSchema has
// a form input and a flag, or its metadata says why not; every input and every flag is a real
// leaf; each flag reaches its field; --help lists them all by section with their defaults. A
// field added without metadata (or with a flag already taken) fails here, naming it.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MODELS, OPTIMIZERS, TRICK_NAMES, parseRunConfig, runConfigSchema, tricksSchema } from '../../src/shared/config';
import { field } from '../../src/shared/schema-meta';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';
import { leafProblems, schemaLeaves, type SchemaLeaf } from '../../src/shared/schema-walk';
import { ALL_SPECS, DATASET_FIELDS, GENERAL_FIELDS, INIT_FIELDS, MODEL_FIELDS, OPTIMIZER_FIELDS, TRICK_FIELDS, scheduleFields } from '../../src/renderer/src/lib/configForm';
import { CONFIG_FLAGS, addConfigOptions, configFromOptions } from '../../src/trainer/cli-config';

const leaves = schemaLeaves(runConfigSchema);
const leafAt = new Map(leaves.map((l) => [l.path, l]));
const camel = (flag: string) => flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const get = (o: unknown, path: string) => path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | null | undefined)?.[k], o);

describe('every leaf of the run config', () => {
  it('is found by the walker, through sections, unions, toggles and wrappers', () => {
    // A few of each kind, to know the walk reaches them (the checks below hold for all).
    expect(leafAt.get('dataset.classes')).toMatchObject({ type: 'list', item: 'number', nullable: true, default: null });
    expect(leafAt.get('augment')).toMatchObject({ type: 'json', default: [] });
    expect(leafAt.get('model.name')).toMatchObject({ type: 'enum', discriminator: true, options: [...MODELS], default: 'cnn3' });
    expect(leafAt.get('model.variant')?.variants?.names).toEqual(['resnet20', 'resnet32', 'resnet56', 'resnet18', 'resnet34']);
    expect(leafAt.get('model.dropout')?.variants).toBeUndefined(); // every model has it
    expect(leafAt.get('optimizer.lr')?.variants).toEqual({ of: 'optimizer.name', names: ['sgd', 'adam'], defaults: [0.01, 0.001] });
    expect(leafAt.get('tricks.mixup')).toMatchObject({ type: 'toggle', nullable: true, default: null });
    expect(leafAt.get('tricks.mixup.alpha')).toMatchObject({ type: 'number', under: 'tricks.mixup', default: 0.2 });
    expect(leafAt.get('tricks.distill.teacherRun')?.hasDefault).toBe(false);
    expect(leafAt.get('init')?.type).toBe('toggle');
    for (const t of TRICK_NAMES) expect(leafAt.get(`tricks.${t}`)?.type, t).toBe('toggle');
  });

  it('has metadata, a form input or a reason, and a flag or a reason', () => {
    expect(leafProblems(leaves)).toEqual([]);
  });

  it('has a form input (or says why not), and every input is a leaf', () => {
    const formPaths = new Set([
      ...GENERAL_FIELDS,
      ...DATASET_FIELDS,
      ...Object.values(MODEL_FIELDS).flat(),
      ...Object.values(OPTIMIZER_FIELDS).flat(),
      ...scheduleFields('step'),
      ...INIT_FIELDS,
      ...Object.values(TRICK_FIELDS).flatMap((t) => [t.toggle, ...t.options]),
    ].map((f) => f.path));
    formPaths.add('model.name').add('optimizer.name'); // MODEL_NAME_FIELD, OPTIMIZER_NAME_FIELD
    const without = leaves.filter((l) => !formPaths.has(l.path)).map((l) => [l.path, l.meta?.noForm]);
    expect(without).toEqual([['init', 'on while "Fine-tune from" names a run: a blank source run is no fine-tuning']]);
    for (const p of [...formPaths, ...ALL_SPECS.keys()]) expect(leafAt.has(p), p).toBe(true);
  });

  it("shows each model's and optimizer's own fields, and only those", () => {
    for (const m of MODELS) {
      for (const f of MODEL_FIELDS[m]) expect(leafAt.get(f.path)!.variants?.names ?? MODELS, `${m}: ${f.path}`).toContain(m);
      // What the form shows for a model is what its section holds, less its name.
      const own = Object.keys(parseRunConfig({ model: { name: m } }, BUILTIN_FACTS).ok ? (parseRunConfig({ model: { name: m } }, BUILTIN_FACTS) as { config: { model: object } }).config.model : {});
      expect(MODEL_FIELDS[m].map((f) => f.path).sort(), m).toEqual(own.filter((k) => k !== 'name').map((k) => `model.${k}`).sort());
    }
    for (const o of OPTIMIZERS) {
      const r = parseRunConfig({ optimizer: { name: o } }, BUILTIN_FACTS);
      const own = r.ok ? Object.keys(r.config.optimizer).filter((k) => k !== 'name') : [];
      expect(OPTIMIZER_FIELDS[o].map((f) => f.path), o).toEqual(own.map((k) => `optimizer.${k}`));
    }
    expect(MODEL_FIELDS.rir18.map((f) => f.label)).toEqual(['Channels', 'Blocks', 'Shortcut', 'Dropout']);
    expect(OPTIMIZER_FIELDS.adam.map((f) => f.label)).toEqual(['Learning rate', 'β1', 'β2', 'ε', 'Weight decay', 'No bias decay', 'Linear LR scaling']);
  });

  it('has a flag (or says why not); flags are unique and each is a leaf', () => {
    const flagged = new Set(CONFIG_FLAGS.map((f) => f.path));
    const without = leaves.filter((l) => !flagged.has(l.path)).map((l) => l.path);
    // Only toggles go without: one of their option flags switches them on, and the reason names it.
    expect(without.filter((p) => !p.startsWith('tricks.'))).toEqual(['init']);
    for (const p of without) {
      expect(leafAt.get(p)!.type, p).toBe('toggle');
      const named = /^--([a-z0-9-]+) [A-Z]+ switches it on$/.exec(leafAt.get(p)!.meta!.noFlag ?? '');
      expect(named, p).not.toBeNull();
      expect(CONFIG_FLAGS.find((f) => f.flag === named![1])?.path.startsWith(`${p}.`), p).toBe(true);
    }
    const names = CONFIG_FLAGS.map((f) => f.flag);
    expect(new Set(names).size).toBe(names.length);
    for (const own of ['config', 'tricks', 'set', 'data-dir', 'resume', 'progress', 'help']) expect(names).not.toContain(own);
    for (const f of CONFIG_FLAGS) expect(leafAt.has(f.path), f.flag).toBe(true);
  });
});

/** A value for the leaf other than its default that its own schema takes (so a flag that did
 * nothing would fail), and what else the config needs for it to parse. */
const SPECIAL: Record<string, { value: unknown; context?: Record<string, unknown> }> = {
  name: { value: 'x' },
  'dataset.name': { value: 'mnist' },
  'dataset.labels': { value: 'coarse', context: { dataset: 'cifar100' } },
  'dataset.trainSubset': { value: 1000 },
  augment: { value: [{ name: 'hflip', p: 0.5 }] },
  'init.fromRun': { value: 3 },
  'init.exclude': { value: ['conv1'] },
  'tricks.rifle.layers': { value: ['conv3', 'head'] },
  'tricks.distill.teacherRun': { value: 3 },
};

function otherValue(l: SchemaLeaf): unknown {
  if (SPECIAL[l.path]) return SPECIAL[l.path]!.value;
  const d = l.default;
  switch (l.type) {
    case 'boolean':
      return !d;
    case 'toggle':
      return true;
    case 'enum':
      return l.options!.find((o) => o !== d);
    case 'list': {
      const candidates = [Array.isArray(d) && d.length ? [...d].reverse() : [5], [0, 1]];
      return candidates.find((c) => JSON.stringify(c) !== JSON.stringify(d) && l.schema.safeParse(c).success);
    }
    case 'number': {
      const n = typeof d === 'number' ? d : NaN;
      return [n / 2, n + 1, 0.5, 2, 3, 8].find((c) => Number.isFinite(c) && c !== d && l.schema.safeParse(c).success);
    }
    default:
      return undefined;
  }
}

const asText = (v: unknown): string | boolean =>
  v === true ? true : Array.isArray(v) ? (v.some((x) => typeof x === 'object') ? JSON.stringify(v) : v.join(',')) : v === null ? 'null' : String(v);

describe('each flag', () => {
  it('sets its field to what it is given', () => {
    for (const f of CONFIG_FLAGS) {
      const l = leafAt.get(f.path)!;
      const value = otherValue(l);
      expect(value, `${f.flag}: no test value`).not.toBeUndefined();
      const opts: Record<string, unknown> = { epochs: '40', dropout: '0.3', ...SPECIAL[f.path]?.context };
      if (l.variants) opts[camel(leafAt.get(l.variants.of)!.meta!.flag!)] = l.variants.names[0];
      if (f.path.startsWith('tricks.distill.')) opts.distillFrom = '3';
      if (f.path.startsWith('init.')) opts.initFrom = '3';
      opts[camel(f.flag)] = asText(value);
      const r = parseRunConfig(configFromOptions(opts), BUILTIN_FACTS);
      expect(r.ok ? [] : r.errors, `--${f.flag}`).toEqual([]);
      if (!r.ok) continue;
      if (l.type === 'toggle') expect(get(r.config, f.path), `--${f.flag}`).toBeTypeOf('object');
      else expect(get(r.config, f.path), `--${f.flag}`).toEqual(value);
    }
  });

  it('of a boolean turns it off with "false" (RePr leaves the first conv out by default)', () => {
    const r = parseRunConfig(configFromOptions({ repr: true, epochs: '40', reprExcludeFirstConv: 'false', reprZeroNextLayer: 'false' }), BUILTIN_FACTS);
    expect(r.ok && r.config.tricks.repr).toMatchObject({ excludeFirstConv: false, zeroNextLayer: false });
    const bad = parseRunConfig(configFromOptions({ nesterov: 'yes' }), BUILTIN_FACTS);
    expect(!bad.ok && bad.errors[0]).toEqual({ field: 'optimizer.nesterov', message: 'expected a boolean, got "yes"' });
  });

  it('of JSON names the flag when the text is not JSON', () => {
    expect(() => configFromOptions({ augment: '[{"name":"hflip",}]' })).toThrow(/^--augment: not JSON/);
    const r = parseRunConfig(configFromOptions({ augment: '[{"name":"flip"}]' }), BUILTIN_FACTS);
    expect(!r.ok && r.errors[0]!.field).toBe('augment.0.name');
  });

  it('of a nullable list takes "all" for null (every class)', () => {
    const r = parseRunConfig(configFromOptions({ config: undefined, set: ['dataset.classes=[0,1]'], datasetClasses: 'all' }), BUILTIN_FACTS);
    // --set comes after the flags: it wins; without it "all" is null.
    expect(r.ok && r.config.dataset.classes).toEqual([0, 1]);
    const all = parseRunConfig(configFromOptions({ datasetClasses: 'all' }), BUILTIN_FACTS);
    expect(all.ok && all.config.dataset.classes).toBeNull();
  });
});

describe('--help', () => {
  const help = (() => {
    let out = '';
    const p = new Command('train').exitOverride().configureOutput({ writeOut: (s) => (out += s) });
    addConfigOptions(p, 'optimizer.lr=0.1');
    try {
      p.parse(['--help'], { from: 'user' });
    } catch {
      // --help ends with a CommanderError (exit 0) under exitOverride
    }
    return out;
  })();

  it('lists every flag under its section, in the sections of the form', () => {
    // (commander's own -h is under Options, which this bare command may list first)
    const headings = [...help.matchAll(/^(\S.*):$/gm)].map((m) => m[1]).filter((h) => h !== 'Options');
    expect(headings.slice(0, 7)).toEqual(['Config (flags override --config and --tricks; --set overrides flags)', 'Run', 'Data', 'Model', 'Optimizer', 'Schedule', 'Fine-tune']);
    // Then each trick (in the tricks section's order).
    expect([...headings.slice(7)].sort()).toEqual(
      TRICK_NAMES.map((t) => `Tricks: ${TRICK_FIELDS[t].toggle.label} (${leafAt.get(`tricks.${t}`)!.meta!.flag ? `--${leafAt.get(`tricks.${t}`)!.meta!.flag}, or any of its flags,` : 'any of its flags'} switches it on)`).sort(),
    );
    expect(headings).toContain('Tricks: RIFLE (--rifle, or any of its flags, switches it on)');
    expect(headings).toContain('Tricks: Mixup (any of its flags switches it on)');
    const section = (title: string) => help.split(`\n${title}:\n`)[1]!.split(/\n\n/)[0]!;
    for (const f of CONFIG_FLAGS) expect(section(f.group), f.flag).toMatch(new RegExp(`^  --${f.flag}\\b`, 'm'));
  });

  it('says which variants have a flag, its choices and its defaults', () => {
    const entry = (flag: string) => {
      const m = new RegExp(`^  --${flag}\\b.*(\\n {20,}.*)*`, 'm').exec(help);
      return m![0].replace(/\s+/g, ' ').trim();
    };
    expect(entry('lr')).toBe('--lr <value> learning rate (default sgd 0.01, adam 0.001)'); // every optimizer has it
    expect(entry('width')).toContain('cnn3: filters per conv layer (default 32)');
    expect(entry('variant')).toMatch(/resnet\*: .*: a \| b \| c \| d \(default a\)/);
    expect(entry('train-subset')).toContain('(default all)');
    expect(entry('repr-exclude-first-conv')).toContain('(default true)');
    expect(entry('dropout')).toBe('--dropout <value> dropout rate before the classifier (default 0)');
  });
});

describe('a field added without metadata', () => {
  it('fails, naming it: at the top, in a model, in a trick', () => {
    const top = z.object({ ...runConfigSchema.shape, warmRestarts: z.number().default(0) });
    expect(leafProblems(schemaLeaves(top))).toEqual(['warmRestarts: no metadata: attach field(schema, { label, hint, flag, ... }) (schema-meta.ts) to it']);

    const tiny = z.object({ name: z.literal('tiny'), depth: z.number().default(2) }).strict();
    const model = field(z.discriminatedUnion('name', [tiny]), { label: 'Model', flag: 'model' });
    expect(leafProblems(schemaLeaves(z.object({ ...runConfigSchema.shape, model })))).toEqual(['model.depth: no metadata: attach field(schema, { label, hint, flag, ... }) (schema-meta.ts) to it']);

    const cutmix = field(z.object({ alpha: z.number().default(1) }).strict(), { label: 'CutMix', flag: 'cutmix' });
    const tricks = z.object({ ...tricksSchema.shape, cutmix: cutmix.nullable().default(null) });
    expect(leafProblems(schemaLeaves(z.object({ ...runConfigSchema.shape, tricks })))).toEqual(['tricks.cutmix.alpha: no metadata: attach field(schema, { label, hint, flag, ... }) (schema-meta.ts) to it']);
  });

  it('fails with a flag already taken, without a flag or a reason, or with a negating flag', () => {
    const extra = (meta: Parameters<typeof field>[1]) => leafProblems(schemaLeaves(z.object({ ...runConfigSchema.shape, extra: field(z.boolean().default(false), meta) })));
    expect(extra({ label: 'Extra', flag: 'lr' })).toEqual(["extra: flag --lr is optimizer.lr's already"]);
    expect(extra({ label: 'Extra' })).toEqual(['extra: no CLI flag: give it one, or flag: null and a noFlag reason']);
    expect(extra({ label: 'Extra', flag: null })).toEqual(['extra: flag: null needs a noFlag reason']);
    expect(extra({ label: 'Extra', flag: 'no-extra' })).toEqual(['extra: flag "no-extra" starts with "no-", which commander takes as a negation']);
    expect(extra({ label: 'Extra', flag: 'extra' })).toEqual([]);
  });

  it('fails where variants give one path different metadata', () => {
    const a = z.object({ name: z.literal('a'), lr: field(z.number().default(1), { label: 'LR', flag: 'lr' }) }).strict();
    const b = z.object({ name: z.literal('b'), lr: field(z.number().default(2), { label: 'Step size', flag: 'step' }) }).strict();
    const u = field(z.discriminatedUnion('name', [a, b]), { label: 'Kind', flag: 'kind' });
    expect(leafProblems(schemaLeaves(z.object({ opt: u })))[0]).toMatch(/^opt\.lr: its variants give it different metadata \(b: /);
  });
});
