// ResNet in ResNet (RiR): "Resnet in Resnet: Generalizing Residual Architectures" (Targ, Almeida,
// Lyman; arXiv 1603.08029, 2016), sized as the RiR-18 of the reproduction in seed 002
// (RiR([48, 96, 192], [2, 3, 3]) on CIFAR-10).
//
// Two streams, residual r and transient t. A generalized residual layer:
//   r' = ReLU(BN(conv(r, W_rr) + conv(t, W_tr) + shortcut(r)))
//   t' = ReLU(BN(conv(r, W_rt) + conv(t, W_tt)))
// A RiR block is two such layers plus an outer shortcut on the residual stream:
//   (r, t) -> layer1 -> layer2 -> (r2 + shortcut(r), t2)   (no ReLU after that sum, as in seed 002)
// Channels: like seed 002, `channels[i]` is the width of EACH stream (r and t both have 48 channels
// in stage 1), not a total split between them; the head sees 2 * channels[-1].
// Shortcuts that change shape: a 1x1 conv with the block's stride (seed 002), or the paper's
// parameter-free option, stride-2 subsampling and zero channels appended. The convs have no bias:
// each feeds a BN (the outer shortcut feeds the next layer's BN), which cancels it.
// Stem: a 3x3 conv-BN-ReLU per stream. Head: concat(r, t) -> [dropout] -> 1x1 conv to K classes
// (with bias, initialised as PyTorch's default for a classifier) -> global average pool.
import type { RIR_SHORTCUTS } from '../config';
import type { Architecture, Ops } from './ops';

export interface RiROptions {
  channels: number[];
  blocks: number[];
  shortcut: (typeof RIR_SHORTCUTS)[number];
  dropout: number;
}

const KAIMING = 'kaimingNormalFanOut';

function shortcut<T>(ops: Ops<T>, name: string, r: T, cin: number, cout: number, stride: number, kind: RiROptions['shortcut']): T {
  if (stride === 1 && cin === cout) return r;
  if (kind === 'parameterFree') return ops.subsamplePad(name, r, stride, cout);
  return ops.conv(name, r, { filters: cout, kernel: 1, stride, init: KAIMING });
}

function generalizedLayer<T>(ops: Ops<T>, name: string, r: T, t: T, cin: number, cout: number, stride: number, o: RiROptions): [T, T] {
  return ops.group(name, 'GeneralizedResidual', () => {
    const names = { rr: `${name}.convRR`, tr: `${name}.convTR`, rt: `${name}.convRT`, tt: `${name}.convTT` };
    const [toR, toT] = ops.crossConv(names, r, t, { filters: cout, kernel: 3, stride, init: KAIMING });
    const s = shortcut(ops, `${name}.shortcut`, r, cin, cout, stride, o.shortcut);
    const r2 = ops.batchNorm(`${name}.bnR`, toR, { plus: s, relu: true });
    const t2 = ops.batchNorm(`${name}.bnT`, toT, { relu: true });
    return [r2, t2];
  });
}

function rirBlock<T>(ops: Ops<T>, name: string, r: T, t: T, cin: number, cout: number, stride: number, o: RiROptions): [T, T] {
  return ops.group(name, 'RiRBlock', () => {
    const [r1, t1] = generalizedLayer(ops, `${name}.layer1`, r, t, cin, cout, stride, o);
    const [r2, t2] = generalizedLayer(ops, `${name}.layer2`, r1, t1, cout, cout, 1, o);
    return [ops.add(r2, shortcut(ops, `${name}.shortcut`, r, cin, cout, stride, o.shortcut)), t2];
  });
}

export function rir(o: RiROptions, numClasses: number): Architecture {
  if (o.channels.length !== o.blocks.length) throw new Error(`rir18: ${o.channels.length} channel widths for ${o.blocks.length} stages`);
  return <T>(ops: Ops<T>, x: T): T => {
    const c0 = o.channels[0]!;
    let [r, t] = ops.group('stem', 'Stem', (): [T, T] => [
      ops.batchNorm('stem.bnR', ops.conv('stem.convR', x, { filters: c0, kernel: 3, init: KAIMING }), { relu: true }),
      ops.batchNorm('stem.bnT', ops.conv('stem.convT', x, { filters: c0, kernel: 3, init: KAIMING }), { relu: true }),
    ]);
    let cin = c0;
    o.channels.forEach((cout, s) => {
      [r, t] = ops.group(`stage${s + 1}`, 'Stage', () => {
        let pair: [T, T] = [r, t];
        for (let b = 0; b < o.blocks[s]!; b++) {
          // The first block of every stage after the first halves the resolution.
          const stride = s > 0 && b === 0 ? 2 : 1;
          pair = rirBlock(ops, `stage${s + 1}.block${b}`, pair[0], pair[1], cin, cout, stride, o);
          cin = cout;
        }
        return pair;
      });
    });
    let h = ops.concat('concat', [r, t]);
    if (o.dropout > 0) h = ops.dropout('dropout', h, o.dropout);
    h = ops.conv('head', h, { filters: numClasses, kernel: 1, bias: true, init: 'torchDefault' });
    return ops.globalAvgPool('pool', h);
  };
}
