// RePr: "Improved Training of Convolutional Filters" (Prakash et al., CVPR 2019), as
// ../shared/specs/tricks.md defines it. Train s1 epochs; rank the conv filters by inter-filter
// orthogonality and prune the least orthogonal pruneRatio of them (over all layers, or per layer;
// the first conv left out by default, never a whole layer); train s2 epochs with them held at zero
// (gradients AND optimizer state masked); then bring them back as random vectors in the null space
// of [their old weights; the layer's current filters]; `cycles` times, then train on.
//
// Choices (marked in the spec or ours): re-initialised filters are scaled so that their largest
// entry is the clip bound 1/sqrt(C k k), which keeps every entry within the bound as the authors'
// clipping does and, unlike element-wise clipping, keeps them orthogonal; where the null space is
// exhausted the rest fall back to U(+-1/sqrt(C k k)). A BatchNorm right after a pruned conv
// (`bnN` for `convN`) has the filter's gamma and beta pruned with it (else the channel would still
// carry beta) and restored to 1 and 0. zeroNextLayer zeroes the re-initialised channels' weights in
// the layer that consumes them where that is one layer: the next conv of a sequential chain
// (cnn3's conv1 -> conv2 -> conv3 -> head, a residual block's conv1 -> conv2, a stem's convN ->
// convN+1); elsewhere (a block's last conv, RiR's summed streams) it is reported as not applied.
import type * as TF from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { field, int } from '../schema-meta';
import { filterRows, nullSpaceVectors, orthogonalityScores, selectPruned } from './repr-math';
import { defineEvent, defineTrick, type Param, type StepHooks, type TrickEnv, type TrickOptimizer as Optimizer, type TrickEventOf, type TrickStateStore } from './types';
import { num, plural } from './text';

export const REPR_SCOPES = ['global', 'layer'] as const;


/** RePr (Prakash et al. 2019): s1 epochs of training, s2 with the least orthogonal filters
 * pruned, then those filters re-initialised in the null space of the layer; `cycles` times. */
const schema = z
  .object({
    s1: field(int(1).default(20), { label: 'S1 (epochs)', hint: 'training before each pruning', flag: 'repr-s1', help: 'RePr: epochs of training before each pruning' }),
    s2: field(int(1).default(10), { label: 'S2 (epochs)', hint: 'with the filters pruned', flag: 'repr-s2', help: 'RePr: epochs with the filters pruned' }),
    pruneRatio: field(z.number().gt(0).lt(1).default(0.3), { label: 'Prune ratio', flag: 'repr-ratio', help: 'RePr: fraction of filters pruned' }),
    cycles: field(int(1).default(3), { label: 'Cycles', flag: 'repr-cycles', help: 'RePr: prune/re-initialise cycles' }),
    scope: field(z.enum(REPR_SCOPES).default('global'), {
      label: 'Ranking',
      hint: 'global: all layers together',
      flag: 'repr-scope',
      help: 'RePr: rank the filters of all layers together (global) or per layer',
    }),
    excludeFirstConv: field(z.boolean().default(true), { label: 'Skip first conv', flag: 'repr-exclude-first-conv', help: 'RePr: leave the first conv layer out' }),
    zeroNextLayer: field(z.boolean().default(true), {
      label: 'Zero next layer',
      hint: 'new filters start unseen',
      flag: 'repr-zero-next-layer',
      help: "RePr: zero the next layer's weights from re-initialised filters (they start unseen)",
    }),
  })
  .strict();
export type ReprConfig = z.output<typeof schema>;

/** RePr's calendar: the epochs (0-based) at whose start filters are pruned and re-initialised.
 * Cycle c prunes at c (s1 + s2) + s1 and re-initialises s2 epochs later; a re-initialisation that
 * would fall at the run's end is not done (the run ends pruned). */
export function reprCalendar(r: ReprConfig, epochs: number): { prune: number[]; reinit: number[] } {
  const prune: number[] = [];
  const reinit: number[] = [];
  for (let c = 0; c < r.cycles; c++) {
    const p = c * (r.s1 + r.s2) + r.s1;
    if (p >= epochs) break;
    prune.push(p);
    if (p + r.s2 < epochs) reinit.push(p + r.s2);
  }
  return { prune, reinit };
}

