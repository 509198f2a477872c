// The tricks of one run, composed (../shared/ARCHITECTURE.md: "Tricks are hooks"): every registered
// trick that the config turns on (src/shared/tricks/registry.ts) gets its run-time part, and the
// loop calls the lot through this, by role: epoch start, before step, the step's hooks, after step,
// epoch metrics, dispose. Nothing here or in the loop knows a trick by name.
import betaFactory from '@stdlib/random-base-beta';
import * as tf from '@tensorflow/tfjs-core';
import type { RunConfig } from '../../shared/config';
import { TRICKS } from '../../shared/tricks/registry';
import type { AnyTrick, SourceModel, StepHooks, Trick, TrickEnv, TrickRun, TrickSetup, TrickStateStore } from '../../shared/tricks/types';
import type { RunEventDraft } from '../../shared/events';
import type { SequentialModel } from '../models/model';
import type { Optimizer } from '../optim/optimizers';
import { makeRng, permutation, type Rng } from '../../shared/rng';
import { readAll } from '../tf/read';

export { isTrickDiagnostic } from '../../shared/tricks/registry';
export type { SourceModel, StepHooks, TrickStateStore };

/** Source runs' models by trick name, then by the field that names the run (types.ts `sourceRuns`). */
export type TrickSources = Readonly<Record<string, Readonly<Record<string, SourceModel>>>>;

export interface TrickOptions {
  /** The epoch the loop starts at (> 0 after a resume). */
  firstEpoch: number;
  /** val/acc of the epoch before firstEpoch, for tricks acting between epochs. */
  startValAcc?: number | null;
  /** Values of the given params at epoch 0 (RIFLE's 'initial'); by default a snapshot taken now,
   * right only for a run that starts at epoch 0. */
  initialValues?: (names: readonly string[]) => Promise<Map<string, Float32Array>>;
  /** Where tricks keep state a resume needs (RePr's pruned filters); by default in memory. */
  trickState?: TrickStateStore;
  /** The models the caller loaded from the runs the tricks declare (src/trainer/run.ts loadSourceRuns). */
  sources?: TrickSources;
  /** The tricks to compose (default: the app's registry); each is on when `config.tricks[name]` is an object. */
  registry?: readonly AnyTrick[];
}

/** The trainer's tfjs and random streams, lent to the tricks (src/shared/tricks/types.ts says why). */
export function trickEnv(seed: number): TrickEnv {
  return { tf, rng: (stream) => makeRng(seed, stream), permutation: (rng, n) => permutation(rng, n), beta: betaDraw, read: readAll };
}

/** One draw from Beta(a, b) with `rng` as the uniform source. */
export function betaDraw(rng: Rng, a: number, b: number): number {
  return betaFactory.factory(a, b, { prng: rng.next })();
}

export class RunTricks {
  private lastValAcc: number | null;

  private constructor(
    private readonly runs: readonly TrickRun[],
    private readonly firstEpoch: number,
    startValAcc: number | null,
  ) {
    this.lastValAcc = startValAcc;
  }

  /** The run-time parts of the tricks a config turns on, in registry order, before the first step. */
  static async create(config: RunConfig, model: SequentialModel, optimizer: Optimizer, o: TrickOptions): Promise<RunTricks> {
    const memory = new Map<string, unknown>();
    const trickState: TrickStateStore = o.trickState ?? { load: (k) => memory.get(k) ?? null, save: (k, v) => memory.set(k, structuredClone(v)) };
    const env = trickEnv(config.seed);
    const runs: TrickRun[] = [];
    try {
      for (const t of (o.registry ?? TRICKS) as readonly Trick[]) {
        const options = (config.tricks as Record<string, unknown>)[t.name];
        if (options === null || options === undefined || !t.create) continue;
        const sources = o.sources?.[t.name] ?? {};
        for (const s of t.sourceRuns?.(options) ?? []) {
          if (!Object.hasOwn(sources, s.field)) throw new Error(`tricks.${t.name}.${s.field}: the ${s.role} (run ${s.runId}) was not loaded`);
        }
        const setup: TrickSetup<never> = { options: options as never, config, model, optimizer, env, firstEpoch: o.firstEpoch, initialValues: o.initialValues, trickState, sources };
        runs.push((await (t.create as (s: TrickSetup<never>) => Promise<TrickRun> | TrickRun)(setup)) as TrickRun);
      }
    } catch (e) {
      for (const r of runs) r.dispose?.();
      throw e;
    }
    return new RunTricks(runs, o.firstEpoch, o.startValAcc ?? null);
  }

  /** Before the first step of 0-based epoch `epoch` (= after epoch - 1 and its checkpoints). */
  async epochStart(epoch: number, step: number, stepsPerEpoch: number): Promise<RunEventDraft[]> {
    const out: RunEventDraft[] = [];
    const ctx = { epoch, step, stepsPerEpoch, valAccBefore: this.lastValAcc, resumed: epoch === this.firstEpoch && this.firstEpoch > 0 };
    for (const r of this.runs) for (const e of (await r.epochStart?.(ctx)) ?? []) out.push({ ...e, epoch, step } as RunEventDraft);
    return out;
  }

  /** Before global step `step` (0-based). */
  beforeStep(epoch: number, step: number, stepsPerEpoch: number): RunEventDraft[] {
    const out: RunEventDraft[] = [];
    for (const r of this.runs) for (const e of r.beforeStep?.({ epoch, step, stepsPerEpoch }) ?? []) out.push({ ...e, epoch, step } as RunEventDraft);
    return out;
  }

  /** The hooks of step `step` (0-based) on a batch of n images, in registry order. */
  forStep(step: number, n: number): StepHooks[] {
    const out: StepHooks[] = [];
    for (const r of this.runs) {
      const h = r.step?.(step, n);
      if (h) out.push(h);
    }
    return out;
  }

  /** After step `step` (0-based) was submitted. */
  afterStep(epoch: number, step: number): void {
    for (const r of this.runs) r.afterStep?.({ epoch, step });
  }

  /** Per-epoch trick metrics ([key, value]), read after the epoch's steps; remembers val/acc. */
  async epochEnd(stepsPerEpoch: number, valAcc: number | null): Promise<[string, number][]> {
    const out: [string, number][] = [];
    for (const r of this.runs) out.push(...((await r.epochMetrics?.({ stepsPerEpoch })) ?? []));
    this.lastValAcc = valAcc;
    return out;
  }

  dispose(): void {
    for (const r of this.runs) r.dispose?.();
  }
}
