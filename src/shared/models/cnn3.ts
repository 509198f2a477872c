// C^3(width): the three-layer ConvNet of RePr (Prakash et al., "RePr: Improved Training of
// Convolutional Filters", CVPR 2019): 3 x [conv3x3 width + ReLU + maxpool 2] + a dense classifier.
// Options beyond the paper: BatchNorm after each conv, dropout before the classifier.
import type { Architecture, Ops } from './ops';

export interface Cnn3Options {
  width: number;
  batchNorm: boolean;
  dropout: number;
}

export function cnn3(o: Cnn3Options, numClasses: number): Architecture {
  return <T>(ops: Ops<T>, x: T): T => {
    let h = x;
    for (let i = 1; i <= 3; i++) {
      if (o.batchNorm) {
        // conv -> BN -> ReLU; the conv's bias would be cancelled by BN's mean, so it has none.
        h = ops.batchNorm(`bn${i}`, ops.conv(`conv${i}`, h, { filters: o.width, kernel: 3 }), { relu: true });
      } else {
        h = ops.conv(`conv${i}`, h, { filters: o.width, kernel: 3, bias: true, relu: true });
      }
      h = ops.maxPool(`pool${i}`, h, 2);
    }
    h = ops.flatten('flatten', h);
    if (o.dropout > 0) h = ops.dropout('dropout', h, o.dropout);
    return ops.dense('head', h, { units: numClasses });
  };
}