/** The conv layers RePr ranks: every conv kernel's layer, the first left out by default. */
export function reprLayers(specs: readonly { layer: string; role: string; shape: readonly number[] }[], excludeFirstConv: boolean): string[] {
  const convs = specs.filter((p) => p.role === 'kernel' && p.shape.length === 4).map((p) => p.layer);
  return excludeFirstConv ? convs.slice(1) : convs;
}

const events = {
  'repr.prune': defineEvent(
    z.object({ epoch: z.number(), cycle: z.number(), total: z.number(), of: z.number(), perLayer: z.record(z.string(), z.number()), scope: z.enum(REPR_SCOPES), pruneRatio: z.number() }),
    {
      label: 'RePr prune',
      color: '#d55e00',
      detail: (p) => [`RePr cycle ${p.cycle}: pruned ${p.total} of ${p.of} filters (${p.scope})`, ...Object.entries(p.perLayer).map(([l, n]) => `${l}: ${n}`)],
    },
  ),
  'repr.reinit': defineEvent(
    z.object({
      epoch: z.number(),
      cycle: z.number(),
      total: z.number(),
      perLayer: z.record(z.string(), z.object({ count: z.number(), nullSpace: z.boolean(), zeroNextLayer: z.string() })),
    }),
    {
      label: 'RePr re-init',
      color: '#009e73',
      detail: (p) => [
        `RePr cycle ${p.cycle}: re-initialised ${p.total} filters`,
        ...Object.entries(p.perLayer).map(([l, v]) => `${l}: ${v.count}${v.nullSpace ? ' in the null space' : ', null space exhausted (uniform)'}`),
      ],
    },
  ),
};
type ReprEvent = TrickEventOf<typeof events>;

interface ConvLayer {
  layer: string;
  kernel: Param;
  bias?: Param;
  bnGamma?: Param;
  bnBeta?: Param;
  /** The layer that reads this one's output channels directly, for zeroNextLayer. */
  next?: Param;
}

interface PrunedState {
  cycle: number;
  /** Per layer: pruned filter indices and their weights before pruning (filter rows). */
  layers: Record<string, { filters: number[]; old: number[][] }>;
}

const STATE_KEY = 'repr';

class Repr {
  private readonly tf: typeof TF;
  readonly calendar: { prune: number[]; reinit: number[] };
  private readonly convs: ConvLayer[];
  private readonly ranked: ConvLayer[];
  private state: PrunedState | null = null;
  private masks = new Map<string, TF.Tensor>();

  constructor(
    readonly cfg: ReprConfig,
    totalEpochs: number,
    params: readonly Param[],
    private readonly env: TrickEnv,
    private readonly store: TrickStateStore,
  ) {
    this.tf = env.tf;
    this.calendar = reprCalendar(cfg, totalEpochs);
    const byLayer = new Map<string, Param[]>();
    for (const p of params) byLayer.set(p.layer, [...(byLayer.get(p.layer) ?? []), p]);
    const find = (layer: string, role: string) => byLayer.get(layer)?.find((p) => p.role === role);
    const convNames = reprLayers(
      params.map((p) => ({ layer: p.layer, role: p.role, shape: p.variable.shape })),
      false,
    );
    const layerNames = [...byLayer.keys()];
    this.convs = convNames.map((layer) => {
      const kernel = find(layer, 'kernel')!;
      const cout = kernel.variable.shape[3]!;
      const bn = layer.replace(/conv(\d*)$/, 'bn$1');
      const gamma = bn !== layer ? find(bn, 'gamma') : undefined;
      const bnOk = gamma !== undefined && gamma.variable.size === cout;
      return {
        layer,
        kernel,
        bias: find(layer, 'bias'),
        bnGamma: bnOk ? gamma : undefined,
        bnBeta: bnOk ? find(bn, 'beta') : undefined,
        next: nextConsumer(layer, cout, layerNames, find),
      };
    });
    const ranked = new Set(reprLayers(params.map((p) => ({ layer: p.layer, role: p.role, shape: p.variable.shape })), cfg.excludeFirstConv));
    this.ranked = this.convs.filter((c) => ranked.has(c.layer));
    if (this.ranked.length === 0) throw new Error('tricks.repr: the model has no conv layer to prune');
  }

