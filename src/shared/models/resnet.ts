// ResNets for small images. Architecture: "Deep Residual Learning for Image Recognition" (He, Zhang,
// Ren, Sun, CVPR 2016): the CIFAR ResNet-20/32/56 of its section 4.2 (3 stages of n basic blocks,
// 16/32/64 channels) and ResNet-18/34 with the usual CIFAR stem (3x3 conv 64, no max-pool). Model
// tweaks and zero-gamma: "Bag of Tricks for Image Classification with Convolutional Neural
// Networks" (He, Zhang, Zhang, Zhang, Xie, Li, CVPR 2019).
//
// Shortcuts: identity when the shape is unchanged, else a 1x1 conv (stride 2) + BN, He et al.'s
// projection option (B), for every stage change: the CIFAR paper's parameter-free option (A) is not
// used, so ResNet-20 has a few more parameters than its 0.27 M.
//
// Variants (`variant`), each the paper's model with the tweaks up to it, as in its Table 5:
// - a: the model above.
// - b: moves a downsampling block's stride from its first 1x1 conv to its 3x3 conv. That concerns
//   bottleneck blocks only: our basic blocks have no 1x1 conv on the main path and already stride
//   their first 3x3 conv, so b builds exactly the same network as a.
// - c: the stem conv becomes three 3x3 convs (stem/2, stem/2, stem channels: 32, 32, 64 for
//   ResNet-18/34, 8, 8, 16 for the 16-channel CIFAR ResNets), each with BN + ReLU. None is strided:
//   the CIFAR stems do not downsample (the paper's first conv has stride 2 on 224x224 inputs).
// - d: c, and a downsampling shortcut of 2x2 average pooling (stride 2) then 1x1 conv (stride 1) +
//   BN, so the shortcut no longer skips 3/4 of the input pixels.
// zeroGamma: the last BN of every residual block (bn2, not the shortcut's) starts with gamma = 0,
// so every block starts as the identity.
import type { RESNET_VARIANTS, RESNETS } from '../config';
import type { Architecture, Ops } from './ops';

export type ResNetVariant = (typeof RESNET_VARIANTS)[number];

export interface ResNetOptions {
  variant: ResNetVariant;
  zeroGamma: boolean;
  dropout: number;
}

export interface ResNetLayout {
  stem: number;
  widths: number[];
  blocks: number[];
}

/** Stem width, stage widths and blocks per stage of each named ResNet. */
export const RESNET_LAYOUTS = {
  resnet20: { stem: 16, widths: [16, 32, 64], blocks: [3, 3, 3] },
  resnet32: { stem: 16, widths: [16, 32, 64], blocks: [5, 5, 5] },
  resnet56: { stem: 16, widths: [16, 32, 64], blocks: [9, 9, 9] },
  resnet18: { stem: 64, widths: [64, 128, 256, 512], blocks: [2, 2, 2, 2] },
  resnet34: { stem: 64, widths: [64, 128, 256, 512], blocks: [3, 4, 6, 3] },
} as const satisfies Record<(typeof RESNETS)[number], ResNetLayout>;

const KAIMING = 'kaimingNormalFanOut';

/** conv3x3 -> BN -> ReLU. */
function convBnRelu<T>(ops: Ops<T>, conv: string, bn: string, x: T, filters: number, stride: number): T {
  return ops.batchNorm(bn, ops.conv(conv, x, { filters, kernel: 3, stride, init: KAIMING }), { relu: true });
}

function stem<T>(ops: Ops<T>, x: T, width: number, variant: ResNetVariant): T {
  return ops.group('stem', 'Stem', () => {
    if (variant === 'a' || variant === 'b') return convBnRelu(ops, 'stem.conv1', 'stem.bn1', x, width, 1);
    const half = Math.max(1, width / 2);
    const h = convBnRelu(ops, 'stem.conv1', 'stem.bn1', x, half, 1);
    return convBnRelu(ops, 'stem.conv3', 'stem.bn3', convBnRelu(ops, 'stem.conv2', 'stem.bn2', h, half, 1), width, 1);
  });
}

function shortcut<T>(ops: Ops<T>, block: string, x: T, filters: number, stride: number, variant: ResNetVariant): T {
  const name = `${block}.shortcut`;
  return ops.group(name, 'Shortcut', () => {
    if (variant === 'd') {
      const pooled = stride > 1 ? ops.avgPool(`${name}.pool`, x, stride) : x;
      return ops.batchNorm(`${name}.bn`, ops.conv(`${name}.conv`, pooled, { filters, kernel: 1, init: KAIMING }));
    }
    return ops.batchNorm(`${name}.bn`, ops.conv(`${name}.conv`, x, { filters, kernel: 1, stride, init: KAIMING }));
  });
}

/** conv3x3 (stride) -> BN -> ReLU -> conv3x3 -> BN, plus the shortcut, then ReLU. */
function basicBlock<T>(ops: Ops<T>, name: string, x: T, cin: number, cout: number, stride: number, o: ResNetOptions): T {
  return ops.group(name, 'BasicBlock', () => {
    const h = convBnRelu(ops, `${name}.conv1`, `${name}.bn1`, x, cout, stride);
    const conv2 = ops.conv(`${name}.conv2`, h, { filters: cout, kernel: 3, init: KAIMING });
    const s = stride !== 1 || cin !== cout ? shortcut(ops, name, x, cout, stride, o.variant) : x;
    return ops.batchNorm(`${name}.bn2`, conv2, { zeroGamma: o.zeroGamma, residual: s, relu: true });
  });
}

export function resnet(layout: ResNetLayout, o: ResNetOptions, numClasses: number): Architecture {
  return <T>(ops: Ops<T>, x: T): T => {
    let h = stem(ops, x, layout.stem, o.variant);
    let cin = layout.stem;
    layout.widths.forEach((width, s) => {
      h = ops.group(`stage${s + 1}`, 'Stage', () => {
        let g = h;
        for (let b = 0; b < layout.blocks[s]!; b++) {
          // The first block of every stage after the first halves the resolution.
          const stride = s > 0 && b === 0 ? 2 : 1;
          g = basicBlock(ops, `stage${s + 1}.block${b}`, g, cin, width, stride, o);
          cin = width;
        }
        return g;
      });
    });
    h = ops.globalAvgPool('pool', h);
    if (o.dropout > 0) h = ops.dropout('dropout', h, o.dropout);
    return ops.dense('head', h, { units: numClasses });
  };
}
