// The tricks' loss math (src/shared/tricks/loss-ops.ts) bound to the trainer's tfjs, for the loop
// and the tests against PyTorch.
import * as tf from '@tensorflow/tfjs-core';
import { lossOps } from '../../shared/tricks/loss-ops';

export const { oneHotTargets, softTargets, softCrossEntropy, mixWith, rdropLoss, distillSoft, withDistill } = lossOps(tf);
