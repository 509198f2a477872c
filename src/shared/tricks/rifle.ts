// RIFLE: "Backpropagation in Depth for Deep Transfer Learning through Re-Initializing the
// Fully-connected LayEr" (Li et al., ICML 2020). During fine-tuning the classifier head is given
// fresh random weights every few epochs, so that the gradients reaching the lower layers stay large.
//
// As ../shared/specs/tricks.md says: at the end of epoch e with (e + 1) % everyEpochs == 0, at most
// maxReinits times, never in the last noReinitLastEpochs; new values are assigned IN PLACE to the
// existing variables (the optimizer keeps tracking them, and keeps its momentum unless
// resetOptimizerState); the LR schedule is not restarted. The new values of a re-initialisation
// depend only on (run seed, epoch, param), so a resumed run re-initialises alike. It is done at the
// start of epoch e + 1, so the best checkpoint keeps the weights that earned its val/acc and a resume
// redoes it exactly once. With RIFLE on, every layer's mean gradient norm per epoch ("deeper
// backpropagation") and the chosen layers' weight norms are logged.
import type * as TF from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { field, int } from '../schema-meta';
import { defineEvent, defineTrick, type Param, type StepHooks, type TrickEnv } from './types';
import { plural } from './text';

export const RIFLE_INITIALIZERS = ['heNormal', 'glorotUniform', 'initial'] as const;


/** RIFLE (Li et al. 2020): re-initialise these layers at the end of every everyEpochs-th epoch,
 * at most maxReinits times, never in the last noReinitLastEpochs epochs. */
const schema = z
  .object({
    layers: field(z.array(z.string().min(1)).min(1).default(['head']), {
      label: 'Layers',
      hint: 'layer names, comma separated',
      flag: 'rifle-layers',
      help: 'RIFLE: layers to re-initialise',
    }),
    everyEpochs: field(int(1).default(5), { label: 'Every (epochs)', flag: 'rifle-every', help: 'RIFLE: every N epochs' }),
    maxReinits: field(int(1).default(3), { label: 'At most (times)', flag: 'rifle-max', help: 'RIFLE: at most N times' }),
    noReinitLastEpochs: field(int(0).default(5), { label: 'Not in last (epochs)', flag: 'rifle-no-last', help: 'RIFLE: not in the last N epochs' }),
    /** heNormal: N(0, 2 / fanIn) for kernel and bias (the authors' code); glorotUniform: the
     * kernel U(+-sqrt(6 / (fanIn + fanOut))), bias 0; initial: the layer's values at epoch 0. */
    initializer: field(z.enum(RIFLE_INITIALIZERS).default('heNormal'), {
      label: 'Initializer',
      hint: 'heNormal: N(0, 2/fan-in); initial: epoch-0 values',
      flag: 'rifle-initializer',
      help: 'RIFLE: heNormal N(0, 2/fan-in), glorotUniform, or initial (the epoch-0 values)',
    }),
    /** Drop the layers' optimizer state (momentum, Adam moments) too; the authors keep it. */
    resetOptimizerState: field(z.boolean().default(false), { label: 'Reset momentum', flag: 'rifle-reset-optimizer', help: "RIFLE: also reset the layers' momentum" }),
  })
  .strict();
export type RifleConfig = z.output<typeof schema>;

/** The epochs (0-based) at whose end RIFLE re-initialises: (e + 1) % everyEpochs == 0, at most
 * maxReinits of them, none in the last noReinitLastEpochs, and never after the last epoch (the
 * final weights would have a random head). */
export function rifleEpochs(r: RifleConfig, epochs: number): number[] {
  const out: number[] = [];
  const end = Math.min(epochs - r.noReinitLastEpochs, epochs - 1);
  for (let e = 0; e < end && out.length < r.maxReinits; e++) if ((e + 1) % r.everyEpochs === 0) out.push(e);
  return out;
}

const norms = z.record(z.string(), z.number());
const reinitPayload = z.object({
  /** Epochs completed when it happened (1-based: the end of that epoch). */
  epoch: z.number(),
  layers: z.array(z.string()),
  weightNormBefore: norms,
  weightNormAfter: norms,
  valAccBefore: z.number().nullable(),
  initializer: z.enum(RIFLE_INITIALIZERS),
  resetOptimizerState: z.boolean(),
  /** How many re-initialisations this run has done, this one included. */
  count: z.number(),
});
export type RifleReinit = z.output<typeof reinitPayload>;