  /** Mean orthogonality score of each conv layer's filters (lower = more orthogonal). */
  async orthogonality(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    const kernels = await this.env.read(this.convs.map((c) => c.kernel.variable));
    this.convs.forEach((c, i) => {
      const s = orthogonalityScores(filterRows(kernels[i]!, c.kernel.variable.shape));
      out[c.layer] = s.reduce((a, b) => a + b, 0) / s.length;
    });
    return out;
  }

  /** Gradient masks while filters are pruned (S2), by param name; null otherwise. */
  gradMasks(): Map<string, TF.Tensor> | null {
    return this.masks.size ? this.masks : null;
  }

  /** At the start of 0-based epoch `epoch`: prune or re-initialise when the calendar says so. On a
   * resumed run that starts inside an S2 phase, the pruned set comes back from the store. */
  async startEpoch(epoch: number, optimizer: Optimizer, resumed: boolean): Promise<ReprEvent | null> {
    const cycle = this.calendar.prune.findIndex((p) => p === epoch);
    if (cycle >= 0) return this.prune(cycle, epoch, optimizer);
    const r = this.calendar.reinit.indexOf(epoch);
    if (r >= 0) {
      if (!this.state) this.restore(r);
      return this.reinit(r, epoch);
    }
    if (resumed) {
      // Inside S2 of cycle c when prune[c] < epoch < prune[c] + s2.
      const c = this.calendar.prune.findIndex((p) => epoch > p && epoch < p + this.cfg.s2);
      if (c >= 0) this.restore(c);
    }
    return null;
  }

  private restore(cycle: number): void {
    const s = this.store.load(STATE_KEY) as PrunedState | null;
    if (!s || s.cycle !== cycle) throw new Error(`RePr: the pruned filters of cycle ${cycle + 1} were not saved with the run; it cannot continue`);
    this.state = s;
    this.buildMasks();
  }

  private async prune(cycle: number, epoch: number, optimizer: Optimizer): Promise<ReprEvent> {
    const kernels = await this.env.read(this.ranked.map((c) => c.kernel.variable));
    const scores = this.ranked.map((c, i) => ({
      layer: c.layer,
      scores: orthogonalityScores(filterRows(kernels[i]!, c.kernel.variable.shape)),
    }));
    const chosen = selectPruned(scores, this.cfg.pruneRatio, this.cfg.scope);
    const state: PrunedState = { cycle, layers: {} };
    for (const [i, c] of this.ranked.entries()) {
      const filters = chosen.get(c.layer) ?? [];
      if (!filters.length) continue;
      const rows = filterRows(kernels[i]!, c.kernel.variable.shape);
      state.layers[c.layer] = { filters, old: filters.map((f) => Array.from(rows[f]!)) };
    }
    this.state = state;
    this.store.save(STATE_KEY, state);
    this.buildMasks();
    // Zero the pruned filters (and their bias and BatchNorm scale/shift) and their optimizer state.
    for (const [name, mask] of this.masks) {
      const p = this.paramByName(name);
      this.tf.tidy(() => p.variable.assign(this.tf.mul(p.variable, mask)));
      optimizer.maskState(name, mask);
    }
    const perLayer = Object.fromEntries(Object.entries(state.layers).map(([l, v]) => [l, v.filters.length]));
    const total = Object.values(perLayer).reduce((a, b) => a + b, 0);
    const filters = this.ranked.reduce((a, c) => a + c.kernel.variable.shape[3]!, 0);
    return { kind: 'repr.prune', payload: { epoch, cycle: cycle + 1, total, of: filters, perLayer, scope: this.cfg.scope, pruneRatio: this.cfg.pruneRatio } };
  }

