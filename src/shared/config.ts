// The run-config schema: the single source of truth for the form, the CLI, the trainer and the store.
// A run is fully described by the validated JSON this schema produces.
import { z } from 'zod';

export const DATASETS = ['synthetic', 'fashion-mnist'] as const;
export const MODELS = ['cnn3', 'mlp'] as const;
export const OPTIMIZERS = ['sgd', 'adam'] as const;
export const SCHEDULES = ['constant', 'step', 'cosine'] as const;
export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;

const int = (min: number) => z.number().int().min(min);

export const datasetSchema = z
  .object({
    name: z.enum(DATASETS).default('synthetic'),
    /** Use only this many training images (a seeded subset); null = all. */
    trainSubset: int(1).nullable().default(null),
    /** Fraction of the (subset of the) training set held out for validation. */
    valSplit: z.number().min(0).max(0.9).default(0.1),
    /** Seed of the train/val split and the subset: fixed apart from the run seed, so that runs
     * with different seeds are compared on the same validation images. */
    splitSeed: int(0).default(0),
  })
  .strict();

const cnn3Schema = z
  .object({
    name: z.literal('cnn3'),
    /** Filters per conv layer: the RePr paper's C^3(32) uses 32. */
    width: int(1).max(1024).default(32),
  })
  .strict();

const mlpSchema = z
  .object({
    name: z.literal('mlp'),
    hidden: z.array(int(1).max(65536)).min(1).max(16).default([256, 128]),
  })
  .strict();

/** A section given without its kind (`--lr 0.1` alone, or a partial file) is of the default kind. */
function withDefaultName(name: string) {
  return (v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) && !('name' in v) ? { name, ...v } : v);
}

export const modelSchema = z.preprocess(withDefaultName('cnn3'), z.discriminatedUnion('name', [cnn3Schema, mlpSchema]));

const sgdSchema = z
  .object({
    name: z.literal('sgd'),
    // 0.01 with momentum 0.9 is stable for the plain (no BatchNorm) networks; 0.05 can diverge.
    lr: z.number().positive().default(0.01),
    momentum: z.number().min(0).max(0.9999).default(0.9),
    nesterov: z.boolean().default(false),
    weightDecay: z.number().min(0).default(0),
  })
  .strict()
  .refine((o) => !o.nesterov || o.momentum > 0, {
    message: 'nesterov needs momentum > 0',
    path: ['nesterov'],
  });

const adamSchema = z
  .object({
    name: z.literal('adam'),
    lr: z.number().positive().default(0.001),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.999),
    epsilon: z.number().positive().default(1e-8),
    weightDecay: z.number().min(0).default(0),
  })
  .strict();

export const optimizerSchema = z.preprocess(withDefaultName('sgd'), z.discriminatedUnion('name', [sgdSchema, adamSchema]));

export const scheduleSchema = z
  .object({
    name: z.enum(SCHEDULES).default('constant'),
    /** Linear warmup from 0, per batch, over this many epochs (0 = none). */
    warmupEpochs: z.number().min(0).default(0),
    /** step: divide the LR by 1/gamma at each of these epochs (0-based epoch index at which it applies). */
    milestones: z.array(int(1)).default([]),
    gamma: z.number().positive().max(1).default(0.1),
  })
  .strict();

export const runConfigSchema = z
  .object({
    name: z.string().max(200).default(''),
    dataset: datasetSchema.default({ name: 'synthetic', trainSubset: null, valSplit: 0.1, splitSeed: 0 }),
    model: modelSchema.default({ name: 'cnn3', width: 32 }),
    optimizer: optimizerSchema.default({ name: 'sgd', lr: 0.01, momentum: 0.9, nesterov: false, weightDecay: 0 }),
    schedule: scheduleSchema.default({ name: 'constant', warmupEpochs: 0, milestones: [], gamma: 0.1 }),
    epochs: int(1).max(100000).default(10),
    batchSize: int(1).max(65536).default(64),
    seed: int(0).max(2 ** 31 - 1).default(1),
    backend: z.enum(BACKENDS).default('auto'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.schedule.warmupEpochs >= c.epochs && c.schedule.warmupEpochs > 0) {
      ctx.addIssue({ code: 'custom', path: ['schedule', 'warmupEpochs'], message: `must be less than epochs (${c.epochs})` });
    }
    for (const m of c.schedule.milestones) {
      if (m >= c.epochs) {
        ctx.addIssue({ code: 'custom', path: ['schedule', 'milestones'], message: `milestone ${m} is not below epochs (${c.epochs})` });
      }
    }
  });

