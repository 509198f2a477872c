import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../src/shared/config';
import { configFromOptions, CliInputError } from '../../src/trainer/cli-config';
import { tmpDataDir } from '../helpers/tmp';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

const tmp = tmpDataDir();
afterEach(() => undefined);

describe('CLI flags -> config', () => {
  it('maps the issue example to the config fields', () => {
    const raw = configFromOptions({
      dataset: 'fashion-mnist', model: 'cnn3', epochs: '2', batchSize: '64', optimizer: 'sgd', lr: '0.05', momentum: '0.9', trainSubset: '10000', seed: '1',
    });
    const r = parseRunConfig(raw, BUILTIN_FACTS);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config).toMatchObject({
      dataset: { name: 'fashion-mnist', trainSubset: 10000 },
      model: { name: 'cnn3' },
      optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9 },
      epochs: 2,
      batchSize: 64,
      seed: 1,
    });
  });

  it('has flags for model options, refused by models that lack them', () => {
    const r = parseRunConfig(configFromOptions({ model: 'resnet20', variant: 'd', zeroGamma: true, dropout: '0.2' }), BUILTIN_FACTS);
    expect(r.ok && r.config.model).toMatchObject({ name: 'resnet20', variant: 'd', zeroGamma: true, dropout: 0.2 });
    const bad = parseRunConfig(configFromOptions({ model: 'mlp', zeroGamma: true }), BUILTIN_FACTS);
    // zero-gamma on a model without residual BatchNorm: refused, naming the trick and why.
    expect(!bad.ok && bad.errors[0]).toEqual({ field: 'model.zeroGamma', message: 'zero-gamma (model.zeroGamma) needs residual blocks ending in BatchNorm: only the ResNets (resnet20, resnet32, resnet56, resnet18, resnet34) have them' });
    const other = parseRunConfig(configFromOptions({ model: 'mlp', width: '8' }), BUILTIN_FACTS);
    expect(!other.ok && other.errors[0]).toEqual({ field: 'model', message: "unknown option 'width'" });
  });

  it('sets tricks from --tricks JSON, one flag per option, and --set (in that order of precedence)', () => {
    const r = parseRunConfig(
      configFromOptions({
        tricks: '{"labelSmoothing": {"epsilon": 0.2, "convention": "paper"}, "mixup": {"alpha": 0.4}}',
        mixup: '0.2',
        mixupOffLastEpochs: '1',
        dropout: '0.3',
        rdrop: '0.5',
        rdropReduction: 'batchsum',
        linearScaling: true,
        set: ['optimizer.noBiasDecay=true'],
      }), BUILTIN_FACTS,
    );
    expect(r.ok && r.config.tricks).toEqual({
      labelSmoothing: { epsilon: 0.2, convention: 'paper' },
      mixup: { alpha: 0.2, offLastEpochs: 1 },
      cutmix: null,
      rdrop: { alpha: 0.5, reduction: 'batchsum' },
      rifle: null,
      repr: null,
      distill: null,
    });
    expect(r.ok && r.config.optimizer).toMatchObject({ noBiasDecay: true, linearScaling: true });
  });

  it('switches RIFLE on with --rifle (defaults) or any of its option flags', () => {
    const on = parseRunConfig(configFromOptions({ rifle: true, epochs: '20' }), BUILTIN_FACTS);
    expect(on.ok && on.config.tricks.rifle).toEqual({ layers: ['head'], everyEpochs: 5, maxReinits: 3, noReinitLastEpochs: 5, initializer: 'heNormal', resetOptimizerState: false });
    const opts = parseRunConfig(configFromOptions({ rifleEvery: '2', rifleInitializer: 'initial', rifleLayers: 'conv3,head', epochs: '20' }), BUILTIN_FACTS);
    expect(opts.ok && opts.config.tricks.rifle).toMatchObject({ layers: ['conv3', 'head'], everyEpochs: 2, initializer: 'initial' });
    const kept = parseRunConfig(configFromOptions({ tricks: '{"rifle": {"maxReinits": 1}}', rifle: true, epochs: '20' }), BUILTIN_FACTS);
    expect(kept.ok && kept.config.tricks.rifle?.maxReinits).toBe(1);
  });

  it('refuses --tricks that is not a JSON object, and R-Drop without dropout, naming the field', () => {
    expect(() => configFromOptions({ tricks: '{mixup' })).toThrow(/--tricks: not JSON/);
    expect(() => configFromOptions({ tricks: '[1]' })).toThrow(/--tricks: expected a JSON object/);
    const r = parseRunConfig(configFromOptions({ rdrop: '0.3' }), BUILTIN_FACTS);
    expect(!r.ok && r.errors[0]).toEqual({ field: 'tricks.rdrop', message: expect.stringMatching(/^R-Drop needs dropout/) });
  });

  it('leaves non-numbers as strings so the schema names the field', () => {
    const r = parseRunConfig(configFromOptions({ lr: 'abc' }), BUILTIN_FACTS);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toEqual({ field: 'optimizer.lr', message: 'expected a number, got "abc"' });
  });

  it('layers --config, then flags, then --set; switching the model kind drops the old options', () => {
    const file = path.join(tmp.dir, 'base.json');
    fs.writeFileSync(file, JSON.stringify({ model: { name: 'cnn3', width: 8 }, epochs: 3, optimizer: { name: 'sgd', lr: 0.2 } }));
    const raw = configFromOptions({ config: file, model: 'mlp', hidden: '64,32', set: ['optimizer.lr=0.01', 'dataset.trainSubset=null'] });
    const r = parseRunConfig(raw, BUILTIN_FACTS);
    expect(r.ok && r.config.model).toEqual({ name: 'mlp', hidden: [64, 32], dropout: 0 });
    expect(r.ok && r.config.optimizer.lr).toBe(0.01);
    expect(r.ok && r.config.epochs).toBe(3);
    expect(r.ok && r.config.dataset.trainSubset).toBeNull();
  });

  it('names --config when the file is missing or not JSON', () => {
    expect(() => configFromOptions({ config: path.join(tmp.dir, 'nope.json') })).toThrow(/--config: cannot read .*nope\.json: ENOENT/);
    const bad = path.join(tmp.dir, 'bad.json');
    fs.writeFileSync(bad, '{"epochs": ');
    expect(() => configFromOptions({ config: bad })).toThrow(CliInputError);
    expect(() => configFromOptions({ set: ['epochs'] })).toThrow(/--set: expected path=value/);
  });
});