/** L2 norm of all of a layer's parameters together. */
export async function layerNorms(env: Pick<TrickEnv, 'tf' | 'read'>, params: readonly Param[], layers: readonly string[]): Promise<Record<string, number>> {
  const { tf } = env;
  // Every layer's sum of squares in one tensor: one read back.
  const sums = tf.tidy(() => tf.stack(layers.map((layer) => tf.addN(params.filter((p) => p.layer === layer).map((p) => tf.sum(tf.square(p.variable)))))));
  const [v] = await env.read([sums]);
  sums.dispose();
  return Object.fromEntries(layers.map((l, i) => [l, Math.sqrt(v![i]!)]));
}

/** New values of a param after epoch `epoch`. */
function fresh(env: TrickEnv, cfg: RifleConfig, p: Param, epoch: number): Float32Array {
  const rng = env.rng(`rifle:${epoch}:${p.name}`);
  const n = p.variable.size;
  const v = new Float32Array(n);
  if (p.role === 'gamma') v.fill(1); // a BatchNorm in the chosen layers starts afresh
  else if (p.role === 'beta') v.fill(0);
  else if (cfg.initializer === 'heNormal') {
    // N(0, 2 / fanIn) for kernel and bias alike, as the authors' code.
    const std = Math.sqrt(2 / p.fanIn);
    for (let i = 0; i < n; i++) v[i] = rng.normal() * std;
  } else if (p.role === 'kernel') {
    const limit = Math.sqrt(6 / (p.fanIn + p.fanOut));
    for (let i = 0; i < n; i++) v[i] = rng.uniform(-limit, limit);
  } // glorotUniform: biases (and any other role) start at 0, as Keras does
  return v;
}

const shortList = (layers: readonly string[]) => (layers.length > 12 ? [...layers.slice(0, 5), '…', ...layers.slice(-5)] : layers);

/** The step hook: adds each layer's gradient L2 norm (in `layers` order) into `acc`, on the
 * device (no read per step). */
export function gradNormHooks(tf: typeof TF, layers: readonly string[], acc: TF.Variable): StepHooks {
  return {
    observeGradients(grads, params) {
      const sq = new Map<string, TF.Tensor[]>();
      for (const p of params) sq.set(p.layer, [...(sq.get(p.layer) ?? []), tf.sum(tf.square(grads[p.name]!))]);
      const norms = layers.map((l) => tf.sqrt(tf.addN(sq.get(l)!)));
      acc.assign(tf.add(acc, tf.stack(norms)));
    },
  };
}

