import { describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../src/shared/config';
import { learningRate } from '../../src/trainer/optim/schedule';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

function cfg(schedule: object, epochs = 10) {
  const r = parseRunConfig({ epochs, schedule }, BUILTIN_FACTS);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

describe('learning-rate schedules (per batch)', () => {
  it('constant', () => {
    expect(learningRate(cfg({ name: 'constant' }), 0.1, 57, 10)).toBe(0.1);
  });
  it('step divides by 1/gamma from each milestone epoch on', () => {
    const c = cfg({ name: 'step', milestones: [3, 6], gamma: 0.1 });
    expect(learningRate(c, 0.1, 29, 10)).toBeCloseTo(0.1, 12); // epoch 2
    expect(learningRate(c, 0.1, 30, 10)).toBeCloseTo(0.01, 12); // epoch 3
    expect(learningRate(c, 0.1, 60, 10)).toBeCloseTo(0.001, 12);
  });
  it('cosine after linear warmup: reaches lr0 at the end of warmup and ~0 at the end', () => {
    const c = cfg({ name: 'cosine', warmupEpochs: 2 }, 10);
    expect(learningRate(c, 0.4, 0, 10)).toBeCloseTo(0.02, 12); // 0.4 * 1/20
    expect(learningRate(c, 0.4, 19, 10)).toBeCloseTo(0.4, 12);
    expect(learningRate(c, 0.4, 20, 10)).toBeCloseTo(0.4, 12); // t = 0 of the cosine
    expect(learningRate(c, 0.4, 60, 10)).toBeCloseTo(0.2, 12); // halfway through 80 cosine steps
    expect(learningRate(c, 0.4, 99, 10)).toBeCloseTo(0.5 * (1 + Math.cos((Math.PI * 79) / 80)) * 0.4, 12);
  });
});