  private async reinit(cycle: number, epoch: number): Promise<ReprEvent> {
    const state = this.state!;
    const perLayer: Record<string, { count: number; nullSpace: boolean; zeroNextLayer: string }> = {};
    for (const c of this.ranked) {
      const s = state.layers[c.layer];
      if (!s) continue;
      const shape = c.kernel.variable.shape;
      const [J, D] = [shape[3]!, shape[0]! * shape[1]! * shape[2]!];
      const bound = 1 / Math.sqrt(D);
      const kernel = (await this.env.read([c.kernel.variable]))[0]!;
      const rows = filterRows(kernel, shape);
      const rng = this.env.rng(`repr:${cycle}:${c.layer}`);
      const against = [...s.old.map((r) => Float64Array.from(r)), ...rows.filter((_, f) => !s.filters.includes(f))];
      const fresh = nullSpaceVectors(against, s.filters.length, D, () => rng.normal());
      s.filters.forEach((f, k) => {
        const v = fresh[k];
        const scale = v ? bound / Math.max(...Array.from(v, Math.abs)) : 0;
        for (let i = 0; i < D; i++) kernel[i * J + f] = v ? v[i]! * scale : rng.uniform(-bound, bound);
      });
      this.tf.tidy(() => c.kernel.variable.assign(this.tf.tensor(kernel, shape, 'float32')));
      if (c.bnGamma) await this.setEntries(c.bnGamma, s.filters, 1);
      // (bias and beta stay 0, where pruning left them)
      let zeroNext = 'off';
      if (this.cfg.zeroNextLayer && c.next) {
        await this.zeroInputs(c.next, s.filters, J);
        zeroNext = `applied to ${c.next.layer}`;
      } else if (this.cfg.zeroNextLayer) zeroNext = 'not applied: no single consumer';
      perLayer[c.layer] = { count: s.filters.length, nullSpace: fresh.length === s.filters.length, zeroNextLayer: zeroNext };
    }
    this.state = null;
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
    const total = Object.values(perLayer).reduce((a, b) => a + b.count, 0);
    return { kind: 'repr.reinit', payload: { epoch, cycle: cycle + 1, total, perLayer } };
  }

  private paramByName(name: string): Param {
    for (const c of this.convs) for (const p of [c.kernel, c.bias, c.bnGamma, c.bnBeta]) if (p?.name === name) return p;
    throw new Error(`RePr: no param ${name}`);
  }

  /** 0/1 masks over the pruned filters: [1, 1, 1, cout] for kernels, [cout] for the rest. */
  private buildMasks(): void {
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
    for (const c of this.ranked) {
      const s = this.state?.layers[c.layer];
      if (!s) continue;
      const cout = c.kernel.variable.shape[3]!;
      const m = new Float32Array(cout).fill(1);
      for (const f of s.filters) m[f] = 0;
      this.masks.set(c.kernel.name, this.tf.tensor(m, [1, 1, 1, cout]));
      for (const p of [c.bias, c.bnGamma, c.bnBeta]) if (p) this.masks.set(p.name, this.tf.tensor(m, [cout]));
    }
  }

  private async setEntries(p: Param, idx: readonly number[], value: number): Promise<void> {
    const v = (await this.env.read([p.variable]))[0]!;
    for (const i of idx) v[i] = value;
    this.tf.tidy(() => p.variable.assign(this.tf.tensor(v, p.variable.shape, 'float32')));
  }

  /** Zero the weights through which `next` reads channels `idx` of a C-channel input: a conv's
   * [kh, kw, C, out] input slice, or a dense layer's rows of a flattened NHWC map (row % C). */
  private async zeroInputs(next: Param, idx: readonly number[], C: number): Promise<void> {
    const shape = next.variable.shape;
    const v = (await this.env.read([next.variable]))[0]!;
    const drop = new Set(idx);
    const out = shape[shape.length - 1]!;
    for (let i = 0; i < v.length; i++) {
      const row = Math.floor(i / out); // [.., in, out] flattened: the input index is row (mod C)
      if (drop.has(row % C)) v[i] = 0;
    }
    this.tf.tidy(() => next.variable.assign(this.tf.tensor(v, shape, 'float32')));
  }

  dispose(): void {
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
  }
}

