// Presets: ready-made comparisons from the seeds (resources/presets/*.json). A preset is a baseline
// run config and arms, each the baseline with some fields set (dotted paths, as the experiments'
// file format); an optional pre-training run comes first, and arms marked fromPretrain start from
// its weights (fine-tuning, the head re-created). Until experiments exist, starting a preset
// starts its runs.
import { z } from 'zod';
import { parseRunConfig, setPath, type FieldError, type RunConfig } from './config';

const setSchema = z.record(z.string().min(1), z.unknown());

export const presetFileSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().min(1),
    question: z.string().min(1),
    baseline: z.record(z.string(), z.unknown()),
    pretrain: z.object({ name: z.string().min(1), set: setSchema }).strict().optional(),
    arms: z
      .array(z.object({ name: z.string().min(1), set: setSchema, fromPretrain: z.boolean().default(false) }).strict())
      .min(1),
  })
  .strict();
export type PresetFile = z.output<typeof presetFileSchema>;

export interface PresetRun {
  name: string;
  config: RunConfig;
  /** Starts from the pre-training run's weights (init.fromRun is filled in when it completes). */
  fromPretrain: boolean;
}

export interface Preset {
  id: string;
  name: string;
  description: string;
  question: string;
  pretrain: PresetRun | null;
  arms: PresetRun[];
}

/** The baseline with `set` applied (a deep copy; `set` paths are dotted config paths). */
export function applySet(baseline: Record<string, unknown>, set: Record<string, unknown>): Record<string, unknown> {
  const out = structuredClone(baseline);
  for (const [path, value] of Object.entries(set)) setPath(out, path, structuredClone(value));
  return out;
}

/** A placeholder source run for validating fromPretrain arms before the pre-training exists. */
const PLACEHOLDER_RUN = 1;

/** Validates a preset file's content into runs with complete configs, or the problems found. */
export function expandPreset(id: string, raw: unknown): { ok: true; preset: Preset } | { ok: false; errors: FieldError[] } {
  const file = presetFileSchema.safeParse(raw);
  if (!file.success) return { ok: false, errors: file.error.issues.map((i) => ({ field: i.path.join('.') || '(preset)', message: i.message })) };
  const p = file.data;
  const errors: FieldError[] = [];
  const run = (name: string, where: string, set: Record<string, unknown>, fromPretrain: boolean): PresetRun | null => {
    const input = applySet(p.baseline, set);
    if (fromPretrain) input.init = { fromRun: PLACEHOLDER_RUN, exclude: ['head'] };
    if (!input.name) input.name = `${p.name}: ${name}`;
    const r = parseRunConfig(input);
    if (!r.ok) {
      errors.push(...r.errors.map((e) => ({ field: `${where}.${e.field}`, message: e.message })));
      return null;
    }
    return { name, config: r.config, fromPretrain };
  };
  const pretrain = p.pretrain ? run(p.pretrain.name, 'pretrain', p.pretrain.set, false) : null;
  if (p.arms.some((a) => a.fromPretrain) && !p.pretrain) errors.push({ field: 'arms', message: 'an arm is fromPretrain but the preset has no pretrain' });
  const arms = p.arms.map((a, i) => run(a.name, `arms.${i}`, a.set, a.fromPretrain));
  if (errors.length) return { ok: false, errors };
  return { ok: true, preset: { id, name: p.name, description: p.description, question: p.question, pretrain, arms: arms as PresetRun[] } };
}

/** An arm's config once its pre-training run exists. */
export function withPretrain(arm: PresetRun, pretrainRunId: number): RunConfig {
  return arm.fromPretrain ? { ...arm.config, init: { fromRun: pretrainRunId, exclude: arm.config.init?.exclude ?? ['head'] } } : arm.config;
}
