// The `init` (fine-tune) section of the run config, and its CLI flag.
import { describe, expect, it } from 'vitest';
import { defaultRunConfig, parseRunConfig } from '../../src/shared/config';
import { configFromOptions } from '../../src/trainer/cli-config';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

describe('config init', () => {
  it('defaults to null; a source run alone leaves the head out', () => {
    expect(defaultRunConfig().init).toBeNull();
    const r = parseRunConfig({ init: { fromRun: 3 } }, BUILTIN_FACTS);
    expect(r.ok && r.config.init).toEqual({ fromRun: 3, exclude: ['head'] });
  });

  it('names the field of a bad value', () => {
    const r = parseRunConfig({ init: { fromRun: 0, exclude: ['head', ''] } }, BUILTIN_FACTS);
    expect(r.ok ? [] : r.errors.map((e) => e.field)).toEqual(['init.fromRun', 'init.exclude.1']);
    const u = parseRunConfig({ init: { fromRun: 2, layers: [] } }, BUILTIN_FACTS);
    expect(u.ok ? null : u.errors[0]).toEqual({ field: 'init', message: "unknown option 'layers'" });
  });

  it('--init-from and --set init.exclude reach it', () => {
    const raw = configFromOptions({ initFrom: '4', set: ['init.exclude=["conv1","head"]'] });
    const r = parseRunConfig(raw, BUILTIN_FACTS);
    expect(r.ok && r.config.init).toEqual({ fromRun: 4, exclude: ['conv1', 'head'] });
  });
});
