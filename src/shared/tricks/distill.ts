// Knowledge distillation (Hinton et al., "Distilling the Knowledge in a Neural Network", 2015; Bag
// of Tricks, He et al., CVPR 2019): the best (else last) checkpoint of a completed run on the same
// data teaches this one. paper: CE(y, z) + T^2 CE(softmax(r / T), softmax(z / T)); weighted
// (GluonCV): (1 - w) hard + w T^2 soft. The teacher sees the step's final (with mixup: mixed) input,
// outside the gradient tape; with several passes (R-Drop) the soft term is their mean.
import type * as TF from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { field, int } from '../schema-meta';
import { lossOps } from './loss-ops';
import { defineEvent, defineTrick, type StepHooks, type TrickModel } from './types';
import { num } from './text';

export const DISTILL_MODES = ['paper', 'weighted'] as const;

export interface DistillStep {
  teacher: TrickModel;
  temperature: number;
  mode: (typeof DISTILL_MODES)[number];
  weight: number;
}

/** The hooks of step `step`: the teacher's logits on the final input, the soft term added to the loss. */
export function distillHooks(tf: typeof TF, kd: DistillStep, step: number): StepHooks {
  const { distillSoft, withDistill } = lossOps(tf);
  let teacherLogits: TF.Tensor2D | null = null;
  const soft = (z: TF.Tensor2D) => distillSoft(z, teacherLogits!, kd.temperature);
  return {
    softTargets: true,
    // The teacher's logits, outside the gradient tape (its weights are not trained).
    outsideTape(x) {
      teacherLogits = kd.teacher.apply(x, { training: false, step }) as TF.Tensor2D;
    },
    wrapLoss(hard, passes) {
      // one pass: its soft term; several (R-Drop's two): their mean
      const s = passes.length === 1 ? soft(passes[0]!) : (tf.mul(passes.map(soft).reduce((a, b) => tf.add(a, b)), 1 / passes.length) as TF.Scalar);
      return withDistill(hard, s, kd.mode, kd.weight);
    },
  };
}

export const distill = defineTrick({
  name: 'distill',
  title: 'distillation',
  paper: 'Hinton et al. 2015 (arXiv 1503.02531); He et al., Bag of Tricks, CVPR 2019',
  schema: z
    .object({
      teacherRun: field(int(1), {
        label: 'Teacher run',
        kind: 'numberOrBlank',
        hint: 'id of a completed run',
        placeholder: 'run id',
        flag: 'distill-from',
        help: 'knowledge distillation from this completed run (the teacher)',
      }),
      temperature: field(z.number().positive().default(20), { label: 'Temperature', flag: 'distill-temperature', help: 'distillation temperature T' }),
      mode: field(z.enum(DISTILL_MODES).default('paper'), {
        label: 'Mode',
        hint: 'paper: hard + T² soft; weighted: (1−w) hard + w T² soft',
        flag: 'distill-mode',
        help: 'distillation: paper (hard + T^2 soft) or weighted ((1-w) hard + w T^2 soft)',
      }),
      weight: field(z.number().min(0).max(1).default(0.5), { label: 'w', hint: 'weighted mode', flag: 'distill-weight', help: 'distillation, weighted mode: w' }),
    })
    .strict(),
  toggle: { label: 'Distillation', hint: 'a completed run on the same data teaches this one', flag: null, noFlag: '--distill-from RUN switches it on' },
  // No default teacher: its defaults without teacherRun.
  formDefaults() {
    const v: Record<string, unknown> = this.schema.parse({ teacherRun: 1 });
    delete v.teacherRun;
    return v;
  },
  label(o, differs) {
    const extras = [`teacher #${o.teacherRun}`];
    if (o.mode === 'weighted') extras.push(`weighted, w=${num(o.weight)}`);
    else if (differs('mode')) extras.push(`${o.mode} mode`);
    return { main: `T=${num(o.temperature)}`, extras };
  },
  events: {
    // Recorded at the start of a fresh run (not again on a resume): the teacher the trainer loaded.
    'distill.teacher': defineEvent(z.object({ teacherRun: z.number(), checkpoint: z.string().nullable(), model: z.string(), params: z.number() }), {
      label: 'teacher',
      color: '#9c755f',
      detail: (p) => [`distilling from run ${p.teacherRun} (${p.model}, ${String(p.checkpoint)} checkpoint)`],
    }),
  },
  metrics: [],
  // The teacher: the trainer loads its best (else last) checkpoint, in inference mode.
  sourceRuns: (o) => [{ field: 'teacherRun', runId: o.teacherRun, role: 'teacher' }],
  create({ options, env, firstEpoch, sources }) {
    const t = sources.teacherRun;
    if (!t) throw new Error(`tricks.distill: the teacher (run ${options.teacherRun}) was not loaded`);
    return {
      // Which teacher, recorded once: at the start of a fresh run, not again when it is resumed.
      epochStart: (e) => (e.epoch === 0 && firstEpoch === 0 ? [{ kind: 'distill.teacher', payload: { teacherRun: t.runId, checkpoint: t.checkpoint, model: t.modelName, params: t.params } }] : []),
      step: (step) => distillHooks(env.tf, { teacher: t.model, ...options }, step),
    };
  },
});
