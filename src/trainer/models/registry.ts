// Model registry: config name -> model. The names and options live in the run config (schema in
// src/shared/config.ts) and are what the UI shows; the architectures are in src/shared/models.
import { modelSchema, type ModelConfig, type ModelConfigInput } from '../../shared/config';
import type { Shape } from './layers';
import { Model } from './model';

/** Build a model for the dataset's input shape ([h, w, c]) and class count. `seed` is the run seed:
 * initial weights and dropout masks derive from it. Options left out take their schema defaults. */
export function buildModel(cfg: ModelConfig | ModelConfigInput, inputShape: Shape, numClasses: number, seed: number): Model {
  return new Model(modelSchema.parse(cfg) as ModelConfig, inputShape, numClasses, seed);
}
