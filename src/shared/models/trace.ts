// The shape interpreter of an architecture: runs it on shapes instead of tensors and records every
// layer's output shape, parameters (with how they start), buffers and multiply-adds.
import type {
  Architecture,
  BatchNormOptions,
  BufferSpec,
  ConvOptions,
  CrossConvNames,
  CrossConvOptions,
  DenseOptions,
  GroupSummary,
  InitKind,
  LayerSummary,
  ModelSummary,
  Ops,
  ParamRole,
  ParamSpec,
  Shape,
} from './ops';

export interface ModelTrace extends ModelSummary {
  paramSpecs: ParamSpec[];
  bufferSpecs: BufferSpec[];
}

const prod = (s: Shape) => s.reduce((a, b) => a * b, 1);

/** Output size of a conv or pooling window along one axis, PyTorch's formula. */
function outSize(n: number, k: number, stride: number, pad: number, ceil = false): number {
  const span = n + 2 * pad - k;
  return (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
}

class ShapeTracer implements Ops<Shape> {
  readonly layers: LayerSummary[] = [];
  readonly groups: GroupSummary[] = [];
  readonly paramSpecs: ParamSpec[] = [];
  readonly bufferSpecs: BufferSpec[] = [];
  private readonly names = new Set<string>();

  private image(name: string, x: Shape): [number, number, number] {
    if (x.length !== 3) throw new Error(`${name}: expects an image input [h, w, c], got [${x.join(', ')}]`);
    return x as [number, number, number];
  }

  private layer(name: string, type: string, outputShape: Shape, flops = 0): Shape {
    if (this.names.has(name)) throw new Error(`layer name ${name} is used twice`);
    if (outputShape.some((d) => !(d >= 1))) throw new Error(`${name}: input too small (output would be [${outputShape.join(', ')}])`);
    this.names.add(name);
    const params = this.paramSpecs.filter((p) => p.layer === name).reduce((a, p) => a + prod(p.shape), 0);
    this.layers.push({ name, type, outputShape, params, flops });
    return outputShape;
  }

  private param(layer: string, role: ParamRole, shape: Shape, fanIn: number, fanOut: number, init: InitKind): void {
    this.paramSpecs.push({ name: `${layer}/${role}`, layer, role, shape, fanIn, fanOut, init });
  }

  private convShape(name: string, x: Shape, filters: number, kernel: number, stride: number): { out: Shape; cin: number } {
    const [h, w, c] = this.image(name, x);
    if (kernel % 2 !== 1) throw new Error(`${name}: kernel ${kernel} is not odd`);
    const pad = (kernel - 1) / 2;
    return { out: [outSize(h, kernel, stride, pad), outSize(w, kernel, stride, pad), filters], cin: c };
  }

  conv(name: string, x: Shape, o: ConvOptions): Shape {
    const { filters, kernel, stride = 1, bias = false, init = 'torchDefault' } = o;
    const { out, cin } = this.convShape(name, x, filters, kernel, stride);
    const fanIn = cin * kernel * kernel;
    const fanOut = filters * kernel * kernel;
    this.param(name, 'kernel', [kernel, kernel, cin, filters], fanIn, fanOut, init);
    // A bias follows the kernel's rule where it has one (PyTorch's default); zeros otherwise.
    if (bias) this.param(name, 'bias', [filters], fanIn, fanOut, init === 'torchDefault' ? 'torchDefault' : 'zeros');
    return this.layer(name, 'Conv2d', out, out[0]! * out[1]! * fanIn * filters);
  }

  dense(name: string, x: Shape, o: DenseOptions): Shape {
    if (x.length !== 1) throw new Error(`${name}: Dense expects a flat input, got [${x.join(', ')}]`);
    const fanIn = x[0]!;
    this.param(name, 'kernel', [fanIn, o.units], fanIn, o.units, 'torchDefault');
    this.param(name, 'bias', [o.units], fanIn, o.units, 'torchDefault');
    return this.layer(name, 'Dense', [o.units], fanIn * o.units);
  }

  batchNorm(name: string, x: Shape, o: BatchNormOptions<Shape> = {}): Shape {
    if (o.plus) this.add(x, o.plus);
    if (o.residual) this.add(x, o.residual);
    const c = x[x.length - 1]!;
    this.param(name, 'gamma', [c], 1, 1, o.zeroGamma ? 'zeros' : 'ones');
    this.param(name, 'beta', [c], 1, 1, 'zeros');
    this.bufferSpecs.push({ name: `${name}/movingMean`, layer: name, role: 'movingMean', shape: [c], init: 'zeros' });
    this.bufferSpecs.push({ name: `${name}/movingVar`, layer: name, role: 'movingVar', shape: [c], init: 'ones' });
    return this.layer(name, 'BatchNorm', x);
  }

  crossConv(names: CrossConvNames, r: Shape, t: Shape, o: CrossConvOptions): [Shape, Shape] {
    const conv = (name: string, x: Shape) => this.conv(name, x, o);
    // Execution order of the fused conv's parts does not matter; this is the table's order.
    const rr = conv(names.rr, r);
    const tr = conv(names.tr, t);
    const rt = conv(names.rt, r);
    const tt = conv(names.tt, t);
    return [this.add(rr, tr), this.add(rt, tt)];
  }

  relu(x: Shape): Shape {
    return x;
  }

  add(a: Shape, b: Shape): Shape {
    if (a.join() !== b.join()) throw new Error(`cannot add shapes [${a.join(', ')}] and [${b.join(', ')}]`);
    return a;
  }

  maxPool(name: string, x: Shape, size: number): Shape {
    const [h, w, c] = this.image(name, x);
    return this.layer(name, 'MaxPool', [Math.floor(h / size), Math.floor(w / size), c]);
  }

  avgPool(name: string, x: Shape, size: number): Shape {
    const [h, w, c] = this.image(name, x);
    return this.layer(name, 'AvgPool', [outSize(h, size, size, 0, true), outSize(w, size, size, 0, true), c]);
  }

  globalAvgPool(name: string, x: Shape): Shape {
    const [, , c] = this.image(name, x);
    return this.layer(name, 'GlobalAvgPool', [c]);
  }

  flatten(name: string, x: Shape): Shape {
    return this.layer(name, 'Flatten', [prod(x)]);
  }

  dropout(name: string, x: Shape, rate: number): Shape {
    if (!(rate >= 0 && rate < 1)) throw new Error(`${name}: dropout rate ${rate} is not in [0, 1)`);
    return this.layer(name, 'Dropout', x);
  }

  concat(name: string, xs: Shape[]): Shape {
    const first = this.image(name, xs[0] ?? []);
    for (const x of xs) {
      const [h, w] = this.image(name, x);
      if (h !== first[0] || w !== first[1]) throw new Error(`${name}: cannot concatenate [${xs.map((s) => s.join('x')).join('], [')}]`);
    }
    return this.layer(name, 'Concat', [first[0], first[1], xs.reduce((a, x) => a + x[2]!, 0)]);
  }

  subsamplePad(name: string, x: Shape, stride: number, channels: number): Shape {
    const [h, w, c] = this.image(name, x);
    if (channels < c) throw new Error(`${name}: a parameter-free shortcut cannot reduce ${c} channels to ${channels}`);
    return this.layer(name, 'SubsampleZeroPad', [outSize(h, 1, stride, 0), outSize(w, 1, stride, 0), channels]);
  }

  group<R extends Shape | Shape[]>(name: string, type: string, f: () => R): R {
    const at = this.groups.length;
    this.groups.push({ name, type, outputShape: [] });
    const out = f();
    // A two-stream block returns [r, t]: the table shows the residual stream's shape.
    this.groups[at]!.outputShape = typeof out[0] === 'number' ? (out as Shape) : ((out as Shape[])[0] ?? []);
    return out;
  }
}

/** Trace an architecture for one input shape (per example, [h, w, c]). */
export function traceArchitecture(arch: Architecture, inputShape: Shape): ModelTrace {
  const t = new ShapeTracer();
  const outputShape = arch(t, inputShape);
  return {
    layers: t.layers,
    groups: t.groups,
    paramSpecs: t.paramSpecs,
    bufferSpecs: t.bufferSpecs,
    params: t.paramSpecs.reduce((a, p) => a + prod(p.shape), 0),
    flops: t.layers.reduce((a, l) => a + l.flops, 0),
    outputShape,
  };
}
