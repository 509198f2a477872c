// The data-augmentation pipeline of a run: a list of steps applied in order to each training
// image (uint8, HWC) before it is normalised. Names, options and sampling follow torchvision's
// transforms; src/data/transforms.ts implements them. Pure TS: the renderer imports it.
import { z } from 'zod';
import { field, int } from './schema-meta';

const probability = z.number().min(0).max(1);
const pixel = int(0).max(255);

/** A [lo, hi] range of positive numbers up to max, lo <= hi. */
const range = (max: number) => {
  const bound = z.number().positive().max(max);
  return z.tuple([bound, bound]).refine((r) => r[0] <= r[1], { message: 'must be [lo, hi] with lo <= hi' });
};

export const AUGMENT_STEPS = ['randomCrop', 'hflip', 'randomResizedCrop', 'colorJitter', 'rotation', 'cutout', 'resize'] as const;
export type AugmentStepName = (typeof AUGMENT_STEPS)[number];

export const PAD_MODES = ['constant', 'reflect'] as const;

/** Pad, then crop at a uniformly random offset (the CIFAR recipe: crop 32, pad 4). */
const randomCropSchema = z
  .object({
    name: z.literal('randomCrop'),
    /** Square crop side; null = the step's input size. */
    size: int(1).max(4096).nullable().default(null),
    padding: int(0).max(1024).default(4),
    padMode: z.enum(PAD_MODES).default('constant'),
    /** Grey level of constant padding. */
    fill: pixel.default(0),
  })
  .strict();

const hflipSchema = z.object({ name: z.literal('hflip'), p: probability.default(0.5) }).strict();

/** Inception-style crop: area fraction in scale, aspect ratio log-uniform in ratio, resized to
 * size x size (bilinear). */
const randomResizedCropSchema = z
  .object({
    name: z.literal('randomResizedCrop'),
    size: int(1).max(4096),
    scale: range(1).default([0.08, 1]),
    ratio: range(100).default([3 / 4, 4 / 3]),
  })
  .strict();

/** Factors uniform in [max(0, 1 - x), 1 + x]; hue shift uniform in [-hue, hue] turns. */
const colorJitterSchema = z
  .object({
    name: z.literal('colorJitter'),
    brightness: z.number().min(0).default(0),
    contrast: z.number().min(0).default(0),
    saturation: z.number().min(0).default(0),
    hue: z.number().min(0).max(0.5).default(0),
  })
  .strict();

/** Rotation by an angle uniform in [-degrees, degrees] about the centre, nearest neighbour. */
const rotationSchema = z
  .object({
    name: z.literal('rotation'),
    degrees: z.number().min(0).max(180).default(10),
    fill: pixel.default(0),
  })
  .strict();

/** Cutout (DeVries & Taylor 2017): a size x size square, centred anywhere, filled with the
 * dataset mean (0 after normalisation), applied with probability p. */
const cutoutSchema = z
  .object({
    name: z.literal('cutout'),
    size: int(1).max(4096).default(16),
    p: probability.default(1),
  })
  .strict();

/** Bilinear resize: an integer sets the shorter side (aspect kept, as torchvision's Resize),
 * [h, w] sets both. */
const resizeSchema = z
  .object({
    name: z.literal('resize'),
    size: z.union([int(1).max(4096), z.tuple([int(1).max(4096), int(1).max(4096)])]),
  })
  .strict();

const STEP_SCHEMAS = [randomCropSchema, hflipSchema, randomResizedCropSchema, colorJitterSchema, rotationSchema, cutoutSchema, resizeSchema] as const;

export const augmentStepSchema = z.discriminatedUnion('name', [...STEP_SCHEMAS]);

export const augmentSchema = field(z.array(augmentStepSchema).max(32).default([]), {
  label: 'Augmentation',
  hint: 'steps in order, e.g. [{"name":"randomCrop","padding":4},{"name":"hflip"}]; try pipelines on the dataset page',
  flag: 'augment',
  help: `the augmentation steps in order, as JSON, e.g. '[{"name":"randomCrop","padding":4},{"name":"hflip"}]' (${AUGMENT_STEPS.join(', ')})`,
});

