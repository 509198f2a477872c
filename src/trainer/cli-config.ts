// Command-line flags -> run config. Every config field has a flag; `--config FILE` gives a base and
// `--set path=value` reaches any field. Values are coerced only when they look like what the
// field takes, so the schema can name the field of anything that does not fit (`--lr abc`).
import fs from 'node:fs';
import { Option, type Command } from 'commander';
import { MODELS, nestingProblem, setPath, unsafePathProblem, type FieldError } from '../shared/config';

export interface FlagSpec {
  flag: string; // without the leading dashes
  path: string;
  kind: 'number' | 'string' | 'boolean' | 'list' | 'nullable-number' | 'on'; // on: a trick switched on with its defaults
  help: string;
}

export const CONFIG_FLAGS: readonly FlagSpec[] = [
  { flag: 'name', path: 'name', kind: 'string', help: 'run name shown in the app' },
  { flag: 'dataset', path: 'dataset.name', kind: 'string', help: 'synthetic, mnist, fashion-mnist, kmnist, cifar10, cifar100, or a dataset found or imported (npm run dataset -- list)' },
  { flag: 'train-subset', path: 'dataset.trainSubset', kind: 'nullable-number', help: 'use this many training images ("all" = every one)' },
  { flag: 'val-split', path: 'dataset.valSplit', kind: 'number', help: 'fraction of the training images held out for validation (default 0.1)' },
  { flag: 'dataset-classes', path: 'dataset.classes', kind: 'list', help: 'train and test on these class ids only, e.g. 0,1,2,3,4 (relabelled 0..k-1)' },
  { flag: 'split-seed', path: 'dataset.splitSeed', kind: 'number', help: 'seed of the subset and validation split (default 0)' },
  { flag: 'model', path: 'model.name', kind: 'string', help: `${MODELS.join(' | ')}` },
  { flag: 'width', path: 'model.width', kind: 'number', help: 'cnn3: filters per conv layer (default 32)' },
  { flag: 'hidden', path: 'model.hidden', kind: 'list', help: 'mlp: hidden layer sizes, e.g. 256,128' },
  { flag: 'dropout', path: 'model.dropout', kind: 'number', help: 'dropout rate before the classifier (default 0)' },
  { flag: 'batch-norm', path: 'model.batchNorm', kind: 'boolean', help: 'cnn3: conv -> BatchNorm -> ReLU' },
  { flag: 'variant', path: 'model.variant', kind: 'string', help: 'resnet*: a | b | c | d (Bag of Tricks tweaks)' },
  { flag: 'zero-gamma', path: 'model.zeroGamma', kind: 'boolean', help: "resnet*: last BatchNorm of each block starts at gamma 0" },
  { flag: 'optimizer', path: 'optimizer.name', kind: 'string', help: 'sgd | adam' },
  { flag: 'lr', path: 'optimizer.lr', kind: 'number', help: 'learning rate' },
  { flag: 'momentum', path: 'optimizer.momentum', kind: 'number', help: 'sgd: momentum (default 0.9)' },
  { flag: 'nesterov', path: 'optimizer.nesterov', kind: 'boolean', help: 'sgd: Nesterov momentum' },
  { flag: 'weight-decay', path: 'optimizer.weightDecay', kind: 'number', help: 'L2 weight decay (default 0)' },
  { flag: 'beta1', path: 'optimizer.beta1', kind: 'number', help: 'adam: beta1 (default 0.9)' },
  { flag: 'beta2', path: 'optimizer.beta2', kind: 'number', help: 'adam: beta2 (default 0.999)' },
  { flag: 'epsilon', path: 'optimizer.epsilon', kind: 'number', help: 'adam: epsilon (default 1e-8)' },
  { flag: 'schedule', path: 'schedule.name', kind: 'string', help: 'constant | step | cosine' },
  { flag: 'warmup-epochs', path: 'schedule.warmupEpochs', kind: 'number', help: 'linear warmup epochs (default 0)' },
  { flag: 'milestones', path: 'schedule.milestones', kind: 'list', help: 'step: epochs at which the LR is multiplied by gamma, e.g. 30,60' },
  { flag: 'gamma', path: 'schedule.gamma', kind: 'number', help: 'step: LR factor at each milestone (default 0.1)' },
  { flag: 'epochs', path: 'epochs', kind: 'number', help: 'epochs (default 10)' },
  { flag: 'batch-size', path: 'batchSize', kind: 'number', help: 'batch size (default 64)' },
  { flag: 'seed', path: 'seed', kind: 'number', help: 'run seed: initial weights and data order (default 1)' },
  { flag: 'backend', path: 'backend', kind: 'string', help: 'auto | webgpu | tensorflow-gpu | tensorflow | wasm | cpu' },
  { flag: 'linear-scaling', path: 'optimizer.linearScaling', kind: 'boolean', help: 'lr is the base LR for batch 256: the run uses lr * batch-size / 256' },
  { flag: 'label-smoothing', path: 'tricks.labelSmoothing.epsilon', kind: 'number', help: 'label smoothing epsilon (e.g. 0.1)' },
  { flag: 'label-smoothing-convention', path: 'tricks.labelSmoothing.convention', kind: 'string', help: 'uniform (eps/K, default) | paper (eps/(K-1) off target)' },
  { flag: 'mixup', path: 'tricks.mixup.alpha', kind: 'number', help: 'mixup with lambda ~ Beta(alpha, alpha) (e.g. 0.2)' },
  { flag: 'mixup-off-last-epochs', path: 'tricks.mixup.offLastEpochs', kind: 'number', help: 'mixup: off in the last N epochs (default 0)' },
  { flag: 'cutmix', path: 'tricks.cutmix.alpha', kind: 'number', help: 'CutMix with lambda ~ Beta(alpha, alpha) (e.g. 1, as in the paper)' },
  { flag: 'cutmix-prob', path: 'tricks.cutmix.prob', kind: 'number', help: 'CutMix: the probability that a batch is cut-mixed (default 1)' },
  { flag: 'cutmix-off-last-epochs', path: 'tricks.cutmix.offLastEpochs', kind: 'number', help: 'CutMix: off in the last N epochs (default 0)' },
  { flag: 'rdrop', path: 'tricks.rdrop.alpha', kind: 'number', help: 'R-Drop with this KL weight alpha (e.g. 0.3; needs --dropout)' },
  { flag: 'rdrop-reduction', path: 'tricks.rdrop.reduction', kind: 'string', help: 'R-Drop KL reduction: mean (per sample, default) | batchsum' },
  { flag: 'rifle', path: 'tricks.rifle', kind: 'on', help: 'RIFLE: re-initialise the head during training (defaults below)' },
  { flag: 'rifle-layers', path: 'tricks.rifle.layers', kind: 'list', help: 'RIFLE: layers to re-initialise (default head)' },
  { flag: 'rifle-every', path: 'tricks.rifle.everyEpochs', kind: 'number', help: 'RIFLE: every N epochs (default 5)' },
  { flag: 'rifle-max', path: 'tricks.rifle.maxReinits', kind: 'number', help: 'RIFLE: at most N times (default 3)' },
  { flag: 'rifle-no-last', path: 'tricks.rifle.noReinitLastEpochs', kind: 'number', help: 'RIFLE: not in the last N epochs (default 5)' },
  { flag: 'rifle-initializer', path: 'tricks.rifle.initializer', kind: 'string', help: 'RIFLE: heNormal (default) | glorotUniform | initial' },
  { flag: 'rifle-reset-optimizer', path: 'tricks.rifle.resetOptimizerState', kind: 'boolean', help: "RIFLE: also reset the layers' momentum" },
  { flag: 'repr', path: 'tricks.repr', kind: 'on', help: 'RePr: prune the least orthogonal filters for a while, then re-initialise them (defaults below)' },
  { flag: 'repr-s1', path: 'tricks.repr.s1', kind: 'number', help: 'RePr: epochs of training before each pruning (default 20)' },
  { flag: 'repr-s2', path: 'tricks.repr.s2', kind: 'number', help: 'RePr: epochs with the filters pruned (default 10)' },
  { flag: 'repr-ratio', path: 'tricks.repr.pruneRatio', kind: 'number', help: 'RePr: fraction of filters pruned (default 0.3)' },
  { flag: 'repr-cycles', path: 'tricks.repr.cycles', kind: 'number', help: 'RePr: prune/re-initialise cycles (default 3)' },
  { flag: 'repr-scope', path: 'tricks.repr.scope', kind: 'string', help: 'RePr: global (default) | layer ranking; --set tricks.repr.excludeFirstConv=false, tricks.repr.zeroNextLayer=false' },
  { flag: 'distill-from', path: 'tricks.distill.teacherRun', kind: 'number', help: 'knowledge distillation from this completed run (the teacher)' },
  { flag: 'distill-temperature', path: 'tricks.distill.temperature', kind: 'number', help: 'distillation temperature T (default 20)' },
  { flag: 'distill-mode', path: 'tricks.distill.mode', kind: 'string', help: 'paper: hard + T^2 soft (default) | weighted: (1-w) hard + w T^2 soft' },
  { flag: 'distill-weight', path: 'tricks.distill.weight', kind: 'number', help: 'weighted mode: w (default 0.5)' },
  { flag: 'init-from', path: 'init.fromRun', kind: 'number', help: 'start from the weights of this completed run (fine-tune; the head is not loaded unless --set init.exclude=[])' },
];

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
      return raw.trim() === '' ? [] : raw.split(',').map(coerceScalar);
    case 'string':
      return raw;
    case 'on':
      return {};
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
    setPath(cfg, spec.path, coerce(spec, raw as string | boolean));
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

/** The config options every CLI that takes a run config shares: --config, --set and one flag per
 * config field. */
export function addConfigOptions(program: Command, setExample: string): Command {
  program
    .option('--config <file>', 'base config (JSON); flags override it')
    .option('--tricks <json>', 'the tricks section as JSON, e.g. \'{"labelSmoothing": {"epsilon": 0.1}, "mixup": {}}\'; flags override it')
    .option('--set <path=value>', `set any config field, e.g. --set ${setExample} (repeatable)`, (v: string, prev: string[] = []) => [...prev, v]);
  for (const f of CONFIG_FLAGS) {
    program.addOption(f.kind === 'boolean' || f.kind === 'on' ? new Option(`--${f.flag}`, f.help) : new Option(`--${f.flag} <value>`, f.help));
  }
  return program;
}