export type RunConfig = z.output<typeof runConfigSchema>;
export type RunConfigInput = z.input<typeof runConfigSchema>;
export type ModelConfig = RunConfig['model'];
export type OptimizerConfig = RunConfig['optimizer'];
export type BackendName = RunConfig['backend'];
export type DatasetName = (typeof DATASETS)[number];

/** One problem with a config: the dotted path of the field and what is wrong with it. */
export interface FieldError {
  field: string;
  message: string;
}

export type ParseResult = { ok: true; config: RunConfig } | { ok: false; errors: FieldError[] };

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : String(v);
}

function issueMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`}, got ${describe(issue.input)}`;
    case 'invalid_union': {
      // A discriminated union (model, optimizer) whose name is unknown: list what is accepted.
      const d = issue as { note?: string; options?: unknown[]; discriminator?: string };
      if (d.note === 'No matching discriminator' && d.discriminator) {
        const given = (issue.input as Record<string, unknown> | undefined)?.[d.discriminator];
        return `unknown ${String(issue.path[0] ?? 'value')} ${describe(given)}; expected one of ${(d.options ?? []).join(', ')}`;
      }
      return issue.message;
    }
    case 'invalid_value':
      return `got ${describe(issue.input)}, expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return `must be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}${issue.origin === 'array' ? ' items' : ''}, got ${describe(issue.input)}`;
    case 'too_big':
      return `must be ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}${issue.origin === 'array' ? ' items' : ''}, got ${describe(issue.input)}`;
    case 'unrecognized_keys':
      return `unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    default:
      return issue.message;
  }
}

/** Validate any input (form, CLI, file, store) into a complete config with defaults filled in. */
export function parseRunConfig(input: unknown): ParseResult {
  const r = runConfigSchema.safeParse(input, { reportInput: true });
  if (r.success) return { ok: true, config: r.data };
  const errors: FieldError[] = r.error.issues.map((issue) => {
    let field = issue.path.map(String).join('.');
    // An unknown top-level key is reported at the root: name the key itself.
    if (issue.code === 'unrecognized_keys' && issue.path.length === 0) field = issue.keys[0] ?? '';
    return { field: field || '(config)', message: issueMessage(issue) };
  });
  return { ok: false, errors };
}

export function formatErrors(errors: FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('\n');
}

export class ConfigError extends Error {
  constructor(public readonly errors: FieldError[]) {
    super(formatErrors(errors));
    this.name = 'ConfigError';
  }
}

export function mustParseRunConfig(input: unknown): RunConfig {
  const r = parseRunConfig(input);
  if (!r.ok) throw new ConfigError(r.errors);
  return r.config;
}

export function defaultRunConfig(): RunConfig {
  return mustParseRunConfig({});
}

/** Defaults of each model's and optimizer's options, for the form when the user switches kind. */
export function defaultModel(name: (typeof MODELS)[number]): ModelConfig {
  return modelSchema.parse({ name });
}
export function defaultOptimizer(name: (typeof OPTIMIZERS)[number]): OptimizerConfig {
  return optimizerSchema.parse({ name });
}

/** Flatten a config to dotted keys (`optimizer.lr`), for tables, CSV columns and diffs. */
export function flattenConfig(obj: unknown, prefix = '', out: Record<string, string | number | boolean | null> = {}) {
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
    }
  } else if (Array.isArray(obj)) {
    out[prefix] = JSON.stringify(obj);
  } else {
    out[prefix] = obj as string | number | boolean | null;
  }
  return out;
}

/** Set a dotted path in a plain object, creating objects on the way (for `--set a.b=c` and form fields). */
export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur: Record<string, unknown> = obj;
  for (const p of parts.slice(0, -1)) {
    if (cur[p] === null || typeof cur[p] !== 'object' || Array.isArray(cur[p])) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/** A short human label for a run, when the user gave no name. */
export function describeConfig(c: RunConfig): string {
  const model = c.model.name === 'cnn3' ? `cnn3(${c.model.width})` : `mlp(${c.model.hidden.join('-')})`;
  return `${model} ${c.dataset.name} ${c.optimizer.name} lr=${c.optimizer.lr} seed=${c.seed}`;
}