export type AugmentConfig = z.output<typeof augmentSchema>;
export type AugmentInput = z.input<typeof augmentSchema>;
export type AugmentStep = AugmentConfig[number];

/** A step that cannot apply to the shape it receives; path is relative to the augment list
 * ([index, field]) so that the config schema can report it as augment.<index>.<field>. */
export class AugmentShapeError extends Error {
  constructor(
    readonly path: (string | number)[],
    message: string,
  ) {
    super(`augment.${path.join('.')}: ${message}`);
    this.name = 'AugmentShapeError';
  }
}

/** Output shape of one step for the given input shape (throws AugmentShapeError if it cannot apply). */
export function stepOutputShape(step: AugmentStep, index: number, inShape: readonly [number, number, number]): [number, number, number] {
  const [h, w, c] = inShape;
  switch (step.name) {
    case 'randomCrop': {
      const ph = h + 2 * step.padding;
      const pw = w + 2 * step.padding;
      if (step.padMode === 'reflect' && step.padding >= Math.min(h, w)) {
        throw new AugmentShapeError([index, 'padding'], `reflect padding ${step.padding} must be less than the image side (${h}x${w})`);
      }
      const size = step.size ?? h;
      const sizeW = step.size ?? w;
      if (size > ph || sizeW > pw) throw new AugmentShapeError([index, 'size'], `crop ${size}x${sizeW} is larger than the padded image ${ph}x${pw}`);
      return [size, sizeW, c];
    }
    case 'randomResizedCrop':
      return [step.size, step.size, c];
    case 'resize': {
      if (Array.isArray(step.size)) return [step.size[0], step.size[1], c];
      // torchvision: the shorter side becomes size, the longer int(size * long / short)
      const s = step.size;
      return h <= w ? [s, Math.floor((s * w) / h), c] : [Math.floor((s * h) / w), s, c];
    }
    case 'cutout':
    case 'hflip':
    case 'colorJitter':
    case 'rotation':
      return [h, w, c];
  }
}

/** Shape of the images a pipeline produces from images of inShape (throws AugmentShapeError). */
export function pipelineOutputShape(inShape: readonly [number, number, number], augment: AugmentConfig): [number, number, number] {
  let shape: [number, number, number] = [inShape[0], inShape[1], inShape[2]];
  augment.forEach((step, i) => (shape = stepOutputShape(step, i, shape)));
  return shape;
}

const num = (x: number) => String(Number(x.toFixed(3)));
const isDefaultRatio = (r: readonly [number, number]) => Math.abs(r[0] - 3 / 4) < 1e-9 && Math.abs(r[1] - 4 / 3) < 1e-9;

/** One step as short text for tables ("crop 32 pad 4"). */
export function describeStep(step: AugmentStep): string {
  switch (step.name) {
    case 'randomCrop': {
      const parts = [step.size === null ? 'crop' : `crop ${step.size}`, `pad ${step.padding}`];
      if (step.padding > 0 && step.padMode === 'reflect') parts.push('reflect');
      else if (step.padding > 0 && step.fill !== 0) parts.push(`fill ${step.fill}`);
      return parts.join(' ');
    }
    case 'hflip':
      return step.p === 0.5 ? 'flip' : `flip p=${num(step.p)}`;
    case 'randomResizedCrop': {
      let s = `resized crop ${step.size} scale ${num(step.scale[0])}-${num(step.scale[1])}`;
      if (!isDefaultRatio(step.ratio)) s += ` ratio ${num(step.ratio[0])}-${num(step.ratio[1])}`;
      return s;
    }
    case 'colorJitter': {
      const parts = (['brightness', 'contrast', 'saturation', 'hue'] as const).filter((k) => step[k] > 0).map((k) => `${k[0]}${num(step[k])}`);
      return parts.length ? `jitter ${parts.join(' ')}` : 'jitter (none)';
    }
    case 'rotation':
      return `rotate ±${num(step.degrees)}°${step.fill !== 0 ? ` fill ${step.fill}` : ''}`;
    case 'cutout':
      return `cutout ${step.size}${step.p !== 1 ? ` p=${num(step.p)}` : ''}`;
    case 'resize':
      return Array.isArray(step.size) ? `resize ${step.size[0]}x${step.size[1]}` : `resize ${step.size}`;
  }
}