/** The kernel that reads `layer`'s cout output channels directly, when there is exactly one:
 * `<prefix>conv{n}` -> `<prefix>conv{n+1}` with cin == cout (sequential convs: cnn3, a residual
 * block's first conv, a stem), and cnn3's last conv -> `head` (a dense layer on the flattened map). */
function nextConsumer(layer: string, cout: number, layers: readonly string[], find: (l: string, r: string) => Param | undefined): Param | undefined {
  const m = /^(.*)conv(\d+)$/.exec(layer);
  if (!m) return undefined;
  const next = find(`${m[1]}conv${Number(m[2]) + 1}`, 'kernel');
  if (next && next.variable.shape.length === 4 && next.variable.shape[2] === cout) return next;
  if (!next && m[1] === '' && layers.includes('head')) {
    const head = find('head', 'kernel');
    if (head && head.variable.shape[0]! % cout === 0) return head;
  }
  return undefined;
}

/** The step hook while filters are pruned: 0/1 masks multiplied into these params' gradients. */
export function maskHooks(tf: typeof TF, masks: ReadonlyMap<string, TF.Tensor>): StepHooks {
  return {
    gradients(grads, params) {
      const out: Record<string, TF.Tensor> = {};
      for (const p of params) {
        const mask = masks.get(p.name);
        out[p.name] = mask ? tf.mul(grads[p.name]!, mask) : grads[p.name]!;
      }
      return out;
    },
  };
}

export const repr = defineTrick({
  name: 'repr',
  title: 'RePr',
  paper: 'Prakash et al., CVPR 2019',
  schema,
  toggle: { label: 'RePr', hint: 'prune the least orthogonal filters, re-initialise them later', flag: 'repr', help: 'RePr: prune the least orthogonal filters for a while, then re-initialise them (options below)' },
  label(o, differs) {
    const extras: string[] = [];
    if (differs('s1') || differs('s2')) extras.push(`S1=${o.s1}, S2=${o.s2}`);
    if (differs('pruneRatio')) extras.push(`prune ${num(o.pruneRatio * 100)}%`);
    if (differs('cycles')) extras.push(plural(o.cycles, 'cycle'));
    if (differs('scope')) extras.push(o.scope === 'layer' ? 'ranked per layer' : `${o.scope} ranking`);
    if (differs('excludeFirstConv')) extras.push(o.excludeFirstConv ? 'first conv left out' : 'first conv pruned too');
    if (differs('zeroNextLayer')) extras.push(o.zeroNextLayer ? 'next layer zeroed' : 'next layer not zeroed');
    return { extras };
  },
  validate(r, ctx) {
    if (!ctx.input) return;
    const specs = ctx.trace();
    if (specs) {
      if (reprLayers(specs, false).length === 0) {
        ctx.issue([], `RePr prunes conv filters: model ${ctx.config.model.name} has no conv layers`);
        return;
      }
      if (reprLayers(specs, r.excludeFirstConv).length === 0) ctx.issue(['excludeFirstConv'], 'RePr: the only conv layer is the first one, which excludeFirstConv leaves out');
    } else return;
    if (reprCalendar(r, ctx.config.epochs).prune.length === 0) ctx.issue(['s1'], `RePr would never prune: s1 (${r.s1}) is not below epochs (${ctx.config.epochs})`);
  },
  events,
  // lower is better: a filter's score is its overlap with the layer's other filters (0 = orthogonal)
  metrics: [{ key: 'orthogonality/*', direction: 'lower', granularity: 'epoch', unit: '', name: 'filter orthogonality score per layer', diagnostic: true, axis: 'mean |WWᵀ − I| per filter' }],
  create({ options, config, model, optimizer, env, trickState }) {
    const r = new Repr(options, config.epochs, model.params, env, trickState);
    return {
      async epochStart({ epoch, resumed }) {
        const e = await r.startEpoch(epoch, optimizer, resumed);
        return e ? [e] : [];
      },
      step() {
        const masks = r.gradMasks();
        return masks ? maskHooks(env.tf, masks) : null;
      },
      async epochMetrics() {
        return Object.entries(await r.orthogonality()).map(([l, v]): [string, number] => [`orthogonality/${l}`, v]);
      },
      dispose: () => r.dispose(),
    };
  },
});
