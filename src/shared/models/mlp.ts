// A multilayer perceptron on the flattened image: hidden dense + ReLU layers, then the classifier.
import type { Architecture, Ops } from './ops';

export interface MlpOptions {
  hidden: number[];
  dropout: number;
}

export function mlp(o: MlpOptions, numClasses: number): Architecture {
  return <T>(ops: Ops<T>, x: T): T => {
    let h = ops.flatten('flatten', x);
    o.hidden.forEach((units, i) => {
      h = ops.dense(`fc${i + 1}`, h, { units, relu: true });
    });
    if (o.dropout > 0) h = ops.dropout('dropout', h, o.dropout);
    return ops.dense('head', h, { units: numClasses });
  };
}
