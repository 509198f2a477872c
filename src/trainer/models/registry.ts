// Model registry: config name -> factory. The name and options stored in the run config are what
// the UI shows.
import type { ModelConfig } from '../../shared/config';
import { Conv2d, Dense, Flatten, MaxPool, type Layer, type Shape } from './layers';
import { SequentialModel } from './model';

/** C^3(width): the three-layer ConvNet of the RePr paper (Prakash et al., CVPR 2019):
 * 3 x [conv3x3 width + ReLU + maxpool 2] + a dense classifier. */
function cnn3(width: number, numClasses: number): Layer[] {
  const layers: Layer[] = [];
  for (let i = 1; i <= 3; i++) layers.push(new Conv2d(`conv${i}`, width, 3, 'relu'), new MaxPool(`pool${i}`));
  layers.push(new Flatten(), new Dense('head', numClasses));
  return layers;
}

function mlp(hidden: number[], numClasses: number): Layer[] {
  return [new Flatten(), ...hidden.map((h, i) => new Dense(`fc${i + 1}`, h, 'relu')), new Dense('head', numClasses)];
}

export function buildModel(cfg: ModelConfig, inputShape: Shape, numClasses: number, seed: number): SequentialModel {
  switch (cfg.name) {
    case 'cnn3':
      return new SequentialModel('cnn3', inputShape, numClasses, cnn3(cfg.width, numClasses), seed);
    case 'mlp':
      return new SequentialModel('mlp', inputShape, numClasses, mlp(cfg.hidden, numClasses), seed);
  }
}
