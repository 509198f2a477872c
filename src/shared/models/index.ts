// The model registry's pure half: config -> architecture, and the parameter/FLOP summary of a model
// for an input shape, computable anywhere (form, CLI, trainer) without tfjs.
import type { ModelConfig } from '../config';
import { cnn3 } from './cnn3';
import { mlp } from './mlp';
import type { Architecture, ModelSummary, Shape } from './ops';
import { RESNET_LAYOUTS, resnet } from './resnet';
import { rir } from './rir';
import { traceArchitecture, type ModelTrace } from './trace';

export { DATASET_INFO, type DatasetInfo } from './datasets';
export type { Architecture, LayerSummary, GroupSummary, ModelSummary, ParamSpec, BufferSpec, Ops, Shape } from './ops';
export type { ModelTrace } from './trace';

export function architecture(cfg: ModelConfig, numClasses: number): Architecture {
  switch (cfg.name) {
    case 'cnn3':
      return cnn3(cfg, numClasses);
    case 'mlp':
      return mlp(cfg, numClasses);
    case 'resnet18':
    case 'resnet20':
    case 'resnet32':
    case 'resnet34':
    case 'resnet56':
      return resnet(RESNET_LAYOUTS[cfg.name], cfg, numClasses);
    case 'rir18':
      return rir(cfg, numClasses);
  }
}

/** Everything the trainer needs to create a model's variables, and the layer table. */
export function traceModel(cfg: ModelConfig, inputShape: Shape, numClasses: number): ModelTrace {
  if (inputShape.length !== 3 || inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`input shape must be [h, w, c] positive integers, got [${inputShape.join(', ')}]`);
  }
  const trace = traceArchitecture(architecture(cfg, numClasses), inputShape);
  if (trace.outputShape.length !== 1 || trace.outputShape[0] !== numClasses) {
    throw new Error(`${cfg.name} produced [${trace.outputShape.join(', ')}], not ${numClasses} logits`);
  }
  return trace;
}

/** Layers (name, type, output shape, params, multiply-adds per example) and totals. Throws, naming
 * the layer, when the input is too small for the model. */
export function modelSummary(cfg: ModelConfig, inputShape: Shape, numClasses: number): ModelSummary {
  const { layers, groups, params, flops, outputShape } = traceModel(cfg, inputShape, numClasses);
  return { layers, groups, params, flops, outputShape };
}

/** 11173962 -> "11.17 M", 272474 -> "272.5 k", 1058 -> "1,058". */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  return n.toLocaleString('en-US');
}
