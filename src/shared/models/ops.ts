// The vocabulary model architectures are written in. An architecture is a function over an `Ops`
// interpreter: run with the shape tracer (trace.ts) it yields the layer table, parameter shapes and
// FLOPs, with no tfjs; run with the trainer's tfjs interpreter it is the forward pass. Both read the
// same code, so the summary the form shows and the model that trains cannot drift apart.
//
// Layouts are the trainer's: NHWC activations (shapes here omit the batch: [h, w, c]), conv kernels
// [kh, kw, cin, cout], dense kernels [in, out].

export type Shape = number[];

/** How a parameter starts. `torchDefault` is PyTorch's default for conv and linear layers
 * (kaiming_uniform(a = sqrt(5)), i.e. U(+-1/sqrt(fanIn)), for kernel and bias alike);
 * `kaimingNormalFanOut` is N(0, 2 / fanOut), torchvision's choice for ResNet convs. */
export type InitKind = 'torchDefault' | 'kaimingNormalFanOut' | 'zeros' | 'ones';

export type ParamRole = 'kernel' | 'bias' | 'gamma' | 'beta';
export type BufferRole = 'movingMean' | 'movingVar';

export interface ParamSpec {
  /** `layer/role`, e.g. `stage2.block0.conv1/kernel`: checkpoints and tricks key on it. */
  name: string;
  layer: string;
  role: ParamRole;
  shape: Shape;
  fanIn: number;
  fanOut: number;
  init: InitKind;
}

export interface BufferSpec {
  name: string; // e.g. `stage1.block0.bn2/movingMean`
  layer: string;
  role: BufferRole;
  shape: Shape;
  init: InitKind;
}

export interface LayerSummary {
  name: string;
  type: string;
  outputShape: Shape;
  params: number;
  /** Multiply-adds for one example (conv and dense layers; BN, pooling and additions count 0). */
  flops: number;
}

/** A named container (block, stage) for the layer table; its layers are those named under it. */
export interface GroupSummary {
  name: string;
  type: string;
  outputShape: Shape;
}

export interface ConvOptions {
  filters: number;
  /** Square, odd kernel; padded by (kernel - 1) / 2 on every side, as PyTorch's padding=k//2. */
  kernel: number;
  stride?: number;
  bias?: boolean;
  /** Fused ReLU (the conv's output goes straight into one). */
  relu?: boolean;
  init?: InitKind;
}

export interface DenseOptions {
  units: number;
  relu?: boolean;
}

/** BatchNorm with what usually surrounds it, so an interpreter can fuse them (the trainer does: one
 * op keeps fewer full-size tensors alive for the backward pass):
 * relu?(BN(x + plus) + residual). */
export interface BatchNormOptions<T> {
  /** gamma starts at 0 instead of 1 (Bag of Tricks' zero-gamma, for a residual block's last BN). */
  zeroGamma?: boolean;
  /** Added to x before normalising (RiR: the shortcut joins the sum that BN normalises). */
  plus?: T;
  /** Added after normalising (a ResNet block's shortcut). */
  residual?: T;
  relu?: boolean;
}

/** The four convolutions of a generalized residual layer (ResNet in ResNet): from stream r or t to
 * stream r or t, all with the same kernel and stride. */
export interface CrossConvNames {
  rr: string;
  tr: string;
  rt: string;
  tt: string;
}

export interface CrossConvOptions {
  filters: number;
  kernel: number;
  stride: number;
  init?: InitKind;
}

export interface Ops<T> {
  conv(name: string, x: T, o: ConvOptions): T;
  dense(name: string, x: T, o: DenseOptions): T;
  batchNorm(name: string, x: T, o?: BatchNormOptions<T>): T;
  /** [conv(r, W_rr) + conv(t, W_tr), conv(r, W_rt) + conv(t, W_tt)] (no bias). */
  crossConv(names: CrossConvNames, r: T, t: T, o: CrossConvOptions): [T, T];
  relu(x: T): T;
  add(a: T, b: T): T;
  /** Non-overlapping max pooling, floor mode (the remainder rows/columns are dropped). */
  maxPool(name: string, x: T, size: number): T;
  /** Non-overlapping average pooling, ceil mode, averaging only the pixels that exist (PyTorch's
   * AvgPool2d(size, size, ceil_mode=True, count_include_pad=False)), so it agrees with a strided
   * conv's output size on odd inputs. */
  avgPool(name: string, x: T, size: number): T;
  /** Mean over height and width: [h, w, c] -> [c]. */
  globalAvgPool(name: string, x: T): T;
  flatten(name: string, x: T): T;
  /** Inverted dropout, active only in training. */
  dropout(name: string, x: T, rate: number): T;
  /** Concatenate along channels. */
  concat(name: string, xs: T[]): T;
  /** Parameter-free shortcut: keep every `stride`-th pixel (from the first) and append zero
   * channels up to `channels`. */
  subsamplePad(name: string, x: T, stride: number, channels: number): T;
  /** Run `f` as the named container `name` (for the layer table only). */
  group<R extends T | T[]>(name: string, type: string, f: () => R): R;
}

/** A model: input (one batch of images, [h, w, c] per example) to logits ([numClasses]). */
export type Architecture = <T>(ops: Ops<T>, x: T) => T;

export interface ModelSummary {
  /** Every layer in execution order (leaves only: their params and flops sum to the totals). */
  layers: LayerSummary[];
  groups: GroupSummary[];
  params: number;
  flops: number;
  outputShape: Shape;
}