/** A pipeline as short text for tables: "crop 32 pad 4, flip"; "none" when empty. */
export function describeAugment(augment: AugmentConfig): string {
  return augment.length ? augment.map(describeStep).join(', ') : 'none';
}

/** Recipes to start from (the dataset page's presets, the loader bench): the CIFAR recipe of the
 * ResNet papers, the seeds' pipeline (images stored at 40x40, torchvision's ColorJitter(0.2, 0.2,
 * 0.2), RandomResizedCrop(32, scale=(0.6, 1)), flip, RandomRotation(20)), and cutout on top of the
 * CIFAR recipe. imageSize: the dataset.imageSize the recipe expects (null = as stored). */
export const AUGMENT_RECIPES: Record<'cifar' | 'seeds' | 'cutout', { label: string; imageSize: number | null; augment: AugmentInput }> = {
  cifar: { label: 'CIFAR: crop 32 pad 4 + flip', imageSize: null, augment: [{ name: 'randomCrop', padding: 4 }, { name: 'hflip' }] },
  seeds: {
    label: "The seeds' pipeline: stored at 40, jitter, resized crop 32, flip, rotation 20°",
    imageSize: 40,
    augment: [
      { name: 'colorJitter', brightness: 0.2, contrast: 0.2, saturation: 0.2 },
      { name: 'randomResizedCrop', size: 32, scale: [0.6, 1] },
      { name: 'hflip' },
      { name: 'rotation', degrees: 20 },
    ],
  },
  cutout: { label: 'Cutout 16 + crop + flip', imageSize: null, augment: [{ name: 'randomCrop', padding: 4 }, { name: 'hflip' }, { name: 'cutout', size: 16 }] },
};

/** A config error inside `augment` in words that name the step: `path` is relative to the augment
 * list (["0", "padding"] for augment.0.padding), `message` what the schema said, `augment` the
 * list as given (to name the step's transform): "step 1 (randomCrop), padding: must be >= 0". */
export function describeAugmentError(path: readonly (string | number)[], message: string, augment: unknown): string {
  if (path.length === 0) {
    if (/^expected a(n)? array/.test(message)) return `a list of steps is expected, e.g. [{"name":"hflip"}] (${message.replace(/^expected an? array, /, '')})`;
    return message;
  }
  const index = Number(path[0]);
  if (!Number.isInteger(index)) return `${path.join('.')}: ${message}`;
  const step = Array.isArray(augment) ? (augment[index] as unknown) : undefined;
  const name = step && typeof step === 'object' && typeof (step as { name?: unknown }).name === 'string' ? (step as { name: string }).name : null;
  const known = name !== null && (AUGMENT_STEPS as readonly string[]).includes(name);
  const where = `step ${index + 1}${known ? ` (${name})` : ''}`;
  const rest = path.slice(1).join('.');
  if (rest === '' && /^expected an? object/.test(message)) return `${where}: each step is an object such as {"name":"hflip"} (${message.replace(/^expected an? object, /, '')})`;
  if (rest === 'name' && !known) {
    const given = name === null ? 'has no "name"' : `"${name}" is not a transform`;
    return `${where}: ${given}; the transforms are ${AUGMENT_STEPS.join(', ')}`;
  }
  if (rest === '' && known && message.startsWith('unknown option')) {
    const options = Object.keys(STEP_SCHEMAS.find((s) => s.shape.name.value === name)!.shape).filter((k) => k !== 'name');
    return `${where}: ${message}; ${name} takes ${options.length ? options.join(', ') : 'no options'}`;
  }
  return rest ? `${where}, ${rest}: ${message}` : `${where}: ${message}`;
}
