// What the pages say about a run whichever made it: our config, or an external run's params.
import { describe, expect, it } from 'vitest';
import { defaultRunConfig, describeModel } from '../../src/shared/config';
import { datasetText, flatSettings, modelText, optimizerText, paramDifferences, paramOf, runTitle, tricksOf } from '../../src/shared/run-info';

const ext = (params: Record<string, unknown> | null) => ({ config: null, params });

describe('run-info', () => {
  it("reads an external run's usual settings by their usual names, nested or not, any case", () => {
    const r = ext({ Model: 'resnet18', data: { dataset: 'cifar10' }, optim: { name: 'sgd', learning_rate: 0.1 }, seed: 3 });
    expect(modelText(r)).toBe('resnet18');
    expect(datasetText(r)).toBe('cifar10');
    expect(paramOf(r.params, 'lr')).toBe(0.1);
    // a nested optimizer object is not a name: only scalar values are
    expect(optimizerText(ext({ optimizer: 'adamw', lr: 3e-4 }))).toBe('adamw 0.0003');
    expect(optimizerText(ext({ lr: 0.05 }))).toBe('lr 0.05');
    expect(optimizerText(ext({}))).toBe('');
    expect(tricksOf(r)).toBe('');
    expect(flatSettings(r)).toMatchObject({ Model: 'resnet18', 'data.dataset': 'cifar10', 'optim.learning_rate': 0.1 });
    expect(flatSettings(ext(null))).toEqual({});
  });

  it('names a run without a name from its settings', () => {
    expect(runTitle({ ...ext({ arch: 'vit-s', dataset: 'c100', lr: 0.001 }), name: ' ', seed: 2 })).toBe('vit-s c100 lr 0.001 · seed 2');
    expect(runTitle({ ...ext(null), name: '', seed: 1 })).toBe('external run · seed 1');
    expect(runTitle({ ...ext(null), name: 'mine' })).toBe('mine');
    const c = defaultRunConfig();
    expect(runTitle({ config: c, params: null, name: '' })).toMatch(/ · seed /);
    // ours come from the config even when params are present
    expect(modelText({ config: c, params: { model: 'other' } })).toBe(describeModel(c.model));
  });

  it('says what an arm changes in its params, seeds and names aside', () => {
    expect(paramDifferences({ lr: 0.1, seed: 1, run_name: 'a', ls: 0 }, { lr: 0.1, seed: 2, run_name: 'b', ls: 0.1, extra: true })).toEqual(['ls 0.1', 'extra true']);
    expect(paramDifferences({ lr: 0.1, wd: 5e-4 }, { lr: 0.1 })).toEqual(['no wd']);
  });
});