export const rifle = defineTrick({
  name: 'rifle',
  title: 'RIFLE',
  paper: 'Li et al., ICML 2020',
  schema,
  toggle: { label: 'RIFLE', hint: 're-initialise the head now and then (fine-tuning)', flag: 'rifle', help: 'RIFLE: re-initialise the head during training (options below)' },
  label(o, differs) {
    const extras: string[] = [];
    if (differs('layers')) extras.push(o.layers.join(', '));
    if (differs('everyEpochs')) extras.push(`every ${plural(o.everyEpochs, 'epoch')}`);
    if (differs('maxReinits')) extras.push(`at most ${plural(o.maxReinits, 're-init')}`);
    if (differs('noReinitLastEpochs')) extras.push(`none in the last ${plural(o.noReinitLastEpochs, 'epoch')}`);
    if (differs('initializer')) extras.push(o.initializer === 'initial' ? 'back to the initial weights' : o.initializer);
    if (differs('resetOptimizerState')) extras.push(o.resetOptimizerState ? 'optimizer state reset' : 'optimizer state kept');
    return { extras };
  },
  /** RIFLE's layers must exist (and have weights) in the model; some epoch must re-initialise. */
  validate(r, ctx) {
    if (!ctx.input) return;
    const specs = ctx.trace();
    if (!specs) return; // a model the tracer refuses has its own error
    const layers = [...new Set(specs.map((p) => p.layer))];
    r.layers.forEach((l, i) => {
      if (!layers.includes(l)) ctx.issue(['layers', i], `RIFLE: the model has no layer '${l}' with weights (its layers: ${shortList(layers).join(', ')})`);
    });
    if (rifleEpochs(r, ctx.config.epochs).length === 0) {
      ctx.issue(['everyEpochs'], `RIFLE would never re-initialise: every ${r.everyEpochs} epochs, but not in the last ${r.noReinitLastEpochs} of ${ctx.config.epochs}`);
    }
  },
  events: {
    'rifle.reinit': defineEvent(reinitPayload, {
        label: 'RIFLE',
        color: '#cc79a7',
        detail: (p, f) => {
          const n = (v: Record<string, number>) =>
            Object.entries(v)
              .map(([k, x]) => `${k} ${f.num(x, 3)}`)
              .join(', ');
          return [
            `RIFLE re-initialised ${p.layers.join(', ')} (${p.initializer}, #${p.count})`,
            `weight norm ${n(p.weightNormBefore)} → ${n(p.weightNormAfter)}`,
            ...(typeof p.valAccBefore === 'number' ? [`val/acc before ${f.pct(p.valAccBefore)}`] : []),
          ];
        },
    }),
  },
  metrics: [
    { key: 'grad_norm/*', direction: 'none', granularity: 'epoch', unit: '', name: 'mean gradient norm per layer', diagnostic: true, axis: '‖∇W‖ per step' },
    { key: 'weight_norm/*', direction: 'none', granularity: 'epoch', unit: '', name: 'weight norm of the re-initialised layers', diagnostic: true, axis: '‖W‖' },
  ],
  async create({ options: cfg, config, model, optimizer, env, firstEpoch, initialValues }) {
    const { tf } = env;
    const targets = model.params.filter((p) => cfg.layers.includes(p.layer));
    const missing = cfg.layers.filter((l) => !targets.some((p) => p.layer === l));
    if (missing.length) throw new Error(`tricks.rifle.layers: the model has no layer ${missing.map((l) => `'${l}'`).join(', ')} with weights`);
    // 'initial' in a run that starts at epoch 0 without the caller's values: a snapshot now.
    let snapshot: Map<string, Float32Array> | null = null;
    if (cfg.initializer === 'initial' && !initialValues) {
      if (firstEpoch > 0) throw new Error('RIFLE with initializer "initial" needs the epoch-0 values to continue a run');
      const values = await env.read(targets.map((p) => p.variable));
      snapshot = new Map(targets.map((p, i) => [p.name, values[i]!]));
    }
    const initial = async () => snapshot ?? initialValues!(targets.map((p) => p.name));
    const epochs = rifleEpochs(cfg, config.epochs);
    const normLayers = [...new Set(model.params.map((p) => p.layer))];
    const gradAcc: TF.Variable = tf.variable(tf.zeros([normLayers.length]), false);

    /** Re-initialises after 0-based epoch `epoch` if that is one of its epochs. */
    async function maybeReinit(epoch: number, valAccBefore: number | null): Promise<RifleReinit | null> {
      const k = epochs.indexOf(epoch);
      if (k < 0) return null;
      const layers = cfg.layers;
      const weightNormBefore = await layerNorms(env, targets, layers);
      const init = cfg.initializer === 'initial' ? await initial() : null;
      for (const p of targets) {
        const values = init ? init.get(p.name) : fresh(env, cfg, p, epoch);
        if (!values) throw new Error(`RIFLE: no epoch-0 value for ${p.name}`);
        tf.tidy(() => p.variable.assign(tf.tensor(values, p.variable.shape, 'float32')));
      }
      if (cfg.resetOptimizerState) optimizer.resetParams(targets.map((p) => p.name));
      return {
        epoch: epoch + 1,
        layers: [...layers],
        weightNormBefore,
        weightNormAfter: await layerNorms(env, targets, layers),
        valAccBefore,
        initializer: cfg.initializer,
        resetOptimizerState: cfg.resetOptimizerState,
        count: k + 1,
      };
    }

    const hooks = gradNormHooks(tf, normLayers, gradAcc);
    return {
      async epochStart({ epoch, valAccBefore }) {
        if (epoch === 0) return [];
        const r = await maybeReinit(epoch - 1, valAccBefore);
        return r ? [{ kind: 'rifle.reinit' as const, payload: r }] : [];
      },
      step: () => hooks,
      async epochMetrics({ stepsPerEpoch }) {
        const out: [string, number][] = [];
        const [sums] = await env.read([gradAcc]);
        normLayers.forEach((l, i) => out.push([`grad_norm/${l}`, sums![i]! / stepsPerEpoch]));
        tf.tidy(() => gradAcc.assign(tf.zerosLike(gradAcc)));
        for (const [l, v] of Object.entries(await layerNorms(env, model.params, cfg.layers))) out.push([`weight_norm/${l}`, v]);
        return out;
      },
      dispose: () => gradAcc.dispose(),
    };
  },
});
